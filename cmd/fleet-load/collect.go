package main

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// collector gathers every run's results. Runs hand over their samples once, when they end, so
// the lock is taken once per run; frame counters are atomic so the sampler can read them live.
type collector struct {
	frames, tokens, runs atomic.Int64

	mu                          sync.Mutex
	ttft, late, inter           signedHist
	deliver, source             signedHist
	ok, truncated, failed       int
	errors                      map[string]int
	truncations                 map[string]int
	firstSent, lastFrame        time.Time
	streamsOpen, streamsOpenMax int
}

func newCollector() *collector {
	return &collector{errors: map[string]int{}, truncations: map[string]int{}}
}

// run records one finished run.
func (c *collector) run(rc *runCheck, last time.Time) {
	outcome, why := rc.outcome()
	c.runs.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc.tokens > 0 {
		c.ttft.add(rc.ttft.Nanoseconds())
	}
	addAll(&c.late, rc.late)
	addAll(&c.inter, rc.inter)
	addAll(&c.deliver, rc.deliver)
	addAll(&c.source, rc.source)
	switch outcome {
	case outcomeOK:
		c.ok++
	case outcomeTruncated:
		c.truncated++
		c.truncations[clip(why)]++
	case outcomeFailed:
		c.failed++
		c.errors[clip(why)]++
	}
	if last.After(c.lastFrame) {
		c.lastFrame = last
	}
}

// fail records a run that did not get a stream (a refused request, a failed dial).
func (c *collector) fail(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed++
	c.errors[clip(why)]++
}

// note records an error besides a run's outcome (e.g. the read error that cut a stream short).
func (c *collector) note(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors[clip(why)]++
}

func (c *collector) sent(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firstSent.IsZero() || t.Before(c.firstSent) {
		c.firstSent = t
	}
}

func (c *collector) open(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streamsOpen += delta
	c.streamsOpenMax = max(c.streamsOpenMax, c.streamsOpen)
}

func addAll(h *signedHist, vs []int64) {
	for _, v := range vs {
		h.add(v)
	}
}

// clip bounds an error text so that errors group by kind (ids and numbers past 80 bytes are cut).
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// countList is a map of counts as a list, most frequent first.
type countList []struct {
	What  string `json:"what"`
	Count int    `json:"count"`
}

func sortedCounts(m map[string]int) countList {
	out := make(countList, 0, len(m))
	for k, v := range m {
		out = append(out, struct {
			What  string `json:"what"`
			Count int    `json:"count"`
		}{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].What < out[j].What
	})
	return out
}
