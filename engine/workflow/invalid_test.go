package workflow

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvalid parses every file in testdata/invalid, one per validation rule, and compares the
// error with the file's "# want:" lines (the whole error, one line per problem).
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, w)
				}
			}
			if len(want) == 0 {
				t.Fatal("no # want: lines")
			}
			w, err := Parse(name, data)
			if err == nil {
				t.Fatalf("Parse succeeded (pattern %s), want:\n%s", w.Pattern, strings.Join(want, "\n"))
			}
			if w != nil {
				t.Errorf("Parse returned a workflow with its error")
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("error:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			if errors.Is(err, ErrUnknownTool) {
				t.Errorf("errors.Is(err, ErrUnknownTool) = true for a definition problem")
			}
			for _, e := range flatten(err) {
				var we *Error
				if !errors.As(e, &we) {
					t.Errorf("%v is a %T, want *Error", e, e)
					continue
				}
				if we.File != name || we.Line <= 0 || we.Column <= 0 {
					t.Errorf("%v: file %q line %d column %d, want %q and a position", e, we.File, we.Line, we.Column, name)
				}
			}
		})
	}
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
