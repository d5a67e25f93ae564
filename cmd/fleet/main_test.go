package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/internal/testwasm"
)

// testPlugins lays the first-party plugins out like bin/plugins.
func testPlugins(t *testing.T) string {
	t.Helper()
	return testwasm.PluginsDir(t, "calc", "clock", "text", "http", "json", "agui", "vercel", "legacy")
}

type result struct {
	code           int
	stdout, stderr string
}

// fleet runs the CLI in-process with a fresh data dir unless args give one.
func fleet(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestRunAnswers391(t *testing.T) {
	plugins, data := testPlugins(t), t.TempDir()
	t.Setenv("OPENAI_API_KEY", "")
	r := fleet(t, "", "run", "--data-dir", data, "--plugins", plugins, "What is 17*23?")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"calculate {\"expression\":\"17*23\"}", "\"result\":391", "assistant: 17*23 = 391.", "✓ done"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "offline model") {
		t.Errorf("the offline model was not announced: %s", r.stderr)
	}
}

func TestRunJSONAndFormats(t *testing.T) {
	plugins, data := testPlugins(t), t.TempDir()
	r := fleet(t, "", "run", "--json", "--data-dir", data, "--plugins", plugins, "Say exactly: hello")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var last event.Event
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil || last.Seq != uint64(i+1) {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
	}
	if last.Type != event.RunFinished {
		t.Fatalf("last event %s", last.Type)
	}
	// The saved log maps through every first-party mapper with `fleet plugin map`.
	for format, first := range map[string]string{"agui": "RUN_STARTED", "vercel": "start", "legacy": "", "fleet": "run.started"} {
		m := fleet(t, r.stdout, "plugin", "map", filepath.Join(plugins, format+".wasm"))
		if format == "fleet" {
			m = fleet(t, r.stdout, "plugin", "map", "fleet")
		}
		if m.code != 0 {
			t.Fatalf("map %s: exit %d: %s", format, m.code, m.stderr)
		}
		frames := strings.Split(strings.TrimSpace(m.stdout), "\n")
		var f struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(frames[0]), &f); err != nil || (first != "" && f.Type != first) {
			t.Errorf("%s: first frame %s (%v)", format, frames[0], err)
		}
	}
	// --format maps a live run.
	g := fleet(t, "", "run", "--format", "agui", "--data-dir", data, "--plugins", plugins, "Say exactly: hi")
	if g.code != 0 || !strings.HasPrefix(g.stdout, `{"type":"RUN_STARTED"`) || !strings.Contains(g.stdout, `"RUN_FINISHED"`) {
		t.Fatalf("--format agui: exit %d\n%s\n%s", g.code, g.stdout, g.stderr)
	}
}

func TestRunApprovalAcrossProcesses(t *testing.T) {
	plugins, data := testPlugins(t), t.TempDir()
	r := fleet(t, "", "run", "-w", "approval", "--data-dir", data, "--plugins", plugins, "Fetch https://example.com/a")
	if r.code != 3 {
		t.Fatalf("want exit 3 (waiting for approval), got %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	m := regexp.MustCompile(`fleet run --resume (\S+) --approve (\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no resume instructions:\n%s", r.stdout)
	}
	d := fleet(t, "", "run", "--data-dir", data, "--plugins", plugins, "--resume", m[1], "--deny", m[2], "--reason", "not today")
	if d.code != 0 || !strings.Contains(d.stdout, "denied") || !strings.Contains(d.stdout, "not today") {
		t.Fatalf("deny: exit %d\n%s\n%s", d.code, d.stdout, d.stderr)
	}
	again := fleet(t, "", "run", "--data-dir", data, "--plugins", plugins, "--resume", m[1], "--approve", m[2])
	if again.code == 0 {
		t.Fatalf("a finished run was resumed: %s", again.stdout)
	}
}

