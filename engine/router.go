package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/workflow"
)

// finishDecision is a router's decision to end the run.
const finishDecision = "finish"

const routerInstructions = `You coordinate a team of agents working on the user's request. Decide who acts next by calling one of the route_to_<name> tools, or call finish when the request is fully answered. Do not answer the request yourself.`

// runRouter runs a router node: round robin, or a model that calls route_to_<choice> or finish.
func (r *run) runRouter(ctx context.Context, n *workflow.Node) (*nodeResult, error) {
	rt := n.Router
	if rt == nil || len(rt.Choices) == 0 {
		return nil, fmt.Errorf("router %s has no choices", n.ID)
	}
	r.mu.Lock()
	visits := r.st.Visits[n.ID]
	r.mu.Unlock()
	if n.MaxVisits > 0 && visits >= n.MaxVisits { // the visit kept for deciding to finish
		return r.decide(n, finishDecision, "max_rounds reached", "max_rounds"), nil
	}
	if rt.Mode == "round_robin" {
		choice := rt.Choices[(visits-1)%len(rt.Choices)]
		return r.decide(n, choice, "round robin", ""), nil
	}
	ag := r.routerAgent(n)
	req := r.routerRequest(ag, n)
	msg, usage, err := r.callModel(ctx, n.ID, ag, &req, true)
	if err != nil {
		return nil, err
	}
	base := event.Event{Node: n.ID, Agent: ag.Name, Path: n.ID}
	r.transition(func(st *runState) []event.Event { return r.usageEvents(st, base, ag, req.Model, usage) })
	choice, reason := finishDecision, "no decision"
	for _, c := range msg.ToolCalls {
		if c.Name == finishDecision {
			choice, reason = finishDecision, argReason(c.Arguments)
			break
		}
		if target, ok := strings.CutPrefix(c.Name, "route_to_"); ok && contains(rt.Choices, target) {
			choice, reason = target, argReason(c.Arguments)
			break
		}
	}
	return r.decide(n, choice, reason, ""), nil
}

func (r *run) routerAgent(n *workflow.Node) *workflow.Agent {
	if ag, ok := r.wf.Agent(n.Agent); ok {
		return ag
	}
	return &workflow.Agent{Name: n.ID, Instructions: routerInstructions}
}

// routerRequest builds the routing call: the router's instructions and the choices, the
// conversation, and one tool per choice plus finish.
func (r *run) routerRequest(ag *workflow.Agent, n *workflow.Node) ModelRequest {
	var b strings.Builder
	b.WriteString(firstNonEmpty(ag.Instructions, routerInstructions))
	b.WriteString("\n\nThe team:\n")
	tools := make([]ToolDef, 0, len(n.Router.Choices)+1)
	for _, c := range n.Router.Choices {
		fmt.Fprintf(&b, "- %s\n", r.describe(c))
		tools = append(tools, ToolDef{Name: "route_to_" + c, Description: "Let " + r.describe(c) + " act next.",
			Parameters: reasonSchema})
	}
	tools = append(tools, ToolDef{Name: finishDecision, Description: "End: the request is fully answered.", Parameters: reasonSchema})
	routing := *ag
	routing.Instructions = b.String()
	req := r.modelRequest(&routing, r.prompt(&routing, nil, ""), tools)
	req.ToolChoice = ToolChoiceRequired
	return req
}

func argReason(args string) string {
	var a struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal([]byte(args), &a)
	return a.Reason
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decide emits a router's route event and returns its result.
func (r *run) decide(n *workflow.Node, choice, reason, limit string) *nodeResult {
	kind := n.Router.Kind
	if kind == "" {
		kind = "route"
	}
	var to []string
	if choice == finishDecision {
		kind = finishDecision
	} else {
		to = []string{choice}
	}
	r.transition(func(st *runState) []event.Event {
		if limit != "" {
			st.Limit = firstNonEmpty(st.Limit, limit)
		}
		e := event.Event{Node: n.ID, Agent: n.Agent, Path: n.ID}
		e.Data = event.RouteData{Kind: kind, From: n.ID, To: to, Reason: reason}
		return []event.Event{e}
	})
	return &nodeResult{Decision: choice}
}

// runJoin runs a join node: it concatenates what its predecessors said in this run.
func (r *run) runJoin(_ context.Context, n *workflow.Node) (*nodeResult, error) {
	preds := r.wf.Graph.In(n.ID)
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, p := range preds {
		for i := len(r.st.Transcript) - 1; i >= 0; i-- {
			if e := r.st.Transcript[i]; e.Node == p {
				parts = append(parts, fmt.Sprintf("**%s**: %s", firstNonEmpty(e.Agent, p), e.Content))
				break
			}
		}
	}
	return &nodeResult{Output: strings.Join(parts, "\n\n")}, nil
}

// runToolNode runs a tool node: one call with templated arguments; the result is its output.
func (r *run) runToolNode(ctx context.Context, n *workflow.Node) (*nodeResult, error) {
	if n.Tool == nil || r.eng.cfg.Tools == nil {
		return nil, fmt.Errorf("tool node %s: no tool", n.ID)
	}
	info, ok := r.eng.cfg.Tools.Lookup(n.Tool.Name)
	if !ok {
		return nil, fmt.Errorf("tool node %s: tool %q is not loaded", n.ID, n.Tool.Name)
	}
	r.mu.Lock()
	input, last := r.st.Input, r.st.Output
	r.mu.Unlock()
	args, err := json.Marshal(expand(n.Tool.Args, strings.NewReplacer("{{input}}", input, "{{last}}", last)))
	if err != nil {
		return nil, fmt.Errorf("tool node %s: arguments: %w", n.ID, err)
	}
	base := event.Event{Node: n.ID, Path: n.ID}
	call := ToolCall{ID: NewID("call"), Name: info.Tool, Arguments: string(args)}
	t := &turn{r: r, base: base, msgID: NewID("msg")}
	t.emit(event.ToolStartData{CallID: call.ID, Tool: call.Name})
	t.emit(event.ToolArgsData{CallID: call.ID, Delta: call.Arguments})
	t.emit(event.ToolEndData{CallID: call.ID, Tool: call.Name, Arguments: args})
	result, evErr, d := r.callTool(ctx, binding{canonical: info.Name}, call)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	pc := pendingCall{Call: call}
	r.transition(func(st *runState) []event.Event { return []event.Event{r.settle(base, &pc, result, evErr, d)} })
	return &nodeResult{Output: pc.Result}, nil
}

// expand replaces templates in every string of v.
func expand(v any, rep *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return rep.Replace(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = expand(e, rep)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expand(e, rep)
		}
		return out
	}
	return v
}
