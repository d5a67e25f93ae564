package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// formatSpec says how to read one stream format's frames.
type formatSpec struct {
	token    string   // type of a text delta frame
	finished string   // type of the frame that ends a successful run
	failed   []string // types of frames that end a failed run
	done     string   // a non-JSON line that ends the stream (Vercel's [DONE]), if any
	// contiguous: every engine event gives at least one frame, so frame seqs have no gaps.
	contiguous bool
	// timed: frames carry the engine's emission time ("time"), so delivery delay is measurable.
	timed bool
}

// formats are the frame formats the tool reads, by ?format= name.
var formats = map[string]formatSpec{
	"agui": {token: "TEXT_MESSAGE_CONTENT", finished: "RUN_FINISHED", failed: []string{"RUN_ERROR"},
		contiguous: true},
	"fleet": {token: "message.delta", finished: "run.finished",
		failed: []string{"run.failed", "run.cancelled", "run.interrupted", "error"}, contiguous: true, timed: true},
	"vercel": {token: "text-delta", finished: "finish", failed: []string{"error"}, done: "[DONE]"},
}

func formatNames() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// frameFields are the fields of a frame the checker reads (AG-UI, Vercel and the engine's own
// events share the names).
type frameFields struct {
	Type    string    `json:"type"`
	Delta   string    `json:"delta"`
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
	Code    string    `json:"code"`
	Data    struct {
		Delta string `json:"delta"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	} `json:"data"`
}

// runCheck follows one run's stream: it checks the frames' order and completeness and records
// the token timings.
type runCheck struct {
	spec   formatSpec
	delay  time.Duration
	expect string // the expected answer; checked when hasExp
	hasExp bool
	sent   time.Time

	frames, tokens int
	ttft           time.Duration
	first, prev    time.Time
	firstEv        time.Time

	seqSeen  bool
	lastSeq  uint64
	lastPart int

	textOff int
	problem string // first order or content problem: the stream counts as truncated
	ended   string // "finished", or the failure ("RUN_ERROR: ...")
	done    bool   // the stream's end marker came (or the terminal frame, for formats without one)

	// Samples in nanoseconds, reset per run and handed to the totals when it ends.
	late, inter, deliver, source []int64
}

func (c *runCheck) reset(sent time.Time) {
	*c = runCheck{spec: c.spec, delay: c.delay, expect: c.expect, hasExp: c.hasExp, sent: sent, lastPart: -1,
		late: c.late[:0], inter: c.inter[:0], deliver: c.deliver[:0], source: c.source[:0]}
}

func (c *runCheck) fail(format string, args ...any) {
	if c.problem == "" {
		c.problem = fmt.Sprintf(format, args...)
	}
}

// position checks a frame's position: seq (0 for a frame of no event) and part (-1 for an
// event's last frame). Frames come in seq order, parts in order, without gaps in contiguous formats.
func (c *runCheck) position(seq uint64, part int) {
	if seq == 0 {
		return
	}
	switch {
	case !c.seqSeen && seq != 1:
		c.fail("first frame has seq %d", seq)
	case !c.seqSeen:
	case seq == c.lastSeq && c.lastPart >= 0 && (part == c.lastPart+1 || part == -1):
	case seq == c.lastSeq:
		c.fail("seq %d part %d after part %d", seq, part, c.lastPart)
	case seq < c.lastSeq:
		c.fail("seq %d after %d", seq, c.lastSeq)
	case c.lastPart >= 0:
		c.fail("seq %d before the last part of %d", seq, c.lastSeq)
	case seq > c.lastSeq+1 && c.spec.contiguous:
		c.fail("gap: seq %d after %d", seq, c.lastSeq)
	case part > 0:
		c.fail("seq %d starts at part %d", seq, part)
	}
	c.seqSeen, c.lastSeq, c.lastPart = true, seq, part
}

// frame takes one frame that arrived at now.
func (c *runCheck) frame(now time.Time, seq uint64, part int, data []byte) error {
	c.frames++
	c.position(seq, part)
	if c.spec.done != "" && string(data) == c.spec.done {
		c.done = true
		return nil
	}
	var f frameFields
	if err := json.Unmarshal(data, &f); err != nil {
		c.fail("frame is not JSON: %.60q", data)
		return fmt.Errorf("bad frame: %w", err)
	}
	if c.ended != "" && c.spec.done == "" {
		c.fail("%s after the end", f.Type)
	}
	switch {
	case f.Type == c.spec.token:
		c.token(now, f)
	case f.Type == c.spec.finished:
		c.end("finished")
	case slices.Contains(c.spec.failed, f.Type):
		c.end(fmt.Sprintf("%s %s", f.Type, firstNonEmpty(f.Code, f.Data.Error.Code, f.Message)))
	}
	return nil
}

func (c *runCheck) end(how string) {
	if c.ended == "" {
		c.ended = how
	}
	if c.spec.done == "" {
		c.done = true
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// token records a text delta's timing and checks its text.
func (c *runCheck) token(now time.Time, f frameFields) {
	delta := f.Delta
	if c.spec.timed {
		delta = f.Data.Delta
		c.deliver = append(c.deliver, now.Sub(f.Time).Nanoseconds())
	}
	if c.hasExp {
		if strings.HasPrefix(c.expect[c.textOff:], delta) && delta != "" {
			c.textOff += len(delta)
		} else {
			c.fail("text differs at byte %d: got %.20q", c.textOff, delta)
		}
	}
	i := c.tokens
	c.tokens++
	if i == 0 {
		c.ttft, c.first, c.prev, c.firstEv = now.Sub(c.sent), now, now, f.Time
		return
	}
	c.inter = append(c.inter, now.Sub(c.prev).Nanoseconds())
	c.prev = now
	if c.delay > 0 {
		sched := time.Duration(i) * c.delay
		c.late = append(c.late, now.Sub(c.first.Add(sched)).Nanoseconds())
		if c.spec.timed {
			c.source = append(c.source, f.Time.Sub(c.firstEv.Add(sched)).Nanoseconds())
		}
	}
}

// Outcomes of a run.
const (
	outcomeOK        = "ok"
	outcomeTruncated = "truncated"
	outcomeFailed    = "failed"
)

// outcome judges the run once its stream is over: ok, truncated (no terminal frame, a gap or
// disorder, or a wrong text) or failed (the run ended with an error frame); why says what.
func (c *runCheck) outcome() (outcome, why string) {
	switch {
	case c.problem != "":
		return outcomeTruncated, c.problem
	case c.ended == "":
		return outcomeTruncated, fmt.Sprintf("no terminal frame after %d frames", c.frames)
	case c.ended != "finished":
		return outcomeFailed, c.ended
	case c.hasExp && c.textOff != len(c.expect):
		return outcomeTruncated, fmt.Sprintf("text ends at byte %d of %d", c.textOff, len(c.expect))
	}
	return outcomeOK, ""
}
