package sqlite

import (
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
)

// BenchmarkDecodeEvent decodes a stored token event with the fast decoder (strings shared with
// the line before, as in a batch) and with event.Event's UnmarshalJSON, which it stands in for.
func BenchmarkDecodeEvent(b *testing.B) {
	line, err := appendEvent(nil, event.Event{V: 1, Seq: 1234, RunID: "run_abcdefghijklmnopqrst", ThreadID: "thr_abcdefghijklmnopqrst",
		Time: time.Date(2026, 12, 4, 20, 0, 0, 123456789, time.UTC), Node: "writer", Agent: "writer", Path: "writer",
		Data: event.MessageDeltaData{MessageID: "msg_abcdefghijklmnopqrst", Delta: " streamed"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var seen seenStrings
		for b.Loop() {
			if _, ok := decodeFast(line, &seen); !ok {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("UnmarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e event.Event
			if err := e.UnmarshalJSON(line); err != nil {
				b.Fatal(err)
			}
		}
	})
}
