package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/app"
	"github.com/agentfleet/fleet/internal/testwasm"
)

// realTools loads first-party plugins (built from plugins/ by testwasm) into a registry; the http
// plugin may reach 127.0.0.1 so tests can serve it pages.
func realTools(t testing.TB) engine.Tools {
	t.Helper()
	ctx := context.Background()
	h, err := plugin.NewHost(ctx, plugin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg := plugin.NewRegistry()
	t.Cleanup(func() {
		reg.Close(context.Background())
		h.Close(context.Background())
	})
	for name, m := range map[string]plugin.Manifest{
		"calc":  {},
		"clock": {Capabilities: plugin.Capabilities{Clock: true}},
		"text":  {},
		"http":  {Instances: 4, Capabilities: plugin.Capabilities{HTTP: &plugin.HTTPGrant{Allow: []string{"127.0.0.1"}, AllowPrivate: true}}},
	} {
		p, err := h.Load(ctx, testwasm.Build(t, "../plugins/"+name), m)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		if err := reg.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	return app.Tools{Registry: reg}
}

const toolAgent = `
version: 1
name: tools
limits: {tool_concurrency: %d, retry_backoff: 1ms, tool_timeout: %s}
agents:
  - name: assistant
    instructions: You are a helpful assistant.
    tools: [calculate, now, http_fetch, word_count]
`

const approvalAgent = `
version: 1
name: gated
limits: {retry_backoff: 1ms}
agents:
  - name: assistant
    instructions: You are a careful assistant.
    tools:
      - calculate
      - {name: http_fetch, approval: required}
`

func TestToolCall(t *testing.T) {
	h := newHarness(t, []string{fmt.Sprintf(toolAgent, 4, "10s")}, withTools(realTools(t)))
	_, evs := h.run("tools", "What is 17*23?")
	res := all[event.ToolResultData](evs)
	if len(res) != 1 || res[0].Error != nil || !strings.Contains(string(res[0].Result), `"result":391`) {
		t.Fatalf("tool results %+v", res)
	}
	fin, _ := last[event.RunFinishedData](evs)
	if fin.Output != "17*23 = 391." {
		t.Fatalf("answer %q", fin.Output)
	}
	ends := all[event.ToolEndData](evs)
	if len(ends) != 1 || string(ends[0].Arguments) != `{"expression":"17*23"}` {
		t.Fatalf("tool.end %+v", ends)
	}
	if len(all[event.ToolArgsData](evs)) < 2 {
		t.Errorf("arguments were not streamed as deltas")
	}
}

// barrier is an HTTP handler that answers only once n requests are in flight at the same time (or
// after wait, whichever first), and records the most it saw at once.
type barrier struct {
	mu       sync.Mutex
	inflight int
	most     int
	n        int
	all      chan struct{}
	once     sync.Once
	wait     time.Duration
}

func newBarrier(n int, wait time.Duration) *barrier {
	return &barrier{n: n, all: make(chan struct{}), wait: wait}
}

func (b *barrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.enter(r)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "page %s", r.URL.Path)
}

// enter counts the request in, waits for the barrier, and counts it out. Requests after the first
// n pass at once.
func (b *barrier) enter(r *http.Request) {
	b.mu.Lock()
	b.inflight++
	b.most = max(b.most, b.inflight)
	if b.inflight == b.n {
		b.once.Do(func() { close(b.all) })
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(b.wait):
	case <-r.Context().Done():
	}
	b.mu.Lock()
	b.inflight--
	b.mu.Unlock()
}

func TestParallelToolCallsRunConcurrently(t *testing.T) {
	for _, c := range []struct {
		concurrency, wantMost int
		wait                  time.Duration
	}{{concurrency: 4, wantMost: 3, wait: 30 * time.Second}, {concurrency: 1, wantMost: 1, wait: 50 * time.Millisecond}} {
		t.Run(fmt.Sprintf("cap%d", c.concurrency), func(t *testing.T) {
			b := newBarrier(3, c.wait)
			srv := httptest.NewServer(b)
			defer srv.Close()
			h := newHarness(t, []string{fmt.Sprintf(toolAgent, c.concurrency, "60s")}, withTools(realTools(t)))
			_, evs := h.run("tools", fmt.Sprintf("Read %s/a and %s/b and %s/c", srv.URL, srv.URL, srv.URL))
			res := all[event.ToolResultData](evs)
			if len(res) != 3 {
				t.Fatalf("want 3 tool results, got %+v", res)
			}
			for _, r := range res {
				if r.Error != nil {
					t.Fatalf("tool failed: %+v", r.Error)
				}
			}
			if b.most != c.wantMost {
				t.Fatalf("at most %d calls ran at once, want %d", b.most, c.wantMost)
			}
		})
	}
}

func TestToolTimeoutIsAToolError(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	h := newHarness(t, []string{fmt.Sprintf(toolAgent, 4, "300ms")}, withTools(realTools(t)))
	_, evs := h.run("tools", "Read "+srv.URL+"/slow")
	res := all[event.ToolResultData](evs)
	if len(res) != 1 || res[0].Error == nil {
		t.Fatalf("want a failed tool result, got %+v", res)
	}
	if _, ok := last[event.RunFinishedData](evs); !ok {
		t.Fatalf("the run should carry on after a tool timeout; last event %s", evs[len(evs)-1].Type)
	}
}

func TestCancelMidTool(t *testing.T) {
	entered := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // holds the tool call until the plugin's request is cancelled
	}))
	defer srv.Close()
	h := newHarness(t, []string{fmt.Sprintf(toolAgent, 4, "60s")}, withTools(realTools(t)))
	info := h.start("tools", "Read "+srv.URL+"/forever")
	<-entered
	start := time.Now()
	if err := h.eng.Cancel(context.Background(), info.RunID, "stop"); err != nil {
		t.Fatal(err)
	}
	evs := h.collect(info.RunID, 0)
	checkStream(t, evs, 1)
	if _, ok := last[event.RunCancelledData](evs); !ok {
		t.Fatalf("last event %s", evs[len(evs)-1].Type)
	}
	if len(all[event.ToolResultData](evs)) != 0 {
		t.Errorf("a cancelled call must not report a result")
	}
	t.Logf("cancel took %v", time.Since(start))
}

