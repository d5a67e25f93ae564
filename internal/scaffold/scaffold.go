// Package scaffold generates new Fleet plugin projects from embedded templates: the code behind
// `fleet plugin new NAME`.
//
// A generated tool plugin is a Go module with one example tool, a native test (through sdk.Invoke), a
// test that builds the plugin as WebAssembly and calls it in Fleet's real plugin host (through
// sdk/plugintest), a Makefile with build and test targets and a README. A generated mapper plugin has
// an example mapping of message events to a line format of its own, a native test of a short stream
// (through sdk.InvokeMapRaw) and a test that builds it and maps the same stream in the real plugin
// host (skipped while the host does not run mapper plugins). Its go.mod points the Fleet modules at a
// local Fleet checkout with replace directives, so it builds without a published release.
package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

// Kinds of plugin Generate can write.
const (
	KindTool   = "tool"   // a tool plugin (ABI 1.0): the default
	KindMapper = "mapper" // an event mapper (ABI 1.1)
)

// Errors Generate returns; each is wrapped with the details.
var (
	// ErrBadName: the name is not a valid plugin name ([a-z0-9][a-z0-9_-]{0,63}).
	ErrBadName = errors.New("scaffold: bad plugin name")
	// ErrUnsupportedKind: Options.Kind names a kind this version cannot generate.
	ErrUnsupportedKind = errors.New("scaffold: unsupported plugin kind")
	// ErrNotEmpty: the target directory exists and is not empty; nothing was written.
	ErrNotEmpty = errors.New("scaffold: directory not empty")
	// ErrNoFleet: Options.FleetPath is empty or is not a Fleet checkout.
	ErrNoFleet = errors.New("scaffold: not a Fleet checkout")
)

// Options configure Generate.
type Options struct {
	// Kind is the kind of plugin: KindTool (the default when empty) or KindMapper.
	Kind string
	// FleetPath is the local Fleet checkout the generated go.mod points at (the directory holding
	// Fleet's go.mod, sdk/ and sdk/plugintest/). Required; it is made absolute.
	FleetPath string
	// Module is the generated module's path. Empty means the plugin name.
	Module string
	// Description is the plugin's one-line description. Empty means a generic one.
	Description string
}

//go:embed templates
var templates embed.FS

// generators write each kind; a new kind adds its templates directory and an entry here.
var generators = map[string]struct{ root, description string }{
	KindTool:   {"templates/tool", "A Fleet tool plugin."},
	KindMapper: {"templates/mapper", "A Fleet mapper plugin."},
}

// data is what the templates see.
type data struct {
	Name        string
	Module      string
	Description string
	FleetPath   string
	// Format is a mapper's format name: the plugin name, cut to the 32 characters a format name has.
	Format string
}

// Generate writes a new plugin project named name into dir, creating dir if needed. dir must not
// exist or be empty; on any error nothing is left behind in it except directories Generate could not
// remove. The project's Makefile has `build` (the .wasm) and `test` (native and WebAssembly tests).
func Generate(dir, name string, opts Options) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	kind := opts.Kind
	if kind == "" {
		kind = KindTool
	}
	gen, ok := generators[kind]
	if !ok {
		return fmt.Errorf("%w: %q (this version generates: %s, %s)", ErrUnsupportedKind, kind, KindTool, KindMapper)
	}
	fleet, err := fleetCheckout(opts.FleetPath)
	if err != nil {
		return err
	}
	d := data{Name: name, Module: opts.Module, Description: opts.Description, FleetPath: filepath.ToSlash(fleet),
		Format: name[:min(len(name), 32)]}
	if d.Module == "" {
		d.Module = name
	}
	if d.Description == "" {
		d.Description = gen.description
	}
	files, err := render(gen.root, d)
	if err != nil {
		return err
	}
	return writeAll(dir, files)
}

// ValidateName reports whether name is a valid plugin name: [a-z0-9][a-z0-9_-]{0,63}.
func ValidateName(name string) error {
	ok := len(name) > 0 && len(name) <= 64 && name[0] != '-' && name[0] != '_'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return fmt.Errorf("%w: %q must match [a-z0-9][a-z0-9_-]{0,63}", ErrBadName, name)
	}
	return nil
}

// fleetCheckout returns the absolute path of a Fleet checkout, checking its go.mod and SDK.
func fleetCheckout(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: Options.FleetPath is empty", ErrNoFleet)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoFleet, err)
	}
	mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil || !strings.Contains(string(mod), "module github.com/agentfleet/fleet\n") {
		return "", fmt.Errorf("%w: %s has no go.mod for module github.com/agentfleet/fleet", ErrNoFleet, abs)
	}
	if _, err := os.Stat(filepath.Join(abs, "sdk", "go.mod")); err != nil {
		return "", fmt.Errorf("%w: %s has no sdk module", ErrNoFleet, abs)
	}
	return abs, nil
}

// render executes every template under root; a file's name is its template's path less ".tmpl", with
// a leading "dot-" made "." (embed leaves out files whose names start with a dot).
func render(root string, d data) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(templates, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		t, err := template.New(path.Base(p)).Option("missingkey=error").ParseFS(templates, p)
		if err != nil {
			return fmt.Errorf("scaffold: template %s: %w", p, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, d); err != nil {
			return fmt.Errorf("scaffold: template %s: %w", p, err)
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		if dir, base := path.Split(rel); strings.HasPrefix(base, "dot-") {
			rel = dir + "." + strings.TrimPrefix(base, "dot-")
		}
		files[rel] = []byte(b.String())
		return nil
	})
	return files, err
}

// writeAll writes files into dir, which must be absent or empty; on failure it removes what it wrote.
func writeAll(dir string, files map[string][]byte) (err error) {
	entries, statErr := os.ReadDir(dir)
	switch {
	case statErr == nil && len(entries) > 0:
		return fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	case statErr != nil && !errors.Is(statErr, fs.ErrNotExist):
		return fmt.Errorf("scaffold: %w", statErr)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scaffold: %w", err)
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				_ = os.Remove(p)
			}
		}
	}()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return fmt.Errorf("scaffold: %w", err)
		}
		written = append(written, p)
	}
	return nil
}
