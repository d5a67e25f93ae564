package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

// runLog is a live run's event log. Events get their seq here, are committed to the store by the
// engine's committer (with the checkpoint and run record that go with them), and only then become
// visible to subscribers: a client never sees an event the store could lose.
type runLog struct {
	runID, threadID string

	mu       sync.Mutex
	events   []event.Event // events[i].Seq == base+1+i
	base     uint64        // seq before events[0]
	durable  uint64        // highest committed seq
	pending  pendingCommit // what the next commit carries besides events
	queued   bool          // waiting in the committer's queue
	inflight bool          // a commit taken from this log is being written
	closed   bool          // no more events will be appended in this process
	err      error         // a commit that failed after every attempt: nothing more is committed
	onFail   func(error)   // called once with err (the run stops)
	notify   chan struct{} // closed and replaced whenever durable, closed or err change
	open     *openSpans    // spans opened and not closed, in order
	lastType event.Type
}

type pendingCommit struct {
	checkpoint *store.Checkpoint
	run        *store.Run
	messages   []store.Message
}

func newRunLog(runID, threadID string, base uint64) *runLog {
	return &runLog{runID: runID, threadID: threadID, base: base, durable: base,
		notify: make(chan struct{}), open: newOpenSpans()}
}

// last returns the seq of the last appended event.
func (l *runLog) last() uint64 { return l.base + uint64(len(l.events)) }

// append assigns the next seq to e, records it, and returns it.
func (l *runLog) append(e event.Event) event.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(e)
}

func (l *runLog) appendLocked(e event.Event) event.Event {
	e.V = event.Version
	e.Seq = l.last() + 1
	e.RunID, e.ThreadID = l.runID, l.threadID
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Type = e.Data.EventType()
	l.events = append(l.events, e)
	l.open.track(e)
	l.lastType = e.Type
	return e
}

// appendAttach appends events and attaches what must be committed with them, atomically: the
// committer never takes the events without the checkpoint, record and messages that go with them.
func (l *runLog) appendAttach(evs []event.Event, cp *store.Checkpoint, run *store.Run, msgs []store.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range evs {
		l.appendLocked(e)
	}
	l.attachLocked(cp, run, msgs)
}

// attach adds what the next commit must carry with the events appended so far.
func (l *runLog) attach(cp *store.Checkpoint, run *store.Run, msgs []store.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attachLocked(cp, run, msgs)
}

func (l *runLog) attachLocked(cp *store.Checkpoint, run *store.Run, msgs []store.Message) {
	if cp != nil {
		cp.Seq = l.last()
		l.pending.checkpoint = cp
	}
	if run != nil {
		run.LastSeq = l.last()
		l.pending.run = run
	}
	l.pending.messages = append(l.pending.messages, msgs...)
}

// setOnFail sets what is called, once, when a commit fails for good.
func (l *runLog) setOnFail(f func(error)) {
	l.mu.Lock()
	l.onFail = f
	l.mu.Unlock()
}

func (l *runLog) broadcastLocked() {
	close(l.notify)
	l.notify = make(chan struct{})
}

// take removes what the next commit writes; ok is false when there is nothing to write.
func (l *runLog) take() (c store.Commit, upTo uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queued = false
	upTo = l.last()
	start := l.durable - l.base
	if l.err != nil || upTo == l.durable && l.pending.checkpoint == nil && l.pending.run == nil && len(l.pending.messages) == 0 {
		// After a failed commit nothing more is written: later events without the lost ones
		// would leave a gap in the stored log.
		return c, l.durable, false
	}
	c = store.Commit{RunID: l.runID, Events: append([]event.Event(nil), l.events[start:]...),
		Checkpoint: l.pending.checkpoint, Run: l.pending.run, Messages: l.pending.messages}
	l.pending = pendingCommit{}
	l.inflight = true
	return c, upTo, true
}

func (l *runLog) committed(upTo uint64, err error) {
	l.mu.Lock()
	l.inflight = false
	var fail func(error)
	if err != nil {
		if l.err == nil {
			l.err, fail = err, l.onFail
		}
	} else if upTo > l.durable {
		l.durable = upTo
	}
	l.broadcastLocked()
	l.mu.Unlock()
	if fail != nil {
		fail(err)
	}
}

// close marks the log complete: subscribers get io.EOF once they have read everything durable.
func (l *runLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.broadcastLocked()
	}
}