func TestApprovalSurvivesRestart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "the secret page")
	}))
	defer srv.Close()
	tools := realTools(t)
	h := newHarness(t, []string{approvalAgent}, withTools(tools))
	info, evs, intr := pauseForApproval(t, h, "Fetch "+srv.URL+"/doc and compute 2+2")
	h.restart()
	ctx := context.Background()
	rec, _ := h.eng.Run(ctx, info.RunID)
	if rec.Status != store.StatusInterrupted {
		t.Fatalf("after restart the run is %s", rec.Status)
	}
	if err := h.eng.Answer(ctx, info.RunID, engine.Answer{ApprovalID: "apr_nope", Approve: true}); err == nil {
		t.Fatal("answer to an unknown approval accepted")
	}
	edited := fmt.Sprintf(`{"url":%q}`, srv.URL+"/edited")
	if err := h.eng.Answer(ctx, info.RunID, engine.Answer{ApprovalID: intr.Approvals[0].ID, Approve: true, Arguments: []byte(edited)}); err != nil {
		t.Fatal(err)
	}
	more := h.collect(info.RunID, uint64(len(evs)))
	checkStream(t, more, uint64(len(evs))+1)
	if more[0].Type != event.ApprovalResolved || more[1].Type != event.RunResumed {
		t.Fatalf("continuation starts with %s, %s", more[0].Type, more[1].Type)
	}
	res := all[event.ToolResultData](more)
	if len(res) != 1 || res[0].Error != nil || !strings.Contains(string(res[0].Result), "/edited") {
		t.Fatalf("the approved call did not run with the edited arguments: %+v", res)
	}
	if _, ok := last[event.RunFinishedData](more); !ok {
		t.Fatalf("run did not finish: %s", more[len(more)-1].Type)
	}
	if err := h.eng.Answer(ctx, info.RunID, engine.Answer{ApprovalID: intr.Approvals[0].ID, Approve: true}); err == nil {
		t.Fatal("a second answer was accepted")
	}
}

