package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/workflow"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	goleak.VerifyTestMain(m)
}

// harness is an engine on real parts: the offline model over HTTP on 127.0.0.1 through the
// go-openai adapter, a SQLite store in a temp dir, workflows parsed from YAML.
type harness struct {
	t       testing.TB
	off     *offline.Server
	running *offline.Running
	models  *llm.Providers
	store   *sqlite.Store
	dbPath  string
	wfs     engine.WorkflowMap
	tools   engine.Tools
	eng     *engine.Engine
	// front, when set, wraps the offline model's HTTP handler (tests put a barrier in front).
	front func(http.Handler) http.Handler
	// wrapStore, when set, wraps the store the engine uses (tests make it fail).
	wrapStore func(store.Store) store.Store
}

type harnessOpt func(*harness)

func withTools(t engine.Tools) harnessOpt { return func(h *harness) { h.tools = t } }

func withTokenDelay(d time.Duration) harnessOpt {
	return func(h *harness) { h.off = offline.New(offline.Options{TokenDelay: d}) }
}

func withDB(path string) harnessOpt { return func(h *harness) { h.dbPath = path } }

func withFront(f func(http.Handler) http.Handler) harnessOpt { return func(h *harness) { h.front = f } }

func withStoreWrap(f func(store.Store) store.Store) harnessOpt {
	return func(h *harness) { h.wrapStore = f }
}

func newHarness(t testing.TB, yamls []string, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, wfs: engine.WorkflowMap{}}
	for _, o := range opts {
		o(h)
	}
	if h.off == nil {
		h.off = offline.New(offline.Options{})
	}
	ctx := context.Background()
	var err error
	h.running, err = h.off.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.running.Close() })
	base := h.running.BaseURL
	if h.front != nil {
		target, _ := url.Parse(base)
		path := target.Path
		target.Path = ""
		front := httptest.NewServer(h.front(httputil.NewSingleHostReverseProxy(target)))
		t.Cleanup(front.Close)
		base = front.URL + path
	}
	h.models, err = llm.NewProviders("offline", llm.Config{Name: "offline", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.models.Close() })
	if h.dbPath == "" {
		h.dbPath = filepath.Join(t.TempDir(), "fleet.db")
	}
	for i, y := range yamls {
		wf, err := workflow.Parse(fmt.Sprintf("test%d.yaml", i), []byte(y))
		if err != nil {
			t.Fatalf("workflow %d: %v", i, err)
		}
		h.wfs[wf.Name] = wf
	}
	h.open()
	return h
}

// open opens the store and an engine on it (again, after restart).
func (h *harness) open() {
	h.t.Helper()
	st, err := sqlite.Open(context.Background(), h.dbPath)
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = st
	var es store.Store = st
	if h.wrapStore != nil {
		es = h.wrapStore(st)
	}
	eng, err := engine.New(engine.Config{Store: es, Models: h.models, Workflows: h.wfs, Tools: h.tools,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		h.t.Fatal(err)
	}
	h.eng = eng
	h.t.Cleanup(h.shut)
}

// shut closes the engine and store, as a process exit would.
func (h *harness) shut() {
	if h.eng == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.eng.Close(ctx); err != nil {
		h.t.Errorf("engine close: %v", err)
	}
	if err := h.store.Close(); err != nil {
		h.t.Errorf("store close: %v", err)
	}
	h.eng = nil
}

// restart simulates a process restart: a new engine and store on the same database.
func (h *harness) restart() {
	h.shut()
	h.open()
}

func (h *harness) start(wf, input string) engine.RunInfo {
	h.t.Helper()
	info, err := h.eng.Start(context.Background(), engine.StartRequest{Workflow: wf, Input: input})
	if err != nil {
		h.t.Fatalf("start %s: %v", wf, err)
	}
	return info
}

// collect reads a run's events from seq after until the stream ends or pauses.
func (h *harness) collect(runID string, after uint64) []event.Event {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := h.eng.Subscribe(ctx, runID, after)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []event.Event
	for {
		evs, err := sub.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			h.t.Fatalf("subscription of %s: %v (after %d events)", runID, err, len(out))
		}
		out = append(out, evs...)
	}
}

// run starts a run and returns all its events, checked against the stream invariants.
func (h *harness) run(wf, input string) (engine.RunInfo, []event.Event) {
	h.t.Helper()
	info := h.start(wf, input)
	evs := h.collect(info.RunID, 0)
	checkStream(h.t, evs, 1)
	return info, evs
}

