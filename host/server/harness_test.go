package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/workflow"
	workflows "github.com/agentfleet/fleet/examples/workflows"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/host/server"
	"github.com/agentfleet/fleet/host/store/sqlite"
	"github.com/agentfleet/fleet/internal/testwasm"
)

var sharedHost *plugin.Host

func TestMain(m *testing.M) {
	h, err := plugin.NewHost(context.Background(), plugin.Config{Logger: quietLog()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedHost = h
	code := m.Run()
	h.Close(context.Background())
	if code == 0 {
		if err := goleak.Find(fasthttpBackground...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fasthttpBackground are fasthttp's own background goroutines: a process-wide clock for the Date
// header, and each stopped server's worker-pool cleaner, which sleeps up to 10 s before it sees
// the stop.
var fasthttpBackground = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
}

func quietLog() *slog.Logger {
	if os.Getenv("FLEET_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// firstParty are the first-party plugins' packages, by name.
var firstParty = map[string]string{
	"calc": "../../plugins/calc", "clock": "../../plugins/clock", "http": "../../plugins/http",
	"json": "../../plugins/json", "text": "../../plugins/text",
}

// pluginWasm builds a first-party plugin (cached by its sources) and returns its bytes.
func pluginWasm(t testing.TB, name string) []byte { return testwasm.Build(t, firstParty[name]) }

// manifests grant what the tests need: the http plugin may reach 127.0.0.1 (and nothing else).
var manifests = map[string]plugin.Manifest{
	"http":  {Capabilities: plugin.Capabilities{HTTP: &plugin.HTTPGrant{Allow: []string{"127.0.0.1"}, AllowPrivate: true}}},
	"clock": {Capabilities: plugin.Capabilities{Clock: true}},
}

// tools adapts a plugin registry to the engine, as internal/app does.
type tools struct{ reg *plugin.Registry }

func (t tools) Lookup(name string) (engine.ToolInfo, bool) {
	for _, ref := range t.reg.Tools() {
		if ref.Qualified == name || (ref.Unique && ref.Tool.Name == name) {
			return engine.ToolInfo{Name: ref.Qualified, Plugin: ref.Plugin, Tool: ref.Tool.Name,
				Description: ref.Tool.Description, Parameters: ref.Tool.Parameters}, true
		}
	}
	return engine.ToolInfo{}, false
}

func (t tools) Call(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	return t.reg.Call(ctx, name, args)
}

// workflowList implements server.WorkflowLister.
type workflowList struct{ m engine.WorkflowMap }

func (w workflowList) List() []*workflow.Workflow {
	out := make([]*workflow.Workflow, 0, len(w.m))
	for _, name := range []string{"approval", "assistant", "groupchat", "handoff", "panel", "research", "review", "echo"} {
		if wf, ok := w.m[name]; ok {
			out = append(out, wf)
		}
	}
	return out
}

// echoWorkflow has no tools: its one agent answers "Say exactly: X" with X.
const echoWorkflow = `version: 1
name: echo
description: Repeats what it is told.
agents:
  - name: echo
    instructions: You are an echo.
`

// stackOpts tune a stack.
type stackOpts struct {
	tokenDelay time.Duration
	cfg        func(*serverConfig)
	dataDir    string
	noPlugins  bool
	lnWrap     func(net.Listener) net.Listener // wraps the server's listener (to watch its connections)
}

// stack is the whole server on real parts: the offline model over HTTP, SQLite in a temp dir, the
// first-party plugins in the real wazero host, the engine, and the server on 127.0.0.1:0.
type stack struct {
	t       testing.TB
	opts    stackOpts
	off     *offline.Server
	running *offline.Running
	models  *llm.Providers
	plugins *plugin.Registry
	wfs     engine.WorkflowMap
	metrics *server.Metrics
	store   *sqlite.Store
	eng     *engine.Engine
	srv     *server.Server
	ln      net.Listener
	url     string
	served  chan error
	stopped bool
}

func newStack(t testing.TB, opts stackOpts) *stack {
	t.Helper()
	st := &stack{t: t, opts: opts, wfs: engine.WorkflowMap{}}
	if st.opts.dataDir == "" {
		st.opts.dataDir = t.TempDir()
	}
	var err error
	st.off = offline.New(offline.Options{TokenDelay: opts.tokenDelay})
	st.running, err = st.off.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.running.Close() })
	st.models, err = llm.NewProviders("offline", llm.Config{Name: "offline", BaseURL: st.running.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.models.Close() })
	st.plugins = plugin.NewRegistry()
	t.Cleanup(func() { st.plugins.Close(context.Background()) })
	if !opts.noPlugins {
		st.loadPlugins()
	}
	st.loadWorkflows()
	st.start()
	t.Cleanup(st.stop)
	return st
}

func (st *stack) loadPlugins() {
	st.t.Helper()
	for name := range firstParty {
		p, err := sharedHost.Load(context.Background(), pluginWasm(st.t, name), manifests[name])
		if err != nil {
			st.t.Fatalf("load plugin %s: %v", name, err)
		}
		if err := st.plugins.Add(p); err != nil {
			st.t.Fatal(err)
		}
	}
}

func (st *stack) loadWorkflows() {
	st.t.Helper()
	files, _ := fs.Glob(workflows.FS, "*.yaml")
	for _, f := range files {
		b, _ := fs.ReadFile(workflows.FS, f)
		wf, err := workflow.Parse(f, b)
		if err != nil {
			st.t.Fatalf("%s: %v", f, err)
		}
		st.wfs[wf.Name] = wf
	}
	wf, err := workflow.Parse("echo.yaml", []byte(echoWorkflow))
	if err != nil {
		st.t.Fatal(err)
	}
	st.wfs[wf.Name] = wf
}

// start opens the store and the engine and serves (again, after stop: a restart).
func (st *stack) start() {
	st.t.Helper()
	var err error
	st.store, err = sqlite.Open(context.Background(), filepath.Join(st.opts.dataDir, "fleet.db"))
	if err != nil {
		st.t.Fatal(err)
	}
	st.metrics = server.NewMetrics(nil)
	st.eng, err = engine.New(engine.Config{Store: st.store, Models: st.models, Workflows: st.wfs,
		Tools: st.metrics.Tools(tools{st.plugins}), Logger: quietLog()})
	if err != nil {
		st.t.Fatal(err)
	}
	cfg := server.Config{Engine: st.eng, Plugins: st.plugins, Workflows: workflowList{st.wfs}, Logger: quietLog(),
		Metrics: st.metrics}
	if st.opts.cfg != nil {
		st.opts.cfg(&cfg)
	}
	st.srv, err = server.New(cfg)
	if err != nil {
		st.t.Fatal(err)
	}
	st.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.t.Fatal(err)
	}
	st.url = "http://" + st.ln.Addr().String()
	if st.opts.lnWrap != nil {
		st.ln = st.opts.lnWrap(st.ln)
	}
	st.served = make(chan error, 1)
	go func() { st.served <- st.srv.Serve(st.ln) }()
	st.stopped = false
}

// stop shuts the server down, then closes the engine (runs checkpoint) and the store, as the
// process would on SIGTERM.
func (st *stack) stop() {
	if st.stopped {
		return
	}
	st.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := st.srv.Shutdown(ctx); err != nil {
		st.t.Errorf("server shutdown: %v", err)
	}
	if err := <-st.served; err != nil {
		st.t.Errorf("serve: %v", err)
	}
	if err := st.eng.Close(ctx); err != nil {
		st.t.Errorf("engine close: %v", err)
	}
	if err := st.store.Close(); err != nil {
		st.t.Errorf("store close: %v", err)
	}
}

func (st *stack) restart() {
	st.stop()
	st.start()
}

// do sends a request and returns the status and body.
func (st *stack) do(method, path, body string, hdr ...string) (int, string) {
	st.t.Helper()
	req, err := http.NewRequest(method, st.url+path, strings.NewReader(body))
	if err != nil {
		st.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		st.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// runRecord reads a run's record through the API.
func (st *stack) runRecord(runID string) map[string]any {
	st.t.Helper()
	code, body := st.do("GET", "/v1/runs/"+runID, "")
	if code != 200 {
		st.t.Fatalf("GET run %s: %d %s", runID, code, body)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		st.t.Fatal(err)
	}
	return rec
}

// waitStatus waits for a run to reach a status, following its events (no polling).
func (st *stack) waitStatus(runID string, want string) map[string]any {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := st.eng.Subscribe(ctx, runID, 0)
	if err != nil {
		st.t.Fatal(err)
	}
	for {
		if _, err := sub.Next(ctx); err != nil {
			break
		}
	}
	rec := st.runRecord(runID)
	if rec["status"] != want {
		st.t.Fatalf("run %s is %v, want %s (error %v)", runID, rec["status"], want, rec["error"])
	}
	return rec
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	ID       string
	Data     string
	Comments []string
	Other    []string // any other field lines (event:, retry:) — there must be none
}

// sseReader reads events from a stream, checking the framing as it goes.
type sseReader struct {
	t  testing.TB
	r  *bufio.Reader
	rc io.Closer
}

func newSSEReader(t testing.TB, resp *http.Response) *sseReader {
	return &sseReader{t: t, r: bufio.NewReader(resp.Body), rc: resp.Body}
}

// next returns the next event (comments attached to the next event or returned alone), or io.EOF.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	seen := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && !seen {
				return ev, io.EOF
			}
			if err == io.EOF {
				return ev, fmt.Errorf("stream cut inside an event: %q", line)
			}
			return ev, err
		}
		if strings.HasSuffix(line, "\r\n") {
			s.t.Errorf("CRLF line ending in %q", line)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if seen {
				return ev, nil
			}
			continue
		}
		seen = true
		switch {
		case strings.HasPrefix(line, ":"):
			ev.Comments = append(ev.Comments, strings.TrimSpace(line[1:]))
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "data: "):
			if ev.Data != "" {
				ev.Data += "\n"
			}
			ev.Data += line[6:]
		default:
			ev.Other = append(ev.Other, line)
		}
	}
}

