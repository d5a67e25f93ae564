package testwasm

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

var pluginDirs sync.Map // sorted names joined by "," -> *dirResult

type dirResult struct {
	once sync.Once
	dir  string
	err  error
}

// PluginsDir builds the named first-party plugins of the repository's plugins/ directory (or takes
// the committed build of those written in C, see ShippedPath) and lays them out as `make plugins`
// does in bin/plugins: NAME.wasm next to its manifest NAME.yaml (when
// the plugin has one). Within a process a set of names is laid out once, in a temporary directory
// that lives as long as the process.
func PluginsDir(t testing.TB, names ...string) string {
	t.Helper()
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	v, _ := pluginDirs.LoadOrStore(strings.Join(sorted, ","), &dirResult{})
	r := v.(*dirResult)
	r.once.Do(func() { r.dir, r.err = layOut(sorted) })
	if r.err != nil {
		t.Fatalf("testwasm: plugins %v: %v", names, r.err)
	}
	return r.dir
}

// pluginsRoot is the repository's plugins/ directory, found from this file's place in it.
func pluginsRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "plugins")
}

func layOut(names []string) (string, error) {
	dir, err := os.MkdirTemp("", "fleet-test-plugins-")
	if err != nil {
		return "", err
	}
	for _, name := range names {
		src := filepath.Join(pluginsRoot(), name)
		path, err := ShippedPath(src)
		if err != nil {
			return "", err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644); err != nil {
			return "", err
		}
		m, err := os.ReadFile(filepath.Join(src, "manifest.yaml"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), m, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}
