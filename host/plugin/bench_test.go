package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// quiet discards the host's log in benchmarks.
var quiet = slog.New(slog.DiscardHandler)

// benchHost returns a host for benchmarks; terminate=false is the reference runtime whose guests
// cannot be stopped (WithCloseOnContextDone(false)), to measure what the guarantee costs.
func benchHost(b *testing.B, terminate bool) *Host {
	b.Helper()
	h, err := newHost(context.Background(), Config{Logger: quiet}, terminate)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func benchCall(b *testing.B, p *Plugin, ctx context.Context, tool string, args []byte, want string) {
	b.Helper()
	out, err := p.Call(ctx, tool, args)
	if err != nil || (want != "" && string(out) != want) {
		b.Fatalf("%s = %.60s, %v", tool, out, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(args)))
	for b.Loop() {
		if _, err := p.Call(ctx, tool, args); err != nil {
			b.Fatal(err)
		}
	}
}

// args1KiB is a 1 KiB JSON arguments object the strict tool accepts.
var args1KiB = []byte(`{"n":7,"tag":"` + strings.Repeat("a", 1024-len(`{"n":7,"tag":""}`)) + `"}`)

// BenchmarkCall is a tool call round trip through the full ABI: argument check, pool, fleet_alloc
// and input copy (when there are arguments), fleet_call, result check and copy.
//
//	noop: the good fixture's noop tool (Go guest) and the WAT ping plugin, no arguments.
//	args=1KiB: echo (trivial schema) and strict (schema validated) with 1 KiB of JSON.
//	terminate=off: the same on a runtime built without WithCloseOnContextDone, as a reference:
//	  calls there cannot be stopped, so the host never runs that way.
//	ctx=cancellable: the caller's context can be cancelled (an AfterFunc per call).
func BenchmarkCall(b *testing.B) {
	good, ping := fixture(b, "good"), pingWasm(b)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	bg := context.Background()
	for _, terminate := range []bool{true, false} {
		h := benchHost(b, terminate)
		g := load(b, h, good, Manifest{Instances: 1})
		w := load(b, h, ping, Manifest{Instances: 1})
		on := map[bool]string{true: "on", false: "off"}[terminate]
		b.Run("noop/go/terminate="+on, func(b *testing.B) { benchCall(b, g, bg, "noop", nil, "{}") })
		b.Run("noop/wat/terminate="+on, func(b *testing.B) { benchCall(b, w, bg, "ping", nil, `{"ok":true}`) })
		b.Run("args=1KiB/echo/terminate="+on, func(b *testing.B) { benchCall(b, g, bg, "echo", args1KiB, string(args1KiB)) })
		b.Run("args=1KiB/strict/terminate="+on, func(b *testing.B) { benchCall(b, g, bg, "strict", args1KiB, string(args1KiB)) })
		if terminate {
			b.Run("noop/go/terminate=on/ctx=cancellable", func(b *testing.B) { benchCall(b, g, cancellable, "noop", nil, "{}") })
		}
	}
}

// BenchmarkExport is wazero alone: one CallWithStack of the WAT plugin's fleet_call, with the
// instance's reusable context, with and without WithCloseOnContextDone.
func BenchmarkExport(b *testing.B) {
	for _, terminate := range []bool{true, false} {
		b.Run(fmt.Sprintf("terminate=%v", map[bool]string{true: "on", false: "off"}[terminate]), func(b *testing.B) {
			h := benchHost(b, terminate)
			p := load(b, h, pingWasm(b), Manifest{Instances: 1})
			in, err := p.pool.get(context.Background(), p.newInstance)
			if err != nil {
				b.Fatal(err)
			}
			defer p.pool.put(in)
			ctx := &in.cc
			b.ReportAllocs()
			for b.Loop() {
				in.stack[0], in.stack[1], in.stack[2] = 0, 0, 0
				if err := in.entry.CallWithStack(ctx, in.stack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var firstPartyPlugins = []string{"calc", "clock", "http", "json", "text"}

// firstPartyDir writes every first-party plugin into a directory, as `make plugins` lays them out.
func firstPartyDir(b *testing.B) []string {
	dir := b.TempDir()
	var paths []string
	for _, name := range firstPartyPlugins {
		path := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(path, firstParty(b, name), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// BenchmarkLoadFirstParty loads all first-party plugins with LoadAll into a new host, with an empty
// compilation cache (cold: every module compiled) and with a cache a previous host filled (warm: what
// a second `fleet serve` sees).
func BenchmarkLoadFirstParty(b *testing.B) {
	paths := firstPartyDir(b)
	ctx := context.Background()
	loadAll := func(b *testing.B, cacheDir string) {
		h, err := NewHost(ctx, Config{CacheDir: cacheDir, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close(ctx)
		plugins, err := h.LoadAll(ctx, paths)
		if err != nil || len(plugins) != len(paths) {
			b.Fatalf("loaded %d of %d: %v", len(plugins), len(paths), err)
		}
	}
	b.Run("cache=cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			loadAll(b, dir)
		}
	})
	b.Run("cache=warm", func(b *testing.B) {
		dir := b.TempDir()
		loadAll(b, dir)
		for b.Loop() {
			loadAll(b, dir)
		}
	})
}

// BenchmarkInstanceMemory makes pooled instances of a Go guest (the calc plugin) and reports the Go
// heap and the guest linear memory each costs.
func BenchmarkInstanceMemory(b *testing.B) {
	h := benchHost(b, true)
	const n = 8
	p := load(b, h, firstParty(b, "calc"), Manifest{Instances: n})
	ctx := context.Background()
	var heap, linear float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ins := make([]*instance, 0, n-1)
		for range n - 1 {
			in, err := p.newInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			ins = append(ins, in)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(ins))
		linear = float64(ins[0].mem.Size())
		for _, in := range ins {
			in.close()
		}
	}
	b.ReportMetric(heap, "heap-B/instance")
	b.ReportMetric(linear, "linear-B/instance")
}
