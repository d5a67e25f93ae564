package plugin

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context an instance runs its guest under. It is made once per instance and reused
// by every call, so that a call costs no context allocation: its Done channel closes when the call's
// deadline passes (a per-instance timer, reset per call) or when the caller's context ends (watched
// with context.AfterFunc, only when the caller's context can end). wazero, built with
// WithCloseOnContextDone, watches Done and stops the guest at its next loop back-edge or call.
//
// Once Done has closed the instance is finished: the pool discards it, so the channel never needs
// to be reopened.
type callCtx struct {
	inst   *instance
	parent context.Context
	// deadline is the current call's deadline; written before a call, read during it.
	deadline time.Time
	done     chan struct{}
	timer    *time.Timer
	// stopParent unregisters the AfterFunc on parent; nil when parent cannot end.
	stopParent func() bool
	onParent   func()

	mu       sync.Mutex
	err      error
	timedOut bool // the timer fired (the manifest's timeout), not the caller's context
}

func (c *callCtx) init(inst *instance) {
	c.inst = inst
	c.parent = context.Background()
	c.done = make(chan struct{})
	c.timer = time.AfterFunc(time.Hour, func() { c.fire(context.DeadlineExceeded, true) })
	c.timer.Stop()
	c.onParent = func() { c.fire(c.parent.Err(), false) }
}

// Deadline returns the current call's deadline.
func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }

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
	c.deadline = time.Now().Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	c.timer.Reset(timeout)
	if parent.Done() != nil {
		c.stopParent = context.AfterFunc(parent, c.onParent)
	}
}

// end disarms the context after a call and reports whether it fired (during the call or in the
// race with end itself), in which case the instance must be discarded. It leaves parent in place:
// a watcher goroutine of a fired context may still read it, and a fired instance is never reused.
func (c *callCtx) end() (fired bool) {
	fired = !c.timer.Stop()
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

// detached returns a standard context for host work that may hand it to other goroutines (HTTP, a
// KV store): it ends with the current call but does not refer to the reused callCtx, so goroutines
// outliving the call never race with the next one.
func (c *callCtx) detached() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(c.parent), c.deadline)
	stop := context.AfterFunc(c, cancel)
	return ctx, func() { stop(); cancel() }
}
