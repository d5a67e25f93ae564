package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/agentfleet/fleet/engine/event"
)

// ErrCorrupt: data read back from the file does not decode (bad JSON, a bad time, a row whose
// JSON disagrees with its columns). The call fails; the rest of the database stays usable.
var ErrCorrupt = errors.New("sqlite: corrupt data")

// timeLayout is the stored form of times: UTC, fixed width, so text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// timeCodec encodes and decodes times, keeping the first error so a row's fields read in line.
type timeCodec struct{ err error }

func (c *timeCodec) enc(t time.Time) string {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		if c.err == nil {
			c.err = fmt.Errorf("time %s is outside years 0-9999", t)
		}
		return ""
	}
	return u.Format(timeLayout)
}

func (c *timeCodec) dec(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("%w: time %q", ErrCorrupt, s)
	}
	return t
}

// seqOf converts a stored seq to uint64.
func seqOf(v int64) (uint64, error) {
	if v < 0 {
		return 0, fmt.Errorf("%w: negative seq %d", ErrCorrupt, v)
	}
	return uint64(v), nil
}

// appendEvent validates e and appends its stored form, one line of JSON, to b. An event must
// name its type (Type or Data) and, when both are set, they must agree: otherwise it would not
// read back as written.
func appendEvent(b []byte, e event.Event) ([]byte, error) {
	typ := e.Type
	if typ == "" && e.Data != nil {
		typ = e.Data.EventType()
	}
	if typ == "" {
		return nil, fmt.Errorf("event seq %d has no type", e.Seq)
	}
	if e.Data != nil && e.Data.EventType() != typ {
		return nil, fmt.Errorf("event seq %d: type %q but %T data", e.Seq, typ, e.Data)
	}
	if e.Seq > math.MaxInt64 {
		return nil, fmt.Errorf("event seq %d out of range", e.Seq)
	}
	e.Type = typ
	start := len(b)
	b, err := e.AppendJSON(b)
	if err != nil {
		return nil, fmt.Errorf("event seq %d: %w", e.Seq, err)
	}
	// Compact JSON has no line breaks (they are escaped in strings, and encoding/json compacts
	// what payloads marshal themselves); the batch format depends on it, so make sure.
	if bytes.IndexByte(b[start:], '\n') >= 0 {
		return nil, fmt.Errorf("event seq %d: JSON form has a line break", e.Seq)
	}
	return b, nil
}

// decodeEvent reads the stored line of event seq of run runID back; a line that does not decode,
// or that names another run or seq, is corrupt. seen may share strings with earlier lines.
func decodeEvent(runID string, seq uint64, line []byte, seen *seenStrings) (event.Event, error) {
	e, ok := decodeFast(line, seen)
	if !ok {
		if err := e.UnmarshalJSON(line); err != nil {
			return event.Event{}, fmt.Errorf("%w: event %s/%d: %w", ErrCorrupt, runID, seq, err)
		}
	}
	if e.Seq != seq || e.RunID != runID {
		return event.Event{}, fmt.Errorf("%w: event %s/%d: JSON says run %q seq %d",
			ErrCorrupt, runID, seq, e.RunID, e.Seq)
	}
	return e, nil
}
