package workflow

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const examplesDir = "../../examples/workflows"

// firstPartyTools are the tools of the first-party plugins the examples may use.
var firstPartyTools = []string{"calculate", "now", "convert_time", "json_query", "http_fetch", "word_count", "text_replace", "regex_match"}

func firstPartyTool(name string) bool { return slices.Contains(firstPartyTools, name) }

func loadExamples(t *testing.T) map[string]*Workflow {
	t.Helper()
	ws, err := LoadDir(examplesDir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	byName := map[string]*Workflow{}
	for _, w := range ws {
		byName[w.Name] = w
		if err := w.CheckTools(firstPartyTool); err != nil {
			t.Errorf("%s: %v", w.Name, err)
		}
	}
	return byName
}

func TestExamples(t *testing.T) {
	ws := loadExamples(t)
	tests := []struct {
		name, file, pattern, shape string
	}{
		{"assistant", "assistant.yaml", PatternSingle, `
start assistant
node assistant agent agent=assistant wait=any
edge assistant -> end
`},
		{"approval", "approval.yaml", PatternSingle, `
start assistant
node assistant agent agent=assistant wait=any
edge assistant -> end
`},
		{"research", "research.yaml", PatternSupervisor, `
start lead
node lead router agent=lead wait=any max_visits=7 router=llm/route[researcher analyst writer]
node researcher agent agent=researcher wait=any
node analyst agent agent=analyst wait=any
node writer agent agent=writer wait=any
edge lead -> researcher route=researcher
edge lead -> analyst route=analyst
edge lead -> writer route=writer
edge lead -> end route=finish
edge researcher -> lead
edge analyst -> lead
edge writer -> lead
`},
		{"review", "review.yaml", PatternGraph, `
start writer
node writer agent agent=writer wait=any max_visits=3
node reviewer agent agent=reviewer wait=any max_visits=3
edge writer -> reviewer
edge reviewer -> end matches=^\s*APPROVED
edge reviewer -> writer matches=^\s*REVISE
edge reviewer -> end default
`},
		{"panel", "panel.yaml", PatternConcurrent, `
start optimist pessimist pragmatist
node optimist agent agent=optimist wait=any
node pessimist agent agent=pessimist wait=any
node pragmatist agent agent=pragmatist wait=any
node moderator agent agent=moderator wait=all
edge optimist -> moderator
edge pessimist -> moderator
edge pragmatist -> moderator
edge moderator -> end
`},
		{"handoff", "handoff.yaml", PatternHandoff, `
start triage
node triage agent agent=triage wait=any max_visits=5
node billing agent agent=billing wait=any max_visits=5
node tech agent agent=tech wait=any max_visits=5
edge triage -> billing route=billing
edge triage -> tech route=tech
edge triage -> end default
edge billing -> triage route=triage
edge billing -> end default
edge tech -> triage route=triage
edge tech -> end default
`},
		{"groupchat", "groupchat.yaml", PatternGroupChat, `
start host
node host router agent=host wait=any max_visits=7 router=llm/speaker[designer engineer product]
node designer agent agent=designer wait=any
node engineer agent agent=engineer wait=any
node product agent agent=product wait=any
edge host -> designer route=designer
edge host -> engineer route=engineer
edge host -> product route=product
edge host -> end route=finish
edge designer -> host
edge engineer -> host
edge product -> host
`},
	}
	if len(ws) != len(tests) {
		t.Errorf("%d examples, want %d", len(ws), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ws[tt.name]
			if w == nil {
				t.Fatalf("no workflow %q", tt.name)
			}
			if !strings.HasSuffix(w.File, "/"+tt.file) {
				t.Errorf("read from %s, want %s", w.File, tt.file)
			}
			if w.Pattern != tt.pattern {
				t.Errorf("pattern %s, want %s", w.Pattern, tt.pattern)
			}
			if got := shape(w.Graph); got != strings.TrimPrefix(tt.shape, "\n") {
				t.Errorf("graph:\n%s\nwant:\n%s", got, strings.TrimPrefix(tt.shape, "\n"))
			}
			for _, a := range w.Agents {
				if strings.TrimSpace(a.Instructions) == "" || a.Description == "" {
					t.Errorf("agent %s has no instructions or description", a.Name)
				}
			}
			if w.Description == "" {
				t.Errorf("no description")
			}
		})
	}
}

func TestExampleDetails(t *testing.T) {
	ws := loadExamples(t)
	if a := ws["assistant"]; a != nil {
		var names []string
		for _, tool := range a.Agents[0].Tools {
			names = append(names, tool.Name)
			if tool.Approval != ApprovalNever {
				t.Errorf("assistant: %s approval %q", tool.Name, tool.Approval)
			}
		}
		if !slices.Equal(names, firstPartyTools) {
			t.Errorf("assistant tools %v, want %v", names, firstPartyTools)
		}
	}
	if a := ws["approval"]; a != nil {
		tools := a.Agents[0].Tools
		i := slices.IndexFunc(tools, func(r ToolRef) bool { return r.Name == "http_fetch" })
		if i < 0 || tools[i].Approval != ApprovalRequired || tools[i].Timeout != 20*time.Second {
			t.Errorf("approval: tools %+v, want http_fetch with approval required and timeout 20s", tools)
		}
	}
	if r := ws["review"]; r != nil {
		reviewer, _ := r.Agent("reviewer")
		for _, word := range []string{"APPROVED", "REVISE"} {
			if reviewer == nil || !strings.Contains(reviewer.Instructions, word) {
				t.Errorf("review: reviewer instructions do not mention %s", word)
			}
		}
	}
}