// pauseForApproval starts a gated run and checks it paused for exactly one http_fetch approval,
// after running the call that needed none.
func pauseForApproval(t *testing.T, h *harness, input string) (engine.RunInfo, []event.Event, event.RunInterruptedData) {
	t.Helper()
	info := h.start("gated", input)
	evs := h.collect(info.RunID, 0)
	checkStream(t, evs, 1)
	intr, ok := last[event.RunInterruptedData](evs)
	if !ok || len(intr.Approvals) != 1 || intr.Approvals[0].Tool != "http_fetch" {
		t.Fatalf("want one pending approval, got %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	if res := all[event.ToolResultData](evs); len(res) != 1 || res[0].Tool != "calculate" {
		t.Fatalf("results before the pause: %+v", res)
	}
	return info, evs, intr
}

func TestDeniedApprovalAndCancelWhileWaiting(t *testing.T) {
	h := newHarness(t, []string{approvalAgent}, withTools(realTools(t)))
	ctx := context.Background()
	info := h.start("gated", "Fetch http://127.0.0.1:9/x")
	evs := h.collect(info.RunID, 0)
	intr, _ := last[event.RunInterruptedData](evs)
	if err := h.eng.Answer(ctx, info.RunID, engine.Answer{ApprovalID: intr.Approvals[0].ID, Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	more := h.collect(info.RunID, uint64(len(evs)))
	res := all[event.ToolResultData](more)
	if len(res) != 1 || res[0].Error == nil || res[0].Error.Code != "denied" {
		t.Fatalf("denied call result %+v", res)
	}
	fin, _ := last[event.RunFinishedData](more)
	if !strings.Contains(fin.Output, "denied") {
		t.Fatalf("the model was not told of the denial: %q", fin.Output)
	}

	// A run waiting for approval can be cancelled.
	info2 := h.start("gated", "Fetch http://127.0.0.1:9/y")
	evs2 := h.collect(info2.RunID, 0)
	if err := h.eng.Cancel(ctx, info2.RunID, "changed my mind"); err != nil {
		t.Fatal(err)
	}
	more2 := h.collect(info2.RunID, uint64(len(evs2)))
	if c, ok := last[event.RunCancelledData](more2); !ok || c.Reason != "changed my mind" {
		t.Fatalf("cancel while waiting: %+v", more2)
	}
}

const turnLimited = `
version: 1
name: turns
limits: {max_turns: 2, retry_backoff: 1ms}
agents:
  - name: assistant
    instructions: You are a helpful assistant.
    tools: [calculate]
`

// TestMaxTurnsEndsWithAnAnswer: the agent's last allowed model call is made without tools, so the
// step ends with an answer and the run finishes normally, naming the limit.
func TestMaxTurnsEndsWithAnAnswer(t *testing.T) {
	h := newHarness(t, []string{turnLimited}, withTools(realTools(t)))
	_, evs := h.run("turns", "What is 6*7?")
	fin, ok := last[event.RunFinishedData](evs)
	if !ok {
		t.Fatalf("run did not finish: %s", evs[len(evs)-1].Type)
	}
	if fin.Limit != "max_turns" || fin.Output != "6*7 = 42." || fin.Usage.Calls != 2 {
		t.Fatalf("finished %+v", fin)
	}
	// One limit: zero turns left for tools means no tool at all, and the run still answers.
	h2 := newHarness(t, []string{strings.Replace(turnLimited, "max_turns: 2", "max_turns: 1", 1)}, withTools(realTools(t)))
	_, evs2 := h2.run("turns", "What is 6*7?")
	if n := len(all[event.ToolStartData](evs2)); n != 0 {
		t.Fatalf("with max_turns 1 the model was offered tools (%d calls)", n)
	}
	if fin2, ok := last[event.RunFinishedData](evs2); !ok || fin2.Output == "" {
		t.Fatalf("no answer: %+v", evs2[len(evs2)-1])
	}
}
