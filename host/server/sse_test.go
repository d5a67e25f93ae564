package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

// checkFleetStream verifies docs/events.md's promises on a stretch of fleet frames, and that each
// frame's SSE id is "<runId>:<seq>".
func checkFleetStream(t *testing.T, runID string, raw []sseEvent, first uint64) []event.Event {
	t.Helper()
	var evs []event.Event
	for _, r := range raw {
		if len(r.Other) > 0 {
			t.Fatalf("SSE field lines other than id/data: %q", r.Other)
		}
		if r.Data == "" {
			continue
		}
		var e event.Event
		if err := json.Unmarshal([]byte(r.Data), &e); err != nil {
			t.Fatalf("frame %q: %v", r.Data, err)
		}
		if want := fmt.Sprintf("%s:%d", runID, e.Seq); r.ID != want {
			t.Fatalf("frame seq %d has id %q, want %q", e.Seq, r.ID, want)
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	open := map[string]bool{}
	for i, e := range evs {
		if e.Seq != first+uint64(i) || e.RunID != runID {
			t.Fatalf("event %d: seq %d run %s, want seq %d run %s", i, e.Seq, e.RunID, first+uint64(i), runID)
		}
		if e.Type.Pause() != (i == len(evs)-1) {
			t.Fatalf("seq %d %s: only the last event may end the stretch", e.Seq, e.Type)
		}
		trackSpans(t, open, e)
	}
	if len(open) > 0 {
		t.Fatalf("spans left open: %v", open)
	}
	return evs
}

var spanKeys = map[event.Type]struct {
	kind  string
	opens bool
}{
	event.StepStarted: {"step", true}, event.StepFinished: {"step", false},
	event.MessageStart: {"msg", true}, event.MessageEnd: {"msg", false},
	event.ReasoningStart: {"rsn", true}, event.ReasoningEnd: {"rsn", false},
	event.ToolStart: {"tool", true}, event.ToolEnd: {"tool", false},
}

func trackSpans(t *testing.T, open map[string]bool, e event.Event) {
	t.Helper()
	sk, ok := spanKeys[e.Type]
	if !ok {
		return
	}
	var d struct {
		MessageID string `json:"message_id"`
		CallID    string `json:"call_id"`
	}
	b, _ := json.Marshal(e.Data)
	json.Unmarshal(b, &d)
	key := sk.kind + ":" + e.Node
	switch sk.kind {
	case "tool":
		key = sk.kind + ":" + d.CallID
	case "msg", "rsn":
		key = sk.kind + ":" + d.MessageID
	}
	if sk.opens == open[key] {
		t.Fatalf("seq %d %s: span %s open=%v", e.Seq, e.Type, key, open[key])
	}
	if sk.opens {
		open[key] = true
	} else {
		delete(open, key)
	}
}

func TestSSERunFleetFormat(t *testing.T) {
	st := newStack(t, stackOpts{})
	resp := st.postRun("assistant", "fleet", input("thr_sse", "run_sse", "What is 17*23?"))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	evs := checkFleetStream(t, "run_sse", newSSEReader(t, resp).all(), 1)
	last := evs[len(evs)-1]
	fin, ok := last.Data.(event.RunFinishedData)
	if !ok || fin.Output != "17*23 = 391." {
		t.Fatalf("last event %s %+v, want run.finished with 17*23 = 391.", last.Type, last.Data)
	}
	if evs[0].ThreadID != "thr_sse" {
		t.Fatalf("thread %s", evs[0].ThreadID)
	}
	rec := st.runRecord("run_sse")
	if rec["status"] != "succeeded" || rec["output"] != "17*23 = 391." {
		t.Fatalf("record %v", rec)
	}
}

func TestSSEFreshIDs(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	resp := st.postRun("echo", "fleet", `{"messages":[{"id":"m","role":"user","content":"Say exactly: fresh"}]}`)
	defer resp.Body.Close()
	evs := fleetEvents(t, newSSEReader(t, resp).all())
	if !strings.HasPrefix(evs[0].RunID, "run_") || !strings.HasPrefix(evs[0].ThreadID, "thr_") {
		t.Fatalf("ids %s %s", evs[0].RunID, evs[0].ThreadID)
	}
	if fin, _ := evs[len(evs)-1].Data.(event.RunFinishedData); fin.Output != "fresh" {
		t.Fatalf("output %q", fin.Output)
	}
}

// TestSSEHeartbeat: a quiet stream gets ": ping" comments (the interval is shortened by config).
func TestSSEHeartbeat(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 150 * time.Millisecond, cfg: func(c *serverConfig) {
		c.Heartbeat = 20 * time.Millisecond
	}})
	resp := st.postRun("echo", "fleet", input("thr_hb", "run_hb", "Say exactly: one two three"))
	defer resp.Body.Close()
	raw := newSSEReader(t, resp).all()
	pings := 0
	for _, e := range raw {
		for _, c := range e.Comments {
			if c != "ping" {
				t.Fatalf("comment %q", c)
			}
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("no heartbeat during 150 ms pauses between tokens")
	}
	checkFleetStream(t, "run_hb", raw, 1)
}

// TestSSEResumeAfterDrop drops a stream mid-run and resumes it with Last-Event-ID and with
// ?after=: together the pieces are the whole run, each event exactly once.
func TestSSEResumeAfterDrop(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 5 * time.Millisecond})
	words := strings.Repeat("word ", 60)
	resp := st.postRun("echo", "fleet", input("thr_res", "run_res", "Say exactly: "+words))
	r := newSSEReader(t, resp)
	var first []sseEvent
	for len(first) < 7 {
		ev, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Data != "" {
			first = append(first, ev)
		}
	}
	resp.Body.Close() // the client drops the connection mid-run
	lastID := first[len(first)-1].ID
	if lastID != "run_res:7" {
		t.Fatalf("7th frame id %q", lastID)
	}

	// Resume with Last-Event-ID, read a few more, drop again.
	req, _ := http.NewRequest("GET", st.url+"/v1/runs/run_res/events?format=fleet", nil)
	req.Header.Set("Last-Event-ID", lastID)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2 := newSSEReader(t, resp2)
	var second []sseEvent
	for len(second) < 5 {
		ev, err := r2.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Data != "" {
			second = append(second, ev)
		}
	}
	resp2.Body.Close()

	// Resume with ?after= to the end.
	resp3, err := http.Get(st.url + "/v1/runs/run_res/events?format=fleet&after=12")
	if err != nil {
		t.Fatal(err)
	}
	third := newSSEReader(t, resp3).all()
	resp3.Body.Close()

	all := append(append(first, second...), third...)
	evs := checkFleetStream(t, "run_res", all, 1)
	if fin, _ := evs[len(evs)-1].Data.(event.RunFinishedData); fin.Output != words {
		t.Fatalf("output %q", fin.Output)
	}

	// At the end of a finished run there is nothing more: 204 stops an EventSource.
	req, _ = http.NewRequest("GET", st.url+"/v1/runs/run_res/events?format=fleet", nil)
	req.Header.Set("Last-Event-ID", all[len(all)-1].ID)
	resp4, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp4.Body.Close()
	if resp4.StatusCode != http.StatusNoContent {
		t.Fatalf("at the end (Last-Event-ID %q): status %d, want 204", all[len(all)-1].ID, resp4.StatusCode)
	}
}

