package plugin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watchdogTick is the watchdog's period. A call's timeout fires between timeout and timeout plus
// two ticks after the call began (more if the watchdog goroutine is starved), never before.
const watchdogTick = 10 * time.Millisecond

// watchdogIdle is how long the watchdog keeps ticking after the last call ended before it sleeps.
const watchdogIdle = time.Second

// deadlineSeen marks a call the watchdog has seen running but not yet given a deadline.
const deadlineSeen = -1

// watchdog enforces call timeouts for every instance of a host with one goroutine, so that a call
// reads no clock and arms no timer. A call only marks its context running; the first tick that sees
// it marks it seen, the next sets its deadline to that tick's time plus the timeout (so the deadline
// is never before the call began plus the timeout), and a later tick past the deadline fires it. It
// sleeps when no call has run for watchdogIdle and wakes with the next call.
type watchdog struct {
	running  atomic.Int64
	sleeping atomic.Bool
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}

	mu      sync.Mutex
	watched map[*callCtx]struct{}
}

// clockBase is the origin of the watchdog's deadlines.
var clockBase = time.Now()

func newWatchdog() *watchdog {
	w := &watchdog{wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}),
		watched: map[*callCtx]struct{}{}}
	w.sleeping.Store(true)
	go w.run()
	return w
}

func (w *watchdog) add(c *callCtx) {
	w.mu.Lock()
	w.watched[c] = struct{}{}
	w.mu.Unlock()
}

func (w *watchdog) remove(c *callCtx) {
	w.mu.Lock()
	delete(w.watched, c)
	w.mu.Unlock()
}

// enter counts a starting call and wakes the watchdog if it sleeps.
func (w *watchdog) enter() {
	w.running.Add(1)
	if w.sleeping.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *watchdog) exit() { w.running.Add(-1) }

func (w *watchdog) run() {
	defer close(w.stopped)
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	idle := 0
	for {
		if w.sleeping.Load() {
			if !w.sleep(t) {
				return
			}
			idle = 0
		}
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.check(int64(time.Since(clockBase)))
		if w.running.Load() > 0 {
			idle = 0
		} else if idle++; idle >= int(watchdogIdle/watchdogTick) {
			w.sleeping.Store(true)
		}
	}
}

// sleep blocks until a call starts (or the host closes, then it returns false). A call that starts
// while sleeping is being set sees it and wakes it; one that started just before is seen here.
func (w *watchdog) sleep(t *time.Ticker) bool {
	if w.running.Load() > 0 {
		w.sleeping.Store(false)
		return true
	}
	t.Stop()
	select {
	case <-w.stop:
		return false
	case <-w.wake:
	}
	w.sleeping.Store(false)
	t.Reset(watchdogTick)
	return true
}

// check advances every running call one step: seen, then given a deadline, then fired once now
// is past it. now is this tick's time since clockBase.
func (w *watchdog) check(now int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.watched {
		s := c.state.Load()
		if s&stateMask != stateRunning {
			continue
		}
		// A call that ended and another that began since s was read have reset deadline to 0
		// and changed state, so neither step below can apply s's verdict to the new call.
		switch d := c.deadline.Load(); {
		case d == 0:
			c.deadline.CompareAndSwap(0, deadlineSeen)
		case d == deadlineSeen:
			c.deadline.CompareAndSwap(deadlineSeen, now+c.timeout.Load())
		case now >= d && c.state.CompareAndSwap(s, s-stateRunning+stateFired):
			c.fire(context.DeadlineExceeded, true)
		}
	}
}

func (w *watchdog) close() {
	close(w.stop)
	<-w.stopped
}
