package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// newBenchStack is a stack for benchmarks (no plugins: the echo workflow needs none).
func newBenchStack(b *testing.B) *stack { return newStack(b, stackOpts{noPlugins: true}) }

// BenchmarkSSERun: one whole run per iteration through the server (POST, stream to the end): the
// server's fixed cost per run on top of the engine's.
func BenchmarkSSERun(b *testing.B) {
	st := newBenchStack(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := st.postRun("echo", "fleet", input("", fmt.Sprintf("run_b_%d", i), "Say exactly: benchmark"))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkSSEReplay streams a stored run of ~1,000 events per iteration (GET .../events from
// the start): the cost of reading, mapping and writing events, batched into few flushes.
func BenchmarkSSEReplay(b *testing.B) {
	st := newBenchStack(b)
	resp := st.postRun("echo", "fleet", input("thr_r", "run_replay", "Say exactly: "+strings.Repeat("w ", 1000)))
	n := len(newSSEReader(b, resp).all())
	resp.Body.Close()
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		resp, err := http.Get(st.url + "/v1/runs/run_replay/events?format=fleet")
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		bytes += m
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	b.SetBytes(bytes / int64(b.N))
}

// BenchmarkWSRun: one whole run per iteration on one WebSocket connection.
func BenchmarkWSRun(b *testing.B) {
	st := newBenchStack(b)
	wc, _, err := st.dialWS(nil, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runID := fmt.Sprintf("run_wsb_%d", i)
		wc.send(map[string]any{"type": "run", "workflow": "echo", "message": "Say exactly: benchmark", "format": "fleet", "runId": runID})
		for {
			m := <-wc.msgs
			if m.Type == "closed" || m.Type == "error" {
				b.Fatalf("%s", m.raw)
			}
			if m.RunID == runID && pauses(m) {
				break
			}
		}
	}
}