// all reads every event to the end of the stream.
func (s *sseReader) all() []sseEvent {
	s.t.Helper()
	var out []sseEvent
	for {
		ev, err := s.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			s.t.Fatalf("read SSE: %v (after %d events)", err, len(out))
		}
		out = append(out, ev)
	}
}

// postRun posts a RunAgentInput and returns the open response.
func (st *stack) postRun(workflow, format, body string, hdr ...string) *http.Response {
	st.t.Helper()
	url := st.url + "/v1/workflows/" + workflow + "/runs"
	if format != "" {
		url += "?format=" + format
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	return resp
}

// input builds a RunAgentInput with one user message.
func input(threadID, runID, message string) string {
	b, _ := json.Marshal(map[string]any{"threadId": threadID, "runId": runID,
		"messages": []any{map[string]any{"id": "u1", "role": "user", "content": message}},
		"tools":    []any{}, "context": []any{}, "state": map[string]any{}, "forwardedProps": map[string]any{}})
	return string(b)
}

// fleetEvents decodes the data of fleet-format SSE events (skipping events without data).
func fleetEvents(t testing.TB, evs []sseEvent) []event.Event {
	t.Helper()
	var out []event.Event
	for _, e := range evs {
		if e.Data == "" {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			t.Fatalf("decode %q: %v", e.Data, err)
		}
		out = append(out, ev)
	}
	return out
}

// wsClient is a test WebSocket client: one reader goroutine delivering messages on a channel.
type wsClient struct {
	t    testing.TB
	c    *websocket.Conn
	msgs chan wsMsg
	done chan struct{}
	mu   sync.Mutex
}

type wsMsg struct {
	Type     string          `json:"type"`
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	RunID    string          `json:"runId"`
	ThreadID string          `json:"threadId"`
	Seq      uint64          `json:"seq"`
	Part     *int            `json:"part"`
	Frame    json.RawMessage `json:"frame"`
	raw      []byte
	closeErr error
}

func (st *stack) dialWS(hdr http.Header, query string) (*wsClient, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(st.url, "http") + "/v1/chat" + query
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(u, hdr)
	if err != nil {
		return nil, resp, err
	}
	wc := &wsClient{t: st.t, c: c, msgs: make(chan wsMsg, 4096), done: make(chan struct{})}
	go wc.readLoop()
	st.t.Cleanup(wc.close)
	return wc, resp, nil
}

func (st *stack) ws() *wsClient {
	st.t.Helper()
	wc, resp, err := st.dialWS(nil, "")
	if err != nil {
		st.t.Fatalf("dial: %v (%v)", err, resp)
	}
	return wc
}

func (w *wsClient) readLoop() {
	defer close(w.done)
	defer close(w.msgs)
	for {
		_, b, err := w.c.ReadMessage()
		if err != nil {
			w.msgs <- wsMsg{Type: "closed", closeErr: err}
			return
		}
		var m wsMsg
		if err := json.Unmarshal(b, &m); err != nil {
			w.msgs <- wsMsg{Type: "undecodable", raw: b}
			continue
		}
		m.raw = b
		w.msgs <- m
	}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		b, _ = json.Marshal(v)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
		w.t.Fatalf("ws send: %v", err)
	}
}