// checkStream verifies what docs/events.md promises of one stretch of a run's stream: seqs
// continue from first without gaps, the run/thread ids never change, every span opened is closed
// before the stretch's last event, deltas are not empty, and exactly the last event ends it.
func checkStream(t testing.TB, evs []event.Event, first uint64) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	if first == 1 && evs[0].Type != event.RunStarted {
		t.Fatalf("first event is %s, want run.started", evs[0].Type)
	}
	open := map[string]bool{}
	for i, e := range evs {
		if e.Seq != first+uint64(i) {
			t.Fatalf("event %d has seq %d, want %d", i, e.Seq, first+uint64(i))
		}
		if e.RunID != evs[0].RunID || e.ThreadID != evs[0].ThreadID {
			t.Fatalf("seq %d belongs to run %s/%s, stream is %s/%s", e.Seq, e.RunID, e.ThreadID, evs[0].RunID, evs[0].ThreadID)
		}
		if e.Type.Pause() != (i == len(evs)-1) {
			t.Fatalf("seq %d %s: pause/terminal events must end the stream (and only them)", e.Seq, e.Type)
		}
		checkSpan(t, open, e)
	}
	if len(open) > 0 {
		t.Fatalf("spans left open at %s: %v", evs[len(evs)-1].Type, open)
	}
}

// spanRole says what an event does to a span: open or close it, or add a delta to it.
type spanRole struct {
	kind string
	role int // spanOpen, spanClose, spanDelta
	id   func(event.Event) string
}

const (
	spanOpen = iota
	spanClose
	spanDelta
)

var spanRoles = map[event.Type]spanRole{
	event.StepStarted:    {"step", spanOpen, func(e event.Event) string { return e.Node }},
	event.StepFinished:   {"step", spanClose, func(e event.Event) string { return e.Node }},
	event.MessageStart:   {"msg", spanOpen, func(e event.Event) string { return e.Data.(event.MessageStartData).MessageID }},
	event.MessageEnd:     {"msg", spanClose, func(e event.Event) string { return e.Data.(event.MessageEndData).MessageID }},
	event.MessageDelta:   {"msg", spanDelta, func(e event.Event) string { return e.Data.(event.MessageDeltaData).MessageID }},
	event.ReasoningStart: {"rsn", spanOpen, func(e event.Event) string { return e.Data.(event.ReasoningStartData).MessageID }},
	event.ReasoningEnd:   {"rsn", spanClose, func(e event.Event) string { return e.Data.(event.ReasoningEndData).MessageID }},
	event.ReasoningDelta: {"rsn", spanDelta, func(e event.Event) string { return e.Data.(event.ReasoningDeltaData).MessageID }},
	event.ToolStart:      {"tool", spanOpen, func(e event.Event) string { return e.Data.(event.ToolStartData).CallID }},
	event.ToolEnd:        {"tool", spanClose, func(e event.Event) string { return e.Data.(event.ToolEndData).CallID }},
	event.ToolArgs:       {"tool", spanDelta, func(e event.Event) string { return e.Data.(event.ToolArgsData).CallID }},
}

// deltaText is the text of a delta event.
func deltaText(e event.Event) string {
	switch d := e.Data.(type) {
	case event.MessageDeltaData:
		return d.Delta
	case event.ReasoningDeltaData:
		return d.Delta
	case event.ToolArgsData:
		return d.Delta
	}
	return ""
}

func checkSpan(t testing.TB, open map[string]bool, e event.Event) {
	t.Helper()
	r, ok := spanRoles[e.Type]
	if !ok {
		return
	}
	k := r.kind + ":" + r.id(e)
	switch r.role {
	case spanOpen:
		if open[k] {
			t.Fatalf("seq %d reopens %s", e.Seq, k)
		}
		open[k] = true
	case spanClose:
		if !open[k] {
			t.Fatalf("seq %d closes %s, which is not open", e.Seq, k)
		}
		delete(open, k)
	case spanDelta:
		if deltaText(e) == "" || !open[k] {
			t.Fatalf("seq %d: empty delta or delta outside %s", e.Seq, k)
		}
	}
}

// last returns the payload of the last event of type T.
func last[T event.Payload](evs []event.Event) (T, bool) {
	var zero T
	for i := len(evs) - 1; i >= 0; i-- {
		if p, ok := evs[i].Data.(T); ok {
			return p, true
		}
	}
	return zero, false
}

// all returns every payload of type T, in order.
func all[T event.Payload](evs []event.Event) []T {
	var out []T
	for _, e := range evs {
		if p, ok := e.Data.(T); ok {
			out = append(out, p)
		}
	}
	return out
}

// text joins the deltas of each message, by agent, in order of message start.
func messages(evs []event.Event) []string {
	var out []string
	idx := map[string]int{}
	for _, e := range evs {
		switch d := e.Data.(type) {
		case event.MessageStartData:
			idx[d.MessageID] = len(out)
			out = append(out, d.Name+": ")
		case event.MessageDeltaData:
			out[idx[d.MessageID]] += d.Delta
		}
	}
	return out
}

func routes(evs []event.Event) []string {
	var out []string
	for _, r := range all[event.RouteData](evs) {
		if r.Kind == "finish" {
			out = append(out, "finish")
			continue
		}
		out = append(out, strings.Join(r.To, "+"))
	}
	return out
}