// TestSSEClientDisconnect: a client that goes away mid-run stops only its stream: the run
// succeeds, the stream is released (gauge back to 0), and the client's run slot is held until the
// run ends, not until the disconnect.
func TestSSEClientDisconnect(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 20 * time.Millisecond, cfg: func(c *serverConfig) {
		c.MaxRunsPerClient = 1
		c.Heartbeat = 10 * time.Millisecond
	}})
	resp := st.postRun("echo", "fleet", input("thr_dc", "run_dc", "Say exactly: "+strings.Repeat("slow ", 30)))
	r := newSSEReader(t, resp)
	for i := 0; i < 3; i++ {
		if _, err := r.next(); err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()

	// The run is still running: the client's one slot is taken.
	resp2 := st.postRun("echo", "fleet", input("thr_dc", "run_dc2", "Say exactly: hi"))
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), `"too_many_runs"`) {
		t.Fatalf("second run while the first runs: %d %s", resp2.StatusCode, b)
	}

	st.waitStatus("run_dc", "succeeded")
	waitFor(t, "the SSE stream to be released", func() bool {
		return st.metric(`fleet_open_streams{transport="sse"}`) == 0
	})
	// The slot is free once the run has ended (its tracker saw the end).
	waitFor(t, "the run slot to be released", func() bool {
		resp3 := st.postRun("echo", "fleet", input("thr_dc", "run_dc3", "Say exactly: again"))
		defer resp3.Body.Close()
		if resp3.StatusCode != 200 {
			return false
		}
		newSSEReader(t, resp3).all()
		return true
	})
}

