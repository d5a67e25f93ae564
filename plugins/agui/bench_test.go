package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
	"github.com/agentfleet/fleet/sdk"
)

// benchBatch is the number of events per fleet_map call in the benchmarks.
const benchBatch = 128

// benchStream is the benchmarks' event log: the panel run (three concurrent agents and a moderator,
// 83% message.delta events of a word or two) with its body repeated to about 5,000 events, cut into
// the requests of one stream.
func benchStream(b *testing.B) ([][]byte, int) {
	evs := mappertest.BenchLog(b, "testdata/panel.events.ndjson", 40)
	return mappertest.Requests(b, mappertest.Native, evs, benchBatch), len(evs)
}

// mapAll maps every request of the stream once.
func mapAll(b *testing.B, mapFn mappertest.MapFunc, reqs [][]byte) {
	ctx := context.Background()
	for _, r := range reqs {
		if _, err := mapFn(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMap maps the same token-heavy stream natively (the SDK's fleet_map code compiled for
// the host) and as WebAssembly (fleet_map called through wazero, with and without the
// interruptible runtime host/plugin uses), reporting events/s.
func BenchmarkMap(b *testing.B) {
	reqs, n := benchStream(b)
	for _, c := range []struct {
		name string
		opts *mappertest.WasmOptions
	}{
		{"native", nil},
		{"wasm", &mappertest.WasmOptions{}},
		{"wasm-interruptible", &mappertest.WasmOptions{Interruptible: true}},
		{"wasm-gogc-off", &mappertest.WasmOptions{Env: map[string]string{"GOGC": "off"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			mapFn := mappertest.Native
			if c.opts != nil {
				mapFn = mappertest.LoadWasm(b, ".", *c.opts).Map
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				mapAll(b, mapFn, reqs)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/event")
		})
	}
}

// BenchmarkMapRatio maps the stream natively and as WebAssembly in alternation within one run and
// reports both rates and their ratio (wasm time / native time).
func BenchmarkMapRatio(b *testing.B) {
	reqs, n := benchStream(b)
	wasm := mappertest.LoadWasm(b, ".", mappertest.WasmOptions{}).Map
	var native, guest time.Duration
	for b.Loop() {
		t0 := time.Now()
		mapAll(b, mappertest.Native, reqs)
		t1 := time.Now()
		mapAll(b, wasm, reqs)
		native, guest = native+t1.Sub(t0), guest+time.Since(t1)
	}
	b.ReportMetric(float64(n*b.N)/native.Seconds(), "native-events/s")
	b.ReportMetric(float64(n*b.N)/guest.Seconds(), "wasm-events/s")
	b.ReportMetric(guest.Seconds()/native.Seconds(), "wasm/native")
}

// BenchmarkMapParts splits a wasm batch's cost: an empty batch (the call and the state), the same
// events under a type the mapper does not handle (parsing the envelopes only), and the real
// events (plus decoding payloads and writing frames).
func BenchmarkMapParts(b *testing.B) {
	evs := mappertest.BenchLog(b, "testdata/panel.events.ndjson", 2)[1 : benchBatch+1]
	unknown := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e, &m); err != nil {
			b.Fatal(err)
		}
		m["type"] = json.RawMessage(`"x.unhandled"`)
		unknown[i], _ = json.Marshal(m)
	}
	state := json.RawMessage(`{"p":1,"s":["optimist","pessimist"],"m":["msg_a"]}`)
	cases := []struct {
		name string
		evs  []json.RawMessage
	}{{"empty", nil}, {"parse-only", unknown}, {"full", evs}}
	for _, target := range []string{"native", "wasm"} {
		mapFn := mappertest.Native
		if target == "wasm" {
			mapFn = mappertest.LoadWasm(b, ".", mappertest.WasmOptions{}).Map
		}
		for _, c := range cases {
			req := encodeRequest(state, c.evs)
			b.Run(target+"/"+c.name, func(b *testing.B) {
				ctx := context.Background()
				for b.Loop() {
					if _, err := mapFn(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*max(1, len(c.evs))), "ns/event")
			})
		}
	}
}

func encodeRequest(state json.RawMessage, evs []json.RawMessage) []byte {
	return sdk.EncodeMapRequest(sdk.MapRequest{Stream: "s_bench", Op: sdk.OpEvents, State: state, Events: evs})
}
