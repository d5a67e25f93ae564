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
	seen := r.first(4)
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
	t.Logf("shutdown took %v", time.Since(start))
	seen = append(seen, expectSSEShutdown(t, r)...)
	expectWSShutdown(t, wc, "run_sd_ws")
	if _, err := http.Get(st.url + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections")
	}

	// The process ends (engine closed: the runs checkpoint), then starts again and resumes them.
	st.stop()
	st.start()
	resumeOrphans(t, st, 2)
	evs := fleetEvents(t, append(seen, st.resumeSSE("run_sd_sse", seen)...))
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

// first reads n events.
func (s *sseReader) first(n int) []sseEvent {
	s.t.Helper()
	var out []sseEvent
	for len(out) < n {
		ev, err := s.next()
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// expectSSEShutdown reads the rest of a stream, which must end with the shutdown notice, and
// returns the events before it.
func expectSSEShutdown(t *testing.T, r *sseReader) []sseEvent {
	t.Helper()
	rest := r.all()
	notice := rest[len(rest)-1]
	if len(notice.Comments) != 1 || notice.Comments[0] != "shutdown" || notice.ID != "" ||
		!strings.Contains(notice.Data, `"code":"shutdown"`) {
		t.Fatalf("SSE end %+v", notice)
	}
	return rest[:len(rest)-1]
}

// expectWSShutdown reads a connection to its end: the run's frames, {"type":"shutdown"}, close 1001.
func expectWSShutdown(t *testing.T, wc *wsClient, runID string) {
	t.Helper()
	var gotShutdown bool
	for {
		m := wc.next(5 * time.Second)
		switch {
		case m.Type == "shutdown":
			gotShutdown = true
		case m.Type == "closed":
			var ce *websocket.CloseError
			if !gotShutdown || !errors.As(m.closeErr, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Fatalf("closed with %v after shutdown frame %v", m.closeErr, gotShutdown)
			}
			return
		case m.RunID != runID:
			t.Fatalf("unexpected %s", m.raw)
		}
	}
}

// resumeOrphans resumes the runs a stopped process left running, as fleet serve does at start.
func resumeOrphans(t *testing.T, st *stack, want int) {
	t.Helper()
	orphans, err := st.eng.Orphans(context.Background())
	if err != nil || len(orphans) != want {
		t.Fatalf("orphans %v %v", orphans, err)
	}
	for _, o := range orphans {
		if err := st.eng.Resume(context.Background(), o.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// resumeSSE reconnects to a run's stream with the last id among seen and reads it to the end.
func (st *stack) resumeSSE(runID string, seen []sseEvent) []sseEvent {
	st.t.Helper()
	var lastID string
	for i := len(seen) - 1; i >= 0 && lastID == ""; i-- {
		lastID = seen[i].ID
	}
	req, _ := http.NewRequest("GET", st.url+"/v1/runs/"+runID+"/events?format=fleet", nil)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	return newSSEReader(st.t, resp).all()
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
