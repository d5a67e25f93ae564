package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/agentfleet/fleet/engine/store"
)

func threadCases() []testCase {
	return []testCase{
		{"CreateGet", testThreadCreateGet},
		{"CreateExistingIsConflict", testThreadCreateConflict},
		{"MissingIsNotFound", testThreadNotFound},
		{"ListMostRecentlyUpdatedFirst", testThreadsOrder},
		{"ListDefaultLimit", testThreadsDefaultLimit},
		{"MessagesOfEmptyThread", testMessagesEmpty},
		{"DeleteCascades", testThreadDeleteCascade},
	}
}

func testThreadCreateGet(t *testing.T, s store.Store) {
	want := store.Thread{ID: "t-1", Title: "Ünïcode \"title\" <&>\n", CreatedAt: at(0),
		UpdatedAt: at(5).Add(7)}
	if err := s.CreateThread(t.Context(), want); err != nil {
		t.Fatalf("CreateThread: %v", err)
	}
	got, err := s.Thread(t.Context(), "t-1")
	if err != nil {
		t.Fatalf("Thread: %v", err)
	}
	same(t, "thread", got, want, normThread)
}

func testThreadCreateConflict(t *testing.T, s store.Store) {
	want := mkThread(t, s, "t-1", at(0))
	err := s.CreateThread(t.Context(), store.Thread{ID: "t-1", Title: "other", CreatedAt: at(9), UpdatedAt: at(9)})
	wantErr(t, "second CreateThread", err, store.ErrConflict)
	got, err := s.Thread(t.Context(), "t-1")
	if err != nil {
		t.Fatalf("Thread: %v", err)
	}
	same(t, "thread after conflict", got, want, normThread)
}

func testThreadNotFound(t *testing.T, s store.Store) {
	mkThread(t, s, "t-1", at(0))
	_, err := s.Thread(t.Context(), "t-2")
	wantErr(t, "Thread", err, store.ErrNotFound)
	_, err = s.Messages(t.Context(), "t-2")
	wantErr(t, "Messages", err, store.ErrNotFound)
	wantErr(t, "DeleteThread", s.DeleteThread(t.Context(), "t-2"), store.ErrNotFound)
	if _, err := s.Thread(t.Context(), "t-1"); err != nil {
		t.Errorf("Thread(t-1) after failed delete of t-2: %v", err)
	}
}

func testThreadsOrder(t *testing.T, s store.Store) {
	list, err := s.Threads(t.Context(), 0)
	if err != nil {
		t.Fatalf("Threads on an empty store: %v", err)
	}
	equalStrings(t, "empty store", ids(list, threadID), nil)
	// Created in an order different from their update order.
	th2 := mkThread(t, s, "t-2", at(2))
	th1 := mkThread(t, s, "t-1", at(1))
	th3 := mkThread(t, s, "t-3", at(3))
	for _, tc := range []struct {
		limit int
		want  []store.Thread
	}{
		{0, []store.Thread{th3, th2, th1}},
		{3, []store.Thread{th3, th2, th1}},
		{10, []store.Thread{th3, th2, th1}},
		{2, []store.Thread{th3, th2}},
		{1, []store.Thread{th3}},
	} {
		got, err := s.Threads(t.Context(), tc.limit)
		if err != nil {
			t.Fatalf("Threads(%d): %v", tc.limit, err)
		}
		sameList(t, fmt.Sprintf("Threads(%d)", tc.limit), got, tc.want, normThread)
	}
}

func testThreadsDefaultLimit(t *testing.T, s store.Store) {
	var want []string
	for i := range 101 {
		id := fmt.Sprintf("t-%03d", i)
		mkThread(t, s, id, at(i))
		if i > 0 {
			want = append([]string{id}, want...)
		}
	}
	got, err := s.Threads(t.Context(), 0)
	if err != nil {
		t.Fatalf("Threads(0): %v", err)
	}
	equalStrings(t, "Threads(0) of 101", ids(got, threadID), want)
}

