package workflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// shape renders a compiled graph one line per start list, node and edge, for exact comparison.
func shape(g Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s\n", strings.Join(g.Start, " "))
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "node %s %s", n.ID, n.Kind)
		if n.Agent != "" {
			fmt.Fprintf(&b, " agent=%s", n.Agent)
		}
		fmt.Fprintf(&b, " wait=%s", n.Wait)
		if n.MaxVisits != 0 {
			fmt.Fprintf(&b, " max_visits=%d", n.MaxVisits)
		}
		if r := n.Router; r != nil {
			fmt.Fprintf(&b, " router=%s/%s[%s]", r.Mode, r.Kind, strings.Join(r.Choices, " "))
		}
		if t := n.Tool; t != nil {
			args, _ := json.Marshal(t.Args)
			fmt.Fprintf(&b, " tool=%s%s", t.Name, args)
		}
		b.WriteString("\n")
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "edge %s -> %s%s\n", e.From, e.To, condition(e.When))
	}
	return b.String()
}

func condition(c Condition) string {
	switch {
	case c.Route != "":
		return " route=" + c.Route
	case c.Contains != "":
		return " contains=" + c.Contains
	case c.NotContains != "":
		return " not_contains=" + c.NotContains
	case c.Matches != "":
		return " matches=" + c.Matches
	case c.Default:
		return " default"
	}
	return ""
}

// agents declares agents with the given names.
func agents(names ...string) string {
	var b strings.Builder
	b.WriteString("version: 1\nname: t\nagents:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n", n)
	}
	return b.String()
}

