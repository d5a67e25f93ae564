package server_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/server"
)

// TestWSManyConnections: 60 connections, each running two workflows at once on the same
// connection, with no cross-talk: every frame carries its own run's id, every run gets its own
// answer, and every run's seqs are complete and in order.
func TestWSManyConnections(t *testing.T) {
	st := newStack(t, stackOpts{})
	const conns = 60
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wc := st.ws()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runTwo(wc, i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// runTwo starts two runs on one connection and checks their frames.
func runTwo(wc *wsClient, i int) error {
	want := map[string]string{}
	for j := range 2 {
		runID := fmt.Sprintf("run_ws_%d_%d", i, j)
		wf := []string{"echo", "assistant"}[j]
		want[runID] = fmt.Sprintf("unique-%d-%d", i, j)
		wc.send(map[string]any{"type": "run", "workflow": wf, "threadId": fmt.Sprintf("thr_ws_%d", i),
			"message": "Say exactly: " + want[runID], "format": "fleet", "runId": runID})
	}
	accepted := 0
	next := map[string]uint64{}
	done := map[string]bool{}
	for len(done) < 2 {
		var m wsMsg
		select {
		case m = <-wc.msgs:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("conn %d: timed out (%d done)", i, len(done))
		}
		switch {
		case m.Type == "accepted":
			accepted++
			continue
		case m.Type != "":
			return fmt.Errorf("conn %d: unexpected %s %s %s", i, m.Type, m.Code, m.Message)
		}
		if _, ok := want[m.RunID]; !ok {
			return fmt.Errorf("conn %d: frame of another run %q", i, m.RunID)
		}
		var e event.Event
		if err := e.UnmarshalJSON(m.Frame); err != nil {
			return err
		}
		if e.RunID != m.RunID || e.Seq != next[m.RunID]+1 || m.Seq != e.Seq {
			return fmt.Errorf("conn %d: run %s frame seq %d (wrapper %d, event run %s) after %d", i, m.RunID, e.Seq, m.Seq, e.RunID, next[m.RunID])
		}
		next[m.RunID] = e.Seq
		if fin, ok := e.Data.(event.RunFinishedData); ok {
			if fin.Output != want[m.RunID] {
				return fmt.Errorf("conn %d: run %s answered %q, want %q", i, m.RunID, fin.Output, want[m.RunID])
			}
			done[m.RunID] = true
		}
	}
	if accepted != 2 {
		return fmt.Errorf("conn %d: %d accepted frames", i, accepted)
	}
	return nil
}

func TestWSCancel(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 20 * time.Millisecond})
	wc := st.ws()
	wc.send(`{"type":"run","workflow":"echo","message":"Say exactly: ` + strings.Repeat("long ", 100) + `","format":"fleet","runId":"run_wsc"}`)
	if m := wc.next(10 * time.Second); m.Type != "accepted" || m.RunID != "run_wsc" || !strings.HasPrefix(m.ThreadID, "thr_") {
		t.Fatalf("first frame %s", m.raw)
	}
	frames := wc.runFrames("run_wsc", func(m wsMsg) bool { return fleetType(m) == event.MessageDelta })
	wc.send(`{"type":"cancel","runId":"run_wsc","reason":"changed my mind"}`)
	frames = append(frames, wc.runFrames("run_wsc", pauses)...)
	var e event.Event
	if err := e.UnmarshalJSON(frames[len(frames)-1].Frame); err != nil {
		t.Fatal(err)
	}
	if d, ok := e.Data.(event.RunCancelledData); !ok || d.Reason != "changed my mind" {
		t.Fatalf("last event %s %+v", e.Type, e.Data)
	}
	st.waitStatus("run_wsc", "cancelled")
	// Cancelling it again: 409 not_running as an error frame; the connection stays usable.
	wc.send(`{"type":"cancel","runId":"run_wsc"}`)
	if m := wc.next(5 * time.Second); m.Type != "error" || m.Code != "not_running" || m.RunID != "run_wsc" {
		t.Fatalf("second cancel: %s", m.raw)
	}
}

