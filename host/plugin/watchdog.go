package plugin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watchdogTick is the watchdog's period: a call's timeout fires between timeout and timeout plus
// one tick after the call began.
const watchdogTick = 10 * time.Millisecond

// watchdogIdle is how long the watchdog keeps ticking after the last call ended before it sleeps.
const watchdogIdle = time.Second

// watchdog enforces call timeouts for every instance of a host with one goroutine and an epoch
// counter, so that a call reads no clock and arms no timer: it only stores its deadline epoch. Each
// tick advances the epoch and fires the contexts of running calls whose deadline epoch has come.
// It sleeps when no call has run for watchdogIdle and wakes with the next call.
type watchdog struct {
	epoch    atomic.Int64
	running  atomic.Int64
	sleeping atomic.Bool
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}

	mu      sync.Mutex
	watched map[*callCtx]struct{}
}

func newWatchdog() *watchdog {
	w := &watchdog{wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}),
		watched: map[*callCtx]struct{}{}}
	w.sleeping.Store(true)
	go w.run()
	return w
}

// ticks returns how many epochs a timeout spans, rounded up, plus one for the epoch in progress.
func ticks(timeout time.Duration) int64 {
	return int64((timeout+watchdogTick-1)/watchdogTick) + 1
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
		w.check(w.epoch.Add(1))
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

// check fires the running calls whose deadline epoch has come.
func (w *watchdog) check(epoch int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.watched {
		s := c.state.Load()
		if s&stateMask == stateRunning && epoch >= c.deadline.Load() && c.state.CompareAndSwap(s, s-stateRunning+stateFired) {
			c.fire(context.DeadlineExceeded, true)
		}
	}
}

func (w *watchdog) close() {
	close(w.stop)
	<-w.stopped
}
