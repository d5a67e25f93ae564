package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// callReply is a reply with one call whose arguments are {"reason": reason}.
func callReply(name, reason string) Reply {
	return Reply{Calls: []Call{{Name: name, Arguments: jsonObject("reason", reason)}}}
}

// jsonObject encodes a one-key JSON object.
func jsonObject(key, value string) string {
	b, _ := json.Marshal(map[string]string{key: value}) // a map of strings always encodes
	return string(b)
}

// spoken returns the normalized names of the agents that have spoken in the conversation: the
// names of assistant messages, and the targets of earlier route_to_ calls.
func (c *conv) spoken() map[string]bool {
	s := map[string]bool{}
	for _, m := range c.req.Messages {
		if m.Role != RoleAssistant {
			continue
		}
		if m.Name != "" {
			s[normalizeName(m.Name)] = true
		}
		for _, tc := range m.ToolCalls {
			if strings.HasPrefix(tc.Name, RoutePrefix) {
				s[normalizeName(tc.Name[len(RoutePrefix):])] = true
			}
		}
	}
	return s
}

// routerRule: with route_to_<name> tools offered, route to the first choice that has not spoken,
// preferring the one named earliest in the request (then in the instructions); when every choice
// has spoken, call finish.
func routerRule(c *conv) (Reply, bool) {
	choices := c.prefixed(RoutePrefix)
	if len(choices) == 0 {
		return Reply{}, false
	}
	spoken := c.spoken()
	var pending []Tool
	for _, t := range choices {
		if !spoken[normalizeName(t.Name[len(RoutePrefix):])] {
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		fin, ok := c.tool(FinishTool)
		if !ok {
			return Reply{}, false
		}
		return callReply(fin.Name, "every choice has spoken"), true
	}
	t, reason := pickNamed(pending, RoutePrefix, c.request, c.system)
	return callReply(t.Name, reason), true
}

// pickNamed returns the tool whose name (after prefix) occurs earliest in request, else in
// instructions, else the first tool; with the reason for the choice.
func pickNamed(tools []Tool, prefix, request, instructions string) (Tool, string) {
	for _, src := range []struct{ text, where string }{{request, "request"}, {instructions, "instructions"}} {
		best, bestPos := -1, -1
		for i, t := range tools {
			if pos := wordIndex(src.text, t.Name[len(prefix):]); pos >= 0 && (bestPos < 0 || pos < bestPos) {
				best, bestPos = i, pos
			}
		}
		if best >= 0 {
			name := tools[best].Name[len(prefix):]
			return tools[best], fmt.Sprintf("%s is named in the %s and has not spoken yet", name, src.where)
		}
	}
	return tools[0], fmt.Sprintf("%s has not spoken yet", tools[0].Name[len(prefix):])
}

// transferredThisTurn reports whether an assistant message after the last user message called a
// transfer_to_ tool.
func (c *conv) transferredThisTurn() bool {
	for _, m := range c.since(c.lastUser) {
		for _, tc := range m.ToolCalls {
			if m.Role == RoleAssistant && strings.HasPrefix(tc.Name, TransferPrefix) {
				return true
			}
		}
	}
	return false
}

// handoffRule: with transfer_to_<name> tools offered and no handoff yet since the last user
// message, transfer to the target whose description (and name) shares the most significant words
// with the request; ties go to the first offered.
func handoffRule(c *conv) (Reply, bool) {
	targets := c.prefixed(TransferPrefix)
	if len(targets) == 0 || c.lastUser < 0 || c.transferredThisTurn() {
		return Reply{}, false
	}
	want := map[string]bool{}
	for _, w := range significantWords(c.request) {
		want[w] = true
	}
	var best Tool
	var bestWords []string
	for _, t := range targets {
		var hits []string
		name := normalizeName(t.Name[len(TransferPrefix):])
		for _, w := range significantWords(t.Description + " " + name) {
			if want[w] {
				hits = append(hits, w)
			}
		}
		if len(hits) > len(bestWords) {
			best, bestWords = t, hits
		}
	}
	if len(bestWords) == 0 {
		return Reply{}, false
	}
	return callReply(best.Name, "the request mentions "+strings.Join(bestWords, ", ")), true
}

// Reviewer verdict markers.
const (
	markRevise   = "REVISE"
	markApproved = "APPROVED"
)

// reviewerRule: instructions containing both APPROVED and REVISE make a reviewer, which asks for
// a revision on its first review in the conversation and approves afterwards. Earlier reviews
// are the messages (other than system ones) containing "REVISE:" or "APPROVED:".
func reviewerRule(c *conv) (Reply, bool) {
	if !strings.Contains(c.system, markApproved) || !strings.Contains(c.system, markRevise) {
		return Reply{}, false
	}
	reviews := 0
	subject := c.request
	for _, m := range c.req.Messages {
		switch {
		case m.Role == RoleSystem || m.Role == RoleDeveloper:
			continue
		case strings.Contains(m.Content, markRevise+":") || strings.Contains(m.Content, markApproved+":"):
			reviews++
		case m.Role == RoleAssistant && m.Content != "":
			subject = m.Content
		}
	}
	if reviews == 0 {
		return Reply{Content: fmt.Sprintf("%s: make %q more specific and add one concrete example.",
			markRevise, excerpt(subject, 40))}, true
	}
	return Reply{Content: markApproved + ": the revision addresses the feedback."}, true
}