// waitFor polls cond with a deadline: only for state that no event announces.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeWatch is a listener whose connections report when the server closes them.
type closeWatch struct {
	net.Listener
	conns chan *watchedConn
}

type watchedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *watchedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (l *closeWatch) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10) // so that a client that reads nothing fills the path soon
	}
	wc := &watchedConn{Conn: c, closed: make(chan struct{})}
	l.conns <- wc
	return wc, nil
}

// TestSSEStalledClientAfterTheEnd: a client asks for the end of a finished run whose last frame
// is big (run.finished carries the whole answer) and reads nothing. The stream's writer hands
// everything to fasthttp's pipe and returns; the server must still drop the connection after
// StreamWriteTimeout (it used to clear the write deadline at the end, and the blocked write then
// held the connection and a goroutine forever).
func TestSSEStalledClientAfterTheEnd(t *testing.T) {
	watch := &closeWatch{conns: make(chan *watchedConn, 1024)}
	st := newStack(t, stackOpts{noPlugins: true, lnWrap: func(l net.Listener) net.Listener { watch.Listener = l; return watch },
		cfg: func(c *serverConfig) { c.StreamWriteTimeout = 300 * time.Millisecond }})
	resp := st.postRun("echo", "fleet", input("thr_st", "run_st", "Say exactly: "+strings.Repeat("abcdefghij ", 5000)))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rec := st.waitStatus("run_st", "succeeded")
	last := uint64(rec["last_seq"].(float64))
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(st.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The server's side of this connection is the next one it accepts.
	var server *watchedConn
	for server == nil {
		c := <-watch.conns
		if c.RemoteAddr().String() == conn.LocalAddr().String() {
			server = c
		}
	}
	fmt.Fprintf(conn, "GET /v1/runs/run_st/events?format=fleet&after=%d HTTP/1.1\r\nHost: x\r\n\r\n", last-4)
	select {
	case <-server.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the server still holds the connection of a client that has read nothing for 30 s (StreamWriteTimeout 300 ms)")
	}
}

// TestSSEOrphanAtItsEnd: a run recorded as running that nothing runs (its process died and it
// was not resumed) streams what was stored, and a client at its end gets 204, not a stream that
// ends at once (which a browser's EventSource would reopen in a loop).
func TestSSEOrphanAtItsEnd(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	ctx := context.Background()
	now := time.Now().UTC()
	if err := st.store.CreateThread(ctx, store.Thread{ID: "thr_or", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.store.CreateRun(ctx, store.Run{ID: "run_or", ThreadID: "thr_or", Workflow: "echo", Status: store.StatusRunning, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	evs := []event.Event{
		{V: 1, Seq: 1, RunID: "run_or", ThreadID: "thr_or", Time: now, Type: event.RunStarted, Data: event.RunStartedData{Workflow: "echo", Input: "hi"}},
		{V: 1, Seq: 2, RunID: "run_or", ThreadID: "thr_or", Time: now, Node: "echo", Agent: "echo", Path: "echo", Type: event.StepStarted, Data: event.StepStartedData{Kind: "agent", Step: 1}},
	}
	if err := st.store.Commit(ctx, store.Commit{RunID: "run_or", Events: evs}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(st.url + "/v1/runs/run_or/events?format=fleet")
	if err != nil {
		t.Fatal(err)
	}
	got := newSSEReader(t, resp).all()
	resp.Body.Close()
	if len(got) != 2 || got[1].ID != "run_or:2" {
		t.Fatalf("stored events: %+v", got)
	}
	code, body := st.do("GET", "/v1/runs/run_or/events?format=fleet", "", "Last-Event-ID", "run_or:2")
	if code != http.StatusNoContent {
		t.Fatalf("at the end of an orphan: %d %q, want 204", code, body)
	}
}