func testMessagesEmpty(t *testing.T, s store.Store) {
	mkThread(t, s, "t-1", at(0))
	msgs, err := s.Messages(t.Context(), "t-1")
	if err != nil {
		t.Fatalf("Messages of a thread without messages: %v", err)
	}
	if len(msgs) != 0 {
		t.Errorf("Messages: got %+v, want none", msgs)
	}
}

// fillThread gives thread th a run with events, a checkpoint and a message.
func fillThread(t *testing.T, s store.Store, th, run string) {
	t.Helper()
	mkRun(t, s, run, th, at(1))
	commit(t, s, store.Commit{RunID: run, Events: deltas(run, th, 0, 3),
		Checkpoint: &store.Checkpoint{RunID: run, Seq: 3, WorkflowHash: "h1", Data: json.RawMessage(`{"n":3}`), CreatedAt: at(2)},
		Messages:   []store.Message{{ThreadID: th, RunID: run, Role: "user", Content: "hi " + th, CreatedAt: at(1)}}})
}

func testThreadDeleteCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	mkThread(t, s, "t-a", at(0))
	mkThread(t, s, "t-b", at(0))
	fillThread(t, s, "t-a", "r-a")
	fillThread(t, s, "t-b", "r-b")
	if err := s.KVSet(ctx, "plugin", "t-a", []byte("v")); err != nil {
		t.Fatalf("KVSet: %v", err)
	}
	keep := snapshot(t, s, "r-b")

	if err := s.DeleteThread(ctx, "t-a"); err != nil {
		t.Fatalf("DeleteThread: %v", err)
	}
	checkGone(t, s, "t-a", "r-a")
	keep.ThreadsList = []string{"t-b"}
	unchanged(t, s, "r-b", keep)
	if v, err := s.KVGet(ctx, "plugin", "t-a"); err != nil || string(v) != "v" {
		t.Errorf("KVGet after DeleteThread: %q, %v; want \"v\"", v, err)
	}
	wantErr(t, "second DeleteThread", s.DeleteThread(ctx, "t-a"), store.ErrNotFound)

	// The ids are free again and nothing of the old thread comes back with them.
	mkThread(t, s, "t-a", at(5))
	mkRun(t, s, "r-a", "t-a", at(5))
	if evs := eventsOf(t, s, "r-a", 0, 0); len(evs) != 0 {
		t.Errorf("events of the re-created run: %v", seqsOf(evs))
	}
	_, err := s.Checkpoint(ctx, "r-a")
	wantErr(t, "checkpoint of the re-created run", err, store.ErrNotFound)
	if msgs, err := s.Messages(ctx, "t-a"); err != nil || len(msgs) != 0 {
		t.Errorf("messages of the re-created thread: %+v, %v; want none", msgs, err)
	}
	commit(t, s, store.Commit{RunID: "r-a", Events: deltas("r-a", "t-a", 0, 1)})
}

// checkGone checks that a deleted thread and its run left nothing behind.
func checkGone(t *testing.T, s store.Store, th, run string) {
	t.Helper()
	ctx := t.Context()
	_, err := s.Thread(ctx, th)
	wantErr(t, "Thread", err, store.ErrNotFound)
	_, err = s.Messages(ctx, th)
	wantErr(t, "Messages", err, store.ErrNotFound)
	_, err = s.Run(ctx, run)
	wantErr(t, "Run", err, store.ErrNotFound)
	_, err = s.Events(ctx, run, 0, 0)
	wantErr(t, "Events", err, store.ErrNotFound)
	_, err = s.Checkpoint(ctx, run)
	wantErr(t, "Checkpoint", err, store.ErrNotFound)
	wantErr(t, "Commit to the deleted run", s.Commit(ctx, store.Commit{RunID: run,
		Events: deltas(run, th, 3, 1)}), store.ErrNotFound)
	runs, err := s.Runs(ctx, store.RunFilter{ThreadID: th})
	if err != nil || len(runs) != 0 {
		t.Errorf("Runs of the deleted thread: %v, %v; want none", ids(runs, runID), err)
	}
	all, err := s.Runs(ctx, store.RunFilter{})
	if err != nil {
		t.Fatalf("Runs: %v", err)
	}
	for _, r := range all {
		if r.ID == run {
			t.Errorf("Runs lists deleted run %q", run)
		}
	}
}
