package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

func eventCases() []testCase {
	return []testCase{
		{"PagingAfterLimit", testEventsPaging},
		{"MissingRunIsNotFound", testEventsNotFound},
		{"EveryTypeRoundTrips", testEventsRoundTrip},
	}
}

func testEventsPaging(t *testing.T, s store.Store) {
	setupRun(t, s, 10)
	for _, tc := range []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 0, span(1, 10)},
		{0, 3, span(1, 3)},
		{3, 3, span(4, 6)},
		{6, 100, span(7, 10)},
		{8, 5, span(9, 10)},
		{9, 1, span(10, 10)},
		{10, 0, nil},
		{10, 5, nil},
		{11, 0, nil},
		{1 << 62, 0, nil},
		{0, 10, span(1, 10)},
		{0, 11, span(1, 10)},
	} {
		t.Run(fmt.Sprintf("after %d limit %d", tc.after, tc.limit), func(t *testing.T) {
			got := eventsOf(t, s, "r-1", tc.after, tc.limit)
			equalSeqs(t, "seqs", seqsOf(got), tc.want)
			if len(tc.want) > 0 {
				sameList(t, "events", got, deltas("r-1", "t-1", tc.want[0]-1, len(tc.want)), normEvent)
			}
		})
	}
}

func testEventsNotFound(t *testing.T, s store.Store) {
	setupRun(t, s, 0)
	if evs := eventsOf(t, s, "r-1", 0, 0); len(evs) != 0 {
		t.Errorf("events of a run without events: %v", seqsOf(evs))
	}
	_, err := s.Events(t.Context(), "r-2", 0, 0)
	wantErr(t, "Events of a missing run", err, store.ErrNotFound)
	_, err = s.Events(t.Context(), "r-2", 5, 1)
	wantErr(t, "Events of a missing run, paged", err, store.ErrNotFound)
}

// samplePayloads returns at least one filled payload of every type of event.Types(), in JSON
// that reads back identically (compact raw JSON, no nil raw fields without omitempty).
func samplePayloads() []event.Payload {
	usage := event.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, Calls: 1}
	approval := event.Approval{ID: "ap-1", CallID: "call-1", Tool: "shell", Arguments: json.RawMessage(`{"cmd":"ls -l"}`),
		Agent: "coder", Node: "coder"}
	return []event.Payload{
		event.RunStartedData{Workflow: "panel", Input: "Hällo \"world\" <b>&</b>\n\ttab"},
		event.RunFinishedData{Output: "done", Usage: usage, Limit: "max_steps"},
		event.RunFailedData{Error: event.Error{Code: "model_error", Message: "boom"}, Usage: usage},
		event.RunCancelledData{Reason: "user", Usage: usage},
		event.RunInterruptedData{Approvals: []event.Approval{approval}, Usage: usage},
		event.RunResumedData{Reason: "restart", Checkpoint: 7},
		event.StepStartedData{Kind: "agent", Step: 3},
		event.StepFinishedData{Kind: "agent", Step: 3, Status: "ok"},
		event.MessageStartData{MessageID: "m1", Role: "assistant", Name: "writer"},
		event.MessageDeltaData{MessageID: "m1", Delta: "Hel\u2028lo 🙂"},
		event.MessageEndData{MessageID: "m1", Aborted: true},
		event.ReasoningStartData{MessageID: "m2"},
		event.ReasoningDeltaData{MessageID: "m2", Delta: "thinking…"},
		event.ReasoningEndData{MessageID: "m2"},
		event.ToolStartData{CallID: "call-1", Tool: "search", MessageID: "m1"},
		event.ToolArgsData{CallID: "call-1", Delta: `{"q":"go`},
		event.ToolEndData{CallID: "call-1", Tool: "search", Arguments: json.RawMessage(`{"q":"go","n":[1,2.5,null,true]}`)},
		event.ToolResultData{CallID: "call-1", Tool: "search", MessageID: "m3", Result: json.RawMessage(`{"hits":["a","b"]}`), DurationMS: 12},
		event.ToolResultData{CallID: "call-2", Tool: "search", MessageID: "m4", Error: &event.Error{Code: "timeout", Message: "slow"}, DurationMS: 30000},
		event.RouteData{Kind: "handoff", From: "triage", To: []string{"billing", "support"}, Reason: "money"},
		event.RouteData{Kind: "finish", From: "reviewer"},
		event.ApprovalRequestedData{Approval: approval},
		event.ApprovalResolvedData{ApprovalID: "ap-1", Decision: "approved", Arguments: json.RawMessage(`{"cmd":"ls"}`), Reason: "ok"},
		event.UsageData{Model: "gpt-x", Call: usage, AgentTotal: usage.Add(usage), RunTotal: usage.Add(usage).Add(usage)},
		event.StateSnapshotData{State: json.RawMessage(`{"step":3,"agents":{"a":{"turns":2}}}`)},
		event.Unknown{Type: "x.custom", Raw: json.RawMessage(`{"future":["field"]}`)},
	}
}

func testEventsRoundTrip(t *testing.T, s store.Store) {
	setupRun(t, s, 0)
	payloads := samplePayloads()
	covered := map[event.Type]bool{}
	evs := make([]event.Event, len(payloads))
	for i, p := range payloads {
		covered[p.EventType()] = true
		evs[i] = event.Event{V: event.Version, Type: p.EventType(), Seq: uint64(i) + 1, RunID: "r-1",
			ThreadID: "t-1", Time: at(i).Add(123), Node: "panel/optimist", Agent: "optimist",
			Path: "panel/optimist", Data: p}
	}
	for _, typ := range event.Types() {
		if !covered[typ] {
			t.Errorf("the suite has no sample payload of event type %q: add one to samplePayloads", typ)
		}
	}
	commit(t, s, store.Commit{RunID: "r-1", Events: evs})
	got := eventsOf(t, s, "r-1", 0, 0)
	sameList(t, "events", got, evs, normEvent)
	for i := range min(len(got), len(evs)) {
		g, err := json.Marshal(got[i])
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		w, err := json.Marshal(evs[i])
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if string(g) != string(w) {
			t.Errorf("event %d JSON:\n got %s\nwant %s", i+1, g, w)
		}
	}
}
