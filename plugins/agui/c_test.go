package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
	"github.com/agentfleet/fleet/sdk"
)

// cWasm is the shipped agui plugin: the mapper of this package rewritten in C (c/agui.c), built to
// c/agui.wasm (committed; `make -C plugins/agui/c` rebuilds it where clang exists).
func cWasm(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("c/agui.wasm")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestGoldenC maps every event log of testdata with the C plugin, calling fleet_map directly: the
// frames must be those of the Go mapper, byte for byte.
func TestGoldenC(t *testing.T) {
	m := mappertest.LoadWasmBytes(t, cWasm(t), mappertest.WasmOptions{})
	mappertest.Golden(t, "testdata", m.Map, checkAGUI)
}

// TestGoldenCHost maps them through the real plugin host.
func TestGoldenCHost(t *testing.T) {
	mappertest.Golden(t, "testdata", mappertest.HostMapBytes(t, cWasm(t), plugin.Manifest{}), checkAGUI)
}

// TestDescriptorC checks that the C plugin describes itself as the Go one does.
func TestDescriptorC(t *testing.T) {
	c := mappertest.LoadWasmBytes(t, cWasm(t), mappertest.WasmOptions{})
	g := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{})
	if string(c.Descriptor) != string(g.Descriptor) {
		t.Errorf("descriptor\n   C %s\n  Go %s", c.Descriptor, g.Descriptor)
	}
}

// codeOf returns the error code of a failed map call: the sdk's *ToolError code natively, the
// code in the error JSON of a WasmMapper's "status N: {...}" error.
func codeOf(err error) string {
	var te *sdk.ToolError
	if errors.As(err, &te) {
		return te.Code
	}
	if m := codeRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return "(none: " + err.Error() + ")"
}

var codeRE = regexp.MustCompile(`^status [12]: \{.*"code":"([a-z_]+)"\}$`)

// FuzzCMatchesGo holds the C plugin to the Go mapper: for any request, the same output byte for
// byte, or both refuse it with the same error code. The seeds are every golden log's requests, in
// batches of 1 and 7, as the host sends them (`go test` runs them; `go test -fuzz FuzzCMatchesGo`
// explores from there).
func FuzzCMatchesGo(f *testing.F) {
	for _, path := range mappertest.Logs(f, "testdata") {
		evs := mappertest.ReadEvents(f, path)
		for _, batch := range []int{1, 7} {
			for _, r := range mappertest.Requests(f, mappertest.Native, evs, batch) {
				f.Add(r)
			}
		}
	}
	for _, r := range []string{
		`{"op":"events","state":{"p":1,"m":["a\u00e9\ud800x"]},"events":[{"v":1,"type":"message.delta","data":{"message_id":"a\u00e9\ud800x","delta":"\u2028 \"q\" \t"}}]}`,
		`{"op":"end","state":{"p":1,"s":["n"],"t":["c"],"r":["r"],"m":["m"]},"events":[]}`,
		` { "events" : [ { "type" : "tool.end" , "data" : { "call_id" : "c" , "arguments" : { "a" : [ 1 , 2.5e3 ] } } } ] , "op" : "start" } `,
		`{"op":"start","events":[{"v":1,"type":"run.interrupted","data":{"approvals":[{"id":"ap","tool":"t\u0000","call_id":"c"},{"id":"b"}],"usage":{"prompt_tokens":-3,"calls":2}}}]}`,
		`{"op":"start","events":[{"v":1,"type":"tool.result","data":{"call_id":"c","error":{"code":"x","message":"m\n"}}},{"type":"tool.result","data":{"call_id":"d","result":[1, {"a":null}]}}]}`,
		`{"op":"start","events":[{"type":"message.delta","data":{"delta":1}}]}`,
		`{"op":"events","state":{"p":"x"},"events":[]}`,
		`{"op":"later","events":[]}`,
		"{\"op\":\"start\",\"events\":[{\"type\":\"message.delta\",\"agent\":\"\xff\",\"data\":{\"message_id\":\"\xe2\x80\",\"delta\":\"\xf0\x9f\x98\x80\xed\xa0\x80\"}}]}",
	} {
		f.Add([]byte(r))
	}
	// Found in review: strings with escapes decoded more than once overflowed the arena (the state's
	// and the payloads' are read twice), and the nesting limit was one level off from the SDK's.
	long := strings.Repeat("A", 100000) + `\n`
	deep := func(n int, inner string) string { return strings.Repeat("[", n) + inner + strings.Repeat("]", n) }
	for _, r := range []string{
		`{"op":"events","state":{"p":1,"x":"` + long[:3000] + `\n"},"events":[{"type":"step.started","node":"n"}]}`,
		`{"op":"start","events":[{"type":"message.start","data":{"x":"` + long + `","message_id":"m"}},{"type":"message.delta","data":{"message_id":"m","delta":"d"}}]}`,
		`{"op":"start","events":[{"v":1,"type":"message.start","seq":1,"run_id":"r","thread_id":"t","time":"x","data":{"message_id":"m","x":"` + long + `"},"z":0}]}`,
		`{"op":"start","x":` + deep(10001, "") + `,"events":[]}`,
		`{"op":"start","x":` + deep(10002, "") + `,"events":[]}`,
		`{"op":"events","state":{"p":1,"x":` + deep(9999, "") + `},"events":[]}`,
		`{"op":"start","events":[{"type":"route","data":{"x":` + deep(10000, "1") + `}}]}`,
		`{"op":"start","events":[{"type":"route","data":{"x":` + deep(10001, "1") + `}}]}`,
	} {
		f.Add([]byte(r))
	}
	c := mappertest.LoadWasmBytes(f, cWasm(f), mappertest.WasmOptions{Interruptible: true})
	f.Fuzz(func(t *testing.T, req []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		want, werr := mappertest.Native(ctx, req)
		got, gerr := c.Map(ctx, req)
		switch {
		case werr != nil && gerr != nil:
			if codeOf(werr) != codeOf(gerr) {
				t.Fatalf("request %q\nGo refuses it with %v\n C refuses it with %v", req, werr, gerr)
			}
		case werr != nil || gerr != nil:
			t.Fatalf("request %q\nGo: %v\n C: %v\nGo output %q\n C output %q", req, werr, gerr, want, got)
		case !bytes.Equal(want, got):
			t.Fatalf("request %q\nGo output %q\n C output %q", req, want, got)
		}
	})
}

