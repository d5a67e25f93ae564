package engine_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

// failingStore fails the commits numbered [from, to) (counting from 1) and passes the others.
type failingStore struct {
	store.Store
	n        atomic.Int32
	from, to int32
}

func (f *failingStore) Commit(ctx context.Context, c store.Commit) error {
	if n := f.n.Add(1); n >= f.from && n < f.to {
		return errors.New("database is locked")
	}
	return f.Store.Commit(ctx, c)
}

// TestCommitFailureIsRetried: a commit that fails once is tried again; subscribers never see the
// failure, and nothing it carried is lost: the thread keeps the user's message and the answer
// (the first commit carries the user's message; it used to be dropped for good while the run
// went on and subscribers got an error).
func TestCommitFailureIsRetried(t *testing.T) {
	h := newHarness(t, []string{single}, withStoreWrap(func(s store.Store) store.Store {
		return &failingStore{Store: s, from: 1, to: 2}
	}))
	info, evs := h.run("single", "Say exactly: one two three")
	if fin, ok := last[event.RunFinishedData](evs); !ok || fin.Output != "one two three" {
		t.Fatalf("run did not finish: %+v", evs[len(evs)-1])
	}
	msgs, err := h.store.Messages(context.Background(), info.ThreadID)
	if err != nil || len(msgs) != 2 || msgs[0].Content != "Say exactly: one two three" || msgs[1].Content != "one two three" {
		t.Fatalf("thread messages %+v, %v", msgs, err)
	}
	rec, err := h.eng.Run(context.Background(), info.RunID)
	if err != nil || rec.Status != store.StatusSucceeded || rec.LastSeq != evs[len(evs)-1].Seq {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

// TestCommitFailureStopsTheRun: a store that keeps failing stops the run (no more model calls,
// no later events stored after a gap); subscribers get ErrStore; once the store works again the
// run resumes from what was stored and finishes.
func TestCommitFailureStopsTheRun(t *testing.T) {
	h, info, seen := runUntilStoreFails(t)
	stored, err := h.store.Events(context.Background(), info.RunID, 0, 0)
	if err != nil || len(stored) != len(seen) {
		t.Fatalf("stored %d events, subscribers saw %d (%v)", len(stored), len(seen), err)
	}
	h.wrapStore = nil
	h.restart()
	orphans, err := h.eng.Orphans(context.Background())
	if err != nil || len(orphans) != 1 || orphans[0].ID != info.RunID {
		t.Fatalf("orphans %+v, %v", orphans, err)
	}
	if err := h.eng.Resume(context.Background(), info.RunID); err != nil {
		t.Fatal(err)
	}
	evs := h.collect(info.RunID, 0)
	checkStream(t, evs, 1)
	if fin, ok := last[event.RunFinishedData](evs); !ok || fin.Output != words(40) {
		t.Fatalf("resumed run: %+v", evs[len(evs)-1])
	}
}

// runUntilStoreFails starts a run on a store that fails every commit from the third on and
// reads it until its subscriber gets ErrStore; it returns what the subscriber saw before.
func runUntilStoreFails(t *testing.T) (*harness, engine.RunInfo, []event.Event) {
	t.Helper()
	h := newHarness(t, []string{single}, withTokenDelay(time.Millisecond), withStoreWrap(func(s store.Store) store.Store {
		return &failingStore{Store: s, from: 3, to: 1 << 30}
	}))
	info := h.start("single", "Say exactly: "+words(40))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := h.eng.Subscribe(ctx, info.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []event.Event
	for {
		evs, err := sub.Next(ctx)
		if err == nil {
			seen = append(seen, evs...)
			continue
		}
		if !errors.Is(err, engine.ErrStore) || errors.Is(err, io.EOF) {
			t.Fatalf("subscriber: %v, want ErrStore", err)
		}
		return h, info, seen
	}
}

func words(n int) string {
	b := make([]byte, 0, n*3)
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, 'w', byte('a'+i%26))
	}
	return string(b)
}

// pauseGate holds the commit that records a run's pause until released.
type pauseGate struct {
	store.Store
	pausing chan struct{}
	release chan struct{}
	once    sync.Once
	stored  bool // hold the pause's commit after writing it, not before
}

func (g *pauseGate) Commit(ctx context.Context, c store.Commit) error {
	if c.Run == nil || c.Run.Status != store.StatusInterrupted {
		return g.Store.Commit(ctx, c)
	}
	hold := func() {
		g.once.Do(func() {
			close(g.pausing)
			<-g.release
		})
	}
	if !g.stored {
		hold()
		return g.Store.Commit(ctx, c)
	}
	// Written, then held: the pause is in the store while the run has not finished ending.
	err := g.Store.Commit(ctx, c)
	hold()
	return err
}

// TestCancelWhilePausing: a cancel that arrives while the run is writing its pause for approval
// waits for the pause and cancels the paused run (it used to return nil and do nothing: the run
// stayed interrupted).
func TestCancelWhilePausing(t *testing.T) {
	gate := &pauseGate{pausing: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, []string{approvalAgent}, withTools(realTools(t)), withStoreWrap(func(s store.Store) store.Store {
		gate.Store = s
		return gate
	}))
	info := h.start("gated", "Fetch http://127.0.0.1:9/doc")
	<-gate.pausing
	errc := make(chan error, 1)
	go func() { errc <- h.eng.Cancel(context.Background(), info.RunID, "stop") }()
	close(gate.release)
	if err := <-errc; err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	evs := h.collect(info.RunID, 0)
	i := slices.IndexFunc(evs, func(e event.Event) bool { return e.Type == event.RunInterrupted })
	if i < 0 {
		t.Fatalf("no pause in %d events", len(evs))
	}
	checkStream(t, evs[:i+1], 1)            // the run up to its pause
	checkStream(t, evs[i+1:], evs[i].Seq+1) // then the cancel of the paused run
	if _, ok := last[event.RunCancelledData](evs); !ok {
		t.Fatalf("the run ended with %s, want run.cancelled", evs[len(evs)-1].Type)
	}
	rec, err := h.eng.Run(context.Background(), info.RunID)
	if err != nil || rec.Status != store.StatusCancelled {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

// TestCancelOrphan: a run whose process stopped while it ran (here: its store failed) can be
// cancelled after a restart instead of resumed; it used to answer ErrNotRunning ("is running")
// and stay running for ever.
func TestCancelOrphan(t *testing.T) {
	h, info, _ := runUntilStoreFails(t)
	h.wrapStore = nil
	h.restart()
	if err := h.eng.Cancel(context.Background(), info.RunID, "abandoned"); err != nil {
		t.Fatal(err)
	}
	evs := h.collect(info.RunID, 0)
	checkStream(t, evs, 1)
	if c, ok := last[event.RunCancelledData](evs); !ok || c.Reason != "abandoned" {
		t.Fatalf("the orphan ended with %s", evs[len(evs)-1].Type)
	}
	if err := h.eng.Cancel(context.Background(), info.RunID, ""); !errors.Is(err, engine.ErrNotRunning) {
		t.Fatalf("second cancel: %v", err)
	}
}

// TestAnswerWhileEnding: an answer that comes once the pause is stored but before the run's
// goroutine has finished ending waits for it instead of saying the run is running (a client that
// answered the moment it saw the pause was refused now and then: a flaky WebSocket test).
func TestAnswerWhileEnding(t *testing.T) {
	gate := &pauseGate{pausing: make(chan struct{}), release: make(chan struct{}), stored: true}
	h := newHarness(t, []string{approvalAgent}, withTools(realTools(t)), withStoreWrap(func(s store.Store) store.Store {
		gate.Store = s
		return gate
	}))
	info := h.start("gated", "Fetch http://127.0.0.1:9/doc")
	<-gate.pausing
	cp, err := h.store.Checkpoint(context.Background(), info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.store.Events(context.Background(), info.RunID, 0, 0)
	if err != nil || stored[len(stored)-1].Type != event.RunInterrupted {
		t.Fatalf("the pause is not stored yet: %v (checkpoint %d)", err, cp.Seq)
	}
	intr := stored[len(stored)-1].Data.(event.RunInterruptedData)
	errc := make(chan error, 1)
	go func() {
		errc <- h.eng.Answer(context.Background(), info.RunID, engine.Answer{ApprovalID: intr.Approvals[0].ID, Approve: false})
	}()
	close(gate.release)
	if err := <-errc; err != nil {
		t.Fatalf("Answer: %v", err)
	}
	evs := h.collect(info.RunID, uint64(len(stored)))
	if _, ok := last[event.RunFinishedData](evs); !ok {
		t.Fatalf("the answered run ended with %s", evs[len(evs)-1].Type)
	}
}
