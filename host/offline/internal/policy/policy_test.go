package policy

import (
	"reflect"
	"strings"
	"testing"
)

func sys(s string) Message  { return Message{Role: RoleSystem, Content: s} }
func user(s string) Message { return Message{Role: RoleUser, Content: s} }
func asst(name, s string, calls ...Call) Message {
	return Message{Role: RoleAssistant, Name: name, Content: s, ToolCalls: calls}
}
func result(id, s string) Message { return Message{Role: RoleTool, ToolCallID: id, Content: s} }
func tools(names ...string) []Tool {
	out := make([]Tool, len(names))
	for i, n := range names {
		out[i] = Tool{Name: n}
	}
	return out
}

var workTools = tools("calculate", "now", "http_fetch", "word_count")

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want Reply
	}{
		{"plain with role",
			Request{Messages: []Message{sys("You are the writer. Write short poems."), user("A poem about the sea")}},
			Reply{Rule: "plain", Content: `As the writer: here is my response to "A poem about the sea".`}},
		{"plain without role",
			Request{Messages: []Message{sys("Write poems."), user("hi")}},
			Reply{Rule: "plain", Content: `As the assistant: here is my response to "hi".`}},
		{"plain without user message",
			Request{Messages: []Message{sys("You are a helper.")}},
			Reply{Rule: "plain", Content: "As a helper: I am ready to help."}},
		{"arithmetic",
			Request{Messages: []Message{user("What is 17*23?")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "calculate", Arguments: `{"expression":"17*23"}`}}}},
		{"parallel arithmetic",
			Request{Messages: []Message{user("What are 17*23 and 6 times 7?")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "calculate", Arguments: `{"expression":"17*23"}`},
				{Name: "calculate", Arguments: `{"expression":"6*7"}`}}}},
		{"parallel_tool_calls false keeps the first",
			Request{Messages: []Message{user("What are 17*23 and 6 times 7?")}, Tools: workTools, NoParallel: true},
			Reply{Rule: "tools", Calls: []Call{{Name: "calculate", Arguments: `{"expression":"17*23"}`}}}},
		{"namespaced tool name",
			Request{Messages: []Message{user("What is 2+2?")}, Tools: tools("math_calculate")},
			Reply{Rule: "tools", Calls: []Call{{Name: "math_calculate", Arguments: `{"expression":"2+2"}`}}}},
		{"arithmetic without the tool",
			Request{Messages: []Message{user("What is 2+2?")}, Tools: tools("now")},
			Reply{Rule: "plain", Content: `As the assistant: here is my response to "What is 2+2?".`}},
		{"time in a city",
			Request{Messages: []Message{user("What time is it in Tokyo?")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "now", Arguments: `{"timezone":"Asia/Tokyo"}`}}}},
		{"date with IANA zone",
			Request{Messages: []Message{user("What's the date today in America/New_York?")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "now", Arguments: `{"timezone":"America/New_York"}`}}}},
		{"today without zone",
			Request{Messages: []Message{user("What day is it today?")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "now", Arguments: `{}`}}}},
		{"url",
			Request{Messages: []Message{user("Summarize https://example.com/page.")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "http_fetch", Arguments: `{"url":"https://example.com/page"}`}}}},
		{"url and arithmetic together",
			Request{Messages: []Message{user("Fetch http://127.0.0.1:9/x and compute 3*4")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "http_fetch", Arguments: `{"url":"http://127.0.0.1:9/x"}`},
				{Name: "calculate", Arguments: `{"expression":"3*4"}`}}}},
		{"word count is exclusive",
			Request{Messages: []Message{user("Count the words in: 2+2 is four")}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "word_count", Arguments: `{"text":"2+2 is four"}`}}}},
		{"word count of quoted text",
			Request{Messages: []Message{user(`How many words are in "the quick brown fox"?`)}, Tools: workTools},
			Reply{Rule: "tools", Calls: []Call{{Name: "word_count", Arguments: `{"text":"the quick brown fox"}`}}}},
		{"tool_choice none answers in text",
			Request{Messages: []Message{user("What is 17*23?")}, Tools: workTools, ToolChoice: ChoiceNone},
			Reply{Rule: "plain", Content: `As the assistant: here is my response to "What is 17*23?".`}},
		{"tool_choice required without a match",
			Request{Messages: []Message{user("hello")}, Tools: workTools, ToolChoice: ChoiceRequired},
			Reply{Rule: "plain+required", Calls: []Call{{Name: "calculate", Arguments: `{}`}}}},
		{"tool_choice names a function",
			Request{Messages: []Message{user("What is 2+2 and the time?")}, Tools: workTools, ToolChoice: "now"},
			Reply{Rule: "tools+forced", Calls: []Call{{Name: "now", Arguments: `{}`}}}},
		{"answer after a tool result",
			Request{Messages: []Message{user("What is 17*23?"),
				asst("", "", Call{ID: "c1", Name: "calculate", Arguments: `{"expression":"17*23"}`}),
				result("c1", `{"expression":"17*23","result":391}`)}, Tools: workTools},
			Reply{Rule: "tool_results", Content: "17*23 = 391."}},
		{"answer after parallel results",
			Request{Messages: []Message{user("17*23 and 1/4?"),
				asst("", "", Call{ID: "a", Name: "calculate", Arguments: `{"expression":"17*23"}`},
					Call{ID: "b", Name: "calculate", Arguments: `{"expression":"1/4"}`}),
				result("a", `391`), result("b", `{"result":0.25}`)}, Tools: workTools},
			Reply{Rule: "tool_results", Content: "17*23 = 391. 1/4 = 0.25."}},
		{"tool error",
			Request{Messages: []Message{user("What is 1/0?"),
				asst("", "", Call{ID: "c1", Name: "calculate", Arguments: `{"expression":"1/0"}`}),
				result("c1", `{"error":"division by zero"}`)}, Tools: workTools},
			Reply{Rule: "tool_results", Content: "The calculate tool failed: division by zero."}},
		{"tool error as text",
			Request{Messages: []Message{user("fetch http://x.invalid"),
				asst("", "", Call{ID: "c1", Name: "http_fetch", Arguments: `{"url":"http://x.invalid"}`}),
				result("c1", `error: no such host`)}, Tools: workTools},
			Reply{Rule: "tool_results", Content: "The http_fetch tool failed: no such host."}},
		{"time result",
			Request{Messages: []Message{user("time in Tokyo?"),
				asst("", "", Call{ID: "c1", Name: "now", Arguments: `{"timezone":"Asia/Tokyo"}`}),
				result("c1", `{"time":"2026-12-05T05:48:11+09:00","timezone":"Asia/Tokyo","unix":1,"weekday":"Saturday"}`)}, Tools: workTools},
			Reply{Rule: "tool_results", Content: "It is Saturday, 2026-12-05T05:48:11+09:00 in Asia/Tokyo."}},
		{"fetch result",
			Request{Messages: []Message{user("read https://example.com"),
				asst("", "", Call{ID: "c1", Name: "http.http_fetch", Arguments: `{"url":"https://example.com"}`}),
				result("c1", `{"url":"https://example.com/","status":200,"content_type":"text/html","title":"Example","text":"Hello there.","truncated":false}`)}},
			Reply{Rule: "tool_results", Content: `Fetched https://example.com/ (status 200), "Example": "Hello there.".`}},
		{"word count result",
			Request{Messages: []Message{user("count the words: a b"),
				asst("", "", Call{ID: "c1", Name: "word_count", Arguments: `{"text":"a b"}`}),
				result("c1", `{"words":2,"characters":3,"lines":1,"sentences":1}`)}},
			Reply{Rule: "tool_results", Content: "The text has 2 words."}},
		{"tool error object",
			Request{Messages: []Message{user("What is 1/0?"),
				asst("", "", Call{ID: "c1", Name: "calculate", Arguments: `{"expression":"1/0"}`}),
				result("c1", `{"error":{"code":"division_by_zero","message":"1/0: division by zero"}}`)}},
			Reply{Rule: "tool_results", Content: "The calculate tool failed: 1/0: division by zero."}},
		{"unknown tool result",
			Request{Messages: []Message{user("x"),
				asst("", "", Call{ID: "c1", Name: "lookup", Arguments: `{}`}),
				result("c1", `{"a": 1}`)}},
			Reply{Rule: "tool_results", Content: `lookup returned {"a":1}.`}},
		{"no second call after results",
			Request{Messages: []Message{user("What is 17*23?"),
				asst("", "", Call{ID: "c1", Name: "calculate", Arguments: `{"expression":"17*23"}`}),
				result("c1", `391`), asst("", "17*23 = 391.")}, Tools: workTools},
			Reply{Rule: "plain", Content: `As the assistant: here is my response to "What is 17*23?".`}},
		{"router picks the choice named in the request",
			Request{Messages: []Message{sys("You coordinate a researcher and a writer."), user("Ask the writer for a haiku")},
				Tools: tools("route_to_researcher", "route_to_writer", "finish")},
			Reply{Rule: "router", Calls: []Call{{Name: "route_to_writer",
				Arguments: `{"reason":"writer is named in the request and has not spoken yet"}`}}}},
		{"router picks the choice named first in the instructions",
			Request{Messages: []Message{sys("Use the researcher, then the writer."), user("A haiku")},
				Tools: tools("route_to_writer", "route_to_researcher", "finish")},
			Reply{Rule: "router", Calls: []Call{{Name: "route_to_researcher",
				Arguments: `{"reason":"researcher is named in the instructions and has not spoken yet"}`}}}},
		{"router skips who spoke",
			Request{Messages: []Message{sys("Use the researcher, then the writer."), user("A haiku"), asst("researcher", "facts")},
				Tools: tools("route_to_writer", "route_to_researcher", "finish")},
			Reply{Rule: "router", Calls: []Call{{Name: "route_to_writer",
				Arguments: `{"reason":"writer is named in the instructions and has not spoken yet"}`}}}},
		{"router falls back to tool order",
			Request{Messages: []Message{sys("You are a supervisor."), user("go")},
				Tools: tools("route_to_beta", "route_to_alpha", "finish")},
			Reply{Rule: "router", Calls: []Call{{Name: "route_to_beta", Arguments: `{"reason":"beta has not spoken yet"}`}}}},
		{"router counts its own earlier routes",
			Request{Messages: []Message{user("go"), asst("sup", "", Call{ID: "r1", Name: "route_to_b", Arguments: `{}`})},
				Tools: tools("route_to_b", "route_to_a", "finish")},
			Reply{Rule: "router", Calls: []Call{{Name: "route_to_a", Arguments: `{"reason":"a has not spoken yet"}`}}}},
		{"router finishes when all spoke",
			Request{Messages: []Message{user("go"), asst("a", "x"), asst("b", "y")},
				Tools: tools("route_to_b", "route_to_a", "finish")},
			Reply{Rule: "router", Calls: []Call{{Name: "finish", Arguments: `{"reason":"every choice has spoken"}`}}}},
		{"handoff by description word",
			Request{Messages: []Message{sys("You are triage."), user("I want a refund for my last invoice")},
				Tools: []Tool{{Name: "transfer_to_billing", Description: "Transfer to billing: invoices, refunds and payments."},
					{Name: "transfer_to_support", Description: "Transfer to support: bugs and outages."}}},
			Reply{Rule: "handoff", Calls: []Call{{Name: "transfer_to_billing",
				Arguments: `{"reason":"the request mentions invoice, refund"}`}}}},
		{"handoff by target name",
			Request{Messages: []Message{user("Please get me technical support")},
				Tools: []Tool{{Name: "transfer_to_tech_support", Description: "Hand off."}}},
			Reply{Rule: "handoff", Calls: []Call{{Name: "transfer_to_tech_support",
				Arguments: `{"reason":"the request mentions support"}`}}}},
		{"no handoff on stop words only",
			Request{Messages: []Message{sys("You are triage."), user("I have a question about this")},
				Tools: []Tool{{Name: "transfer_to_billing", Description: "Transfer questions about this."}}},
			Reply{Rule: "plain", Content: `As triage: here is my response to "I have a question about this".`}},
		{"no second handoff in a turn",
			Request{Messages: []Message{sys("You are billing."), user("refund please"),
				asst("triage", "", Call{ID: "t1", Name: "transfer_to_billing", Arguments: `{}`}), result("t1", `{"ok":true}`)},
				Tools: []Tool{{Name: "transfer_to_triage", Description: "refund routing"}}},
			Reply{Rule: "plain", Content: `As billing: here is my response to "refund please".`}},
		{"tools still used after a handoff",
			Request{Messages: []Message{sys("You are math."), user("What is 2+3?"),
				asst("triage", "", Call{ID: "t1", Name: "transfer_to_math", Arguments: `{}`}), result("t1", `transferred`)},
				Tools: tools("calculate")},
			Reply{Rule: "tools", Calls: []Call{{Name: "calculate", Arguments: `{"expression":"2+3"}`}}}},
		{"reviewer asks for a revision first",
			Request{Messages: []Message{sys("You are the reviewer. Reply APPROVED or REVISE with feedback."),
				user("A poem about the sea"), asst("writer", "The sea is blue.")}},
			Reply{Rule: "reviewer", Content: `REVISE: make "The sea is blue." more specific and add one concrete example.`}},
		{"reviewer approves afterwards",
			Request{Messages: []Message{sys("You are the reviewer. Reply APPROVED or REVISE with feedback."),
				user("A poem about the sea"), asst("writer", "The sea is blue."),
				asst("reviewer", "REVISE: more detail."), asst("writer", "The sea is deep and blue.")}},
			Reply{Rule: "reviewer", Content: "APPROVED: the revision addresses the feedback."}},
		{"say exactly",
			Request{Messages: []Message{user("Say exactly: Hello,  world!\nBye")}, Tools: workTools},
			Reply{Rule: "say", Content: "Hello,  world!\nBye"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.req); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decide:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecideReasoning(t *testing.T) {
	r := Decide(Request{Messages: []Message{user("What is 17*23?")}, Tools: workTools, ReasoningEffort: "low"})
	want := `Reasoning (low effort): the request is "What is 17*23?". Plan: call calculate.`
	if r.Reasoning != want || len(r.Calls) != 1 {
		t.Fatalf("got %+v", r)
	}
	if r := Decide(Request{Messages: []Message{user("hi")}, ReasoningEffort: "none"}); r.Reasoning != "" {
		t.Fatalf("effort none gave reasoning %q", r.Reasoning)
	}
}

// TestDecideDeterministic: the same request always gets the same reply.
func TestDecideDeterministic(t *testing.T) {
	req := Request{Messages: []Message{user("What are 1+1, 2+2 and the time in Paris? See https://a.example/")}, Tools: workTools}
	first := Decide(req)
	for range 50 {
		if got := Decide(req); !reflect.DeepEqual(got, first) {
			t.Fatalf("reply changed: %+v vs %+v", got, first)
		}
	}
	if len(first.Calls) != 4 || !strings.Contains(first.Calls[3].Arguments, "Europe/Paris") {
		t.Fatalf("got %+v", first)
	}
}
