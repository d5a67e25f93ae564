package server

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// limiter bounds the runs each client has running. A slot is released when the run ends or
// pauses (the run's tracker sees it), never when a client stops watching.
type limiter struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newLimiter(max int) *limiter { return &limiter{max: max, n: map[string]int{}} }

// acquire takes a slot for client; unless force, it fails with 429 when the client has max runs.
// The returned release may be called more than once.
func (l *limiter) acquire(client string, force bool) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && !force && l.n[client] >= l.max {
		return nil, newError(http.StatusTooManyRequests, codeTooManyRuns,
			"this client has %d runs running, the limit is %d; wait for one to end", l.n[client], l.max)
	}
	l.n[client]++
	var once sync.Once
	return func() { once.Do(func() { l.release(client) }) }, nil
}

func (l *limiter) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[client]--; l.n[client] <= 0 {
		delete(l.n, client)
	}
}

// running returns the slots client holds.
func (l *limiter) running(client string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[client]
}

// track follows a run the server started or resumed, from after, until its stream pauses or ends:
// it counts its events and its end in the metrics, then calls release. It does not depend on any
// client watching. At shutdown it stops at once (and releases).
func (s *Server) track(runID string, after uint64, release func()) {
	if !s.trackers.add() {
		release()
		return
	}
	go func() {
		defer s.trackers.done()
		defer release()
		sub, err := s.eng.Subscribe(s.ctx, runID, after)
		if err != nil {
			s.log.Warn("track run", "run", runID, "err", err)
			return
		}
		for {
			evs, err := sub.Next(s.ctx)
			if err != nil {
				if !errors.Is(err, io.EOF) && s.ctx.Err() == nil {
					s.log.Warn("track run", "run", runID, "err", err)
				}
				return
			}
			s.metrics.observe(evs)
		}
	}()
}
