package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

func commitCases() []testCase {
	return []testCase{
		{"EventsContinueTheLog", testCommitAppends},
		{"BadSeqIsConflictAndStoresNothing", testCommitSeqConflict},
		{"MissingRunIsNotFound", testCommitMissingRun},
		{"RunRecordReplacedLastSeqKept", testCommitRunRecord},
		{"CheckpointReplaced", testCommitCheckpoint},
		{"MessagesGetThreadSeqAndTouchThread", testCommitMessages},
		{"EmptyIDsFilled", testCommitFillsIDs},
		{"ForeignIDIsConflictAndStoresNothing", testCommitForeignIDs},
		{"MalformedEventStoresNothing", testCommitMalformedEvent},
		{"EmptyCommitChangesNothing", testCommitEmpty},
		{"CancelledContextStoresNothing", testCommitCancelled},
		{"ValuesAreCopied", testCommitCopies},
	}
}

// setupRun creates thread t-1 and run r-1 with n events committed.
func setupRun(t *testing.T, s store.Store, n int) {
	t.Helper()
	mkThread(t, s, "t-1", at(0))
	mkRun(t, s, "r-1", "t-1", at(0))
	if n > 0 {
		commit(t, s, store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 0, n)})
	}
}

func testCommitAppends(t *testing.T, s store.Store) {
	setupRun(t, s, 0)
	for _, step := range []struct {
		n       int
		lastSeq uint64
	}{{1, 1}, {3, 4}, {0, 4}, {16, 20}} {
		r, err := s.Run(t.Context(), "r-1")
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		commit(t, s, store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", r.LastSeq, step.n)})
		if r, err = s.Run(t.Context(), "r-1"); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if r.LastSeq != step.lastSeq {
			t.Errorf("after committing %d events: LastSeq %d, want %d", step.n, r.LastSeq, step.lastSeq)
		}
	}
	sameList(t, "events", eventsOf(t, s, "r-1", 0, 0), deltas("r-1", "t-1", 0, 20), normEvent)
}

// fullCommit is a commit with every part set, continuing run r-1 of thread t-1.
func fullCommit(evs []event.Event) store.Commit {
	r := fullRun("r-1", "t-1")
	r.Status = store.StatusSucceeded
	return store.Commit{RunID: "r-1", Events: evs,
		Checkpoint: &store.Checkpoint{RunID: "r-1", Seq: 99, WorkflowHash: "h2", Data: json.RawMessage(`{"new":true}`), CreatedAt: at(30)},
		Run:        &r,
		Messages:   []store.Message{{ThreadID: "t-1", RunID: "r-1", Role: "assistant", Content: "never stored", CreatedAt: at(30)}}}
}

func testCommitSeqConflict(t *testing.T, s store.Store) {
	setupRun(t, s, 2)
	mkThread(t, s, "t-0", at(1)) // listed before t-1 until t-1 gets a message
	commit(t, s, store.Commit{RunID: "r-1",
		Checkpoint: &store.Checkpoint{RunID: "r-1", Seq: 2, WorkflowHash: "h1", Data: json.RawMessage(`{"old":1}`), CreatedAt: at(1)}})
	before := snapshot(t, s, "r-1")
	ev := func(seq uint64) event.Event { return deltas("r-1", "t-1", seq-1, 1)[0] }
	for _, tc := range []struct {
		name string
		seqs []uint64
	}{
		{"restarts at 1", []uint64{1}},
		{"repeats last", []uint64{2, 3}},
		{"skips one", []uint64{4}},
		{"starts at 0", []uint64{0, 1, 2, 3}},
		{"gap inside", []uint64{3, 4, 6}},
		{"duplicate inside", []uint64{3, 4, 4, 5}},
		{"descending", []uint64{4, 3}},
		{"far ahead", []uint64{1 << 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := make([]event.Event, len(tc.seqs))
			for i, seq := range tc.seqs {
				evs[i] = ev(seq)
			}
			err := s.Commit(t.Context(), fullCommit(evs))
			wantErr(t, "Commit", err, store.ErrConflict)
			unchanged(t, s, "r-1", before)
		})
	}
	commit(t, s, fullCommit([]event.Event{ev(3), ev(4)}))
	equalSeqs(t, "after a good commit", seqsOf(eventsOf(t, s, "r-1", 0, 0)), span(1, 4))
}

func testCommitMissingRun(t *testing.T, s store.Store) {
	setupRun(t, s, 1)
	before := snapshot(t, s, "r-1")
	c := store.Commit{RunID: "r-2", Events: deltas("r-2", "t-1", 0, 1),
		Checkpoint: &store.Checkpoint{RunID: "r-2", Seq: 1, Data: json.RawMessage(`{}`), CreatedAt: at(1)},
		Messages:   []store.Message{{ThreadID: "t-1", RunID: "r-2", Role: "user", Content: "x", CreatedAt: at(1)}}}
	wantErr(t, "Commit", s.Commit(t.Context(), c), store.ErrNotFound)
	_, err := s.Events(t.Context(), "r-2", 0, 0)
	wantErr(t, "Events of the missing run", err, store.ErrNotFound)
	_, err = s.Checkpoint(t.Context(), "r-2")
	wantErr(t, "Checkpoint of the missing run", err, store.ErrNotFound)
	unchanged(t, s, "r-1", before)
}

func testCommitRunRecord(t *testing.T, s store.Store) {
	setupRun(t, s, 1)
	want := fullRun("r-1", "t-1")
	want.Status, want.Output, want.Error = store.StatusSucceeded, "the answer", ""
	in := want
	in.LastSeq = 999 // the store keeps LastSeq consistent with the log
	commit(t, s, store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 1, 2), Run: &in})
	want.LastSeq = 3
	got, err := s.Run(t.Context(), "r-1")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	same(t, "run after commit with events", got, want, normRun)

	in.LastSeq, in.Status, in.UpdatedAt = 0, store.StatusFailed, at(40)
	commit(t, s, store.Commit{RunID: "r-1", Run: &in})
	want.Status, want.UpdatedAt = store.StatusFailed, at(40)
	if got, err = s.Run(t.Context(), "r-1"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	same(t, "run after commit without events", got, want, normRun)
	listed, err := s.Runs(t.Context(), store.RunFilter{Status: store.StatusFailed})
	if err != nil || len(listed) != 1 {
		t.Fatalf("Runs(failed): %v, %v; want r-1", ids(listed, runID), err)
	}
	same(t, "listed run", listed[0], want, normRun)
}

