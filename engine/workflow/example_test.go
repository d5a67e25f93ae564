package workflow_test

import (
	"errors"
	"fmt"

	"github.com/agentfleet/fleet/engine/workflow"
)

func ExampleParse() {
	src := `version: 1
name: review
agents:
  - name: writer
    instructions: Write the piece.
  - name: reviewer
    instructions: Reply APPROVED, or REVISE with the changes to make.
graph:
  start: writer
  nodes:
    - {id: writer, agent: writer, max_visits: 3}
    - {id: reviewer, agent: reviewer}
  edges:
    - {from: writer, to: reviewer}
    - {from: reviewer, to: writer, when: {contains: REVISE}}
    - {from: reviewer, to: end, when: default}
`
	w, err := workflow.Parse("review.yaml", []byte(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w.Name, w.Pattern, w.Graph.Start)
	for _, e := range w.Graph.Edges {
		fmt.Printf("%s -> %s %+v\n", e.From, e.To, e.When)
	}
	fmt.Println("max steps:", w.Limits.MaxSteps)
	// Output:
	// review graph [writer]
	// writer -> reviewer {Route: Contains: NotContains: Matches: Default:false}
	// reviewer -> writer {Route: Contains:REVISE NotContains: Matches: Default:false}
	// reviewer -> end {Route: Contains: NotContains: Matches: Default:true}
	// max steps: 50
}

func ExampleParse_errors() {
	src := `version: 1
name: broken
agents:
  - name: writer
    modle: {name: gpt-4o-mini}
sequential: [writer, reviewer]
`
	_, err := workflow.Parse("broken.yaml", []byte(src))
	fmt.Println(err)
	fmt.Println(errors.Is(err, workflow.ErrInvalid))
	// Output:
	// broken.yaml:5:5: agents[0].modle: unknown key "modle" (want one of name, description, instructions, model, tools)
	// true
}

func ExampleWorkflow_CheckTools() {
	w, err := workflow.Parse("calc.yaml", []byte(`version: 1
name: calc
agents:
  - name: assistant
    tools: [calculate, http.http_fetch]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	loaded := map[string]bool{"calculate": true}
	err = w.CheckTools(func(name string) bool { return loaded[name] })
	fmt.Println(err)
	fmt.Println(errors.Is(err, workflow.ErrUnknownTool))
	// Output:
	// calc.yaml:5:24: agents[0].tools[1]: unknown tool "http.http_fetch": no loaded plugin provides it
	// true
}