// TestWSMalformedFrames: each bad frame gets an error frame naming the problem, and the
// connection still runs workflows afterwards.
func TestWSMalformedFrames(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	wc := st.ws()
	for _, tc := range []struct{ frame, code, msg string }{
		{`not json`, "bad_request", "malformed JSON"},
		{`{"type":"fly"}`, "bad_request", `field type: "fly" is not run`},
		{`{"type":"run","workflow":"echo","message":"hi","colour":"red"}`, "bad_request", "field colour is not allowed"},
		{`{"type":"run","workflow":"echo","message":42}`, "bad_request", "field message: got a JSON number, want a string"},
		{`{"type":"run","workflow":"echo"}`, "bad_request", "field message: required"},
		{`{"type":"run","workflow":"nope","message":"hi","format":"fleet"}`, "unknown_workflow", `"nope"`},
		{`{"type":"run","workflow":"echo","message":"hi","format":"klingon"}`, "bad_request", `unknown format "klingon"`},
		{`{"type":"cancel","runId":"run_missing"}`, "unknown_run", "run_missing"},
		{`{"type":"approve","runId":"run_missing","approvalId":"a","format":"fleet"}`, "unknown_run", "run_missing"},
		{`{"type":"approve","runId":"x"}`, "bad_request", "approvalId"},
		{`{"type":"resume","runId":"run_missing","format":"fleet"}`, "unknown_run", "run_missing"},
		{`{"type":"resume","runId":"r","after":-1}`, "bad_request", "field after"},
		{`[1,2]`, "bad_request", ""},
	} {
		wc.send(tc.frame)
		m := wc.next(5 * time.Second)
		if m.Type != "error" || m.Code != tc.code || !strings.Contains(m.Message, tc.msg) {
			t.Errorf("frame %s: got %s, want code %s with %q", tc.frame, m.raw, tc.code, tc.msg)
		}
	}
	wc.c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	if m := wc.next(5 * time.Second); m.Type != "error" || !strings.Contains(m.Message, "text") {
		t.Errorf("binary frame: %s", m.raw)
	}
	wc.send(`{"type":"run","workflow":"echo","message":"Say exactly: still here","format":"fleet","runId":"run_after_errors"}`)
	if m := wc.next(5 * time.Second); m.Type != "accepted" {
		t.Fatalf("after errors: %s", m.raw)
	}
	frames := wc.runFrames("run_after_errors", pauses)
	if out := outputOf(t, frameData(frames)); out != "still here" {
		t.Fatalf("output %q", out)
	}
}

// TestWSOversizeFrame: a message over the read limit closes the connection with 1009.
func TestWSOversizeFrame(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) { c.WSReadLimit = 64 << 10 }})
	wc := st.ws()
	wc.send(`{"type":"run","message":"` + strings.Repeat("x", 65<<10) + `"}`)
	m := wc.next(10 * time.Second)
	var ce *websocket.CloseError
	if m.Type != "closed" || !errors.As(m.closeErr, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("got %s %v, want close 1009", m.Type, m.closeErr)
	}
}

