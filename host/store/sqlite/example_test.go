package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

// Open a store, start a run and commit its first events with a checkpoint, then replay them.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "fleet-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName)) // the engine uses sqlite.DefaultPath()
	if err != nil {
		panic(err)
	}
	defer s.Close()

	_ = s.CreateThread(ctx, store.Thread{ID: "t_1", Title: "demo"})
	_ = s.CreateRun(ctx, store.Run{ID: "r_1", ThreadID: "t_1", Workflow: "hello", Status: store.StatusRunning})
	err = s.Commit(ctx, store.Commit{
		RunID: "r_1",
		Events: []event.Event{
			{Seq: 1, Data: event.RunStartedData{Workflow: "hello", Input: "Hi"}},
			{Seq: 2, Data: event.MessageDeltaData{MessageID: "m_1", Delta: "Hello!"}},
		},
		Checkpoint: &store.Checkpoint{Seq: 2, Data: []byte(`{"v":1}`)},
		Messages:   []store.Message{{Role: "user", Content: "Hi"}},
	})
	fmt.Println("commit:", err)

	// A commit that does not continue the log stores nothing.
	err = s.Commit(ctx, store.Commit{RunID: "r_1", Events: []event.Event{{Seq: 5, Data: event.MessageEndData{MessageID: "m_1"}}}})
	fmt.Println("gap:", err)

	evs, _ := s.Events(ctx, "r_1", 0, 0)
	for _, e := range evs {
		fmt.Println(e.Seq, e.Type, e.RunID)
	}
	// Output:
	// commit: <nil>
	// gap: sqlite: commit run "r_1": event 0 has seq 5, want 3: store: conflict
	// 1 run.started r_1
	// 2 message.delta r_1
}
