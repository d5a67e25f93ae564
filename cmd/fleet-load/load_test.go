package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/internal/app"
	"github.com/agentfleet/fleet/internal/testfleet"
)

func TestMain(m *testing.M) {
	// fasthttp's own background goroutines outlive a stopped server: a process-wide clock for
	// the Date header, and each worker pool's cleaner, which sleeps up to 10 s before it sees
	// the stop (as in host/server's tests).
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}

// startServer serves a real Fleet (SQLite store, offline model paced at delay, the echo
// workflow of testdata) on 127.0.0.1; pluginsDir may add plugins (mappers).
func startServer(t *testing.T, delay time.Duration, pluginsDir string) string {
	t.Helper()
	return testfleet.Serve(t, app.Options{PluginsDir: pluginsDir, NoPlugins: pluginsDir == "",
		WorkflowsDir: "testdata/workflows", OfflineDelay: delay, CacheDir: filepath.Join(os.TempDir(), "fleet-load-test-cache")})
}

// TestLoadAgainstRealServer runs small loads over both transports against a real server and
// checks what the collector counted: every run complete, every token timed.
func TestLoadAgainstRealServer(t *testing.T) {
	const delay, words, streams, runs = 3 * time.Millisecond, 12, 3, 2
	base := startServer(t, delay, "")
	for _, transport := range []string{"sse", "ws"} {
		t.Run(transport, func(t *testing.T) {
			lc := loadConfig{Base: base, Transport: transport, Streams: streams, Ramp: 10 * time.Millisecond,
				Runs: runs, RunTimeout: 20 * time.Second, Workflow: "echo", Message: longMessage(words), Format: "fleet", Delay: delay}
			pr := newProbe(0, base)
			defer pr.close()
			col, samples, win := runLoad(t.Context(), lc, pr, &profiler{})
			res := &trialResult{Metrics: map[string]float64{}, Dists: map[string]Dist{}}
			summarize(res, col, samples, win)
			m := res.Metrics
			if m["runs_ok"] != streams*runs || m["runs_truncated"] != 0 || m["runs_failed"] != 0 {
				t.Fatalf("runs ok %v truncated %v failed %v; errors %v truncations %v", m["runs_ok"], m["runs_truncated"],
					m["runs_failed"], res.Errors, res.Truncations)
			}
			if got := col.tokens.Load(); got != streams*runs*words {
				t.Errorf("tokens %d, want %d", got, streams*runs*words)
			}
			d := res.Dists
			if d["ttft"].N != streams*runs || d["lateness"].N != streams*runs*(words-1) ||
				d["delivery"].N != streams*runs*words || d["source_lateness"].N != streams*runs*(words-1) {
				t.Errorf("sample counts: %+v", d)
			}
			if d["ttft"].P50 < ms(int64(delay)) {
				t.Errorf("time to first token %.2f ms is shorter than the model's first delay", d["ttft"].P50)
			}
			if len(samples) < 2 || samples[len(samples)-1].Frames != col.frames.Load() {
				t.Errorf("the last sample should see every frame: %d samples", len(samples))
			}
		})
	}
}

// TestWarmUpAndIdleWS runs the warm-up run and the idle WebSocket measurement on a real server.
func TestWarmUpAndIdleWS(t *testing.T) {
	base := startServer(t, 0, "")
	lc := loadConfig{Base: base, Transport: "ws", RunTimeout: 20 * time.Second, Workflow: "echo",
		Message: longMessage(5), Format: "fleet"}
	if err := warmUp(t.Context(), lc); err != nil {
		t.Fatal(err)
	}
	pr := newProbe(os.Getpid(), base)
	defer pr.close()
	res := &trialResult{Metrics: map[string]float64{}}
	if err := measureIdleWS(t.Context(), pr, lc, 20, res, &profiler{}); err != nil {
		t.Fatal(err)
	}
	if g := res.Metrics["idle_ws_goroutines_per_conn"]; g < 1 {
		t.Errorf("goroutines per idle connection %.2f: the server serves each with at least one", g)
	}
	if _, ok := res.Metrics["idle_ws_kib_per_conn"]; !ok {
		t.Error("no memory per connection")
	}
	if s := pr.take(t.Context(), nil); s.WSConns != 0 {
		t.Errorf("%v websocket connections left open", s.WSConns)
	}
}

// TestAGUIMapper runs a load in the default format through the agui mapper plugin, when it is
// built (make plugins).
func TestAGUIMapper(t *testing.T) {
	wasm, err := filepath.Abs("../../bin/plugins/agui.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wasm); err != nil {
		t.Skip("bin/plugins/agui.wasm is not built (make plugins)")
	}
	dir := t.TempDir()
	if err := os.Symlink(wasm, filepath.Join(dir, "agui.wasm")); err != nil {
		t.Fatal(err)
	}
	base := startServer(t, time.Millisecond, dir)
	lc := loadConfig{Base: base, Transport: "sse", Streams: 2, Runs: 2, RunTimeout: 30 * time.Second, Workflow: "echo",
		Message: longMessage(8), Format: "agui", Delay: time.Millisecond}
	pr := newProbe(0, base)
	defer pr.close()
	col, _, _ := runLoad(t.Context(), lc, pr, &profiler{})
	if col.ok != 4 || col.truncated != 0 || col.failed != 0 || col.tokens.Load() != 32 {
		t.Fatalf("ok %d truncated %d failed %d tokens %d: %v %v", col.ok, col.truncated, col.failed, col.tokens.Load(),
			col.errors, col.truncations)
	}
}
