package sqlite_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

func deltaEvents(after uint64, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.Event{Seq: after + uint64(i) + 1, Data: event.MessageDeltaData{MessageID: "m", Delta: "x"}}
	}
	return evs
}

// TestTwoStoresOneFile opens the file twice, as two processes would: each store's writer
// commits to its own run while readers of both stores read both runs. Writers of the two
// stores contend for SQLite's write lock (busy_timeout); every read must be a whole-commit
// prefix.
func TestTwoStoresOneFile(t *testing.T) {
	const commits, batch = 80, 3
	a, path := openTemp(t)
	defer a.Close()
	b, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.CreateThread(t.Context(), store.Thread{ID: "t"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ra", "rb"} {
		if err := a.CreateRun(t.Context(), store.Run{ID: id, ThreadID: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	for _, w := range []struct {
		s   *sqlite.Store
		run string
	}{{a, "ra"}, {b, "rb"}} {
		writers.Go(func() {
			for i := range commits {
				if err := w.s.Commit(t.Context(), store.Commit{RunID: w.run, Events: deltaEvents(uint64(i*batch), batch),
					Messages: []store.Message{{Role: "user", Content: w.run}}}); err != nil {
					t.Errorf("Commit %s #%d: %v", w.run, i, err)
					return
				}
			}
		})
	}
	for i := range 4 {
		s := []*sqlite.Store{a, b}[i%2]
		run := []string{"ra", "rb"}[i/2]
		readers.Go(func() { readWholeCommits(t, s, run, batch, done) })
	}
	writers.Wait()
	close(done)
	readers.Wait()
	for _, s := range []*sqlite.Store{a, b} {
		msgs, err := s.Messages(t.Context(), "t")
		if err != nil || len(msgs) != 2*commits || msgs[len(msgs)-1].Seq != 2*commits {
			t.Errorf("messages: %d, %v; want %d with seqs 1..%d", len(msgs), err, 2*commits, 2*commits)
		}
	}
}

// readWholeCommits reads run until done, checking each read is a gap-free, growing prefix made
// of whole commits of size batch.
func readWholeCommits(t *testing.T, s *sqlite.Store, run string, batch int, done <-chan struct{}) {
	var last int
	for final := false; !final; {
		select {
		case <-done:
			final = true
		default:
		}
		evs, err := s.Events(t.Context(), run, 0, 0)
		if err != nil {
			t.Errorf("Events(%s): %v", run, err)
			return
		}
		if len(evs) < last || len(evs)%batch != 0 || (len(evs) > 0 && evs[len(evs)-1].Seq != uint64(len(evs))) {
			t.Errorf("Events(%s): %d events after %d", run, len(evs), last)
			return
		}
		last = len(evs)
	}
}

// TestCloseDuringCalls closes the store while goroutines use it: every call either completes
// normally or returns ErrClosed, and Close waits for the calls in flight.
func TestCloseDuringCalls(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.CreateThread(t.Context(), store.Thread{ID: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(t.Context(), store.Run{ID: "r", ThreadID: "t"}); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				var err error
				if g%2 == 0 {
					_, err = s.Events(t.Context(), "r", 0, 0)
				} else {
					err = s.KVSet(t.Context(), "p", fmt.Sprint(g, "-", i), []byte("v"))
				}
				if i == 3 {
					once.Do(func() { close(started) })
				}
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
					return
				}
			}
		})
	}
	<-started
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
}
