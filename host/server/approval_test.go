package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
)

// pageServer serves the page the approval workflow asks to fetch (on 127.0.0.1).
func pageServer(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><head><title>Local page</title></head><body>Nothing to see.</body></html>")
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/page"
}

// approvalOf returns the approval id a stretch of fleet frames asks for.
func approvalOf(t *testing.T, frames []json.RawMessage) string {
	t.Helper()
	for _, f := range frames {
		var e event.Event
		if err := e.UnmarshalJSON(f); err == nil {
			if d, ok := e.Data.(event.RunInterruptedData); ok && len(d.Approvals) == 1 {
				return d.Approvals[0].ID
			}
		}
	}
	t.Fatal("no run.interrupted with one approval")
	return ""
}

func TestWSApprovals(t *testing.T) {
	url := pageServer(t)
	for _, tc := range []struct {
		name    string
		answer  string
		restart bool
		want    string
	}{
		{"approve", "approve", false, `Fetched ` + url + ` (status 200), "Local page"`},
		{"deny", "deny", false, "The http_fetch tool failed"},
		{"approve after restart", "approve", true, `Fetched ` + url + ` (status 200), "Local page"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStack(t, stackOpts{})
			runID := "run_apr_" + strings.ReplaceAll(tc.name, " ", "_")
			wc := st.ws()
			wc.send(map[string]any{"type": "run", "workflow": "approval", "message": "Fetch " + url, "format": "fleet", "runId": runID})
			if m := wc.next(10 * time.Second); m.Type != "accepted" {
				t.Fatalf("%s", m.raw)
			}
			first := wc.runFrames(runID, pauses)
			if fleetType(first[len(first)-1]) != event.RunInterrupted {
				t.Fatalf("first stretch ends with %s", fleetType(first[len(first)-1]))
			}
			apr := approvalOf(t, frameData(first))
			if tc.restart {
				wc.close()
				st.restart()
				wc = st.ws()
			}
			wc.send(map[string]any{"type": tc.answer, "runId": runID, "approvalId": apr, "format": "fleet"})
			rest := wc.runFrames(runID, pauses)
			if rest[0].Seq != first[len(first)-1].Seq+1 {
				t.Fatalf("continuation starts at seq %d after %d", rest[0].Seq, first[len(first)-1].Seq)
			}
			if fleetType(rest[0]) != event.ApprovalResolved {
				t.Fatalf("continuation starts with %s", fleetType(rest[0]))
			}
			if out := outputOf(t, frameData(rest)); !strings.Contains(out, tc.want) {
				t.Fatalf("output %q, want %q", out, tc.want)
			}
			st.waitStatus(runID, "succeeded")
		})
	}
}

// TestSSEApprovalResume answers an approval the AG-UI way: a RunAgentInput with resume[] streams
// the run's continuation.
func TestSSEApprovalResume(t *testing.T) {
	url := pageServer(t)
	st := newStack(t, stackOpts{})
	resp := st.postRun("approval", "fleet", input("thr_sar", "run_sar", "Fetch "+url))
	first := fleetEvents(t, newSSEReader(t, resp).all())
	resp.Body.Close()
	last := first[len(first)-1]
	d, ok := last.Data.(event.RunInterruptedData)
	if !ok {
		t.Fatalf("first stretch ends with %s", last.Type)
	}
	body := fmt.Sprintf(`{"threadId":"thr_sar","runId":"run_sar","messages":[],"resume":[{"interruptId":%q,"status":"resolved","payload":{"approve":true}}]}`, d.Approvals[0].ID)
	resp = st.postRun("approval", "fleet", body)
	if resp.StatusCode != 200 {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	raw := newSSEReader(t, resp).all()
	resp.Body.Close()
	rest := checkFleetStream(t, "run_sar", raw, last.Seq+1)
	fin, ok := rest[len(rest)-1].Data.(event.RunFinishedData)
	if !ok || !strings.Contains(fin.Output, "Local page") {
		t.Fatalf("continuation ends with %s %+v", rest[len(rest)-1].Type, rest[len(rest)-1].Data)
	}
	// The run is over: answering again is 409 not_waiting.
	resp = st.postRun("approval", "fleet", body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || e.Error.Code != "not_waiting" {
		t.Fatalf("second resume: %d %s", resp.StatusCode, e.Error.Code)
	}
}

// TestHTTPApproval answers with POST /v1/runs/{id}/approvals/{approvalId} and follows the run with
// GET /v1/runs/{id}/events.
func TestHTTPApproval(t *testing.T) {
	url := pageServer(t)
	st := newStack(t, stackOpts{})
	resp := st.postRun("approval", "fleet", input("thr_ha", "run_ha", "Fetch "+url))
	first := fleetEvents(t, newSSEReader(t, resp).all())
	resp.Body.Close()
	apr := first[len(first)-1].Data.(event.RunInterruptedData).Approvals[0].ID
	if code, body := st.do("POST", "/v1/runs/run_ha/approvals/"+apr, `{"approve":false,"reason":"not today"}`); code != http.StatusAccepted || !strings.Contains(body, `"id":"run_ha"`) {
		t.Fatalf("answer: %d %s", code, body)
	}
	st.waitStatus("run_ha", "succeeded")
	resp, err := http.Get(fmt.Sprintf("%s/v1/runs/run_ha/events?format=fleet&after=%d", st.url, first[len(first)-1].Seq))
	if err != nil {
		t.Fatal(err)
	}
	rest := fleetEvents(t, newSSEReader(t, resp).all())
	resp.Body.Close()
	res, ok := rest[0].Data.(event.ApprovalResolvedData)
	if !ok || res.Decision != "denied" || res.Reason != "not today" {
		t.Fatalf("first event after the pause: %s %+v", rest[0].Type, rest[0].Data)
	}
	for _, tc := range []struct{ body, code string }{
		{`{"approve":true}`, "not_waiting"},
		{`{}`, "bad_request"},
		{`{"approve":true,"arguments":[1]}`, "bad_request"},
		{`{"approve":"yes"}`, "bad_request"},
	} {
		code, body := st.do("POST", "/v1/runs/run_ha/approvals/"+apr, tc.body)
		if !strings.Contains(body, `"code":"`+tc.code+`"`) || code < 400 {
			t.Errorf("answer %s: %d %s, want %s", tc.body, code, body, tc.code)
		}
	}
}

// TestWSTwoApprovalsBackToBack: two approvals answered back to back on one WebSocket. The second
// answer's stream replaces the first's, which may not have sent the first approval.resolved yet:
// the continuation must still start right after the pause and have no gap and no repeat (the
// second stream used to start after the first approval.resolved, which was then lost).
func TestWSTwoApprovalsBackToBack(t *testing.T) {
	url1 := pageServer(t)
	url2 := pageServer(t)
	st := newStack(t, stackOpts{})
	lost := 0
	for i := 0; i < 10; i++ {
		wc := st.ws()
		runID := "run_two_" + string(rune('a'+i))
		lastSeq, intr := pauseWithTwoApprovals(t, wc, runID, url1, url2)
		wc.send(map[string]any{"type": "approve", "runId": runID, "approvalId": intr.Approvals[0].ID, "format": "fleet"})
		wc.send(map[string]any{"type": "approve", "runId": runID, "approvalId": intr.Approvals[1].ID, "format": "fleet"})
		seqs := seqsUntilEnd(t, wc)
		if seqs[0] != lastSeq+1 {
			lost++
			t.Logf("iteration %d: interrupted at %d, continuation starts at %d (first seqs %v)", i, lastSeq, seqs[0], seqs[:min(3, len(seqs))])
		}
		for j := 1; j < len(seqs); j++ {
			if seqs[j] != seqs[j-1]+1 {
				t.Errorf("iteration %d: gap or repeat %d -> %d", i, seqs[j-1], seqs[j])
			}
		}
		wc.close()
	}
	if lost > 0 {
		t.Errorf("%d/10: frames of the first approval.resolved never reached the client", lost)
	}
}

// pauseWithTwoApprovals starts runID on wc to fetch two pages and returns the seq of its pause
// and the pause's two approvals.
func pauseWithTwoApprovals(t *testing.T, wc *wsClient, runID, url1, url2 string) (uint64, event.RunInterruptedData) {
	t.Helper()
	wc.send(map[string]any{"type": "run", "workflow": "approval", "message": "Fetch " + url1 + " and " + url2, "format": "fleet", "runId": runID})
	if m := wc.next(10 * time.Second); m.Type != "accepted" {
		t.Fatalf("%s", m.raw)
	}
	first := wc.runFrames(runID, pauses)
	var intr event.RunInterruptedData
	for _, f := range frameData(first) {
		var e event.Event
		if e.UnmarshalJSON(f) == nil {
			if d, ok := e.Data.(event.RunInterruptedData); ok {
				intr = d
			}
		}
	}
	if len(intr.Approvals) != 2 {
		t.Fatalf("want 2 approvals, got %+v", intr)
	}
	return first[len(first)-1].Seq, intr
}

// seqsUntilEnd returns the seqs of the frames wc gets until the run finishes or fails.
func seqsUntilEnd(t *testing.T, wc *wsClient) []uint64 {
	t.Helper()
	var seqs []uint64
	for {
		m := wc.next(30 * time.Second)
		if m.Type == "error" || m.Type == "closed" {
			t.Fatalf("%s", m.raw)
		}
		seqs = append(seqs, m.Seq)
		if t := fleetType(m); t == event.RunFinished || t == event.RunFailed {
			return seqs
		}
	}
}
