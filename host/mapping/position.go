package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxPart bounds the frames one event may map to in a position.
const maxPart = 1 << 20

// ErrBadPosition: a resume position (Last-Event-ID, ?after=) is malformed or names another run.
var ErrBadPosition = errors.New("mapping: bad position")

// Position is a point in a run's stream of frames, as a client saw it: every frame of the events up
// to and including Seq, then the first Part frames of the next event that has frames. The zero
// Position is the start.
//
// Its text form (an SSE event id, after the run id and a colon) names the frame a client saw last:
// "12" for the last frame of event 12, "12:0" for the first of several frames of event 12 when more
// follow. So "12" is Position{Seq: 12} and "12:0" is Position{Seq: 11, Part: 1}.
type Position struct {
	Seq  uint64
	Part int
}

// Before reports whether p is earlier in a run's stream than q.
func (p Position) Before(q Position) bool {
	return p.Seq < q.Seq || p.Seq == q.Seq && p.Part < q.Part
}

// String returns the position's text form.
func (p Position) String() string {
	if p.Part == 0 {
		return strconv.FormatUint(p.Seq, 10)
	}
	return strconv.FormatUint(p.Seq+1, 10) + ":" + strconv.Itoa(p.Part-1)
}

// ID returns the position as an SSE event id: "<runID>:<position>".
func (p Position) ID(runID string) string { return runID + ":" + p.String() }

// ParsePosition parses a position's text form ("12" or "12:0").
func ParsePosition(s string) (Position, error) {
	seqText, partText, hasPart := strings.Cut(s, ":")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("%w: %q: want <seq> or <seq>:<part>", ErrBadPosition, s)
	}
	if !hasPart {
		return Position{Seq: seq}, nil
	}
	part, err := strconv.Atoi(partText)
	if err != nil || part < 0 || part >= maxPart || seq == 0 {
		return Position{}, fmt.Errorf("%w: %q: want <seq> or <seq>:<part>", ErrBadPosition, s)
	}
	return Position{Seq: seq - 1, Part: part + 1}, nil
}

// ParseID parses an SSE event id of run runID ("<runID>:<position>").
func ParseID(runID, id string) (Position, error) {
	rest, ok := strings.CutPrefix(id, runID+":")
	if !ok {
		return Position{}, fmt.Errorf("%w: event id %q does not belong to run %s", ErrBadPosition, id, runID)
	}
	return ParsePosition(rest)
}

// Labeled is a frame with the position a client reaches once it has it.
type Labeled struct {
	Frame
	// Pos is where the client is after this frame; meaningful only when Resumable.
	Pos Position
	// Resumable is false for frames tied to no event (Seq 0): they carry no id and a resumed
	// stream does not repeat them.
	Resumable bool
}

// Cursor labels a stream's frames with positions and drops those a client has already seen: a
// resumed stream maps the run's events from the start (to rebuild the mapper's state) and a Cursor
// lets only the frames after its start through. Each event's frames must come from a single slice
// passed to Filter, as a [Stream]'s Map returns them. A Cursor is not safe for concurrent use.
type Cursor struct {
	from Position
	skip int
}

// NewCursor returns a cursor that drops every frame at or before from.
func NewCursor(from Position) *Cursor { return &Cursor{from: from, skip: from.Part} }

// Filter labels frames and returns those after the cursor's start, in order.
func (c *Cursor) Filter(frames []Frame) []Labeled {
	out := make([]Labeled, 0, len(frames))
	part := 0
	for i, f := range frames {
		if i > 0 && frames[i-1].Seq == f.Seq {
			part++
		} else {
			part = 0
		}
		if f.Seq == 0 {
			out = append(out, Labeled{Frame: f})
			continue
		}
		if f.Seq <= c.from.Seq {
			continue
		}
		if c.skip > 0 {
			c.skip--
			continue
		}
		last := i == len(frames)-1 || frames[i+1].Seq != f.Seq
		pos := Position{Seq: f.Seq}
		if !last {
			pos = Position{Seq: f.Seq - 1, Part: part + 1}
		}
		out = append(out, Labeled{Frame: f, Pos: pos, Resumable: true})
	}
	return out
}
