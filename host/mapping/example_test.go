package mapping_test

import (
	"context"
	"fmt"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/mapping"
)

// A client saw the frames up to event 2 and reconnects with Last-Event-ID "run_1:2". The new stream
// maps the run's events from the start, to rebuild the mapper's state, and the cursor lets only
// the frames after event 2 through, each labelled with its SSE id.
func Example_resume() {
	events := []event.Event{
		{Seq: 1, RunID: "run_1", Data: event.RunStartedData{Workflow: "assistant", Input: "Hi"}},
		{Seq: 2, RunID: "run_1", Data: event.MessageStartData{MessageID: "m1", Role: "assistant"}},
		{Seq: 3, RunID: "run_1", Data: event.MessageDeltaData{MessageID: "m1", Delta: "Hello"}},
	}
	for i := range events {
		events[i].Type = events[i].Data.EventType()
	}
	m, _ := mapping.NewRegistry(nil).Lookup("fleet")
	from, _ := mapping.ParseID("run_1", "run_1:2")
	cursor := mapping.NewCursor(from)
	frames, _ := m.NewStream("s1").Map(context.Background(), events)
	for _, f := range cursor.Filter(frames) {
		fmt.Println("id:", f.Pos.ID("run_1"))
	}
	// Output: id: run_1:3
}
