package main

import "os"

// tempDataDir is a throwaway data directory for commands that need no persistent store.
func tempDataDir() string {
	d, err := os.MkdirTemp("", "fleet-tmp-*")
	if err != nil {
		return os.TempDir()
	}
	return d
}
