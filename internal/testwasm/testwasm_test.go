package testwasm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentfleet/fleet/internal/testwasm"
)

// TestBuildCachesBySource builds a tiny reactor, checks it is a wasm module, then changes a source
// file and checks that the build is redone under a new name.
func TestBuildCachesBySource(t *testing.T) {
	t.Setenv("FLEET_CACHE_DIR", t.TempDir())
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module tiny\n\ngo 1.26\n")
	write("main.go", "package main\n\n//go:wasmexport answer\nfunc answer() int32 { return 42 }\n\nfunc main() {}\n")
	first := testwasm.BuildFile(t, dir)
	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("not a wasm module: % x", b[:8])
	}
	cache, err := testwasm.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(first) != cache {
		t.Fatalf("built into %s, want the cache %s", first, cache)
	}

	// The same sources elsewhere (another checkout) are found in the cache; changed sources are not.
	copyTo := func(change bool) string {
		d := t.TempDir()
		for _, f := range []string{"go.mod", "main.go"} {
			src, _ := os.ReadFile(filepath.Join(dir, f))
			if change && f == "main.go" {
				src = bytes.Replace(src, []byte("42"), []byte("43"), 1)
			}
			if err := os.WriteFile(filepath.Join(d, f), src, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	if same := testwasm.BuildFile(t, copyTo(false)); same != first {
		t.Fatalf("same sources in another directory built %s, want the cached %s", same, first)
	}
	if second := testwasm.BuildFile(t, copyTo(true)); second == first {
		t.Fatalf("changed source reused build %s", first)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 2 {
		t.Fatalf("cache holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}