// next returns the next message within the timeout.
func (w *wsClient) next(timeout time.Duration) wsMsg {
	w.t.Helper()
	select {
	case m, ok := <-w.msgs:
		if !ok {
			w.t.Fatal("ws: connection over")
		}
		return m
	case <-time.After(timeout):
		w.t.Fatalf("ws: no message within %v", timeout)
	}
	return wsMsg{}
}

func (w *wsClient) close() {
	w.c.Close()
	<-w.done
}

// runFrames collects a run's frames from a WebSocket until the frame for which stop is true.
func (w *wsClient) runFrames(runID string, stop func(wsMsg) bool) []wsMsg {
	w.t.Helper()
	var out []wsMsg
	for {
		m := w.next(30 * time.Second)
		if m.Type == "error" || m.Type == "closed" {
			w.t.Fatalf("ws: %s %s %s %v", m.Type, m.Code, m.Message, m.closeErr)
		}
		if m.RunID != runID {
			w.t.Fatalf("ws: frame of run %q while waiting for %s: %s", m.RunID, runID, m.raw)
		}
		out = append(out, m)
		if stop(m) {
			return out
		}
	}
}

// fleetType is the type of a fleet-format frame.
func fleetType(m wsMsg) event.Type {
	var e struct {
		Type event.Type `json:"type"`
	}
	json.Unmarshal(m.Frame, &e)
	return e.Type
}

func pauses(m wsMsg) bool { return fleetType(m).Pause() }

// output returns the run.finished output in fleet frames.
func outputOf(t testing.TB, frames []json.RawMessage) string {
	for _, f := range frames {
		var e event.Event
		if err := json.Unmarshal(f, &e); err == nil {
			if d, ok := e.Data.(event.RunFinishedData); ok {
				return d.Output
			}
		}
	}
	t.Fatalf("no run.finished among %d frames", len(frames))
	return ""
}

func frameData(ms []wsMsg) []json.RawMessage {
	out := make([]json.RawMessage, len(ms))
	for i, m := range ms {
		out[i] = m.Frame
	}
	return out
}

// metric returns the value of a metric line of /metrics ("name{labels}"), or -1 if absent.
func (st *stack) metric(series string) float64 {
	st.t.Helper()
	_, body := st.do("GET", "/metrics", "")
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}

var _ = bytes.NewReader

type serverConfig = server.Config
