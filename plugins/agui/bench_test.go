//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
	"github.com/agentfleet/fleet/sdk"
)

// benchBatch is the number of events per fleet_map call in the benchmarks.
const benchBatch = 128

// benchStream is the benchmarks' event log: the panel run of testdata (three concurrent agents and
// a moderator; 83% of its events are message.delta of a word or two) with its body repeated to about
// 5,000 events, cut into the requests of one stream as the host would send them.
func benchStream(b *testing.B) ([][]byte, int) {
	evs := mappertest.BenchLog(b, "testdata/panel.events.ndjson", 40)
	return mappertest.Requests(b, mappertest.Native, evs, benchBatch), len(evs)
}

// cpuTime is the CPU time the process used so far (user and system): rates per CPU second are
// rates per core, and hold on a machine busy with other work, where wall-clock time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
// the host) and as WebAssembly (fleet_map called through wazero; also with the interruptible
// runtime host/plugin uses, and with the guest's garbage collector off), reporting events per CPU
// second and per wall-clock second; "host" runs it through host/plugin's Plugin.Map (pool, limits,
// watchdog). The c cases do the same with the shipped plugin, the C build of c/agui.c.
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
		{"host", nil},
		{"c", &mappertest.WasmOptions{}},
		{"c-interruptible", &mappertest.WasmOptions{Interruptible: true}},
		{"c-host", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			mapFn := mappertest.Native
			switch {
			case c.name == "host":
				mapFn = mappertest.HostMap(b, ".", plugin.Manifest{})
			case c.name == "c-host":
				mapFn = mappertest.HostMapBytes(b, cWasm(b), plugin.Manifest{})
			case strings.HasPrefix(c.name, "c"):
				mapFn = mappertest.LoadWasmBytes(b, cWasm(b), *c.opts).Map
			case c.opts != nil:
				mapFn = mappertest.LoadWasm(b, ".", *c.opts).Map
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				mapAll(b, mapFn, reqs)
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "events/cpu-s")
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkMapRatio maps the stream natively, with the Go plugin called directly (no termination
// checks) and with the shipped plugin (the C build) through the real host, in alternation within
// one run, and reports each rate per CPU second and its ratio to native: CPU time over native CPU
// time, so 2 means half the events per second.
func BenchmarkMapRatio(b *testing.B) {
	reqs, n := benchStream(b)
	goWasm := mappertest.LoadWasm(b, ".", mappertest.WasmOptions{}).Map
	cHost := mappertest.HostMapBytes(b, cWasm(b), plugin.Manifest{})
	var native, guest, shipped time.Duration
	for b.Loop() {
		t0 := cpuTime()
		mapAll(b, mappertest.Native, reqs)
		t1 := cpuTime()
		mapAll(b, goWasm, reqs)
		t2 := cpuTime()
		mapAll(b, cHost, reqs)
		native, guest, shipped = native+t1-t0, guest+t2-t1, shipped+cpuTime()-t2
	}
	b.ReportMetric(float64(n*b.N)/native.Seconds(), "native-events/cpu-s")
	b.ReportMetric(float64(n*b.N)/guest.Seconds(), "gowasm-events/cpu-s")
	b.ReportMetric(float64(n*b.N)/shipped.Seconds(), "host-events/cpu-s")
	b.ReportMetric(guest.Seconds()/native.Seconds(), "gowasm/native")
	b.ReportMetric(shipped.Seconds()/native.Seconds(), "host/native")
}

// BenchmarkMapParts splits a batch's cost, natively and as WebAssembly: an empty batch (the call
// and the state), the events under a type the mapper does not handle (parsing the envelopes and
// payloads only), and the real events (plus the handlers: decoding payloads and writing frames).
func BenchmarkMapParts(b *testing.B) {
	evs := mappertest.BenchLog(b, "testdata/panel.events.ndjson", 2)[1 : benchBatch+1]
	unknown := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		unknown[i] = bytes.Replace(e, []byte(`"type":"`), []byte(`"type":"x.`), 1)
	}
	state := json.RawMessage(`{"p":1,"s":["optimist","pessimist"],"m":["msg_a"]}`)
	cases := []struct {
		name string
		evs  []json.RawMessage
	}{{"empty", nil}, {"parse-only", unknown}, {"full", evs}}
	for _, target := range []string{"native", "wasm", "c", "c-interruptible"} {
		var mapFn mappertest.MapFunc
		switch target {
		case "native":
			mapFn = mappertest.Native
		case "wasm":
			mapFn = mappertest.LoadWasm(b, ".", mappertest.WasmOptions{}).Map
		default:
			mapFn = mappertest.LoadWasmBytes(b, cWasm(b), mappertest.WasmOptions{Interruptible: target == "c-interruptible"}).Map
		}
		for _, c := range cases {
			req := sdk.EncodeMapRequest(sdk.MapRequest{Stream: "s_bench", Op: sdk.OpEvents, State: state, Events: c.evs})
			b.Run(target+"/"+c.name, func(b *testing.B) {
				ctx := context.Background()
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := mapFn(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*max(1, len(c.evs))), "cpu-ns/event")
			})
		}
	}
}
