package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// everything is a mapper that decodes every payload type and writes every field it got into a frame,
// so that fuzzing reaches every decoder and the writer with whatever the decoders return.
func everything() *MapperPlugin {
	write := func(out *Frames, e *Event, v any) {
		f := out.Frame().String("type", e.Type).Uint("seq", e.Seq).String("run", e.RunID).String("thread", e.ThreadID).
			String("time", e.Time).String("node", e.Node).String("agent", e.Agent).String("path", e.Path).Raw("data", e.Data)
		b, _ := json.Marshal(v) // the payload struct, through encoding/json: a reference for the frame's validity
		f.StringBytes("payload", b).End()
	}
	decoders := map[string]func(e *Event) any{
		EventRunStarted: func(e *Event) any { return e.RunStarted() }, EventRunFinished: func(e *Event) any { return e.RunFinished() },
		EventRunFailed: func(e *Event) any { return e.RunFailed() }, EventRunCancelled: func(e *Event) any { return e.RunCancelled() },
		EventRunInterrupted: func(e *Event) any { return e.RunInterrupted() }, EventRunResumed: func(e *Event) any { return e.RunResumed() },
		EventStepStarted: func(e *Event) any { return e.StepStarted() }, EventStepFinished: func(e *Event) any { return e.StepFinished() },
		EventMessageStart: func(e *Event) any { return e.MessageStart() }, EventMessageDelta: func(e *Event) any { return e.MessageDelta() },
		EventMessageEnd: func(e *Event) any { return e.MessageEnd() }, EventReasoningStart: func(e *Event) any { return e.Reasoning() },
		EventReasoningDelta: func(e *Event) any { return e.Reasoning() }, EventReasoningEnd: func(e *Event) any { return e.Reasoning() },
		EventToolStart: func(e *Event) any { return e.ToolStart() }, EventToolArgs: func(e *Event) any { return e.ToolArgs() },
		EventToolEnd: func(e *Event) any { return e.ToolEnd() }, EventToolResult: func(e *Event) any { return e.ToolResult() },
		EventRoute: func(e *Event) any { return e.Route() }, EventApprovalRequested: func(e *Event) any { return e.ApprovalRequested() },
		EventApprovalResolved: func(e *Event) any { return e.ApprovalResolved() }, EventUsage: func(e *Event) any { return e.Usage() },
		EventStateSnapshot: func(e *Event) any { return e.StateSnapshot() },
	}
	handlers := map[string]Handler[countState]{}
	for t, dec := range decoders {
		handlers[t] = func(out *Frames, s *countState, e *Event) error {
			s.Seen++
			write(out, e, dec(e))
			return nil
		}
	}
	m, err := NewMapper(Mapper[countState]{Name: "fuzz", Format: Format{Name: "fuzz"}, Handlers: handlers,
		Default: func(out *Frames, s *countState, e *Event) error {
			s.Types = append(s.Types, e.Type)
			write(out, e, nil)
			return nil
		}})
	if err != nil {
		panic(err)
	}
	return m
}

// checkRegion checks the ABI's promises on a fleet_map result region.
func checkRegion(t *testing.T, region []byte) {
	t.Helper()
	if len(region) == 0 {
		t.Fatal("empty result region")
	}
	switch status, payload := region[0], region[1:]; status {
	case statusOK:
		res, err := ParseMapOutput(payload)
		if err != nil {
			t.Fatalf("status 0 with malformed output: %v\n%q", err, payload)
		}
		var st countState
		if err := json.Unmarshal(res.State, &st); err != nil {
			t.Fatalf("state %s: %v", res.State, err)
		}
	case statusToolError, statusBadRequest:
		var body errorBody
		if err := json.Unmarshal(payload, &body); err != nil || body.Message == "" {
			t.Fatalf("status %d: error JSON %q: %v", status, payload, err)
		}
	default:
		t.Fatalf("status %d", status)
	}
}

// FuzzMapBatch feeds arbitrary fleet_map requests to the dispatch: whatever comes in, the answer is
// a known status with well-formed output or error JSON, never a panic.
func FuzzMapBatch(f *testing.F) {
	for _, seed := range []string{
		string(EncodeMapRequest(MapRequest{Op: OpStart, Events: []json.RawMessage{ev("message.delta", `{"message_id":"m","delta":"x"}`)}})),
		`{"stream":"s","op":"events","state":{"seen":3,"types":["a"]},"events":[` + env("route", `{"kind":"route","to":["a","b"]}`) + `]}`,
		`{"op":"end","state":{"seen":"x"}}`, `{"op":"nope"}`, `{"op":"events","events":[{"type":"z","data":null}]}`, `[]`, ``,
		`{"op":"events","events":[{"type":"tool.result","data":{"error":{"code":1}}}]}`,
	} {
		f.Add([]byte(seed))
	}
	m := everything()
	r := newResponse()
	f.Fuzz(func(t *testing.T, req []byte) {
		m.p.mapBatch(context.Background(), req, r)
		checkRegion(t, r.bytes())
	})
}

// FuzzEventDecode puts one arbitrary event in a batch. An event that encoding/json finds valid and
// whose type is known must be mapped (status 0) unless a field has the wrong type (status 2); the
// frames it gives are valid JSON.
func FuzzEventDecode(f *testing.F) {
	for _, t := range EventTypes() {
		f.Add([]byte(env(t, `{"message_id":"m","delta":"d\n\u00e9","call_id":"c","approval":{"id":"a","arguments":{"x":[1]}},"usage":{"total_tokens":3},"to":["x"],"approvals":[{"id":"b"}],"error":{"code":"e","message":"m"}}`)))
	}
	f.Add([]byte(`{"type":"message.delta","data":{"delta":5}}`))
	f.Add([]byte(`{"type":"x","data":{"a":"\ud800"}}`))
	f.Add([]byte(`{"type":"run.failed","seq":1,"data":{"error":null}}`))
	m := everything()
	r := newResponse()
	f.Fuzz(func(t *testing.T, event []byte) {
		req := []byte(`{"op":"events","state":null,"events":[` + string(event) + `]}`)
		m.p.mapBatch(context.Background(), req, r)
		region := r.bytes()
		checkRegion(t, region)
		if bytes.ContainsAny(event, "[]{}") && json.Valid(req) && region[0] == statusOK {
			for _, line := range bytes.Split(region[1:], []byte{'\n'}) {
				if len(line) > 0 && !json.Valid(bytes.TrimLeft(line, "-0123456789 ")) {
					t.Fatalf("invalid line %q", line)
				}
			}
		}
	})
}
