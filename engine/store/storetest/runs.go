package storetest

import (
	"fmt"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

func runCases() []testCase {
	return []testCase{
		{"CreateGet", testRunCreateGet},
		{"CreateExistingIsConflict", testRunCreateConflict},
		{"CreateInMissingThreadIsNotFound", testRunCreateMissingThread},
		{"MissingIsNotFound", testRunNotFound},
		{"ListFiltersNewestFirst", testRunsFilter},
		{"ListDefaultLimit", testRunsDefaultLimit},
	}
}

func fullRun(id, thread string) store.Run {
	return store.Run{ID: id, ThreadID: thread, Workflow: "panel", WorkflowHash: "sha256:abc",
		Status: store.StatusInterrupted, Input: "question ✓\n", Output: "partial", Error: "none yet",
		Usage:     event.Usage{PromptTokens: 11, CompletionTokens: 22, TotalTokens: 33, Calls: 2},
		CreatedAt: at(1), UpdatedAt: at(2).Add(3)}
}

func testRunCreateGet(t *testing.T, s store.Store) {
	mkThread(t, s, "t-1", at(0))
	want := fullRun("r-1", "t-1")
	in := want
	in.LastSeq = 7 // a new run has no events: the store keeps LastSeq at 0
	if err := s.CreateRun(t.Context(), in); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	got, err := s.Run(t.Context(), "r-1")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	same(t, "run", got, want, normRun)
	if evs := eventsOf(t, s, "r-1", 0, 0); len(evs) != 0 {
		t.Errorf("events of a new run: %v", seqsOf(evs))
	}
}

func testRunCreateConflict(t *testing.T, s store.Store) {
	mkThread(t, s, "t-1", at(0))
	mkThread(t, s, "t-2", at(0))
	want := fullRun("r-1", "t-1")
	if err := s.CreateRun(t.Context(), want); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	err := s.CreateRun(t.Context(), store.Run{ID: "r-1", ThreadID: "t-2", Status: store.StatusRunning,
		CreatedAt: at(9), UpdatedAt: at(9)})
	wantErr(t, "second CreateRun", err, store.ErrConflict)
	got, err := s.Run(t.Context(), "r-1")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	same(t, "run after conflict", got, want, normRun)
	runs, err := s.Runs(t.Context(), store.RunFilter{ThreadID: "t-2"})
	if err != nil || len(runs) != 0 {
		t.Errorf("Runs of t-2: %v, %v; want none", ids(runs, runID), err)
	}
}

func testRunCreateMissingThread(t *testing.T, s store.Store) {
	err := s.CreateRun(t.Context(), fullRun("r-1", "t-missing"))
	wantErr(t, "CreateRun", err, store.ErrNotFound)
	_, err = s.Run(t.Context(), "r-1")
	wantErr(t, "Run after failed CreateRun", err, store.ErrNotFound)
}

func testRunNotFound(t *testing.T, s store.Store) {
	mkThread(t, s, "t-1", at(0))
	mkRun(t, s, "r-1", "t-1", at(0))
	_, err := s.Run(t.Context(), "r-2")
	wantErr(t, "Run", err, store.ErrNotFound)
}

func testRunsFilter(t *testing.T, s store.Store) {
	mkThread(t, s, "t-a", at(0))
	mkThread(t, s, "t-b", at(0))
	// Created out of time order; statuses and threads interleaved.
	for _, r := range []struct {
		id, thread, status string
		minute             int
	}{
		{"r-3", "t-a", store.StatusSucceeded, 3},
		{"r-1", "t-a", store.StatusRunning, 1},
		{"r-5", "t-b", store.StatusSucceeded, 5},
		{"r-2", "t-b", store.StatusFailed, 2},
		{"r-4", "t-a", store.StatusRunning, 4},
		{"r-6", "t-a", store.StatusSucceeded, 6},
	} {
		mkRunStatus(t, s, r.id, r.thread, at(r.minute), r.status)
	}
	for _, tc := range []struct {
		name string
		f    store.RunFilter
		want []string
	}{
		{"all", store.RunFilter{}, []string{"r-6", "r-5", "r-4", "r-3", "r-2", "r-1"}},
		{"limit", store.RunFilter{Limit: 2}, []string{"r-6", "r-5"}},
		{"thread", store.RunFilter{ThreadID: "t-a"}, []string{"r-6", "r-4", "r-3", "r-1"}},
		{"status", store.RunFilter{Status: store.StatusSucceeded}, []string{"r-6", "r-5", "r-3"}},
		{"thread and status", store.RunFilter{ThreadID: "t-a", Status: store.StatusRunning}, []string{"r-4", "r-1"}},
		{"thread, status, limit", store.RunFilter{ThreadID: "t-a", Status: store.StatusSucceeded, Limit: 1}, []string{"r-6"}},
		{"missing thread", store.RunFilter{ThreadID: "t-none"}, nil},
		{"unused status", store.RunFilter{Status: store.StatusCancelled}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Runs(t.Context(), tc.f)
			if err != nil {
				t.Fatalf("Runs(%+v): %v", tc.f, err)
			}
			equalStrings(t, fmt.Sprintf("Runs(%+v)", tc.f), ids(got, runID), tc.want)
		})
	}
	got, err := s.Runs(t.Context(), store.RunFilter{ThreadID: "t-b"})
	if err != nil {
		t.Fatalf("Runs: %v", err)
	}
	want5, err := s.Run(t.Context(), "r-5")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) == 2 {
		same(t, "listed run", got[0], want5, normRun)
	}
}

func testRunsDefaultLimit(t *testing.T, s store.Store) {
	mkThread(t, s, "t-1", at(0))
	var want []string
	for i := range 101 {
		id := fmt.Sprintf("r-%03d", i)
		mkRun(t, s, id, "t-1", at(i))
		if i > 0 {
			want = append([]string{id}, want...)
		}
	}
	got, err := s.Runs(t.Context(), store.RunFilter{})
	if err != nil {
		t.Fatalf("Runs: %v", err)
	}
	equalStrings(t, "Runs of 101", ids(got, runID), want)
}
