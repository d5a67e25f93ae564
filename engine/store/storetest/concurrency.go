package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

func concurrencyCases() []testCase {
	return []testCase{
		{"CommitsToRunsOfOneThread", testConcurrentRuns},
		{"RacingWritersOfOneRun", testConcurrentSameRun},
		{"ReadersSeeWholeCommits", testConcurrentReaders},
		{"CreateSameIDOnce", testConcurrentCreate},
	}
}

// testConcurrentRuns: goroutines commit events and a message per commit, each to its own run;
// half the runs share one thread, so their messages interleave in that thread.
func testConcurrentRuns(t *testing.T, s store.Store) {
	const workers, commits, perCommit = 8, 20, 3
	mkThread(t, s, "t-shared", at(0))
	thread := func(w int) string {
		if w%2 == 0 {
			return "t-shared"
		}
		return fmt.Sprintf("t-own-%d", w)
	}
	for w := range workers {
		if w%2 == 1 {
			mkThread(t, s, thread(w), at(0))
		}
		mkRun(t, s, fmt.Sprintf("r-%d", w), thread(w), at(w))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			run := fmt.Sprintf("r-%d", w)
			for i := range commits {
				err := s.Commit(t.Context(), store.Commit{RunID: run,
					Events:   deltas(run, thread(w), uint64(i*perCommit), perCommit),
					Messages: []store.Message{{Role: "assistant", Content: fmt.Sprintf("%s #%d", run, i), CreatedAt: at(i)}}})
				if err != nil {
					t.Errorf("Commit(%s #%d): %v", run, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		run := fmt.Sprintf("r-%d", w)
		sameList(t, run, eventsOf(t, s, run, 0, 0), deltas(run, thread(w), 0, commits*perCommit), normEvent)
		r, err := s.Run(t.Context(), run)
		if err != nil || r.LastSeq != commits*perCommit {
			t.Errorf("Run(%s): LastSeq %d, %v; want %d", run, r.LastSeq, err, commits*perCommit)
		}
	}
	checkThreadMessages(t, s, "t-shared", workers/2, commits)
}

// checkThreadMessages checks a thread holds runs*commits messages with seqs 1..n, each run's in
// its commit order.
func checkThreadMessages(t *testing.T, s store.Store, thread string, runs, commits int) {
	t.Helper()
	msgs, err := s.Messages(t.Context(), thread)
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if len(msgs) != runs*commits {
		t.Fatalf("%s has %d messages, want %d", thread, len(msgs), runs*commits)
	}
	next := map[string]int{}
	for i, m := range msgs {
		if m.Seq != int64(i)+1 {
			t.Errorf("message %d has seq %d", i, m.Seq)
		}
		if want := fmt.Sprintf("%s #%d", m.RunID, next[m.RunID]); m.Content != want {
			t.Errorf("message seq %d: %q, want %q", m.Seq, m.Content, want)
		}
		next[m.RunID]++
	}
	if len(next) != runs {
		t.Errorf("messages come from %d runs, want %d", len(next), runs)
	}
}

// testConcurrentSameRun: writers race to append to one run, each reading LastSeq and retrying
// on ErrConflict; every event lands exactly once and the log has no gap.
func testConcurrentSameRun(t *testing.T, s store.Store) {
	const writers, each = 4, 15
	setupRun(t, s, 0)
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < each; {
				r, err := s.Run(t.Context(), "r-1")
				if err != nil {
					t.Errorf("Run: %v", err)
					return
				}
				ev := event.Event{V: event.Version, Type: event.MessageDelta, Seq: r.LastSeq + 1, RunID: "r-1",
					ThreadID: "t-1", Time: at(i), Data: event.MessageDeltaData{MessageID: "m", Delta: fmt.Sprintf("w%d-%d", w, i)}}
				err = s.Commit(t.Context(), store.Commit{RunID: "r-1", Events: []event.Event{ev}})
				switch {
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				case err != nil:
					t.Errorf("Commit: %v", err)
					return
				default:
					i++
				}
			}
		})
	}
	wg.Wait()
	evs := eventsOf(t, s, "r-1", 0, 0)
	equalSeqs(t, "log", seqsOf(evs), span(1, writers*each))
	seen := map[string]int{}
	for _, e := range evs {
		if d, ok := e.Data.(event.MessageDeltaData); ok {
			seen[d.Delta]++
		}
	}
	for w := range writers {
		for i := range each {
			if n := seen[fmt.Sprintf("w%d-%d", w, i)]; n != 1 {
				t.Errorf("event w%d-%d stored %d times", w, i, n)
			}
		}
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// testConcurrentReaders: while a writer commits batches, readers only ever see whole commits:
// a gap-free prefix of the log that never shrinks, matching LastSeq at some moment.
func testConcurrentReaders(t *testing.T, s store.Store) {
	const commits, batch, readers = 60, 4, 4
	setupRun(t, s, 0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			var last uint64
			for final := false; !final; {
				select {
				case <-done:
					final = true
				default:
				}
				evs, err := s.Events(t.Context(), "r-1", 0, 0)
				if err != nil {
					t.Errorf("Events: %v", err)
					return
				}
				n := uint64(len(evs))
				if n%batch != 0 || n < last || (len(evs) > 0 && evs[n-1].Seq != n) {
					t.Errorf("reader saw %d events (last seq %v) after %d: not whole commits", n, seqsOf(evs[max(0, len(evs)-1):]), last)
					return
				}
				last = n
			}
			if last != commits*batch {
				t.Errorf("final read saw %d events, want %d", last, commits*batch)
			}
		})
	}
	for i := range commits {
		commit(t, s, store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", uint64(i*batch), batch)})
	}
	close(done)
	wg.Wait()
}

// testConcurrentCreate: goroutines create the same thread and run ids; exactly one of each wins.
func testConcurrentCreate(t *testing.T, s store.Store) {
	const racers = 8
	mkThread(t, s, "t-base", at(0))
	var threadWins, runWins atomic.Int64
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			err := s.CreateThread(t.Context(), store.Thread{ID: "t-dup", Title: fmt.Sprint(i), CreatedAt: at(i), UpdatedAt: at(i)})
			countWin(t, "CreateThread", err, &threadWins)
			err = s.CreateRun(t.Context(), store.Run{ID: "r-dup", ThreadID: "t-base", Input: fmt.Sprint(i),
				Status: store.StatusRunning, CreatedAt: at(i), UpdatedAt: at(i)})
			countWin(t, "CreateRun", err, &runWins)
		})
	}
	wg.Wait()
	if threadWins.Load() != 1 || runWins.Load() != 1 {
		t.Errorf("winners: %d threads, %d runs; want 1 and 1", threadWins.Load(), runWins.Load())
	}
	th, err := s.Thread(t.Context(), "t-dup")
	if err != nil {
		t.Fatalf("Thread: %v", err)
	}
	r, err := s.Run(t.Context(), "r-dup")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !th.CreatedAt.Equal(at(mustAtoi(t, th.Title))) || !r.CreatedAt.Equal(at(mustAtoi(t, r.Input))) {
		t.Errorf("the stored records mix writers: thread %+v, run %+v", th, r)
	}
}

func countWin(t *testing.T, what string, err error, wins *atomic.Int64) {
	switch {
	case err == nil:
		wins.Add(1)
	case !errors.Is(err, store.ErrConflict):
		t.Errorf("%s: %v, want nil or ErrConflict", what, err)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
