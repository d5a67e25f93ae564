package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

// base is the suite's reference time: fixed, with nanoseconds, not in the future.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// openStore opens a store for one subtest and closes it when the subtest ends.
func openStore(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// mkThread creates a thread updated (and created) at updated.
func mkThread(t *testing.T, s store.Store, id string, updated time.Time) store.Thread {
	t.Helper()
	th := store.Thread{ID: id, Title: "title of " + id, CreatedAt: updated, UpdatedAt: updated}
	if err := s.CreateThread(t.Context(), th); err != nil {
		t.Fatalf("CreateThread(%q): %v", id, err)
	}
	return th
}

// mkRun creates a running run in thread, created at created.
func mkRun(t *testing.T, s store.Store, id, thread string, created time.Time) store.Run {
	t.Helper()
	return mkRunStatus(t, s, id, thread, created, store.StatusRunning)
}

func mkRunStatus(t *testing.T, s store.Store, id, thread string, created time.Time, status string) store.Run {
	t.Helper()
	r := store.Run{ID: id, ThreadID: thread, Workflow: "wf", WorkflowHash: "h1", Status: status,
		Input: "input of " + id, CreatedAt: created, UpdatedAt: created}
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatalf("CreateRun(%q): %v", id, err)
	}
	return r
}

// deltas returns n message.delta events of run continuing after seq `after`.
func deltas(run, thread string, after uint64, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		seq := after + uint64(i) + 1
		evs[i] = event.Event{V: event.Version, Type: event.MessageDelta, Seq: seq, RunID: run,
			ThreadID: thread, Time: base.Add(time.Duration(seq) * time.Millisecond), Node: "writer",
			Agent: "writer", Path: "writer",
			Data: event.MessageDeltaData{MessageID: "m1", Delta: fmt.Sprintf("%s:%d", run, seq)}}
	}
	return evs
}

// commit commits c and fails the test on error.
func commit(t *testing.T, s store.Store, c store.Commit) {
	t.Helper()
	if err := s.Commit(t.Context(), c); err != nil {
		t.Fatalf("Commit(run %q, %d events): %v", c.RunID, len(c.Events), err)
	}
}

// eventsOf reads a run's events and fails the test on error.
func eventsOf(t *testing.T, s store.Store, run string, after uint64, limit int) []event.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), run, after, limit)
	if err != nil {
		t.Fatalf("Events(%q, %d, %d): %v", run, after, limit, err)
	}
	return evs
}

// seqsOf lists the events' seqs.
func seqsOf(evs []event.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// span returns from, from+1, ..., to (empty when to < from).
func span(from, to uint64) []uint64 {
	out := []uint64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// normTime drops the monotonic reading and the location, which Equal ignores.
func normTime(tm time.Time) time.Time { return tm.Round(0).UTC() }

func normThread(th store.Thread) store.Thread {
	th.CreatedAt, th.UpdatedAt = normTime(th.CreatedAt), normTime(th.UpdatedAt)
	return th
}

func normRun(r store.Run) store.Run {
	r.CreatedAt, r.UpdatedAt = normTime(r.CreatedAt), normTime(r.UpdatedAt)
	return r
}

func normMessage(m store.Message) store.Message {
	m.CreatedAt = normTime(m.CreatedAt)
	return m
}

func normCheckpoint(c store.Checkpoint) store.Checkpoint {
	c.CreatedAt = normTime(c.CreatedAt)
	return c
}

func normEvent(e event.Event) event.Event {
	e.Time = normTime(e.Time)
	return e
}

// mapSlice applies f to every element.
func mapSlice[T any](in []T, f func(T) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// same fails the test unless got and want are deeply equal after norm.
func same[T any](t *testing.T, what string, got, want T, norm func(T) T) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameList is same for slices.
func sameList[T any](t *testing.T, what string, got, want []T, norm func(T) T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d items, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		same(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i], norm)
	}
}

// ids lists the ids of threads or runs.
func ids[T any](in []T, id func(T) string) []string {
	out := []string{}
	for _, v := range in {
		out = append(out, id(v))
	}
	return out
}

func threadID(th store.Thread) string { return th.ID }
func runID(r store.Run) string        { return r.ID }

// equalStrings fails the test unless got equals want.
func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// equalSeqs fails the test unless got equals want.
func equalSeqs(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got seqs %v, want %v", what, got, want)
	}
}

// runState is everything the store keeps about a run and its thread, to check that a failed
// write changed nothing.
type runState struct {
	Thread      store.Thread
	Run         store.Run
	Events      []event.Event
	Checkpoint  *store.Checkpoint
	Messages    []store.Message
	EventsJSON  string
	ThreadsList []string
}

// snapshot reads a run's state.
func snapshot(t *testing.T, s store.Store, run string) runState {
	t.Helper()
	ctx := t.Context()
	var st runState
	var err error
	if st.Run, err = s.Run(ctx, run); err != nil {
		t.Fatalf("Run(%q): %v", run, err)
	}
	if st.Thread, err = s.Thread(ctx, st.Run.ThreadID); err != nil {
		t.Fatalf("Thread(%q): %v", st.Run.ThreadID, err)
	}
	st.Events = eventsOf(t, s, run, 0, 0)
	b, err := json.Marshal(st.Events)
	if err != nil {
		t.Fatalf("marshal events: %v", err)
	}
	st.EventsJSON = string(b)
	if cp, err := s.Checkpoint(ctx, run); err == nil {
		st.Checkpoint = &cp
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Checkpoint(%q): %v", run, err)
	}
	if st.Messages, err = s.Messages(ctx, st.Run.ThreadID); err != nil {
		t.Fatalf("Messages(%q): %v", st.Run.ThreadID, err)
	}
	threads, err := s.Threads(ctx, 0)
	if err != nil {
		t.Fatalf("Threads: %v", err)
	}
	st.ThreadsList = ids(threads, threadID)
	return st
}

// unchanged fails the test unless the run's state equals before.
func unchanged(t *testing.T, s store.Store, run string, before runState) {
	t.Helper()
	after := snapshot(t, s, run)
	same(t, "thread", after.Thread, before.Thread, normThread)
	same(t, "run", after.Run, before.Run, normRun)
	equalSeqs(t, "events", seqsOf(after.Events), seqsOf(before.Events))
	if after.EventsJSON != before.EventsJSON {
		t.Errorf("events changed:\n got %s\nwant %s", after.EventsJSON, before.EventsJSON)
	}
	switch {
	case (after.Checkpoint == nil) != (before.Checkpoint == nil):
		t.Errorf("checkpoint: got %+v, want %+v", after.Checkpoint, before.Checkpoint)
	case after.Checkpoint != nil:
		same(t, "checkpoint", *after.Checkpoint, *before.Checkpoint, normCheckpoint)
	}
	sameList(t, "messages", after.Messages, before.Messages, normMessage)
	equalStrings(t, "threads order", after.ThreadsList, before.ThreadsList)
}
