package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// The parts of a fleet_map call, measured on one token-sized message.delta event as the host
// encodes it. Run them natively and as WebAssembly (GOOS=wasip1 GOARCH=wasm go test -c, then run the
// test binary in a WASI runtime that provides fleet_v1) to compare the two.

var benchEvent = []byte(`{"v":1,"type":"message.delta","seq":5,"run_id":"run_nm7avwgwblj4dcbkxqwt","thread_id":"thr_7mxv5ffx3xqkokrntxkb","time":"2026-12-04T21:35:45.108404151Z","node":"optimist","agent":"optimist","path":"optimist","data":{"message_id":"msg_kcgerwfdl3tyrcmm2s5f","delta":" opportunities"}}`)

// BenchmarkParseEnvelope reads one event: its envelope and its payload's member table.
func BenchmarkParseEnvelope(b *testing.B) {
	c := &mapCall[struct{}]{}
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		s := scanner{b: benchEvent}
		e := Event{}
		c.members = c.members[:0]
		c.parseEnvelope(&s, &e)
		if s.err != nil || e.id != tMessageDelta {
			b.Fatal(s.err, e.Type)
		}
	}
}

// BenchmarkSkipEvent validates one event without reading it: the floor of any JSON reading.
func BenchmarkSkipEvent(b *testing.B) {
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		s := scanner{b: benchEvent}
		if s.skip(); s.err != nil {
			b.Fatal(s.err)
		}
	}
}

// BenchmarkDecodeDelta decodes the payload of a parsed message.delta.
func BenchmarkDecodeDelta(b *testing.B) {
	c := &mapCall[struct{}]{}
	s := scanner{b: benchEvent}
	var e Event
	c.parseEnvelope(&s, &e)
	for b.Loop() {
		if d := e.MessageDelta(); d.Delta == "" {
			b.Fatal("no delta")
		}
	}
}

// BenchmarkWriteFrame writes the AG-UI frame of a message.delta.
func BenchmarkWriteFrame(b *testing.B) {
	var f Frames
	f.reset()
	f.idx = 5
	for b.Loop() {
		f.j.buf = f.j.buf[:0]
		f.Frame().String("type", "TEXT_MESSAGE_CONTENT").String("messageId", "msg_kcgerwfdl3tyrcmm2s5f").String("delta", " opportunities").End()
	}
}

// BenchmarkMapBatch maps a batch of 128 message.delta events through the whole fleet_map dispatch,
// with handlers doing nothing, decoding the payload, and decoding it and writing a frame.
func BenchmarkMapBatch(b *testing.B) {
	evs := make([]json.RawMessage, 128)
	for i := range evs {
		evs[i] = benchEvent
	}
	req := EncodeMapRequest(MapRequest{Stream: "s", Op: OpEvents, Events: evs})
	for _, c := range []struct {
		name   string
		frames int
		h      Handler[struct{}]
	}{
		{"nothing", 0, func(*Frames, *struct{}, *Event) error { return nil }},
		{"decode", 0, func(_ *Frames, _ *struct{}, e *Event) error {
			if e.MessageDelta().Delta == "" {
				return errors.New("no delta")
			}
			return nil
		}},
		{"decode-write", len(evs), func(out *Frames, _ *struct{}, e *Event) error {
			d := e.MessageDelta()
			out.Frame().String("type", "TEXT_MESSAGE_CONTENT").String("messageId", d.MessageID).String("delta", d.Delta).End()
			return nil
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, err := NewMapper(Mapper[struct{}]{Name: "bench", Format: Format{Name: "bench"},
				Handlers: map[string]Handler[struct{}]{EventMessageDelta: c.h}})
			if err != nil {
				b.Fatal(err)
			}
			r := newResponse()
			ctx := context.Background()
			b.SetBytes(int64(len(req)))
			for b.Loop() {
				m.p.mapBatch(ctx, req, r)
				if out := r.bytes(); out[0] != statusOK || bytes.Count(out, []byte{'\n'}) != c.frames+1 {
					b.Fatalf("%.200s", out)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
