package sqlite

import (
	"encoding/json"
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

// eventRow is an event in its stored form.
type eventRow struct {
	seq  int64
	typ  string
	json string
}

// encodeEvent validates e and renders its stored form. An event must name its type (Type or
// Data) and, when both are set, they must agree: otherwise it would not read back as written.
func encodeEvent(e event.Event) (eventRow, error) {
	typ := e.Type
	if typ == "" && e.Data != nil {
		typ = e.Data.EventType()
	}
	if typ == "" {
		return eventRow{}, fmt.Errorf("event seq %d has no type", e.Seq)
	}
	if e.Data != nil && e.Data.EventType() != typ {
		return eventRow{}, fmt.Errorf("event seq %d: type %q but %T data", e.Seq, typ, e.Data)
	}
	if e.Seq > math.MaxInt64 {
		return eventRow{}, fmt.Errorf("event seq %d out of range", e.Seq)
	}
	e.Type = typ
	b, err := e.AppendJSON(make([]byte, 0, 256))
	if err != nil {
		return eventRow{}, fmt.Errorf("event seq %d: %w", e.Seq, err)
	}
	return eventRow{seq: int64(e.Seq), typ: string(typ), json: string(b)}, nil
}

// decodeEvent reads an event row of run runID back; a row that does not decode, or whose JSON
// disagrees with its columns, is corrupt.
func decodeEvent(runID string, row eventRow) (event.Event, error) {
	var e event.Event
	if err := json.Unmarshal([]byte(row.json), &e); err != nil {
		return event.Event{}, fmt.Errorf("%w: event %s/%d: %w", ErrCorrupt, runID, row.seq, err)
	}
	if row.seq < 1 || e.Seq != uint64(row.seq) || string(e.Type) != row.typ || e.RunID != runID {
		return event.Event{}, fmt.Errorf("%w: event %s/%d: JSON says run %q seq %d type %q",
			ErrCorrupt, runID, row.seq, e.RunID, e.Seq, e.Type)
	}
	return e, nil
}
