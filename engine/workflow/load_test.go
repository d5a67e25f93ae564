package workflow

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hashBase = `version: 1
name: hashed
description: One formatting.
limits:
  max_steps: 9
  timeout: 2m
agents:
  - name: writer
    instructions: |
      Write.
    model:
      name: m
      temperature: 0.5
    tools:
      - calculate
      - name: http_fetch
        approval: required
  - name: reviewer
    instructions: Review.
graph:
  start: writer
  nodes:
    - id: writer
      agent: writer
    - id: reviewer
      agent: reviewer
  edges:
    - from: writer
      to: reviewer
    - from: reviewer
      to: writer
      when:
        contains: REVISE
    - from: reviewer
      to: end
      when: default
`

// hashReformatted is hashBase with other key order, flow style, quoting and comments, another
// description, and defaults written out.
const hashReformatted = `# the same workflow
name: "hashed"
version: 1
description: Another formatting.
graph:
  edges:
    - {to: reviewer, from: writer}
    - {when: {contains: "REVISE"}, from: reviewer, to: writer}
    - {from: reviewer, to: end, when: default}
  nodes: [{agent: writer}, {id: reviewer, agent: reviewer, wait: any}]
  start: [writer]
agents:
  - instructions: "Write.\n"
    name: writer
    tools: [calculate, {approval: required, name: http_fetch}]
    model: {temperature: 0.5, name: m}
  - {name: reviewer, instructions: 'Review.'}
limits: {timeout: 120s, max_steps: 9, max_turns: 10}
`

func TestHash(t *testing.T) {
	base, err := Parse("base.yaml", []byte(hashBase))
	if err != nil {
		t.Fatal(err)
	}
	// Pinned: a change here means checkpoints taken with earlier builds no longer resume.
	const pinned = "2c793db5657750922febb9e6a3f308ade3dbf0063863c59fa43edf898940a1c0"
	if base.Hash != pinned {
		t.Errorf("hash %s, want %s", base.Hash, pinned)
	}
	same, err := Parse("same.yaml", []byte(hashReformatted))
	if err != nil {
		t.Fatal(err)
	}
	if same.Hash != base.Hash {
		t.Errorf("reformatted definition hashes to %s, want %s", same.Hash, base.Hash)
	}
	changes := []struct{ name, old, new string }{
		{"instructions", "Review.", "Review it."},
		{"limit", "max_steps: 9", "max_steps: 10"},
		{"condition", "contains: REVISE", "contains: REDO"},
		{"approval", "approval: required", "approval: never"},
		{"agent order", "  - name: writer\n    instructions: |\n      Write.\n    model:\n      name: m\n      temperature: 0.5\n    tools:\n      - calculate\n      - name: http_fetch\n        approval: required\n  - name: reviewer\n    instructions: Review.\n",
			"  - name: reviewer\n    instructions: Review.\n  - name: writer\n    instructions: |\n      Write.\n    model:\n      name: m\n      temperature: 0.5\n    tools:\n      - calculate\n      - name: http_fetch\n        approval: required\n"},
	}
	for _, c := range changes {
		src := strings.Replace(hashBase, c.old, c.new, 1)
		if src == hashBase {
			t.Fatalf("%s: nothing replaced", c.name)
		}
		w, err := Parse("changed.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if w.Hash == base.Hash {
			t.Errorf("changing the %s keeps the hash", c.name)
		}
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	one := func(name string) string { return "version: 1\nname: " + name + "\nagents: [{name: a}]\n" }
	write(t, dir, "a.yaml", one("first"))
	write(t, dir, "b.yml", one("second"))
	write(t, dir, "c.yaml", "\n\n"+one("first"))
	write(t, dir, "d.yaml", "version: 1\nname: broken\n")
	write(t, dir, "notes.txt", "not a workflow")
	write(t, dir, ".hidden.yaml", "not: [yaml")
	write(t, dir, "sub/e.yaml", one("nested"))
	ws, err := LoadDir(dir)
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
	}
	if strings.Join(names, " ") != "first second" {
		t.Errorf("loaded %v, want first second", names)
	}
	want := filepath.Join(dir, "c.yaml") + `:4:7: name: workflow "first" is already defined in ` + filepath.Join(dir, "a.yaml") + "\n" +
		filepath.Join(dir, "d.yaml") + ":1:1: agents: no agents: define one agent, or agents and one of sequential, concurrent, handoff, supervisor, group_chat, graph"
	if err == nil || err.Error() != want {
		t.Errorf("LoadDir error:\n%v\nwant:\n%s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist and not ErrInvalid", err)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDir of a missing directory: %v, want fs.ErrNotExist", err)
	}
	big := "version: 1\nname: big\nagents: [{name: a}]\n#" + strings.Repeat("x", MaxFileSize) + "\n"
	write(t, dir, "big.yaml", big)
	_, err = Load(filepath.Join(dir, "big.yaml"))
	want := filepath.Join(dir, "big.yaml") + ": file too large: more than 1048576 bytes"
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Errorf("Load of a large file: %v, want %s", err, want)
	}
}

func TestParseWithoutFileName(t *testing.T) {
	_, err := Parse("", []byte("version: 1\nname: x\nagents: [{name: A}]\n"))
	if err == nil || err.Error() != `3:17: agents[0].name: bad name "A": want lowercase letters, digits, _ and -, starting with a letter or digit` {
		t.Errorf("Parse: %v", err)
	}
}

// TestAnchors: aliases and merge keys work, with explicit keys winning over merged ones.
func TestAnchors(t *testing.T) {
	w, err := Parse("anchors.yaml", []byte(`version: 1
name: anchors
agents:
  - name: a
    instructions: &shared Be brief.
    model: &fast {name: small, temperature: 0.1}
  - name: b
    instructions: *shared
    model:
      <<: *fast
      temperature: 0.9
sequential: [a, b]
`))
	if err != nil {
		t.Fatal(err)
	}
	b := w.Agents[1]
	if b.Instructions != "Be brief." || b.Model.Name != "small" || *b.Model.Temperature != 0.9 {
		t.Errorf("agent b: %+v (temperature %v)", b, *b.Model.Temperature)
	}
}

// TestAliasBomb: exponential alias expansion stops with an error instead of exhausting memory.
func TestAliasBomb(t *testing.T) {
	src := "version: 1\nname: bomb\nagents:\n  - name: a\n    tools: [calculate]\nx0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"
	for i := 1; i < 9; i++ {
		prev := "*x" + string(rune('0'+i-1))
		src += "x" + string(rune('0'+i)) + ": &x" + string(rune('0'+i)) + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n"
	}
	src += "graph:\n  start: t\n  nodes:\n    - {id: t, tool: {name: calculate, args: {v: *x8}}}\n    - {id: a, agent: a}\n  edges: [{from: t, to: a}, {from: a, to: end}]\n"
	_, err := Parse("bomb.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "document too large or too deeply nested") {
		t.Errorf("Parse: %v, want too large", err)
	}
}
