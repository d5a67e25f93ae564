package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/agentfleet/fleet/engine/event"
)

// TestGracefulShutdown: with an SSE stream and a WebSocket streaming runs, Shutdown tells both
// (": shutdown" and an error frame; {"type":"shutdown"} then close 1001) and returns within its
// bound. The runs stay resumable: after a restart they are resumed and the SSE client picks its
// stream up with Last-Event-ID, missing nothing.
func TestGracefulShutdown(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 10 * time.Millisecond})
	long := "Say exactly: " + strings.Repeat("tick ", 100)
	resp := st.postRun("echo", "fleet", input("thr_sd", "run_sd_sse", long))
	defer resp.Body.Close()
	r := newSSEReader(t, resp)
	var seen []sseEvent
	for len(seen) < 4 {
		ev, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ev)
	}
	wc := st.ws()
	wc.send(map[string]any{"type": "run", "workflow": "echo", "message": long, "format": "fleet", "runId": "run_sd_ws"})
	wc.next(5 * time.Second) // accepted
	wc.runFrames("run_sd_ws", func(m wsMsg) bool { return fleetType(m) == event.MessageDelta })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := st.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	took := time.Since(start)
	t.Logf("shutdown took %v", took)

	// SSE: the rest of the stream, then the notice.
	rest := r.all()
	notice := rest[len(rest)-1]
	if len(notice.Comments) != 1 || notice.Comments[0] != "shutdown" || notice.ID != "" ||
		!strings.Contains(notice.Data, `"code":"shutdown"`) {
		t.Fatalf("SSE end %+v", notice)
	}
	seen = append(seen, rest[:len(rest)-1]...)

	// WebSocket: frames, then {"type":"shutdown"}, then close 1001.
	var gotShutdown bool
	for {
		m := wc.next(5 * time.Second)
		if m.Type == "shutdown" {
			gotShutdown = true
			continue
		}
		if m.Type == "closed" {
			var ce *websocket.CloseError
			if !gotShutdown || !errors.As(m.closeErr, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Fatalf("closed with %v after shutdown frame %v", m.closeErr, gotShutdown)
			}
			break
		}
		if m.RunID != "run_sd_ws" {
			t.Fatalf("unexpected %s", m.raw)
		}
	}
	// New requests are refused: the listener is closed.
	if _, err := http.Get(st.url + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections")
	}

	// The process ends (engine closed: the runs checkpoint), then starts again and resumes them.
	st.stop()
	st.start()
	orphans, err := st.eng.Orphans(context.Background())
	if err != nil || len(orphans) != 2 {
		t.Fatalf("orphans %v %v", orphans, err)
	}
	for _, o := range orphans {
		if err := st.eng.Resume(context.Background(), o.ID); err != nil {
			t.Fatal(err)
		}
	}
	var lastID string
	for i := len(seen) - 1; i >= 0 && lastID == ""; i-- {
		lastID = seen[i].ID
	}
	req, _ := http.NewRequest("GET", st.url+"/v1/runs/run_sd_sse/events?format=fleet", nil)
	req.Header.Set("Last-Event-ID", lastID)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	evs := fleetEvents(t, append(seen, newSSEReader(t, resp2).all()...))
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	if fin, ok := evs[len(evs)-1].Data.(event.RunFinishedData); !ok || fin.Output != strings.TrimPrefix(long, "Say exactly: ") {
		t.Fatalf("the resumed run ends with %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
	st.waitStatus("run_sd_ws", "succeeded")
}

// TestShutdownBound: a client that never answers the close handshake does not hold Shutdown past
// its bound.
func TestShutdownBound(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	u := "ws" + strings.TrimPrefix(st.url, "http") + "/v1/chat"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() // the client reads nothing until the end
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := st.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
}