func testCommitCheckpoint(t *testing.T, s store.Store) {
	setupRun(t, s, 0)
	_, err := s.Checkpoint(t.Context(), "r-1")
	wantErr(t, "Checkpoint before any", err, store.ErrNotFound)
	_, err = s.Checkpoint(t.Context(), "r-missing")
	wantErr(t, "Checkpoint of a missing run", err, store.ErrNotFound)

	cp1 := store.Checkpoint{RunID: "r-1", Seq: 2, WorkflowHash: "h1",
		Data: json.RawMessage(`{"v":1,"nodes":["a","b"],"text":"ü\n"}`), CreatedAt: at(1).Add(1)}
	cp2 := store.Checkpoint{RunID: "r-1", Seq: 5, WorkflowHash: "h2",
		Data: json.RawMessage(`{"v":1, "spaced" : [1, 2]}`), CreatedAt: at(2)}
	steps := []struct {
		c    store.Commit
		want store.Checkpoint
	}{
		{store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 0, 2), Checkpoint: &cp1}, cp1},
		{store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 2, 3), Checkpoint: &cp2}, cp2},
		{store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 5, 1)}, cp2}, // kept
	}
	for i, st := range steps {
		commit(t, s, st.c)
		got, err := s.Checkpoint(t.Context(), "r-1")
		if err != nil {
			t.Fatalf("step %d: Checkpoint: %v", i, err)
		}
		same(t, "checkpoint", got, st.want, normCheckpoint)
		if string(got.Data) != string(st.want.Data) {
			t.Errorf("step %d: data %s, want the bytes given: %s", i, got.Data, st.want.Data)
		}
	}
}

func testCommitMessages(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkThread(t, s, "t-1", at(0))
	mkThread(t, s, "t-2", at(1))
	mkRun(t, s, "r-1", "t-1", at(0))
	mkRun(t, s, "r-2", "t-1", at(0))
	want := []store.Message{
		{Seq: 1, ThreadID: "t-1", RunID: "r-1", Role: "user", Content: "question", CreatedAt: at(2)},
		{Seq: 2, ThreadID: "t-1", RunID: "r-1", Role: "assistant", Agent: "writer", Content: "answer ✓", CreatedAt: at(3)},
		{Seq: 3, ThreadID: "t-1", RunID: "r-2", Role: "user", Content: "follow-up", CreatedAt: at(4).Add(9)},
	}
	in := func(ms ...store.Message) []store.Message {
		out := append([]store.Message(nil), ms...)
		for i := range out {
			out[i].Seq = 42 // assigned by the store
		}
		return out
	}
	start := time.Now()
	commit(t, s, store.Commit{RunID: "r-1", Messages: in(want[0], want[1])})
	commit(t, s, store.Commit{RunID: "r-2", Messages: in(want[2])})
	end := time.Now()
	got, err := s.Messages(ctx, "t-1")
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	sameList(t, "messages", got, want, normMessage)
	th, err := s.Thread(ctx, "t-1")
	if err != nil {
		t.Fatalf("Thread: %v", err)
	}
	if th.UpdatedAt.Before(start.Truncate(time.Microsecond)) || th.UpdatedAt.After(end) {
		t.Errorf("thread UpdatedAt %s, want the commit's time, in [%s, %s]", th.UpdatedAt, start, end)
	}
	list, err := s.Threads(ctx, 0)
	if err != nil {
		t.Fatalf("Threads: %v", err)
	}
	equalStrings(t, "threads after messages", ids(list, threadID), []string{"t-1", "t-2"})
}

