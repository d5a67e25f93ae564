package sdk

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// parseOne parses a one-event batch and returns the event, as a handler sees it.
func parseOne(t testing.TB, ev string) *Event {
	t.Helper()
	c := &mapCall[struct{}]{}
	var b batch
	if err := c.parseBatch([]byte(`{"stream":"s","op":"events","state":null,"events":[`+ev+`]}`), &b); err != nil {
		t.Fatalf("parse %s: %v", ev, err)
	}
	return &c.events[0]
}

func env(typ, data string) string {
	return `{"v":1,"type":"` + typ + `","seq":9,"run_id":"run_1","thread_id":"thr_1","time":"2026-12-04T20:00:00.5Z","node":"writer","agent":"w","path":"panel/writer","data":` + data + `}`
}

func TestEnvelope(t *testing.T) {
	want := Event{V: 1, Type: EventMessageDelta, Seq: 9, RunID: "run_1", ThreadID: "thr_1", Time: "2026-12-04T20:00:00.5Z",
		Node: "writer", Agent: "w", Path: "panel/writer", Data: json.RawMessage(`{"message_id":"m","delta":"x"}`)}
	for name, in := range map[string]string{
		"engine layout":   env("message.delta", `{"message_id":"m","delta":"x"}`),
		"other order":     `{"data":{"message_id":"m","delta":"x"},"type":"message.delta","v":1,"seq":9,"run_id":"run_1","thread_id":"thr_1","time":"2026-12-04T20:00:00.5Z","node":"writer","agent":"w","path":"panel/writer"}`,
		"whitespace":      `{ "v": 1, "type": "message.delta", "seq": 9, "run_id": "run_1", "thread_id": "thr_1", "time": "2026-12-04T20:00:00.5Z", "node": "writer", "agent": "w", "path": "panel/writer", "data": {"message_id":"m","delta":"x"} }`,
		"escapes":         `{"v":1,"type":"message\u002edelta","seq":9,"run_id":"run_\u0031","thread_id":"thr_1","time":"2026-12-04T20:00:00.5Z","node":"writer","agent":"w","path":"panel\/writer","data":{"message_id":"m","delta":"x"}}`,
		"unknown members": `{"v":1,"type":"message.delta","future":[1,{"a":2}],"seq":9,"run_id":"run_1","thread_id":"thr_1","time":"2026-12-04T20:00:00.5Z","node":"writer","agent":"w","path":"panel/writer","data":{"message_id":"m","delta":"x"},"z":null}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := parseOne(t, in)
			got := Event{V: e.V, Type: e.Type, Seq: e.Seq, RunID: e.RunID, ThreadID: e.ThreadID, Time: e.Time, Node: e.Node,
				Agent: e.Agent, Path: e.Path, Data: e.Data}
			if !reflect.DeepEqual(got, want) || e.id != tMessageDelta {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if d := e.MessageDelta(); d.MessageID != "m" || d.Delta != "x" || e.Err() != nil {
				t.Errorf("payload %+v, %v", d, e.Err())
			}
		})
	}
	e := parseOne(t, `{"v":1,"type":"future.thing","seq":3,"run_id":"r","thread_id":"t","time":"x"}`)
	if e.Type != "future.thing" || e.id != tUnknown || e.Data != nil || e.Seq != 3 {
		t.Errorf("unknown type without data: %+v", e)
	}
}

// TestPayloads decodes one payload of every type, with escapes, nested values and unknown members.
func TestPayloads(t *testing.T) {
	usage := Usage{PromptTokens: 60, CompletionTokens: 3, TotalTokens: 63, Calls: 1}
	usageJSON := `{"prompt_tokens":60,"completion_tokens":3,"total_tokens":63,"calls":1}`
	approval := `{"id":"apr_1","call_id":"c1","tool":"http_fetch","arguments":{"url":"https://example.com"},"agent":"a","node":"n","x":1}`
	for _, tt := range []struct {
		typ, data string
		decode    func(e *Event) any
		want      any
	}{
		{"run.started", `{"workflow":"assistant","input":"What is \"17*23\"?\n"}`, func(e *Event) any { return e.RunStarted() },
			RunStartedData{Workflow: "assistant", Input: "What is \"17*23\"?\n"}},
		{"run.finished", `{"output":"391","usage":` + usageJSON + `,"limit":"max_steps"}`, func(e *Event) any { return e.RunFinished() },
			RunFinishedData{Output: "391", Usage: usage, Limit: "max_steps"}},
		{"run.failed", `{"error":{"code":"timeout","message":"too slow"},"usage":` + usageJSON + `}`, func(e *Event) any { return e.RunFailed() },
			RunFailedData{Error: Error{Code: "timeout", Message: "too slow"}, Usage: usage}},
		{"run.cancelled", `{"reason":"user","usage":null}`, func(e *Event) any { return e.RunCancelled() },
			RunCancelledData{Reason: "user"}},
		{"run.interrupted", `{"approvals":[` + approval + `],"usage":` + usageJSON + `}`, func(e *Event) any { return e.RunInterrupted() },
			RunInterruptedData{Approvals: []Approval{{ID: "apr_1", CallID: "c1", Tool: "http_fetch", Arguments: json.RawMessage(`{"url":"https://example.com"}`),
				Agent: "a", Node: "n", Raw: json.RawMessage(approval)}}, Usage: usage}},
		{"run.resumed", `{"reason":"restart","checkpoint":7}`, func(e *Event) any { return e.RunResumed() },
			RunResumedData{Reason: "restart", Checkpoint: 7}},
		{"step.started", `{"kind":"agent","step":1}`, func(e *Event) any { return e.StepStarted() }, StepStartedData{Kind: "agent", Step: 1}},
		{"step.finished", `{"kind":"agent","step":2,"status":"ok"}`, func(e *Event) any { return e.StepFinished() },
			StepFinishedData{Kind: "agent", Step: 2, Status: "ok"}},
		{"message.start", `{"message_id":"m1","role":"assistant","name":"writer"}`, func(e *Event) any { return e.MessageStart() },
			MessageStartData{MessageID: "m1", Role: "assistant", Name: "writer"}},
		{"message.delta", `{"message_id":"m1","delta":"Hel\u006co"}`, func(e *Event) any { return e.MessageDelta() },
			MessageDeltaData{MessageID: "m1", Delta: "Hello"}},
		{"message.end", `{"message_id":"m1","aborted":true}`, func(e *Event) any { return e.MessageEnd() }, MessageEndData{MessageID: "m1", Aborted: true}},
		{"reasoning.delta", `{"message_id":"r1","delta":"hmm"}`, func(e *Event) any { return e.Reasoning() }, ReasoningData{MessageID: "r1", Delta: "hmm"}},
		{"tool.start", `{"call_id":"c1","tool":"calculate","message_id":"m1"}`, func(e *Event) any { return e.ToolStart() },
			ToolStartData{CallID: "c1", Tool: "calculate", MessageID: "m1"}},
		{"tool.args", `{"call_id":"c1","delta":"{\"ex"}`, func(e *Event) any { return e.ToolArgs() }, ToolArgsData{CallID: "c1", Delta: `{"ex`}},
		{"tool.end", `{"call_id":"c1","tool":"calculate","arguments":{"expression":"17*23"}}`, func(e *Event) any { return e.ToolEnd() },
			ToolEndData{CallID: "c1", Tool: "calculate", Arguments: json.RawMessage(`{"expression":"17*23"}`)}},
		{"tool.result", `{"call_id":"c1","tool":"calculate","message_id":"m2","result":{"result":391},"duration_ms":4}`,
			func(e *Event) any { return e.ToolResult() },
			ToolResultData{CallID: "c1", Tool: "calculate", MessageID: "m2", Result: json.RawMessage(`{"result":391}`), DurationMS: 4}},
		{"tool.result", `{"call_id":"c1","tool":"t","message_id":"m2","result":null,"error":{"code":"denied","message":"no"},"duration_ms":0}`,
			func(e *Event) any { return e.ToolResult() },
			ToolResultData{CallID: "c1", Tool: "t", MessageID: "m2", Error: Error{Code: "denied", Message: "no"}, HasError: true}},
		{"route", `{"kind":"route","from":"triage","to":["billing","tech"],"reason":"both"}`, func(e *Event) any { return e.Route() },
			RouteData{Kind: "route", From: "triage", To: []string{"billing", "tech"}, Reason: "both"}},
		{"approval.requested", `{"approval":` + approval + `}`, func(e *Event) any { return e.ApprovalRequested() },
			ApprovalRequestedData{Approval: Approval{ID: "apr_1", CallID: "c1", Tool: "http_fetch", Arguments: json.RawMessage(`{"url":"https://example.com"}`),
				Agent: "a", Node: "n", Raw: json.RawMessage(approval)}}},
		{"approval.resolved", `{"approval_id":"apr_1","decision":"approved","arguments":{"url":"https://example.org"},"reason":"ok"}`,
			func(e *Event) any { return e.ApprovalResolved() },
			ApprovalResolvedData{ApprovalID: "apr_1", Decision: "approved", Arguments: json.RawMessage(`{"url":"https://example.org"}`), Reason: "ok"}},
		{"usage", `{"model":"m","call":` + usageJSON + `,"agent_total":` + usageJSON + `,"run_total":` + usageJSON + `}`,
			func(e *Event) any { return e.Usage() }, UsageData{Model: "m", Call: usage, AgentTotal: usage, RunTotal: usage}},
		{"state.snapshot", `{"state":{"step":3}}`, func(e *Event) any { return e.StateSnapshot() }, StateSnapshotData{State: json.RawMessage(`{"step":3}`)}},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			data := strings.Replace(tt.data, "{", `{"unknown":{"deep":[1,2]},`, 1)
			for _, e := range []*Event{parseOne(t, env(tt.typ, data)), {Type: tt.typ, Data: json.RawMessage(data)}} {
				if got := tt.decode(e); !reflect.DeepEqual(got, tt.want) || e.Err() != nil {
					t.Errorf("got  %+v (%v)\nwant %+v", got, e.Err(), tt.want)
				}
			}
		})
	}
}

