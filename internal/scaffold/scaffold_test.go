package scaffold

import (
	"bytes"
	"errors"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot finds the Fleet checkout holding this test, walking up from the working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(mod, []byte("module github.com/agentfleet/fleet\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no Fleet checkout above the working directory")
		}
		dir = parent
	}
}

func TestGenerateErrors(t *testing.T) {
	fleet := repoRoot(t)
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, plugin string
		opts              Options
		want              error
	}{
		{"empty name", "", "", Options{FleetPath: fleet}, ErrBadName},
		{"upper case", "", "MyPlugin", Options{FleetPath: fleet}, ErrBadName},
		{"leading dash", "", "-x", Options{FleetPath: fleet}, ErrBadName},
		{"path in name", "", "../x", Options{FleetPath: fleet}, ErrBadName},
		{"too long", "", strings.Repeat("a", 65), Options{FleetPath: fleet}, ErrBadName},
		{"unknown kind", "", "m", Options{FleetPath: fleet, Kind: "widget"}, ErrUnsupportedKind},
		{"no fleet path", "", "p", Options{}, ErrNoFleet},
		{"not a fleet checkout", "", "p", Options{FleetPath: t.TempDir()}, ErrNoFleet},
		{"directory not empty", nonEmpty, "p", Options{FleetPath: fleet}, ErrNotEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "out")
			}
			err := Generate(dir, tt.plugin, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Generate: %v, want %v", err, tt.want)
			}
			entries, _ := os.ReadDir(dir)
			if dir != nonEmpty && len(entries) > 0 {
				t.Errorf("a failed Generate left %d files in %s", len(entries), dir)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(nonEmpty, "keep.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the existing file was touched: %q, %v", b, err)
	}
}

func TestGenerateFiles(t *testing.T) {
	fleet := repoRoot(t)
	dir := filepath.Join(t.TempDir(), "demo")
	if err := Generate(dir, "demo-tool", Options{FleetPath: fleet, Description: `Says "hi".`}); err != nil {
		t.Fatal(err)
	}
	var names []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if want := []string{".gitignore", "Makefile", "README.md", "go.mod", "main.go", "main_test.go"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gomod := read("go.mod")
	for _, want := range []string{"module demo-tool\n", "github.com/agentfleet/fleet/sdk => " + filepath.ToSlash(fleet) + "/sdk\n",
		"github.com/agentfleet/fleet/sdk/plugintest => " + filepath.ToSlash(fleet) + "/sdk/plugintest\n",
		"github.com/agentfleet/fleet => " + filepath.ToSlash(fleet) + "\n"} {
		if !strings.Contains(gomod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, gomod)
		}
	}
	for _, name := range []string{"main.go", "main_test.go"} {
		src := read(name)
		formatted, err := format.Source([]byte(src))
		if err != nil || string(formatted) != src {
			t.Errorf("%s is not gofmt-clean (%v)", name, err)
		}
	}
	if main := read("main.go"); !strings.Contains(main, `Name:        "demo-tool",`) || !strings.Contains(main, `Description: "Says \"hi\".",`) {
		t.Errorf("main.go does not register the plugin by name and description:\n%s", main)
	}
}

// TestGeneratedProject generates a project pointing at this checkout and runs its own build and
// tests with the real go command: make build (a GOOS=wasip1 build), the native test, and the test
// that loads the built plugin in the real host through sdk/plugintest.
func TestGeneratedProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin with the go command; skipped with -short")
	}
	fleet := repoRoot(t)
	if _, err := os.Stat(filepath.Join(fleet, "sdk", "plugintest", "go.mod")); err != nil {
		t.Skip("sdk/plugintest does not exist yet in this checkout: the generated project needs it to resolve its modules")
	}
	dir := filepath.Join(t.TempDir(), "hello")
	if err := Generate(dir, "hello", Options{FleetPath: fleet}); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("make", "build")
	if info, err := os.Stat(filepath.Join(dir, "hello.wasm")); err != nil || info.Size() < 1000 {
		t.Fatalf("make build left no hello.wasm: %v", err)
	}
	out := run("go", "test", "-count=1", "-v", "-run", "TestReverseNative", ".")
	if !strings.Contains(out, "--- PASS: TestReverseNative") {
		t.Errorf("native test did not pass:\n%s", out)
	}
	out = run("go", "test", "-count=1", "-v", "-run", "TestReverseWasm", ".")
	if !strings.Contains(out, "--- PASS: TestReverseWasm") {
		t.Errorf("WebAssembly test did not pass:\n%s", out)
	}
}

func TestGenerateMapperFiles(t *testing.T) {
	fleet := repoRoot(t)
	dir := filepath.Join(t.TempDir(), "m")
	name := "a-very-long-mapper-name-of-more-than-thirty-two-characters"
	if err := Generate(dir, name, Options{FleetPath: fleet, Kind: KindMapper}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".gitignore", "Makefile", "README.md", "go.mod", "main.go", "main_test.go"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".go") {
			if formatted, err := format.Source(b); err != nil || !bytes.Equal(formatted, b) {
				t.Errorf("%s is not gofmt-clean (%v)", f, err)
			}
		}
		if f == "main.go" && (!strings.Contains(string(b), `Name:        "`+name+`",`) || !strings.Contains(string(b), `sdk.Format{Name: "`+name[:32]+`"`) ||
			!strings.Contains(string(b), `Description: "A Fleet mapper plugin.",`)) {
			t.Errorf("main.go does not register the mapper by name, format and description:\n%s", b)
		}
	}
}

// TestGeneratedMapperProject generates a mapper project pointing at this checkout and runs its own
// build and tests with the real go command: make build, the native test, and the test in the real
// host (which passes, or is skipped with the reason while the host does not run mapper plugins).
func TestGeneratedMapperProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin with the go command; skipped with -short")
	}
	fleet := repoRoot(t)
	dir := filepath.Join(t.TempDir(), "lines")
	if err := Generate(dir, "lines", Options{FleetPath: fleet, Kind: KindMapper}); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("make", "build")
	if info, err := os.Stat(filepath.Join(dir, "lines.wasm")); err != nil || info.Size() < 1000 {
		t.Fatalf("make build left no lines.wasm: %v", err)
	}
	if out := run("go", "test", "-count=1", "-v", "-run", "TestMapNative", "."); !strings.Contains(out, "--- PASS: TestMapNative") {
		t.Errorf("native test did not pass:\n%s", out)
	}
	out := run("go", "test", "-count=1", "-v", "-run", "TestMapWasm", ".")
	if !strings.Contains(out, "--- PASS: TestMapWasm") && !strings.Contains(out, "--- SKIP: TestMapWasm") {
		t.Errorf("WebAssembly test neither passed nor skipped:\n%s", out)
	}
	t.Logf("generated project's host test:\n%s", out)
}
