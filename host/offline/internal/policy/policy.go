// Package policy is the offline model's brain: a pure, deterministic function from a chat request
// to a reply. The rules are documented in the offline package (host/offline/README.md).
package policy

import (
	"fmt"
	"strings"
)

// Roles of chat messages.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Tool choice values besides a function name.
const (
	ChoiceAuto     = "auto"
	ChoiceNone     = "none"
	ChoiceRequired = "required"
)

// Names of the control tools the engine offers routers and handoff agents.
const (
	RoutePrefix    = "route_to_"
	TransferPrefix = "transfer_to_"
	FinishTool     = "finish"
)

// Call is a tool call.
type Call struct {
	ID        string
	Name      string
	Arguments string
}

// Message is one chat message.
type Message struct {
	Role       string
	Content    string
	Name       string
	ToolCalls  []Call
	ToolCallID string
}

// Tool is a tool offered to the model.
type Tool struct {
	Name        string
	Description string
}

// Request is what the policy decides on.
type Request struct {
	Messages []Message
	Tools    []Tool
	// ToolChoice is "", "auto", "none", "required" or the name of a function the model must call.
	ToolChoice string
	// NoParallel is set when the request has parallel_tool_calls false: at most one call.
	NoParallel bool
	// ReasoningEffort, when set and not "none", makes the reply carry reasoning.
	ReasoningEffort string
}

// Reply is the model's answer: text, or tool calls (IDs left empty), plus optional reasoning.
type Reply struct {
	Reasoning string
	Content   string
	Calls     []Call
	// Rule names the rule that produced the reply.
	Rule string
}

// rule is one entry of the dispatch table: it answers, or declines.
type rule struct {
	name string
	fn   func(*conv) (Reply, bool)
}

// rules are tried in order; the first that answers wins. plain always answers.
var rules = []rule{
	{"tool_results", toolResultsRule},
	{"router", routerRule},
	{"handoff", handoffRule},
	{"reviewer", reviewerRule},
	{"say", sayRule},
	{"tools", toolNeedRule},
	{"plain", plainRule},
}

// Decide returns the offline model's reply to req.
func Decide(req Request) Reply {
	c := newConv(req)
	var r Reply
	for _, ru := range rules {
		var ok bool
		if r, ok = ru.fn(c); ok {
			r.Rule = ru.name
			break
		}
	}
	r = c.enforceChoice(r)
	if req.ReasoningEffort != "" && req.ReasoningEffort != "none" {
		r.Reasoning = reasoning(c, req.ReasoningEffort, r)
	}
	return r
}

// conv is a request with the facts the rules share.
type conv struct {
	req   Request
	tools []Tool
	// system joins the system and developer messages.
	system string
	// lastUser is the index of the last user message, -1 when none.
	lastUser int
	// request is the last user message's text.
	request string
}

func newConv(req Request) *conv {
	c := &conv{req: req, lastUser: -1}
	if req.ToolChoice != ChoiceNone {
		c.tools = req.Tools
	}
	var sys []string
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleDeveloper:
			sys = append(sys, m.Content)
		case RoleUser:
			c.lastUser, c.request = i, m.Content
		}
	}
	c.system = strings.Join(sys, "\n")
	return c
}

// tool returns the offered tool matching key by name suffix (see hasToolSuffix).
func (c *conv) tool(key string) (Tool, bool) {
	for _, t := range c.tools {
		if hasToolSuffix(t.Name, key) {
			return t, true
		}
	}
	return Tool{}, false
}

// prefixed returns the offered tools whose names start with prefix, in offer order.
func (c *conv) prefixed(prefix string) []Tool {
	var out []Tool
	for _, t := range c.tools {
		if strings.HasPrefix(t.Name, prefix) && len(t.Name) > len(prefix) {
			out = append(out, t)
		}
	}
	return out
}

// isControl reports whether a tool name is a routing or handoff tool.
func isControl(name string) bool {
	return strings.HasPrefix(name, RoutePrefix) || strings.HasPrefix(name, TransferPrefix) ||
		hasToolSuffix(name, FinishTool)
}

// since returns the messages after index i.
func (c *conv) since(i int) []Message {
	if i+1 >= len(c.req.Messages) {
		return nil
	}
	return c.req.Messages[i+1:]
}

// workResultsSinceUser reports whether a tool result of a non-control tool follows the last
// user message.
func (c *conv) workResultsSinceUser() bool {
	names := c.callNames()
	for _, m := range c.since(c.lastUser) {
		if m.Role == RoleTool && !isControl(names[m.ToolCallID]) {
			return true
		}
	}
	return false
}

// callNames maps every tool call id in the conversation to the tool's name.
func (c *conv) callNames() map[string]string {
	names := map[string]string{}
	for _, m := range c.req.Messages {
		for _, tc := range m.ToolCalls {
			names[tc.ID] = tc.Name
		}
	}
	return names
}

// enforceChoice applies tool_choice "required" or a named function, and parallel_tool_calls.
func (c *conv) enforceChoice(r Reply) Reply {
	choice := c.req.ToolChoice
	switch {
	case choice == "" || choice == ChoiceAuto || choice == ChoiceNone:
	case choice == ChoiceRequired:
		if len(r.Calls) == 0 && len(c.tools) > 0 {
			r = Reply{Calls: []Call{{Name: c.tools[0].Name, Arguments: "{}"}}, Rule: r.Rule + "+required"}
		}
	default:
		r = c.forceNamed(r, choice)
	}
	if c.req.NoParallel && len(r.Calls) > 1 {
		r.Calls = r.Calls[:1]
	}
	return r
}

// forceNamed keeps only the calls to the named function, or calls it with {} when there are none.
func (c *conv) forceNamed(r Reply, name string) Reply {
	var keep []Call
	for _, call := range r.Calls {
		if call.Name == name {
			keep = append(keep, call)
		}
	}
	if len(keep) == 0 {
		keep = []Call{{Name: name, Arguments: "{}"}}
	}
	return Reply{Calls: keep, Rule: r.Rule + "+forced"}
}

// reasoning is the short reasoning text streamed before the reply.
func reasoning(c *conv, effort string, r Reply) string {
	plan := "answer directly"
	if len(r.Calls) > 0 {
		names := make([]string, len(r.Calls))
		for i, call := range r.Calls {
			names[i] = call.Name
		}
		plan = "call " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("Reasoning (%s effort): the request is %q. Plan: %s.", effort, excerpt(c.request, 60), plan)
}

// plainRule answers with a short text built from the agent's role and the request.
func plainRule(c *conv) (Reply, bool) {
	role := roleOf(c.system)
	if strings.TrimSpace(c.request) == "" {
		return Reply{Content: fmt.Sprintf("As %s: I am ready to help.", role)}, true
	}
	return Reply{Content: fmt.Sprintf("As %s: here is my response to %q.", role, excerpt(c.request, 80))}, true
}

// sayPrefix makes the model repeat the rest of the user's message verbatim.
const sayPrefix = "say exactly:"

// sayRule answers "Say exactly: TEXT" with TEXT (after one optional space), verbatim.
func sayRule(c *conv) (Reply, bool) {
	if c.lastUser < 0 || c.workResultsSinceUser() {
		return Reply{}, false
	}
	if len(c.request) < len(sayPrefix) || !strings.EqualFold(c.request[:len(sayPrefix)], sayPrefix) {
		return Reply{}, false
	}
	return Reply{Content: strings.TrimPrefix(c.request[len(sayPrefix):], " ")}, true
}
