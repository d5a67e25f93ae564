package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/offline"
)

func example(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "workflows", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const single = `
version: 1
name: single
limits: {retry_backoff: 1ms}
agents:
  - name: echo
    instructions: You are an echo.
`

func TestPatterns(t *testing.T) {
	names := []string{"review", "research", "panel", "handoff", "groupchat"}
	var yamls []string
	for _, n := range names {
		yamls = append(yamls, example(t, n))
	}
	yamls = append(yamls, single)
	h := newHarness(t, yamls)
	for _, c := range []struct {
		wf, input string
		routes    []string
		steps     []string // node ids of step.started, in order (concurrent steps sorted per wave)
		output    string   // substring of run.finished output
	}{
		{wf: "single", input: "Say exactly: pong", steps: []string{"echo"}, output: "pong"},
		{wf: "review", input: "Write a haiku about Go.", steps: []string{"writer", "reviewer", "writer", "reviewer"}, output: "APPROVED"},
		{wf: "research", input: "How big is the Go community?",
			routes: []string{"researcher", "analyst", "writer", "finish"},
			steps:  []string{"lead", "researcher", "lead", "analyst", "lead", "writer", "lead"}, output: "As a writer"},
		{wf: "panel", input: "Should we rewrite it in Rust?", output: "Should we rewrite it in Rust?"},
		{wf: "handoff", input: "I was charged twice on my invoice, I need a refund.", routes: []string{"billing"},
			steps: []string{"triage", "billing"}, output: "refund"},
		{wf: "groupchat", input: "Plan a launch party.", output: ""},
	} {
		t.Run(c.wf, func(t *testing.T) {
			info, evs := h.run(c.wf, c.input)
			fin, ok := last[event.RunFinishedData](evs)
			if !ok {
				t.Fatalf("run did not finish: last event %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
			}
			if !strings.Contains(fin.Output, c.output) {
				t.Errorf("output %q does not contain %q\nmessages: %q", fin.Output, c.output, messages(evs))
			}
			if c.routes != nil && strings.Join(routes(evs), ",") != strings.Join(c.routes, ",") {
				t.Errorf("routes %v, want %v", routes(evs), c.routes)
			}
			if got := stepNodes(evs); c.steps != nil && strings.Join(got, ",") != strings.Join(c.steps, ",") {
				t.Errorf("steps %v, want %v", got, c.steps)
			}
			checkAccounting(t, h, info.RunID, evs, fin)
		})
	}
}

// stepNodes lists the nodes of the step.started events, in order.
func stepNodes(evs []event.Event) []string {
	var got []string
	for _, e := range evs {
		if e.Type == event.StepStarted {
			got = append(got, e.Node)
		}
	}
	return got
}

// checkAccounting checks a finished run's usage events and its stored record.
func checkAccounting(t *testing.T, h *harness, runID string, evs []event.Event, fin event.RunFinishedData) {
	t.Helper()
	if fin.Usage.Calls == 0 || fin.Usage.TotalTokens == 0 {
		t.Errorf("usage not counted: %+v", fin.Usage)
	}
	for _, u := range all[event.UsageData](evs) {
		if u.Model != "fleet-offline" {
			t.Fatalf("usage event names model %q, want the provider's default fleet-offline", u.Model)
		}
	}
	rec, err := h.eng.Run(context.Background(), runID)
	if err != nil || rec.Status != store.StatusSucceeded || rec.Output != fin.Output || rec.LastSeq != evs[len(evs)-1].Seq {
		t.Errorf("run record %+v, err %v", rec, err)
	}
}

func TestPanelRunsConcurrentlyAndJoins(t *testing.T) {
	// The model answers nobody until three requests are in flight at once: the panel only
	// finishes (well before the barrier's 30 s) if its three panelists really run concurrently.
	b := newBarrier(3, 30*time.Second)
	front := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.enter(r)
			next.ServeHTTP(w, r)
		})
	}
	h := newHarness(t, []string{example(t, "panel")}, withFront(front))
	_, evs := h.run("panel", "Is remote work better?")
	if b.most < 3 {
		t.Fatalf("at most %d model calls ran at once; the panel should fan out to 3", b.most)
	}
	var order []string
	for _, e := range evs {
		if e.Type == event.StepStarted {
			order = append(order, e.Node)
		}
	}
	if len(order) != 4 || order[3] != "moderator" {
		t.Errorf("want three panelists then the moderator (the join), got %v", order)
	}
	// The moderator spoke last, after the three panelists.
	msgs := messages(evs)
	if len(msgs) != 4 || !strings.HasPrefix(msgs[3], "moderator: ") {
		t.Fatalf("want 3 panelist answers and the moderator's, got %q", msgs)
	}
}

