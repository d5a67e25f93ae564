package event_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
)

// samples has one payload of every known type.
var samples = map[event.Type]event.Payload{
	event.RunStarted:        event.RunStartedData{Workflow: "assistant", Input: "hi"},
	event.RunFinished:       event.RunFinishedData{Output: "done", Usage: event.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3, Calls: 1}, Limit: "max_steps"},
	event.RunFailed:         event.RunFailedData{Error: event.Error{Code: "model_error", Message: "boom"}},
	event.RunCancelled:      event.RunCancelledData{Reason: "user"},
	event.RunInterrupted:    event.RunInterruptedData{Approvals: []event.Approval{{ID: "apr_1", CallID: "c1", Tool: "http_fetch", Arguments: json.RawMessage(`{"url":"https://example.com"}`)}}},
	event.RunResumed:        event.RunResumedData{Reason: "restart", Checkpoint: 7},
	event.StepStarted:       event.StepStartedData{Kind: "agent", Step: 1},
	event.StepFinished:      event.StepFinishedData{Kind: "agent", Step: 1, Status: "ok"},
	event.MessageStart:      event.MessageStartData{MessageID: "m1", Role: "assistant", Name: "writer"},
	event.MessageDelta:      event.MessageDeltaData{MessageID: "m1", Delta: "Hel"},
	event.MessageEnd:        event.MessageEndData{MessageID: "m1", Aborted: true},
	event.ReasoningStart:    event.ReasoningStartData{MessageID: "r1"},
	event.ReasoningDelta:    event.ReasoningDeltaData{MessageID: "r1", Delta: "hmm"},
	event.ReasoningEnd:      event.ReasoningEndData{MessageID: "r1"},
	event.ToolStart:         event.ToolStartData{CallID: "c1", Tool: "calculate", MessageID: "m1"},
	event.ToolArgs:          event.ToolArgsData{CallID: "c1", Delta: `{"expression":`},
	event.ToolEnd:           event.ToolEndData{CallID: "c1", Tool: "calculate", Arguments: json.RawMessage(`{"expression":"1+1"}`)},
	event.ToolResult:        event.ToolResultData{CallID: "c1", Tool: "calculate", MessageID: "m2", Result: json.RawMessage(`{"result":2}`), DurationMS: 3},
	event.Route:             event.RouteData{Kind: "route", From: "supervisor", To: []string{"writer"}, Reason: "write"},
	event.ApprovalRequested: event.ApprovalRequestedData{Approval: event.Approval{ID: "apr_1", CallID: "c1", Tool: "t", Arguments: json.RawMessage(`{}`)}},
	event.ApprovalResolved:  event.ApprovalResolvedData{ApprovalID: "apr_1", Decision: "approved", Arguments: json.RawMessage(`{"a":1}`)},
	event.UsageReported:     event.UsageData{Model: "m", Call: event.Usage{TotalTokens: 3, Calls: 1}, AgentTotal: event.Usage{TotalTokens: 3}, RunTotal: event.Usage{TotalTokens: 3}},
	event.StateSnapshot:     event.StateSnapshotData{State: json.RawMessage(`{"k":"v"}`)},
}

func TestRoundTripEveryType(t *testing.T) {
	if len(samples) != len(event.Types()) {
		t.Fatalf("samples cover %d types, Types() lists %d", len(samples), len(event.Types()))
	}
	for _, typ := range event.Types() {
		t.Run(string(typ), func(t *testing.T) {
			p, ok := samples[typ]
			if !ok {
				t.Fatalf("no sample for %s", typ)
			}
			if p.EventType() != typ {
				t.Fatalf("payload says %s", p.EventType())
			}
			in := event.Event{Seq: 3, RunID: "r", ThreadID: "t", Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Node: "n", Agent: "a", Path: "n", Data: p}
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out event.Event
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			in.V, in.Type = event.Version, typ
			if !reflect.DeepEqual(normal(t, in), normal(t, out)) {
				t.Fatalf("round trip changed the event:\n in %s\nout %+v", b, out)
			}
		})
	}
}

// normal re-encodes e so RawMessage spacing does not matter.
func normal(t *testing.T, e event.Event) map[string]any {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUnknownTypeIsKept(t *testing.T) {
	in := `{"v":1,"type":"future.thing","seq":1,"run_id":"r","thread_id":"t","time":"2026-01-01T00:00:00Z","data":{"x":[1,2]},"extra":true}`
	var e event.Event
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatalf("unknown type must decode: %v", err)
	}
	u, ok := e.Data.(event.Unknown)
	if !ok || u.Type != "future.thing" || string(u.Raw) != `{"x":[1,2]}` {
		t.Fatalf("got %#v", e.Data)
	}
	b, _ := json.Marshal(e)
	if !bytes.Contains(b, []byte(`"data":{"x":[1,2]}`)) {
		t.Fatalf("unknown payload not written back: %s", b)
	}
}

func TestBadEventsAreErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      `{"type":`,
		"no type":       `{"v":1,"seq":1,"data":{}}`,
		"bad payload":   `{"v":1,"type":"message.delta","seq":1,"data":{"delta":5}}`,
		"data an array": `{"v":1,"type":"run.started","seq":1,"data":[1]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var e event.Event
			if err := json.Unmarshal([]byte(in), &e); err == nil {
				t.Fatalf("decoded %q without error: %+v", in, e)
			}
		})
	}
}

func TestTerminalAndPause(t *testing.T) {
	for _, c := range []struct {
		t              event.Type
		terminal, stop bool
	}{
		{event.RunFinished, true, true}, {event.RunFailed, true, true}, {event.RunCancelled, true, true},
		{event.RunInterrupted, false, true}, {event.MessageDelta, false, false}, {event.RunStarted, false, false},
	} {
		if c.t.Terminal() != c.terminal || c.t.Pause() != c.stop {
			t.Errorf("%s: Terminal %v Pause %v", c.t, c.t.Terminal(), c.t.Pause())
		}
	}
}

// TestDocExample decodes every event line of docs/events.md's example run.
func TestDocExample(t *testing.T) {
	f, err := os.Open("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seq uint64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inExample := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inExample = line == "## A complete run"
		}
		if !inExample || !strings.HasPrefix(line, `{"v":1,"type":`) {
			continue
		}
		line = strings.ReplaceAll(line, `"time":"…"`, `"time":"2026-12-04T20:00:00Z"`)
		var e event.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("docs/events.md line %q: %v", line, err)
		}
		if _, unknown := e.Data.(event.Unknown); unknown {
			t.Fatalf("docs/events.md uses unknown type %s", e.Type)
		}
		if e.Seq != seq+1 {
			t.Fatalf("docs/events.md: seq %d after %d", e.Seq, seq)
		}
		seq = e.Seq
	}
	if seq < 10 {
		t.Fatalf("found only %d example events in docs/events.md", seq)
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range samples {
		b, _ := json.Marshal(event.Event{Seq: 1, RunID: "r", Data: p})
		f.Add(b)
	}
	f.Add([]byte(`{"type":"x","data":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e event.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
		var again event.Event
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
	})
}

// TestAppendJSONMatchesEncodingJSON checks the hand-written encoder against encoding/json's
// output for the same envelope, on tricky strings.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	type env struct {
		V        int             `json:"v"`
		Type     event.Type      `json:"type"`
		Seq      uint64          `json:"seq"`
		RunID    string          `json:"run_id"`
		ThreadID string          `json:"thread_id"`
		Time     time.Time       `json:"time"`
		Node     string          `json:"node,omitempty"`
		Agent    string          `json:"agent,omitempty"`
		Path     string          `json:"path,omitempty"`
		Data     json.RawMessage `json:"data"`
	}
	for _, s := range []string{"", "plain", "quote\"back\\slash", "tab\tnl\n", "<html>&", "é ünïcode ✓", "\u2028\u2029", "\x00\x1f", string([]byte{0xff, 'a'})} {
		for _, p := range []event.Payload{event.MessageDeltaData{MessageID: s, Delta: s}, event.ToolArgsData{CallID: "c", Delta: s},
			event.RunStartedData{Workflow: s, Input: s}} {
			e := event.Event{Seq: 9, RunID: s, ThreadID: "t", Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Node: s, Path: "p", Data: p}
			got, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(p)
			want, _ := json.Marshal(env{V: 1, Type: p.EventType(), Seq: 9, RunID: s, ThreadID: "t", Time: e.Time, Node: s, Path: "p", Data: data})
			if !bytes.Equal(got, want) {
				t.Fatalf("for %q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
}

func BenchmarkMarshalDelta(b *testing.B) {
	e := event.Event{Seq: 1234, RunID: "run_abcdefghijklmnopqrst", ThreadID: "thr_abcdefghijklmnopqrst", Time: time.Now().UTC(),
		Node: "writer", Agent: "writer", Path: "writer", Data: event.MessageDeltaData{MessageID: "msg_abcdefghijklmnopqrst", Delta: "hello "}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendDelta(b *testing.B) {
	e := event.Event{Seq: 1234, RunID: "run_abcdefghijklmnopqrst", ThreadID: "thr_abcdefghijklmnopqrst", Time: time.Now().UTC(),
		Node: "writer", Agent: "writer", Path: "writer", Data: event.MessageDeltaData{MessageID: "msg_abcdefghijklmnopqrst", Delta: "hello "}}
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		var err error
		if buf, err = e.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