func TestWSOriginAndToken(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) {
		c.Token = "s3cret"
		c.AllowedOrigins = []string{"https://chat.example"}
	}})
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	for _, tc := range []struct {
		name   string
		hdr    http.Header
		query  string
		status int
	}{
		{"missing token", nil, "", http.StatusUnauthorized},
		{"wrong token", http.Header{"Authorization": {"Bearer nope"}}, "", http.StatusUnauthorized},
		{"wrong origin", http.Header{"Authorization": {"Bearer s3cret"}, "Origin": {"https://evil.example"}}, "", http.StatusForbidden},
		{"null origin", http.Header{"Authorization": {"Bearer s3cret"}, "Origin": {"null"}}, "", http.StatusForbidden},
		{"token header", auth, "", http.StatusSwitchingProtocols},
		{"token query", nil, "?token=s3cret", http.StatusSwitchingProtocols},
		{"same origin", http.Header{"Origin": {st.url}}, "?token=s3cret", http.StatusSwitchingProtocols},
		{"allowed origin", http.Header{"Origin": {"https://chat.example"}}, "?token=s3cret", http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wc, resp, err := st.dialWS(tc.hdr, tc.query)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.status, err)
			}
			if wc != nil {
				wc.close()
			}
		})
	}
	// Plain GET is not a WebSocket: 426.
	if code, body := st.do("GET", "/v1/chat", "", "Authorization", "Bearer s3cret"); code != http.StatusUpgradeRequired || !strings.Contains(body, "upgrade_required") {
		t.Fatalf("plain GET: %d %s", code, body)
	}
}

// TestWSResume: a client reconnecting resumes a run after the last seq it saw, and the two
// connections together saw every event once.
func TestWSResume(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 5 * time.Millisecond})
	wc := st.ws()
	wc.send(`{"type":"run","workflow":"echo","message":"Say exactly: ` + strings.Repeat("word ", 40) + `","format":"fleet","runId":"run_wsr"}`)
	wc.next(5 * time.Second) // accepted
	first := wc.runFrames("run_wsr", func(m wsMsg) bool { return m.Seq == 6 })
	wc.close()
	wc2 := st.ws()
	wc2.send(`{"type":"resume","runId":"run_wsr","after":6,"format":"fleet"}`)
	rest := wc2.runFrames("run_wsr", pauses)
	all := append(first, rest...)
	for i, m := range all {
		if m.Seq != uint64(i+1) {
			t.Fatalf("frame %d has seq %d", i, m.Seq)
		}
	}
	if out := outputOf(t, frameData(all)); out != strings.Repeat("word ", 40) {
		t.Fatalf("output %q", out)
	}
}

// TestWSSlowClient: a client that reads nothing while its queue fills is disconnected (1008); the
// run goes on and succeeds.
func TestWSSlowClient(t *testing.T) {
	// The server's sockets get a small send buffer, so that its writes block soon after the client
	// stops reading (its receive buffer, about 128 KiB, full). Shrinking the client's receive buffer
	// instead stalls delivery: loopback's 64 KiB segments are larger than the window it could open.
	small := func(l net.Listener) net.Listener { return smallSendBuffers{l} }
	st := newStack(t, stackOpts{noPlugins: true, lnWrap: small, cfg: func(c *serverConfig) { c.WSQueue = 1 }})
	u := "ws" + strings.TrimPrefix(st.url, "http") + "/v1/chat"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Start many runs and read nothing until the server has found the client slow: their frames
	// (about 2 MiB) fill the socket buffers, then the queue, which overflows. (A client that reads
	// at once may keep up with them on a fast machine, and then no close comes.)
	for i := range 40 {
		msg := fmt.Sprintf(`{"type":"run","workflow":"echo","message":"Say exactly: %s","format":"fleet","runId":"run_slow_%d"}`, strings.Repeat("z ", 200), i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatalf("write run %d: %v", i, err)
		}
	}
	select {
	case <-server.FirstSlowClient(st.srv):
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not find the client slow within 30 s")
	}
	var ce *websocket.CloseError
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Fatalf("read: %v, want close 1008", err)
		}
		break
	}
	if got := st.metric("fleet_websocket_slow_clients_total"); got != 1 {
		t.Errorf("fleet_websocket_slow_clients_total = %v, want 1", got)
	}
	st.waitStatus("run_slow_0", "succeeded")
}

// smallSendBuffers is a listener whose connections have a 4 KiB send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		err = tc.SetWriteBuffer(4096)
	}
	return c, err
}
