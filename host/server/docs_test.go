package server_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentfleet/fleet/host/mapping"
	"github.com/agentfleet/fleet/internal/testwasm"
)

// loadMapperPlugins builds and loads the first-party mapper plugins into st's registry, and
// returns the formats now available. A mapper that cannot be built or loaded yet is reported in
// the log and left out.
func loadMapperPlugins(t *testing.T, st *stack) map[string]bool {
	t.Helper()
	for _, name := range []string{"agui", "vercel", "legacy"} {
		b, err := mapperWasm(name)
		if err != nil {
			t.Logf("mapper plugin %s does not build: %v", name, firstLine(err.Error()))
			continue
		}
		p, err := sharedHost.Load(context.Background(), b, manifests[name])
		if err != nil {
			t.Logf("mapper plugin %s does not load: %v", name, firstLine(err.Error()))
			continue
		}
		if _, err := st.plugins.Replace(p); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for _, f := range mapping.NewRegistry(st.plugins).Formats() {
		got[f] = true
	}
	return got
}

var mapperBuilds sync.Map // name -> func() ([]byte, error)

// mapperWasm builds a first-party mapper plugin once per test process.
func mapperWasm(name string) ([]byte, error) {
	f, _ := mapperBuilds.LoadOrStore(name, sync.OnceValues(func() ([]byte, error) {
		path, err := testwasm.ShippedPath(filepath.Join("../../plugins", name))
		if err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}))
	return f.(func() ([]byte, error))()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// docExample is a `$ curl` line of docs/api.md and the output lines that follow it.
type docExample struct {
	line int
	cmd  string
	want []string
}

// docExamples reads the examples of a Markdown file: inside code fences, a line starting with
// "$ curl" is a command, and the lines after it (up to the next command or the fence's end) its
// expected output.
func docExamples(t *testing.T, path string) []docExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docExample
	inFence, cur := false, -1
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			inFence, cur = !inFence, -1
		case inFence && strings.HasPrefix(line, "$ curl "):
			out = append(out, docExample{line: n, cmd: strings.TrimPrefix(line, "$ ")})
			cur = len(out) - 1
		case inFence && cur >= 0:
			out[cur].want = append(out[cur].want, line)
		}
	}
	return out
}

// matchLines matches output lines against expected ones, where "…" inside a line matches any
// text and a line that is just "…" matches any number of lines.
func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "…" {
		for skip := 0; skip <= len(got); skip++ {
			if matchLines(want[1:], got[skip:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && matchLine(want[0], got[0]) && matchLines(want[1:], got[1:])
}

func matchLine(pattern, s string) bool {
	parts := strings.Split(pattern, "…")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
}

func TestMatchLines(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"a", "a", true},
		{"a…", "abc", true},
		{"a…c", "abc", true},
		{"a…c", "abd", false},
		{"a\n…\nz", "a\nb\nc\nz", true},
		{"a\n…\nz", "a\nz", true},
		{"a\n…", "a", true},
		{"a\nb", "a", false},
		{"x…y…z", "x1y2z", true},
		{"x…y…z", "x1z", false},
	} {
		if got := matchLines(strings.Split(tc.want, "\n"), strings.Split(tc.got, "\n")); got != tc.ok {
			t.Errorf("match %q against %q = %v", tc.want, tc.got, got)
		}
	}
}

// TestDocsExamples runs every `$ curl` example of docs/api.md against a live server.
func TestDocsExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	st := newStack(t, stackOpts{})
	formats := loadMapperPlugins(t, st)
	examples := docExamples(t, "../../docs/api.md")
	if len(examples) < 4 {
		t.Fatalf("found %d examples in docs/api.md", len(examples))
	}
	for _, ex := range examples {
		cmd := strings.ReplaceAll(ex.cmd, "$FLEET", st.url)
		if strings.Contains(cmd, "/runs -H") && !strings.Contains(cmd, "format=") && !formats["agui"] {
			// The example streams AG-UI; without the agui mapper, make its run in the fleet format
			// so that the examples after it (which read the run) still run.
			cmd = strings.Replace(cmd, "/runs -H", "/runs?format=fleet -H", 1)
			out, err := exec.Command("bash", "-c", cmd).Output()
			if err != nil {
				t.Fatalf("line %d (fleet format): %v\n%s", ex.line, err, out)
			}
			t.Logf("docs/api.md:%d: the agui mapper is not available; the run was made in the fleet format and its output not checked", ex.line)
			continue
		}
		out, err := exec.Command("bash", "-c", cmd).Output()
		if err != nil {
			t.Fatalf("docs/api.md:%d: %s: %v", ex.line, ex.cmd, err)
		}
		got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if !matchLines(ex.want, got) {
			t.Errorf("docs/api.md:%d: %s\ngot:\n%s\nwant:\n%s", ex.line, ex.cmd, out, strings.Join(ex.want, "\n"))
		}
	}
}