func TestCompileShapes(t *testing.T) {
	tests := []struct {
		name, yaml, pattern, want string
	}{
		{"single", agents("solo"), PatternSingle, `
start solo
node solo agent agent=solo wait=any
edge solo -> end
`},
		{"sequential", agents("a", "b", "c") + "sequential: [a, b, c]\n", PatternSequential, `
start a
node a agent agent=a wait=any
node b agent agent=b wait=any
node c agent agent=c wait=any
edge a -> b
edge b -> c
edge c -> end
`},
		{"concurrent with a join agent", agents("x", "y", "m") + "concurrent: {agents: [x, y], join: m}\n", PatternConcurrent, `
start x y
node x agent agent=x wait=any
node y agent agent=y wait=any
node m agent agent=m wait=all
edge x -> m
edge y -> m
edge m -> end
`},
		{"concurrent with a join node", agents("x", "y") + "concurrent: {agents: [x, y]}\n", PatternConcurrent, `
start x y
node x agent agent=x wait=any
node y agent agent=y wait=any
node join join wait=all
edge x -> join
edge y -> join
edge join -> end
`},
		{"handoff", agents("tech", "triage", "billing") + "handoff:\n  start: triage\n  routes: {triage: [billing, tech], billing: [triage]}\n", PatternHandoff, `
start triage
node tech agent agent=tech wait=any max_visits=6
node triage agent agent=triage wait=any max_visits=6
node billing agent agent=billing wait=any max_visits=6
edge tech -> end default
edge triage -> billing route=billing
edge triage -> tech route=tech
edge triage -> end default
edge billing -> triage route=triage
edge billing -> end default
`},
		{"handoff with max_handoffs", agents("a", "b") + "handoff: {start: a, routes: {a: [b]}, max_handoffs: 2}\n", PatternHandoff, `
start a
node a agent agent=a wait=any max_visits=3
node b agent agent=b wait=any max_visits=3
edge a -> b route=b
edge a -> end default
edge b -> end default
`},
		{"supervisor with built-in router", agents("r", "w") + "supervisor: {agents: [r, w]}\n", PatternSupervisor, `
start supervisor
node supervisor router wait=any max_visits=7 router=llm/route[r w]
node r agent agent=r wait=any
node w agent agent=w wait=any
edge supervisor -> r route=r
edge supervisor -> w route=w
edge supervisor -> end route=finish
edge r -> supervisor
edge w -> supervisor
`},
		{"supervisor with a router agent", agents("lead", "r", "w") + "supervisor: {router: lead, agents: [r, w], max_rounds: 2}\n", PatternSupervisor, `
start lead
node lead router agent=lead wait=any max_visits=3 router=llm/route[r w]
node r agent agent=r wait=any
node w agent agent=w wait=any
edge lead -> r route=r
edge lead -> w route=w
edge lead -> end route=finish
edge r -> lead
edge w -> lead
`},
		{"group chat with a coordinator agent", agents("host", "a", "b") + "group_chat: {coordinator: host, agents: [a, b]}\n", PatternGroupChat, `
start host
node host router agent=host wait=any max_visits=7 router=llm/speaker[a b]
node a agent agent=a wait=any
node b agent agent=b wait=any
edge host -> a route=a
edge host -> b route=b
edge host -> end route=finish
edge a -> host
edge b -> host
`},
		{"group chat round robin", agents("a", "b") + "group_chat: {coordinator: round_robin, agents: [a, b], max_rounds: 4}\n", PatternGroupChat, `
start coordinator
node coordinator router wait=any max_visits=5 router=round_robin/speaker[a b]
node a agent agent=a wait=any
node b agent agent=b wait=any
edge coordinator -> a route=a
edge coordinator -> b route=b
edge coordinator -> end route=finish
edge a -> coordinator
edge b -> coordinator
`},
		{"graph", agents("writer", "reviewer", "lead") + `graph:
  start: [lookup]
  nodes:
    - {id: lookup, tool: {name: calculate, args: {expression: "{{input}}"}}}
    - {agent: writer, max_visits: 3}
    - {id: check, agent: reviewer, wait: all}
    - {id: pick, router: {agent: lead, choices: [writer, check]}, max_visits: 4}
    - {id: merge, join: any}
  edges:
    - {from: lookup, to: writer}
    - {from: writer, to: check}
    - {from: check, to: pick, when: {contains: REVISE}}
    - {from: check, to: merge, when: {not_contains: REVISE}}
    - {from: check, to: end, when: default}
    - {from: pick, to: merge, when: {route: finish}}
    - {from: merge, to: end}
`, PatternGraph, `
start lookup
node lookup tool wait=any tool=calculate{"expression":"{{input}}"}
node writer agent agent=writer wait=any max_visits=3
node check agent agent=reviewer wait=all
node pick router agent=lead wait=any max_visits=4 router=llm/route[writer check]
node merge join wait=any
edge lookup -> writer
edge writer -> check
edge check -> pick contains=REVISE
edge check -> merge not_contains=REVISE
edge check -> end default
edge pick -> merge route=finish
edge merge -> end
edge pick -> writer route=writer
edge pick -> check route=check
`},
		{"graph of tools only", "version: 1\nname: t\n" + `graph:
  start: [a, b]
  nodes:
    - {id: a, tool: {name: now}}
    - {id: b, tool: {name: calculate, args: {expression: "{{last}} + 1", list: [1, "{{input}}"], nested: {x: null}}}}
    - {id: j, join: all}
  edges:
    - {from: a, to: j}
    - {from: b, to: j}
    - {from: j, to: end}
`, PatternGraph, `
start a b
node a tool wait=any tool=now{}
node b tool wait=any tool=calculate{"expression":"{{last}} + 1","list":[1,"{{input}}"],"nested":{"x":null}}
node j join wait=all
edge a -> j
edge b -> j
edge j -> end
`},
		{"graph round-robin router", agents("a", "b") + `graph:
  start: r
  nodes:
    - {id: r, router: {mode: round_robin, choices: [a, b]}, max_visits: 5}
    - {id: a, agent: a}
    - {id: b, agent: b}
  edges:
    - {from: a, to: r}
    - {from: b, to: r, when: {matches: "^again"}}
    - {from: b, to: end, when: default}
`, PatternGraph, `
start r
node r router wait=any max_visits=5 router=round_robin/route[a b]
node a agent agent=a wait=any
node b agent agent=b wait=any
edge a -> r
edge b -> r matches=^again
edge b -> end default
edge r -> a route=a
edge r -> b route=b
edge r -> end route=finish
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if w.Pattern != tt.pattern {
				t.Errorf("pattern %q, want %q", w.Pattern, tt.pattern)
			}
			if got, want := shape(w.Graph), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("graph:\n%s\nwant:\n%s", got, want)
			}
			if err := (&Workflow{Name: w.Name, Agents: w.Agents, Graph: w.Graph, Limits: w.Limits}).Validate(); err != nil {
				t.Errorf("the compiled form does not validate on its own: %v", err)
			}
		})
	}
}

// TestCycles: a cycle is accepted when a node on it has max_visits, when limits.max_steps is set,
// or when a pattern bounds it; otherwise rejected (testdata/invalid/unbounded_*.yaml).
func TestCycles(t *testing.T) {
	loop := func(limits, visitsA, visitsB string) string {
		return agents("a", "b") + limits + `graph:
  start: a
  nodes:
    - {id: a, agent: a` + visitsA + `}
    - {id: b, agent: b` + visitsB + `}
  edges:
    - {from: a, to: b}
    - {from: b, to: a, when: {contains: AGAIN}}
    - {from: b, to: end, when: default}
`
	}
	tests := []struct {
		name, yaml string
		ok         bool
	}{
		{"unbounded", loop("", "", ""), false},
		{"max_visits on the first node", loop("", ", max_visits: 2", ""), true},
		{"max_visits on the second node", loop("", "", ", max_visits: 2"), true},
		{"max_steps", loop("limits: {max_steps: 10}\n", "", ""), true},
		{"other limits only", loop("limits: {max_turns: 3, timeout: 1m}\n", "", ""), false},
		{"handoff", agents("a", "b") + "handoff: {start: a, routes: {a: [b], b: [a]}}\n", true},
		{"supervisor", agents("a", "b") + "supervisor: {agents: [a, b]}\n", true},
		{"group chat", agents("a", "b") + "group_chat: {coordinator: round_robin, agents: [a, b]}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if tt.ok && err != nil {
				t.Errorf("Parse: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "has no bound")) {
				t.Errorf("Parse error %v, want an unbounded cycle", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	w, err := Parse("t.yaml", []byte(`version: 1
name: t
defaults:
  model: {provider: offline, name: base, temperature: 0.2, max_tokens: 100, reasoning_effort: low}
limits: {max_steps: 7, tool_timeout: 5s}
agents:
  - name: a
    model: {name: special, temperature: 0.9}
    tools: [calculate, {name: http.http_fetch, approval: required, timeout: 3s}]
  - name: b
sequential: [a, b]
`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(struct {
		A []Agent
		L Limits
	}{w.Agents, w.Limits})
	want := `{"A":[` +
		`{"name":"a","model":{"provider":"offline","name":"special","temperature":0.9,"max_tokens":100,"reasoning_effort":"low"},` +
		`"tools":[{"name":"calculate","approval":"never"},{"name":"http.http_fetch","approval":"required","timeout":3000000000}]},` +
		`{"name":"b","model":{"provider":"offline","name":"base","temperature":0.2,"max_tokens":100,"reasoning_effort":"low"}}],` +
		`"L":{"max_steps":7,"max_turns":10,"timeout":1800000000000,"step_timeout":300000000000,"tool_timeout":5000000000,` +
		`"tool_concurrency":4,"retries":3,"retry_backoff":500000000}}`
	if string(got) != want {
		t.Errorf("agents and limits:\n%s\nwant:\n%s", got, want)
	}
	if w.Agents[0].Model.Temperature == w.Agents[1].Model.Temperature {
		t.Errorf("agents share one temperature pointer")
	}
}
