// Package testwasm builds Go WebAssembly plugins for tests with the real go command, so that any test
// in the repository can use the host's fixtures and the first-party plugins without `make`.
//
// A build is a WASI preview 1 reactor (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared, -trimpath),
// cached in a directory keyed by a hash of everything that goes into it: the Go version, and the
// contents of every non-standard-library source file and go.mod/go.sum the package depends on (as `go
// list -deps` reports them). The cache lives in $FLEET_CACHE_DIR/testwasm, by default
// os.UserCacheDir()/fleet/testwasm. A build is written to a temporary file and renamed into place,
// so test processes running in parallel share the cache safely; within a process each package is
// built at most once.
package testwasm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
)

// Build builds the Go main package in pkgDir (absolute, or relative to the test's working directory)
// as a wasip1 reactor and returns the module's bytes, failing the test when the build fails.
func Build(t testing.TB, pkgDir string) []byte {
	t.Helper()
	return readModule(t, BuildFile(t, pkgDir))
}

// readModule returns the bytes of the module at path, failing the test when it cannot be read.
func readModule(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testwasm: %v", err)
	}
	return b
}

// BuildFile is Build returning the path of the cached .wasm file instead of its bytes. The file is
// shared: copy it before changing it or putting files next to it.
func BuildFile(t testing.TB, pkgDir string) string {
	t.Helper()
	path, err := build(pkgDir)
	if err != nil {
		t.Fatalf("testwasm: building %s: %v", pkgDir, err)
	}
	return path
}

// Path is BuildFile for callers without a testing.TB: it returns the cached build's path or the
// build's error.
func Path(pkgDir string) (string, error) { return build(pkgDir) }

// CacheDir returns the directory builds are cached in: $FLEET_CACHE_DIR/testwasm, or
// os.UserCacheDir()/fleet/testwasm when FLEET_CACHE_DIR is unset.
func CacheDir() (string, error) {
	if d := os.Getenv("FLEET_CACHE_DIR"); d != "" {
		return filepath.Join(d, "testwasm"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "fleet", "testwasm"), nil
}

// result memoises one package's build within the process.
type result struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // absolute package dir -> *result

func build(pkgDir string) (string, error) {
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", err
	}
	v, _ := builds.LoadOrStore(abs, &result{})
	r := v.(*result)
	r.once.Do(func() { r.path, r.err = buildUncached(abs) })
	return r.path, r.err
}

// wasmEnv is the environment of every go command run here.
func wasmEnv() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func buildUncached(dir string) (string, error) {
	name, key, err := sourceKey(dir)
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(cache, name+"-"+key[:24]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp, err := os.CreateTemp(cache, name+"-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(goCmd(), "build", "-buildmode=c-shared", "-trimpath", "-o", tmp.Name(), ".")
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, msg)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	return out, nil
}

// listedPackage is the part of `go list -json` output the key needs.
type listedPackage struct {
	Dir        string
	ImportPath string
	Standard   bool
	GoFiles    []string
	SFiles     []string
	Embed      []string `json:"EmbedFiles"`
	Module     *struct{ Path, Dir, GoMod string }
	Error      *struct{ Err string }
}

// sourceKey hashes the Go version and every non-standard source file and module file the package
// in dir depends on. It also returns the last element of the package's import path, to name the build.
func sourceKey(dir string) (name, key string, err error) {
	cmd := exec.Command(goCmd(), "list", "-deps", "-json=Dir,ImportPath,Standard,GoFiles,SFiles,EmbedFiles,Module,Error", ".")
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	listed, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list: %w\n%s", err, stderr.Bytes())
	}
	importPath, files, err := dependencyFiles(listed)
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", runtime.Version(), goVersion())
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := hashFile(h, n, files[n]); err != nil {
			return "", "", err
		}
	}
	return path.Base(importPath), hex.EncodeToString(h.Sum(nil)), nil
}

// dependencyFiles returns every file the listed packages are built from, keyed by a name that does
// not depend on where the module is checked out (module path and path within the module), and the
// import path of the last package listed: the one asked for.
func dependencyFiles(listed []byte) (importPath string, files map[string]string, err error) {
	files = map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(listed))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return "", nil, fmt.Errorf("go list: %s", p.Error.Err)
		}
		importPath = p.ImportPath
		if p.Standard || p.Module == nil {
			continue
		}
		name := func(abs string) string {
			rel, err := filepath.Rel(p.Module.Dir, abs)
			if err != nil {
				rel = abs
			}
			return p.Module.Path + "/" + filepath.ToSlash(rel)
		}
		for _, group := range [][]string{p.GoFiles, p.SFiles, p.Embed} {
			for _, f := range group {
				abs := filepath.Join(p.Dir, f)
				files[name(abs)] = abs
			}
		}
		if p.Module.GoMod != "" {
			files[name(p.Module.GoMod)] = p.Module.GoMod
			sum := filepath.Join(filepath.Dir(p.Module.GoMod), "go.sum")
			files[name(sum)] = sum
		}
	}
	return importPath, files, nil
}

func hashFile(h io.Writer, name, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && filepath.Base(path) == "go.sum" {
		return nil
	} else if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s %d\n", name, len(b))
	_, err = h.Write(b)
	return err
}

var goVersionOnce = sync.OnceValue(func() string {
	out, err := exec.Command(goCmd(), "env", "GOVERSION").Output()
	if err != nil {
		return "unknown"
	}
	return string(bytes.TrimSpace(out))
})

func goVersion() string { return goVersionOnce() }

// ShippedPath returns the module `make plugins` ships for the first-party plugin whose Go package
// is pkgDir: the committed build of its C source when it has one (pkgDir/c/NAME.wasm, NAME the
// directory's name: the agui mapper), otherwise the Go package built as BuildFile builds it.
func ShippedPath(pkgDir string) (string, error) {
	c := filepath.Join(pkgDir, "c", filepath.Base(filepath.Clean(pkgDir))+".wasm")
	if _, err := os.Stat(c); err == nil {
		return c, nil
	}
	return build(pkgDir)
}

// Shipped is ShippedPath returning the module's bytes.
func Shipped(t testing.TB, pkgDir string) []byte {
	t.Helper()
	path, err := ShippedPath(pkgDir)
	if err != nil {
		t.Fatalf("testwasm: %v", err)
	}
	return readModule(t, path)
}
