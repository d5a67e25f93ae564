package mappertest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
)

// BenchLog builds a realistic token-heavy event log from a real run's log: its first event
// (run.started), its body (steps, messages, tool calls...) repeated times with fresh seqs and ids,
// and its last event (the run's end), each encoded as the host encodes events for fleet_map.
func BenchLog(tb testing.TB, path string, times int) []json.RawMessage {
	tb.Helper()
	raw := ReadEvents(tb, path)
	evs := make([]event.Event, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &evs[i]); err != nil {
			tb.Fatalf("%s: event %d: %v", path, i, err)
		}
	}
	var out []json.RawMessage
	add := func(e event.Event) {
		e.Seq = uint64(len(out) + 1)
		b, err := json.Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	add(evs[0])
	for r := range times {
		for _, e := range evs[1 : len(evs)-1] {
			e.Data = renamed(e.Data, fmt.Sprintf("_r%d", r))
			add(e)
		}
	}
	add(evs[len(evs)-1])
	return out
}

// renamed gives the ids of a payload a suffix, so that repeated spans do not collide.
func renamed(p event.Payload, sfx string) event.Payload {
	switch d := p.(type) {
	case event.MessageStartData:
		d.MessageID += sfx
		return d
	case event.MessageDeltaData:
		d.MessageID += sfx
		return d
	case event.MessageEndData:
		d.MessageID += sfx
		return d
	case event.ReasoningStartData:
		d.MessageID += sfx
		return d
	case event.ReasoningDeltaData:
		d.MessageID += sfx
		return d
	case event.ReasoningEndData:
		d.MessageID += sfx
		return d
	case event.ToolStartData:
		d.CallID += sfx
		return d
	case event.ToolArgsData:
		d.CallID += sfx
		return d
	case event.ToolEndData:
		d.CallID += sfx
		return d
	case event.ToolResultData:
		d.CallID += sfx
		return d
	}
	return p
}

// Requests cuts a log into a stream's fleet_map requests, batch events each, with the state each
// batch gets: it maps the stream once with mapFn to learn them. Replaying the requests maps the
// same stream again, so a benchmark can time the mapping alone.
func Requests(tb testing.TB, mapFn MapFunc, evs []json.RawMessage, batch int) [][]byte {
	tb.Helper()
	var reqs [][]byte
	rec := func(ctx context.Context, request []byte) ([]byte, error) {
		reqs = append(reqs, request)
		return mapFn(ctx, request)
	}
	if _, _, err := Stream(context.Background(), rec, evs, batch); err != nil {
		tb.Fatal(err)
	}
	return reqs
}
