package mapping

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentfleet/fleet/engine/event"
)

// FormatFleet is the name of the engine's own event format (docs/events.md).
const FormatFleet = "fleet"

// Fleet is the native mapper of the engine's own events: each event is one frame, its version-1
// JSON form. It keeps no state.
type Fleet struct{}

// Format implements [Mapper]: "fleet", Server-Sent Events.
func (Fleet) Format() Format {
	return Format{Name: FormatFleet, ContentType: "text/event-stream", Framing: FramingSSE}
}

// NewStream implements [Mapper].
func (Fleet) NewStream(string) Stream { return fleetStream{} }

// Stateless implements [Stateless]: true.
func (Fleet) Stateless() bool { return true }

type fleetStream struct{}

func (fleetStream) Map(_ context.Context, evs []event.Event) ([]Frame, error) {
	out := make([]Frame, 0, len(evs))
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("%w: fleet: seq %d: %w", ErrMapper, e.Seq, err)
		}
		out = append(out, Frame{Seq: e.Seq, Data: b})
	}
	return out, nil
}

func (fleetStream) End(context.Context) ([]Frame, error) { return nil, nil }

var _ Stateless = Fleet{}