func testCommitFillsIDs(t *testing.T, s store.Store) {
	setupRun(t, s, 0)
	evs := deltas("r-1", "t-1", 0, 2)
	for i := range evs {
		evs[i].RunID, evs[i].ThreadID = "", ""
	}
	commit(t, s, store.Commit{RunID: "r-1", Events: evs,
		Checkpoint: &store.Checkpoint{Seq: 2, Data: json.RawMessage(`{}`), CreatedAt: at(1)},
		Run:        &store.Run{Status: store.StatusSucceeded, Output: "done", CreatedAt: at(0), UpdatedAt: at(1)},
		Messages:   []store.Message{{Role: "assistant", Content: "done", CreatedAt: at(1)}}})
	sameList(t, "events", eventsOf(t, s, "r-1", 0, 0), deltas("r-1", "t-1", 0, 2), normEvent)
	cp, err := s.Checkpoint(t.Context(), "r-1")
	if err != nil || cp.RunID != "r-1" {
		t.Errorf("checkpoint: run %q, %v; want r-1", cp.RunID, err)
	}
	r, err := s.Run(t.Context(), "r-1")
	if err != nil || r.ID != "r-1" || r.ThreadID != "t-1" || r.Status != store.StatusSucceeded || r.LastSeq != 2 {
		t.Errorf("run: %+v, %v", r, err)
	}
	msgs, err := s.Messages(t.Context(), "t-1")
	if err != nil || len(msgs) != 1 || msgs[0].ThreadID != "t-1" || msgs[0].RunID != "r-1" {
		t.Errorf("messages: %+v, %v", msgs, err)
	}
}

func testCommitForeignIDs(t *testing.T, s store.Store) {
	setupRun(t, s, 1)
	mkThread(t, s, "t-2", at(0))
	mkRun(t, s, "r-2", "t-2", at(0))
	before := snapshot(t, s, "r-1")
	for _, tc := range []struct {
		name string
		edit func(c *store.Commit)
	}{
		{"event run", func(c *store.Commit) { c.Events[1].RunID = "r-2" }},
		{"event thread", func(c *store.Commit) { c.Events[0].ThreadID = "t-2" }},
		{"checkpoint run", func(c *store.Commit) { c.Checkpoint.RunID = "r-2" }},
		{"run id", func(c *store.Commit) { c.Run.ID = "r-2" }},
		{"run thread", func(c *store.Commit) { c.Run.ThreadID = "t-2" }},
		{"message thread", func(c *store.Commit) { c.Messages[0].ThreadID = "t-2" }},
		{"message run", func(c *store.Commit) { c.Messages[0].RunID = "r-2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fullCommit(deltas("r-1", "t-1", 1, 2))
			tc.edit(&c)
			wantErr(t, "Commit", s.Commit(t.Context(), c), store.ErrConflict)
			unchanged(t, s, "r-1", before)
		})
	}
}

func testCommitMalformedEvent(t *testing.T, s store.Store) {
	setupRun(t, s, 1)
	before := snapshot(t, s, "r-1")
	for _, tc := range []struct {
		name string
		edit func(e *event.Event)
	}{
		{"no type, no data", func(e *event.Event) { e.Type, e.Data = "", nil }},
		{"type and data disagree", func(e *event.Event) { e.Type = event.RunStarted }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fullCommit(deltas("r-1", "t-1", 1, 3))
			tc.edit(&c.Events[1])
			if err := s.Commit(t.Context(), c); err == nil {
				t.Fatalf("Commit of a malformed event: no error")
			}
			unchanged(t, s, "r-1", before)
		})
	}
}

func testCommitEmpty(t *testing.T, s store.Store) {
	setupRun(t, s, 2)
	before := snapshot(t, s, "r-1")
	commit(t, s, store.Commit{RunID: "r-1"})
	unchanged(t, s, "r-1", before)
}

func testCommitCancelled(t *testing.T, s store.Store) {
	setupRun(t, s, 1)
	before := snapshot(t, s, "r-1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantErr(t, "Commit", s.Commit(ctx, fullCommit(deltas("r-1", "t-1", 1, 2))), context.Canceled)
	unchanged(t, s, "r-1", before)
}

func testCommitCopies(t *testing.T, s store.Store) {
	setupRun(t, s, 0)
	data := []byte(`{"k":"original"}`)
	c := store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 0, 1),
		Checkpoint: &store.Checkpoint{RunID: "r-1", Seq: 1, Data: data, CreatedAt: at(1)}}
	commit(t, s, c)
	copy(data, `{"k":"CHANGED!"}`)
	c.Events[0].Data = event.MessageDeltaData{MessageID: "m1", Delta: "changed"}
	cp, err := s.Checkpoint(t.Context(), "r-1")
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if string(cp.Data) != `{"k":"original"}` {
		t.Errorf("checkpoint data follows the caller's slice: %s", cp.Data)
	}
	copy(cp.Data, `{"k":"mutated!!"}`)
	again, err := s.Checkpoint(t.Context(), "r-1")
	if err != nil || string(again.Data) != `{"k":"original"}` {
		t.Errorf("checkpoint data after changing a returned copy: %s, %v", again.Data, err)
	}
	sameList(t, "events", eventsOf(t, s, "r-1", 0, 0), deltas("r-1", "t-1", 0, 1), normEvent)
}