func TestPluginCommands(t *testing.T) {
	plugins := testPlugins(t)
	calc := filepath.Join(plugins, "calc.wasm")
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string // substring of stdout (code 0) or stderr
	}{
		{"call", []string{"plugin", "call", calc, "calculate", `{"expression":"2^10"}`}, 0, `"result":1024`},
		{"tool error", []string{"plugin", "call", calc, "calculate", `{"expression":"1/0"}`}, 1, "division by zero"},
		{"bad json", []string{"plugin", "call", calc, "calculate", `{oops`}, 2, "not valid JSON"},
		{"unknown tool", []string{"plugin", "call", calc, "nope", `{}`}, 1, "nope"},
		{"bad args", []string{"plugin", "call", calc, "calculate", `{"x":1}`}, 1, "missing property 'expression'"},
		{"missing file", []string{"plugin", "call", "/nonexistent.wasm", "t"}, 2, "nonexistent"},
		{"inspect", []string{"plugin", "inspect", calc}, 0, "tool          calculate"},
		{"inspect json", []string{"plugin", "inspect", "--json", calc}, 0, `"name": "calc"`},
		{"http denied", []string{"plugin", "call", filepath.Join(plugins, "http.wasm"), "http_fetch", `{"url":"http://127.0.0.1:1/"}`}, 1, "denied"},
		{"not wasm", []string{"plugin", "inspect", "main.go"}, 1, "invalid"},
		{"usage", []string{"run"}, 2, "MESSAGE"},
		{"map missing file", []string{"plugin", "map", "/nonexistent.wasm"}, 1, "nonexistent"},
		{"map unknown format", []string{"plugin", "map", "nope"}, 1, "unknown format"},
		{"unknown command", []string{"frobnicate"}, 2, "unexpected argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := fleet(t, "", c.args...)
			where := r.stdout
			if c.code != 0 {
				where = r.stderr
			}
			if r.code != c.code || !strings.Contains(where, c.out) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s\nwant %q", r.code, c.code, r.stdout, r.stderr, c.out)
			}
		})
	}
}

func TestWorkflowsCommands(t *testing.T) {
	plugins := testPlugins(t)
	l := fleet(t, "", "workflows", "list")
	for _, w := range []string{"assistant", "research", "review", "panel", "handoff", "groupchat", "approval"} {
		if !strings.Contains(l.stdout, w) {
			t.Errorf("list lacks %s:\n%s", w, l.stdout)
		}
	}
	ok := fleet(t, "", "workflows", "validate", "--plugins", plugins, "../../examples/workflows/research.yaml")
	if ok.code != 0 || !strings.Contains(ok.stdout, "ok (workflow research") {
		t.Fatalf("validate: %d %s %s", ok.code, ok.stdout, ok.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nname: bad\nagents:\n  - name: a\n    tools: [no_such_tool]\n"), 0o644)
	r := fleet(t, "", "workflows", "validate", "--plugins", plugins, bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.yaml:5") || !strings.Contains(r.stderr, "no_such_tool") {
		t.Fatalf("bad workflow: exit %d %s", r.code, r.stderr)
	}
}

func TestPluginNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mytool")
	r := fleet(t, "", "plugin", "new", "mytool", "--dir", dir, "--fleet", "../..")
	if r.code != 0 || !strings.Contains(r.stdout, "make test") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"go.mod", "main.go", "main_test.go", "Makefile", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if r := fleet(t, "", "plugin", "new", "mytool", "--dir", dir, "--fleet", "../.."); r.code == 0 {
		t.Errorf("a second new into the same directory succeeded")
	}
	if r := fleet(t, "", "plugin", "new", "Bad Name!", "--fleet", "../.."); r.code != 2 {
		t.Errorf("bad name: exit %d", r.code)
	}
	m := fleet(t, "", "plugin", "new", "mymap", "--kind", "mapper", "--dir", filepath.Join(t.TempDir(), "mymap"), "--fleet", "../..")
	if m.code != 0 {
		t.Fatalf("mapper: exit %d %s", m.code, m.stderr)
	}
}