// TestCLargeBatch maps a whole token-heavy stream (about 5,000 events, over 1 MiB) in one batch, so
// every buffer of the C plugin grows past its first size, and compares it with the Go mapper.
func TestCLargeBatch(t *testing.T) {
	evs := mappertest.BenchLog(t, "testdata/panel.events.ndjson", 40)
	c := mappertest.LoadWasmBytes(t, cWasm(t), mappertest.WasmOptions{})
	for _, batch := range []int{len(evs), 1000} {
		reqs := mappertest.Requests(t, mappertest.Native, evs, batch)
		if batch == len(evs) && len(reqs[0]) < 1<<20 {
			t.Fatalf("the whole stream is %d bytes: not over 1 MiB", len(reqs[0]))
		}
		for i, r := range reqs {
			want, err := mappertest.Native(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Map(context.Background(), r)
			if err != nil {
				t.Fatalf("batch %d of %d (%d bytes): %v", i, len(reqs), len(r), err)
			}
			if !bytes.Equal(want, got) {
				t.Fatalf("batch %d of %d: outputs differ (Go %d bytes, C %d bytes)", i, len(reqs), len(want), len(got))
			}
		}
	}
}

// TestCAllocTooLarge: fleet_alloc of more than the guest can hold answers 0 (the host then reports
// out of memory) instead of wrapping its size arithmetic, and the instance keeps working.
func TestCAllocTooLarge(t *testing.T) {
	c := mappertest.LoadWasmBytes(t, cWasm(t), mappertest.WasmOptions{})
	for _, size := range []uint64{1 << 31, 1<<32 - 1, 1<<32 - 8} {
		if ptr := c.Alloc(t, size); ptr != 0 {
			t.Errorf("fleet_alloc(%d) = %d, want 0", size, ptr)
		}
	}
	evs := mappertest.ReadEvents(t, "testdata/tools.events.ndjson")
	if _, _, err := mappertest.Stream(context.Background(), c.Map, evs, 7); err != nil {
		t.Fatalf("after the refused allocations: %v", err)
	}
}