func TestPayloadErrors(t *testing.T) {
	for _, tt := range []struct {
		typ, data, want string
		decode          func(e *Event)
	}{
		{"message.delta", `{"message_id":1,"delta":"x"}`, "data.message_id: want a string", func(e *Event) { e.MessageDelta() }},
		{"step.started", `{"kind":"agent","step":"1"}`, "data.step: want an integer", func(e *Event) { e.StepStarted() }},
		{"message.end", `{"message_id":"m","aborted":"yes"}`, "data.aborted: want true or false", func(e *Event) { e.MessageEnd() }},
		{"run.resumed", `{"checkpoint":-1}`, "data.checkpoint: want a non-negative integer", func(e *Event) { e.RunResumed() }},
		{"run.finished", `{"usage":{"total_tokens":"x"}}`, "data.usage", func(e *Event) { e.RunFinished() }},
		{"route", `{"to":"one"}`, "data.to", func(e *Event) { e.Route() }},
		{"run.interrupted", `{"approvals":{}}`, "data.approvals", func(e *Event) { e.RunInterrupted() }},
	} {
		e := parseOne(t, env(tt.typ, tt.data))
		tt.decode(e)
		if e.Err() == nil || !strings.Contains(e.Err().Error(), tt.want) || !strings.Contains(e.Err().Error(), "seq 9") {
			t.Errorf("%s %s: error %v, want one naming %q and the seq", tt.typ, tt.data, e.Err(), tt.want)
		}
	}
}

func TestBadBatches(t *testing.T) {
	for name, in := range map[string]string{
		"not json":        `{"op":`,
		"not an object":   `[1]`,
		"null":            `null`,
		"events not list": `{"op":"events","events":{}}`,
		"event not obj":   `{"op":"events","events":[1]}`,
		"null event":      `{"op":"events","events":[null]}`,
		"no type":         `{"op":"events","events":[{"v":1,"seq":1,"data":{}}]}`,
		"data a list":     `{"op":"events","events":[{"v":1,"type":"x","data":[1]}]}`,
		"data a string":   `{"op":"events","events":[{"v":1,"type":"x","data":"s"}]}`,
		"bad data":        `{"op":"events","events":[{"v":1,"type":"x","data":{"a":}}]}`,
		"negative seq":    `{"op":"events","events":[{"v":1,"type":"x","seq":-1}]}`,
		"trailing":        `{"op":"events","events":[]} x`,
	} {
		c := &mapCall[struct{}]{}
		var b batch
		if err := c.parseBatch([]byte(in), &b); err == nil {
			t.Errorf("%s: %s parsed without error", name, in)
		}
	}
}