// waitDurable blocks until every appended event is committed, the commit failed, or ctx ends.
func (l *runLog) waitDurable(ctx context.Context) error {
	for {
		l.mu.Lock()
		idle := !l.inflight && l.pending.checkpoint == nil && l.pending.run == nil && len(l.pending.messages) == 0
		done, err, ch := idle && l.durable >= l.last(), l.err, l.notify
		l.mu.Unlock()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// read returns durable events with seq > after (at most max), whether the log is finished for
// a reader at after, and a channel that is closed on the next change.
func (l *runLog) read(after uint64, max int) (evs []event.Event, eof bool, ch <-chan struct{}, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, false, nil, l.err
	}
	if after < l.base {
		return nil, false, nil, errBehind
	}
	if after < l.durable {
		lo, hi := after-l.base, l.durable-l.base
		if int(hi-lo) > max {
			hi = lo + uint64(max)
		}
		evs = append(evs, l.events[lo:hi]...)
	}
	eof = l.closed && after+uint64(len(evs)) >= l.durable && l.durable >= l.last() && !l.inflight
	return evs, eof, l.notify, nil
}

var errBehind = errors.New("subscriber behind the live log")

// Subscription reads a run's events in order: first what is stored, then live events as they are
// committed. It is not safe for concurrent use; each watcher has its own.
type Subscription struct {
	eng    *Engine
	runID  string
	cursor uint64
	live   *runLog
	done   bool
}

// subscriptionBatch bounds how many events one Next returns.
const subscriptionBatch = 512

// Next returns the next events (at least one), blocking until there are some. It returns io.EOF
// when the run's stream is over for now: the run finished, failed, was cancelled or is waiting
// for approvals (subscribe again after answering). The events' seq continue from the previous
// call's without gaps.
func (s *Subscription) Next(ctx context.Context) ([]event.Event, error) {
	if s.done {
		return nil, io.EOF
	}
	for {
		if s.live != nil {
			evs, eof, ch, err := s.live.read(s.cursor, subscriptionBatch)
			if errors.Is(err, errBehind) {
				evs, err = s.fromStore(ctx)
				if err != nil || len(evs) > 0 {
					return evs, err
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			if len(evs) > 0 {
				s.cursor = evs[len(evs)-1].Seq
				return evs, nil
			}
			if eof {
				s.done = true
				return nil, io.EOF
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		evs, err := s.fromStore(ctx)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		// Nothing more stored: attach to the live run if there is one, else the stream is over.
		if s.live = s.eng.liveLog(s.runID); s.live == nil {
			s.done = true
			return nil, io.EOF
		}
	}
}

func (s *Subscription) fromStore(ctx context.Context) ([]event.Event, error) {
	evs, err := s.eng.store.Events(ctx, s.runID, s.cursor, subscriptionBatch)
	if err != nil {
		return nil, fmt.Errorf("engine: read events of %s: %w", s.runID, err)
	}
	if len(evs) > 0 {
		s.cursor = evs[len(evs)-1].Seq
	}
	return evs, nil
}

// Cursor is the seq of the last event returned.
func (s *Subscription) Cursor() uint64 { return s.cursor }

// committer writes every live run's pending events to the store, one run at a time, batching
// whatever accumulated while the previous write ran (group commit).
type committer struct {
	store  store.Store
	log    *slog.Logger
	mu     sync.Mutex
	queue  []*runLog
	wake   chan struct{}
	stop   chan struct{}
	exited chan struct{}
}

func newCommitter(st store.Store, log *slog.Logger) *committer {
	c := &committer{store: st, log: log, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		exited: make(chan struct{})}
	go c.loop()
	return c
}

// schedule queues l for a commit unless it is queued already.
func (c *committer) schedule(l *runLog) {
	l.mu.Lock()
	already := l.queued
	l.queued = true
	l.mu.Unlock()
	if already {
		return
	}
	c.mu.Lock()
	c.queue = append(c.queue, l)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *committer) loop() {
	defer close(c.exited)
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, l := range q {
			c.flush(l)
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-c.wake:
		case <-c.stop:
			c.drain()
			return
		}
	}
}

func (c *committer) drain() {
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		c.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, l := range q {
			c.flush(l)
		}
	}
}

func (c *committer) flush(l *runLog) {
	cm, upTo, ok := l.take()
	if !ok {
		l.committed(upTo, nil)
		return
	}
	var err error
	for attempt := 1; ; attempt++ {
		// The commit must not be abandoned halfway by a cancelled run: it has its own deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = c.store.Commit(ctx, cm)
		cancel()
		if err == nil || attempt == commitAttempts {
			break
		}
		c.log.Warn("commit run events: retrying", "run", l.runID, "attempt", attempt, "err", err)
		time.Sleep(commitBackoff << (2 * (attempt - 1)))
	}
	if err != nil {
		c.log.Error("commit run events: the run stops", "run", l.runID, "events", len(cm.Events), "err", err)
		err = fmt.Errorf("%w: storing the events of run %s: %w", ErrStore, l.runID, err)
	}
	l.committed(upTo, err)
}

// commitAttempts is how many times a commit is tried before the run stops with [ErrStore]; the
// waits between attempts are 50 ms, 200 ms and 800 ms (a store busy for a second is ridden out).
const commitAttempts = 4

const commitBackoff = 50 * time.Millisecond

func (c *committer) close() {
	close(c.stop)
	<-c.exited
}
