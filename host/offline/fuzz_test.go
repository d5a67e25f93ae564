package offline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/host/offline/internal/policy"
)

// FuzzParseRequest: any body either fails with a request error or yields a request the policy
// and the planner handle; a plan always reassembles into a valid message.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"What is 17*23?"}],"tools":[{"type":"function","function":{"name":"calculate"}}]}`,
		`{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"calculate","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"{\"error\":\"x\"}"}]}`,
		`{"messages":[{"role":"user","content":null}],"tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f"}}]}`,
		`{"messages":[{"role":"system","content":"You are a reviewer. APPROVED REVISE"},{"role":"user","content":"x"}],"max_tokens":1}`,
		`{"messages":[{"role":"user","content":"go"}],"tools":[{"type":"function","function":{"name":"route_to_a"}},{"type":"function","function":{"name":"finish"}}],"reasoning_effort":"high"}`,
		`{"messages":[]}`, `{`, `null`, `[]`, `{"messages":[{"role":"user","content":"\u00e9\ud800"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRequest(body)
		if err != nil {
			if _, ok := err.(*requestError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		reply := policy.Decide(req.policyRequest())
		p := newPlan(req, reply, 1)
		if p.usage.CompletionTokens != len(p.pieces) || p.usage.PromptTokens < 1 {
			t.Fatalf("usage %+v for %d pieces", p.usage, len(p.pieces))
		}
		m := p.message()
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if p.finish != "length" {
			if m.Content != nil && *m.Content != reply.Content {
				t.Fatalf("content %q, reply %q", *m.Content, reply.Content)
			}
			for i, c := range m.ToolCalls {
				if c.Function.Arguments != reply.Calls[i].Arguments || !json.Valid([]byte(c.Function.Arguments)) {
					t.Fatalf("call %d arguments %q", i, c.Function.Arguments)
				}
			}
		}
	})
}

func TestWordPiecesLossless(t *testing.T) {
	for _, s := range []string{"", " ", "a", "Hello  wonderful\tworld\n", "ééééééééééé", "supercalifragilistic x"} {
		ps := wordPieces(s)
		if strings.Join(ps, "") != s {
			t.Fatalf("%q -> %q", s, ps)
		}
		for i, p := range ps {
			if p == "" || (strings.TrimSpace(p) == "" && i != len(ps)-1) {
				t.Fatalf("empty piece, or blank piece before the end, in %q", ps)
			}
		}
	}
	if ps := argPieces(`{}`); len(ps) != 2 {
		t.Fatalf("argPieces({}) = %q", ps)
	}
}
