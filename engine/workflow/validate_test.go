package workflow

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goWorkflow is a valid workflow built in Go: writer -> reviewer, looping back on REVISE.
func goWorkflow() *Workflow {
	return &Workflow{
		Name:   "go-built",
		Agents: []Agent{{Name: "writer", Tools: []ToolRef{{Name: "calculate"}}}, {Name: "reviewer"}},
		Graph: Graph{
			Start: []string{"writer"},
			Nodes: []Node{{ID: "writer", Kind: KindAgent, Agent: "writer", MaxVisits: 3}, {ID: "reviewer", Kind: KindAgent, Agent: "reviewer"}},
			Edges: []Edge{
				{From: "writer", To: "reviewer"},
				{From: "reviewer", To: "writer", When: Condition{Contains: "REVISE"}},
				{From: "reviewer", To: End, When: Condition{Default: true}},
			},
		},
	}
}

func TestValidateGoWorkflow(t *testing.T) {
	w := goWorkflow()
	if err := w.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if w.Limits != DefaultLimits {
		t.Errorf("limits %+v, want the defaults", w.Limits)
	}
	if w.Agents[0].Tools[0].Approval != ApprovalNever || w.Graph.Nodes[0].Wait != WaitAny {
		t.Errorf("approval %q wait %q, want the defaults filled", w.Agents[0].Tools[0].Approval, w.Graph.Nodes[0].Wait)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(w.Hash) {
		t.Errorf("hash %q, want 64 hex digits", w.Hash)
	}
}

func TestValidateGoWorkflowErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *Workflow)
		want   string
	}{
		{"bad name", func(w *Workflow) { w.Name = "Bad" }, `name: bad name "Bad": want lowercase letters, digits, _ and -, starting with a letter or digit`},
		{"unknown kind", func(w *Workflow) { w.Graph.Nodes[1].Kind = "agnet" }, `graph.nodes[1].kind: unknown node kind "agnet": want agent, router, tool or join`},
		{"router without settings", func(w *Workflow) { w.Graph.Nodes[1] = Node{ID: "reviewer", Kind: KindRouter, Agent: "reviewer"} }, `graph.nodes[1].router: a router node needs its router settings`},
		{"tool without settings", func(w *Workflow) { w.Graph.Nodes[1] = Node{ID: "reviewer", Kind: KindTool}; w.Agents = w.Agents[:1] }, `graph.nodes[1].tool: a tool node needs its tool settings`},
		{"join with an agent", func(w *Workflow) { w.Graph.Nodes[1].Kind = KindJoin }, `graph.nodes[1].agent: a join node runs no agent`},
		{"two conditions", func(w *Workflow) { w.Graph.Edges[1].When.Matches = "x" }, `graph.edges[1].when: more than one condition: an edge has one`},
		{"args not JSON", func(w *Workflow) {
			w.Graph.Nodes[1] = Node{ID: "reviewer", Kind: KindTool, Tool: &ToolNode{Name: "now", Args: map[string]any{"f": func() {}}}}
			w.Agents = w.Agents[:1]
		}, `graph.nodes[1].tool.args: arguments are not JSON: json: unsupported type: func()`},
		{"unbounded cycle", func(w *Workflow) { w.Graph.Nodes[0].MaxVisits = 0 }, `graph.edges[0]: cycle writer -> reviewer -> writer has no bound: set max_visits on one of its nodes, or limits.max_steps`},
		{"negative step timeout", func(w *Workflow) { w.Limits.StepTimeout = -time.Second }, `limits.step_timeout: must not be negative, got -1s (0 or leaving it out takes the default)`},
		{"no nodes", func(w *Workflow) { w.Graph = Graph{}; w.Agents = nil }, "graph.nodes: no nodes\ngraph.start: no start node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := goWorkflow()
			tt.change(w)
			err := w.Validate()
			if err == nil {
				t.Fatalf("Validate succeeded, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			if w.Hash != "" {
				t.Errorf("hash set on an invalid workflow")
			}
		})
	}
}

func TestCheckTools(t *testing.T) {
	src := `version: 1
name: t
agents:
  - name: a
    tools:
      - calculate
      - {name: http.http_fetch, approval: required}
      - nope
  - name: b
graph:
  start: look
  nodes:
    - {id: look, tool: {name: missing_tool}}
    - {id: a, agent: a}
    - {id: b, agent: b}
  edges:
    - {from: look, to: a}
    - {from: a, to: b}
    - {from: b, to: end}
`
	w, err := Parse("tools.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"calculate": true, "http.http_fetch": true}
	var asked []string
	err = w.CheckTools(func(name string) bool { asked = append(asked, name); return known[name] })
	want := `tools.yaml:8:9: agents[0].tools[2]: unknown tool "nope": no loaded plugin provides it
tools.yaml:13:31: graph.nodes[0].tool.name: unknown tool "missing_tool": no loaded plugin provides it`
	if err == nil || err.Error() != want {
		t.Fatalf("CheckTools: %v\nwant:\n%s", err, want)
	}
	if !errors.Is(err, ErrUnknownTool) || !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is ErrUnknownTool %v, ErrInvalid %v; want both", errors.Is(err, ErrUnknownTool), errors.Is(err, ErrInvalid))
	}
	if got := strings.Join(asked, " "); got != "calculate http.http_fetch nope missing_tool" {
		t.Errorf("asked about %s", got)
	}
	if err := w.CheckTools(func(string) bool { return true }); err != nil {
		t.Errorf("CheckTools with every tool known: %v", err)
	}

	g := goWorkflow()
	err = g.CheckTools(func(string) bool { return false })
	if err == nil || err.Error() != `agents[0].tools[0].name: unknown tool "calculate": no loaded plugin provides it` {
		t.Errorf("CheckTools on a Go workflow: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Column: 5, Path: "a.b", Msg: "bad"}, "f.yaml:3:5: a.b: bad"},
		{Error{File: "f.yaml", Line: 3, Msg: "bad"}, "f.yaml:3: bad"},
		{Error{File: "f.yaml", Path: "a", Msg: "bad"}, "f.yaml: a: bad"},
		{Error{Line: 2, Column: 1, Msg: "bad"}, "2:1: bad"},
		{Error{Path: "a", Msg: "bad"}, "a: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.err, got, tt.want)
		}
	}
}
