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
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) { checkInvalid(t, file) })
	}
}

// checkInvalid is TestInvalid's subtest for one file: Parse fails with exactly the file's
// "# want:" lines, an ErrInvalid that is no ErrUnknownTool, and each problem a positioned *Error.
func checkInvalid(t *testing.T, file string) {
	name := filepath.Base(file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := wantLines(data)
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
	checkPositions(t, err, name)
}

// wantLines returns the text after "# want: " of each line of data that starts with it.
func wantLines(data []byte) []string {
	var want []string
	for _, line := range strings.Split(string(data), "\n") {
		if w, ok := strings.CutPrefix(line, "# want: "); ok {
			want = append(want, w)
		}
	}
	return want
}

// checkPositions checks that each error joined in err is an *Error in file name with a line and
// a column.
func checkPositions(t *testing.T, err error, name string) {
	t.Helper()
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
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
