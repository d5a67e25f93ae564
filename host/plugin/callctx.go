package plugin

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// callCtx states: the low bits of callCtx.state; the high bits count calls, so that the watchdog
// never fires a call that began after it looked.
const (
	stateIdle    = 0
	stateRunning = 1
	stateFired   = 2
	stateMask    = 3
	stateCall    = 4 // one call, in the high bits
)

// callCtx is the context an instance runs its guest under. It is made once per instance and reused
// by every call, so that a call allocates no context and reads no clock: its Done channel closes
// when the host's watchdog finds the call past its deadline, or when the caller's context ends
// (watched with context.AfterFunc, only when the caller's context can end). wazero, built with
// WithCloseOnContextDone, watches Done and stops the guest at its next loop back-edge or call.
//
// Once Done has closed the instance is finished: the pool discards it, so the channel never needs
// to be reopened.
type callCtx struct {
	inst   *instance
	w      *watchdog
	parent context.Context
	// state is stateIdle, stateRunning or stateFired plus stateCall times the call count; deadline
	// is 0, deadlineSeen, or the current call's deadline in nanoseconds since clockBase, set by the
	// watchdog. Both are shared with the watchdog.
	state    atomic.Uint64
	deadline atomic.Int64
	// timeout is the current call's timeout, shared with the watchdog.
	timeout atomic.Int64
	done    chan struct{}
	// stopParent unregisters the AfterFunc on parent; nil when parent cannot end.
	stopParent func() bool
	onParent   func()

	mu       sync.Mutex
	err      error
	timedOut bool // the watchdog fired (the manifest's timeout), not the caller's context
}

func (c *callCtx) init(inst *instance, w *watchdog) {
	c.inst, c.w = inst, w
	c.parent = context.Background()
	c.done = make(chan struct{})
	c.onParent = func() { c.fire(c.parent.Err(), false) }
	w.add(c)
}

// Deadline returns the current call's deadline: the caller's, or the timeout's if sooner. Before the
// watchdog has set the timeout's deadline it answers now plus the timeout, a little later than the
// watchdog will. It reads the clock, so only host functions call it.
func (c *callCtx) Deadline() (time.Time, bool) {
	d := time.Now().Add(time.Duration(c.timeout.Load()))
	if ns := c.deadline.Load(); ns > 0 {
		d = clockBase.Add(time.Duration(ns))
	}
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return d, true
}

// Done is closed when the current call must stop.
func (c *callCtx) Done() <-chan struct{} { return c.done }

// Err returns why Done closed, or nil.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value returns the caller's context values.
func (c *callCtx) Value(key any) any { return c.parent.Value(key) }

func (c *callCtx) fire(err error, timer bool) {
	c.mu.Lock()
	if c.err == nil {
		c.err, c.timedOut = err, timer
		close(c.done)
	}
	c.mu.Unlock()
}

// begin arms the context for a call under parent with the given timeout.
func (c *callCtx) begin(parent context.Context, timeout time.Duration) {
	c.parent = parent
	c.timeout.Store(int64(timeout))
	c.deadline.Store(0)
	c.state.Store(c.state.Load()&^stateMask + stateCall + stateRunning)
	c.w.enter()
	if parent.Done() != nil {
		c.stopParent = context.AfterFunc(parent, c.onParent)
	}
}

// end disarms the context after a call and reports whether it fired (during the call or in the
// race with end itself), in which case the instance must be discarded. It leaves parent in place:
// a watcher goroutine of a fired context may still read it, and a fired instance is never reused.
func (c *callCtx) end() (fired bool) {
	c.w.exit()
	s := c.state.Load()
	fired = s&stateMask != stateRunning || !c.state.CompareAndSwap(s, s-stateRunning)
	if c.stopParent != nil {
		fired = !c.stopParent() || fired
		c.stopParent = nil
	}
	return fired
}

// cause returns the error a fired context stands for: the manifest's timeout, or the caller's
// context's own error.
func (c *callCtx) cause() (err error, timedOut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err, c.timedOut
}

// release stops watching the context; the instance is closing.
func (c *callCtx) release() { c.w.remove(c) }

// detached returns a standard context for host work that may hand it to other goroutines (HTTP, a
// KV store): it ends with the current call but does not refer to the reused callCtx, so goroutines
// outliving the call never race with the next one. If the host work runs into the call's deadline
// first, the call is stopped as timed out at once rather than when the watchdog next looks, so
// that a guest blocked in a host call always ends with ErrTimeout.
func (c *callCtx) detached() (context.Context, context.CancelFunc) {
	deadline, _ := c.Deadline()
	ctx, cancel := context.WithDeadline(context.WithoutCancel(c.parent), deadline)
	stop := context.AfterFunc(c, cancel)
	return ctx, func() {
		if stop() && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.expire()
		}
		cancel()
	}
}

// expire fires the running call as past its deadline: the caller's, when the caller's context is
// done, or else the timeout's.
func (c *callCtx) expire() {
	s := c.state.Load()
	if s&stateMask != stateRunning || !c.state.CompareAndSwap(s, s-stateRunning+stateFired) {
		return
	}
	if err := c.parent.Err(); err != nil {
		c.fire(err, false)
		return
	}
	c.fire(context.DeadlineExceeded, true)
}
