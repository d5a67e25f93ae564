package workflow

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// FuzzParse: Parse never panics or hangs; it returns a workflow or an error, never both; every
// error is a positioned *Error matching ErrInvalid; every workflow validates again unchanged.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{examplesDir + "/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(hashBase))
	f.Add([]byte(hashReformatted))
	f.Add([]byte("version: 1\nname: a\nagents: [{name: a}]\n"))
	hexHash := regexp.MustCompile(`^[0-9a-f]{64}$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse("fuzz.yaml", data)
		if err != nil {
			if w != nil {
				t.Fatal("a workflow and an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			for _, e := range flatten(err) {
				var we *Error
				if !errors.As(e, &we) || we.File != "fuzz.yaml" {
					t.Fatalf("error %v is not an *Error of the file", e)
				}
				if we.Line <= 0 && len(data) <= MaxFileSize {
					t.Fatalf("error %v has no position", e)
				}
			}
			return
		}
		if !hexHash.MatchString(w.Hash) {
			t.Fatalf("hash %q", w.Hash)
		}
		hash := w.Hash
		if err := w.Validate(); err != nil {
			t.Fatalf("a parsed workflow fails Validate: %v", err)
		}
		if w.Hash != hash {
			t.Fatalf("hash changed on a second Validate: %s, then %s", hash, w.Hash)
		}
	})
}