func TestThreadHistoryCarriesOver(t *testing.T) {
	h := newHarness(t, []string{single})
	info, _ := h.run("single", "Say exactly: first answer")
	second, err := h.eng.Start(context.Background(), engine.StartRequest{Workflow: "single", ThreadID: info.ThreadID, Input: "Say exactly: second answer"})
	if err != nil {
		t.Fatal(err)
	}
	h.collect(second.RunID, 0)
	msgs, err := h.store.Messages(context.Background(), info.ThreadID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Role+":"+m.Content)
	}
	want := "user:Say exactly: first answer|assistant:first answer|user:Say exactly: second answer|assistant:second answer"
	if strings.Join(got, "|") != want {
		t.Fatalf("thread messages\n got %q\nwant %q", strings.Join(got, "|"), want)
	}
}

func TestCancelMidStream(t *testing.T) {
	h := newHarness(t, []string{single}, withTokenDelay(20*time.Millisecond))
	info := h.start("single", "Tell me a long story about the sea and the ships that sail it.")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := h.eng.Subscribe(ctx, info.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	cancelled := false
	for {
		batch, err := sub.Next(ctx)
		if err != nil {
			break
		}
		evs = append(evs, batch...)
		if !cancelled && len(all[event.MessageDeltaData](evs)) >= 2 {
			cancelled = true
			if err := h.eng.Cancel(ctx, info.RunID, "user pressed stop"); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkStream(t, evs, 1)
	c, ok := last[event.RunCancelledData](evs)
	if !ok || c.Reason != "user pressed stop" {
		t.Fatalf("last event %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	if end, _ := last[event.MessageEndData](evs); !end.Aborted {
		t.Errorf("the cut message was not closed as aborted")
	}
	if err := h.eng.Cancel(ctx, info.RunID, ""); !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("second cancel: %v, want ErrNotRunning", err)
	}
	rec, _ := h.eng.Run(ctx, info.RunID)
	if rec.Status != store.StatusCancelled {
		t.Errorf("status %s", rec.Status)
	}
}

func TestModelErrorMidStreamIsRetried(t *testing.T) {
	h := newHarness(t, []string{single})
	h.off.InjectFault(offline.Fault{Kind: offline.FaultMidStream, After: 2, Times: 1})
	_, evs := h.run("single", "Say exactly: hello there general")
	fin, ok := last[event.RunFinishedData](evs)
	if !ok || fin.Output != "hello there general" {
		t.Fatalf("run did not recover: %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	ends := all[event.MessageEndData](evs)
	if len(ends) != 2 || !ends[0].Aborted || ends[1].Aborted {
		t.Fatalf("want the cut message aborted, then a whole one; got %+v", ends)
	}
	if fin.Usage.Calls != 1 {
		t.Errorf("usage counts %d calls; the failed attempt reported no usage", fin.Usage.Calls)
	}
}

func TestModelErrorsExhaustRetries(t *testing.T) {
	h := newHarness(t, []string{single})
	h.off.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Status: 503, Times: -1})
	_, evs := h.run("single", "hi")
	f, ok := last[event.RunFailedData](evs)
	if !ok || f.Error.Code != "model_unavailable" {
		t.Fatalf("want run.failed model_unavailable, got %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	if got := h.off.Received(); got != 4 {
		t.Errorf("model called %d times, want 1 + 3 retries", got)
	}
}

func TestPermanentModelErrorFailsAtOnce(t *testing.T) {
	h := newHarness(t, []string{single})
	h.off.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Status: 401, Times: -1})
	_, evs := h.run("single", "hi")
	f, ok := last[event.RunFailedData](evs)
	if !ok || f.Error.Code != "model_error" || !strings.Contains(f.Error.Message, "401") {
		t.Fatalf("got %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	if got := h.off.Received(); got != 1 {
		t.Errorf("a permanent error was retried: %d calls", got)
	}
}

const loop = `
version: 1
name: loop
limits: {max_steps: 5, retry_backoff: 1ms}
agents:
  - name: writer
    instructions: You are a writer.
  - name: critic
    instructions: You are a critic.
graph:
  start: writer
  nodes:
    - {id: writer, agent: writer}
    - {id: critic, agent: critic}
  edges:
    - {from: writer, to: critic}
    - {from: critic, to: writer, when: {not_contains: NEVER}}
    - {from: critic, to: end, when: default}
`

func TestMaxStepsEndsWithAnAnswer(t *testing.T) {
	h := newHarness(t, []string{loop})
	_, evs := h.run("loop", "Write a slogan.")
	fin, ok := last[event.RunFinishedData](evs)
	if !ok {
		t.Fatalf("run did not finish gracefully: %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	if fin.Limit != "max_steps" || fin.Output == "" {
		t.Fatalf("finished %+v", fin)
	}
	steps := all[event.StepStartedData](evs)
	if len(steps) != 6 { // 5 steps and the final answer
		t.Errorf("%d steps, want 5 and one final answer", len(steps))
	}
}

const groupRR = `
version: 1
name: rr
agents:
  - {name: ann, instructions: You are Ann.}
  - {name: bob, instructions: You are Bob.}
group_chat: {coordinator: round_robin, agents: [ann, bob], max_rounds: 3}
`

func TestRoundRobinStopsAtMaxRounds(t *testing.T) {
	h := newHarness(t, []string{groupRR})
	_, evs := h.run("rr", "Discuss.")
	if got := strings.Join(routes(evs), ","); got != "ann,bob,ann,finish" {
		t.Fatalf("routes %s", got)
	}
	fin, _ := last[event.RunFinishedData](evs)
	if fin.Limit != "max_rounds" || !strings.HasPrefix(fin.Output, "As Ann") {
		t.Fatalf("finished %+v", fin)
	}
}

// TestConcurrentRuns runs 200 runs at once and checks that no run sees another's events.
func TestConcurrentRuns(t *testing.T) {
	h := newHarness(t, []string{single, example(t, "panel")})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wf, input := "single", fmt.Sprintf("Say exactly: token-%d", i)
			if i%10 == 0 {
				wf = "panel"
			}
			info, err := h.eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Input: input})
			if err != nil {
				errs <- err
				return
			}
			evs := h.collect(info.RunID, 0)
			for j, e := range evs {
				if e.RunID != info.RunID || e.ThreadID != info.ThreadID || e.Seq != uint64(j+1) {
					errs <- fmt.Errorf("run %s got event %d of %s/%s seq %d", info.RunID, j, e.RunID, e.ThreadID, e.Seq)
					return
				}
			}
			fin, ok := last[event.RunFinishedData](evs)
			if !ok {
				errs <- fmt.Errorf("run %d did not finish", i)
				return
			}
			if wf == "single" && fin.Output != fmt.Sprintf("token-%d", i) {
				errs <- fmt.Errorf("run %d answered %q", i, fin.Output)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStartValidation(t *testing.T) {
	h := newHarness(t, []string{single})
	ctx := context.Background()
	for _, c := range []struct {
		req  engine.StartRequest
		want error
	}{
		{engine.StartRequest{Workflow: "nope", Input: "x"}, engine.ErrUnknownWorkflow},
		{engine.StartRequest{Workflow: "single", Input: "  "}, engine.ErrInvalidInput},
		{engine.StartRequest{Workflow: "single", Input: strings.Repeat("x", engine.MaxInputBytes+1)}, engine.ErrInvalidInput},
		{engine.StartRequest{Workflow: "single", Input: "x", RunID: "bad id!"}, engine.ErrInvalidInput},
		{engine.StartRequest{Workflow: "single", Input: "x", ThreadID: strings.Repeat("t", 200)}, engine.ErrInvalidInput},
	} {
		if _, err := h.eng.Start(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.req.RunID, err, c.want)
		}
	}
	info, _ := h.run("single", "Say exactly: a")
	if _, err := h.eng.Start(ctx, engine.StartRequest{Workflow: "single", Input: "x", RunID: info.RunID}); !errors.Is(err, engine.ErrRunExists) {
		t.Errorf("duplicate run id: %v", err)
	}
	if _, err := h.eng.Subscribe(ctx, "run_missing", 0); !errors.Is(err, engine.ErrUnknownRun) {
		t.Errorf("subscribe to missing run: %v", err)
	}
}

// TestResubscribeMidway checks that a watcher joining after seq k gets exactly k+1..end.
func TestResubscribeMidway(t *testing.T) {
	h := newHarness(t, []string{single})
	info, evs := h.run("single", "Say exactly: one two three four five")
	for _, k := range []uint64{0, 1, 3, uint64(len(evs)) - 1, uint64(len(evs))} {
		got := h.collect(info.RunID, k)
		if len(got) != len(evs)-int(k) {
			t.Fatalf("after %d: %d events, want %d", k, len(got), len(evs)-int(k))
		}
		for i, e := range got {
			if e.Seq != k+uint64(i)+1 || e.Type != evs[int(k)+i].Type {
				t.Fatalf("after %d: event %d is seq %d %s", k, i, e.Seq, e.Type)
			}
		}
	}
}
