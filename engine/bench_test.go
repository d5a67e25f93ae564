package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"

	"testing"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/workflow"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

// BenchmarkAssistantRun measures whole runs per second of a one-agent workflow with a tool call
// (two model calls over HTTP to the offline model, a calculator plugin call, SQLite commits).
func BenchmarkAssistantRun(b *testing.B) {
	h := newHarness(b, []string{fmt.Sprintf(toolAgent, 4, "10s")}, withTools(realTools(b)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		info := h.start("tools", "What is 17*23?")
		evs := h.collect(info.RunID, 0)
		if _, ok := last[event.RunFinishedData](evs); !ok {
			b.Fatalf("run did not finish: %s", evs[len(evs)-1].Type)
		}
	}
}

// BenchmarkAssistantRunParallel is BenchmarkAssistantRun with runs in parallel (runs/s).
func BenchmarkAssistantRunParallel(b *testing.B) {
	h := newHarness(b, []string{fmt.Sprintf(toolAgent, 4, "10s")}, withTools(realTools(b)))
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			info := h.start("tools", "What is 17*23?")
			h.collect(info.RunID, 0)
		}
	})
}

// memModel is an in-process model that streams a fixed number of one-word chunks, so that the
// benchmarks below measure the engine alone (no HTTP, no JSON decoding of chunks).
type memModel struct {
	tokens int
	calls  int // tool calls in the first turn
}

type memStream struct {
	m      *memModel
	req    engine.ModelRequest
	i      int
	chunks []engine.Chunk
}

func (m *memModel) Model(string) (engine.Model, string, error) { return m, "mem", nil }

func (m *memModel) Stream(_ context.Context, req engine.ModelRequest) (engine.ModelStream, error) {
	s := &memStream{m: m, req: req}
	last := req.Messages[len(req.Messages)-1]
	if m.calls > 0 && last.Role != engine.RoleTool && len(req.Tools) > 0 {
		for i := range m.calls {
			s.chunks = append(s.chunks, engine.Chunk{ToolCalls: []engine.ToolCallDelta{{Index: i, ID: fmt.Sprint("c", i), Name: "noop", Arguments: "{}"}}})
		}
	} else {
		for range m.tokens {
			s.chunks = append(s.chunks, engine.Chunk{Content: "word "})
		}
	}
	s.chunks = append(s.chunks, engine.Chunk{FinishReason: "stop", Usage: &event.Usage{PromptTokens: 10, CompletionTokens: m.tokens, TotalTokens: 10 + m.tokens}})
	return s, nil
}

func (s *memStream) Recv() (engine.Chunk, error) {
	if s.i >= len(s.chunks) {
		return engine.Chunk{}, io.EOF
	}
	s.i++
	return s.chunks[s.i-1], nil
}

func (s *memStream) Close() error { return nil }

// noopTools is a tool set with one tool that returns at once: it isolates the engine's own cost
// per tool call.
type noopTools struct{}

func (noopTools) Lookup(name string) (engine.ToolInfo, bool) {
	return engine.ToolInfo{Name: "x.noop", Plugin: "x", Tool: "noop", Parameters: json.RawMessage(`{"type":"object"}`)}, name == "noop"
}

func (noopTools) Call(context.Context, string, json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{}`), nil
}

func memEngine(b *testing.B, m *memModel, tools engine.Tools, y string) *engine.Engine {
	wf, err := workflow.Parse("bench.yaml", []byte(y))
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "fleet.db"))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Models: m, Workflows: engine.WorkflowMap{wf.Name: wf}, Tools: tools,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		eng.Close(context.Background())
		st.Close()
	})
	return eng
}

func runToEnd(b *testing.B, eng *engine.Engine, wf string) []event.Event {
	info, err := eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Input: "go"})
	if err != nil {
		b.Fatal(err)
	}
	sub, err := eng.Subscribe(context.Background(), info.RunID, 0)
	if err != nil {
		b.Fatal(err)
	}
	var out []event.Event
	for {
		evs, err := sub.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, evs...)
	}
}

const benchAgent = `
version: 1
name: bench
agents:
  - name: a
    instructions: You are a.
    tools: [noop]
`

// BenchmarkEnginePerToken reports the engine's cost per streamed token: from a model chunk to a
// delta event committed to SQLite and delivered to a subscriber (ns/token).
func BenchmarkEnginePerToken(b *testing.B) {
	const tokens = 2000
	eng := memEngine(b, &memModel{tokens: tokens}, noopTools{}, benchAgent)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		evs := runToEnd(b, eng, "bench")
		if n := len(all[event.MessageDeltaData](evs)); n != tokens {
			b.Fatalf("%d deltas", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tokens), "ns/token")
}

// BenchmarkEnginePerToolCall reports the engine's cost per tool call, excluding the tool itself:
// a model turn with 8 parallel calls to a tool that returns at once (ns/call, minus a run's fixed
// cost measured by BenchmarkEngineEmptyRun).
func BenchmarkEnginePerToolCall(b *testing.B) {
	const calls = 8
	eng := memEngine(b, &memModel{tokens: 1, calls: calls}, noopTools{}, benchAgent)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		evs := runToEnd(b, eng, "bench")
		if n := len(all[event.ToolResultData](evs)); n != calls {
			b.Fatalf("%d results", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*calls), "ns/call")
}

// BenchmarkEngineEmptyRun is a run with one one-token model call: the fixed cost per run.
func BenchmarkEngineEmptyRun(b *testing.B) {
	eng := memEngine(b, &memModel{tokens: 1}, noopTools{}, benchAgent)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		runToEnd(b, eng, "bench")
	}
}

// TestMemoryPerPausedRun measures what an idle run waiting for approval costs: nothing stays in
// the engine's memory (its state is in the store), so the heap does not grow with paused runs.
func TestMemoryPerPausedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	h := newHarness(t, []string{approvalAgent}, withTools(realTools(t)))
	pause := func(n int) {
		for range n {
			info := h.start("gated", "Fetch http://127.0.0.1:9/x")
			evs := h.collect(info.RunID, 0)
			if evs[len(evs)-1].Type != event.RunInterrupted {
				t.Fatalf("run did not pause: %s", evs[len(evs)-1].Type)
			}
		}
	}
	pause(20) // warm up pools and caches
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 200
	pause(n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perRun := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	t.Logf("heap per paused run: %.0f bytes (%d runs)", perRun, n)
	if perRun > 16<<10 {
		t.Errorf("each paused run keeps %.0f bytes of heap; paused runs should live in the store only", perRun)
	}

}
