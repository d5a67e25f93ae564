package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/host/offline"
)

// aguiEvent is an AG-UI event as a client decodes it.
type aguiEvent map[string]any

func (e aguiEvent) str(k string) string { s, _ := e[k].(string); return s }

// verifyAGUI checks a stream of AG-UI events by the rules @ag-ui/client's verifyEvents enforces
// (client/src/verify/verify.ts), plus two the protocol states: deltas are not empty and optional
// fields are omitted rather than null.
func verifyAGUI(evs []aguiEvent) error {
	v := aguiVerifier{open: map[string]bool{}}
	for i, e := range evs {
		if err := noNulls(map[string]any(e), ""); err != nil {
			return fmt.Errorf("event %d %s: %w", i, e.str("type"), err)
		}
		if err := v.check(i, e); err != nil {
			return fmt.Errorf("event %d %s: %w", i, e.str("type"), err)
		}
	}
	return nil
}

type aguiVerifier struct {
	started, finished, errored bool
	open                       map[string]bool
}

// aguiSpans: the event types that open or close a span, and the field naming it.
var aguiSpans = map[string]struct {
	kind, field string
	opens       bool
}{
	"TEXT_MESSAGE_START": {"text", "messageId", true}, "TEXT_MESSAGE_END": {"text", "messageId", false},
	"TOOL_CALL_START": {"tool", "toolCallId", true}, "TOOL_CALL_END": {"tool", "toolCallId", false},
	"STEP_STARTED": {"step", "stepName", true}, "STEP_FINISHED": {"step", "stepName", false},
	"REASONING_MESSAGE_START": {"reasoning", "messageId", true}, "REASONING_MESSAGE_END": {"reasoning", "messageId", false},
}

// aguiDeltas: the event types whose delta must not be empty, and the span they belong to.
var aguiDeltas = map[string]struct{ kind, field string }{
	"TEXT_MESSAGE_CONTENT": {"text", "messageId"}, "TOOL_CALL_ARGS": {"tool", "toolCallId"},
	"REASONING_MESSAGE_CONTENT": {"reasoning", "messageId"},
}

func (v *aguiVerifier) check(i int, e aguiEvent) error {
	t := e.str("type")
	switch {
	case v.errored:
		return errors.New("an event after RUN_ERROR")
	case i == 0 && t != "RUN_STARTED" && t != "RUN_ERROR":
		return errors.New("the first event must be RUN_STARTED")
	case v.finished && t != "RUN_STARTED" && t != "RUN_ERROR":
		return errors.New("an event after RUN_FINISHED")
	}
	if sp, ok := aguiSpans[t]; ok {
		key := sp.kind + ":" + e.str(sp.field)
		if e.str(sp.field) == "" || v.open[key] == sp.opens {
			return fmt.Errorf("%s %q is open=%v", sp.kind, e.str(sp.field), v.open[key])
		}
		v.open[key] = sp.opens
		if !sp.opens {
			delete(v.open, key)
		}
	}
	if d, ok := aguiDeltas[t]; ok {
		if e.str("delta") == "" || !v.open[d.kind+":"+e.str(d.field)] {
			return fmt.Errorf("empty delta or delta outside its %s", d.kind)
		}
	}
	return v.lifecycle(t)
}

func (v *aguiVerifier) lifecycle(t string) error {
	switch t {
	case "RUN_STARTED":
		if v.started && !v.finished {
			return errors.New("RUN_STARTED while a run is active")
		}
		v.started, v.finished = true, false
	case "RUN_FINISHED":
		if len(v.open) > 0 {
			return fmt.Errorf("RUN_FINISHED with %v still open", v.open)
		}
		v.finished = true
	case "RUN_ERROR":
		v.errored = true
	}
	return nil
}

func noNulls(v any, path string) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("field %s is null", path)
	case map[string]any:
		for k, val := range x {
			if err := noNulls(val, path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, val := range x {
			if err := noNulls(val, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestVerifyAGUI shows the verifier rejects what @ag-ui/client rejects.
func TestVerifyAGUI(t *testing.T) {
	ok := `[{"type":"RUN_STARTED","threadId":"t","runId":"r"},{"type":"STEP_STARTED","stepName":"a"},
		{"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"},{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"hi"},
		{"type":"TEXT_MESSAGE_END","messageId":"m"},{"type":"STEP_FINISHED","stepName":"a"},{"type":"RUN_FINISHED","threadId":"t","runId":"r"}]`
	for _, tc := range []struct{ name, evs, err string }{
		{"valid", ok, ""},
		{"not started", `[{"type":"TEXT_MESSAGE_START","messageId":"m"}]`, "first event"},
		{"error first", `[{"type":"RUN_ERROR","message":"x"}]`, ""},
		{"after error", `[{"type":"RUN_STARTED"},{"type":"RUN_ERROR","message":"x"},{"type":"CUSTOM","name":"n"}]`, "after RUN_ERROR"},
		{"finish with open message", `[{"type":"RUN_STARTED"},{"type":"TEXT_MESSAGE_START","messageId":"m"},{"type":"RUN_FINISHED"}]`, "still open"},
		{"finish with open step", `[{"type":"RUN_STARTED"},{"type":"STEP_STARTED","stepName":"s"},{"type":"RUN_FINISHED"}]`, "still open"},
		{"end of another id", `[{"type":"RUN_STARTED"},{"type":"TOOL_CALL_START","toolCallId":"a","toolCallName":"x"},{"type":"TOOL_CALL_END","toolCallId":"b"}]`, "open=false"},
		{"empty delta", `[{"type":"RUN_STARTED"},{"type":"TEXT_MESSAGE_START","messageId":"m"},{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":""}]`, "empty delta"},
		{"null field", `[{"type":"RUN_STARTED","parentRunId":null}]`, "field .parentRunId is null"},
		{"after finish", `[{"type":"RUN_STARTED"},{"type":"RUN_FINISHED"},{"type":"STEP_STARTED","stepName":"s"}]`, "after RUN_FINISHED"},
		{"two runs", `[{"type":"RUN_STARTED"},{"type":"RUN_FINISHED"},{"type":"RUN_STARTED"},{"type":"RUN_FINISHED"}]`, ""},
	} {
		var evs []aguiEvent
		if err := json.Unmarshal([]byte(tc.evs), &evs); err != nil {
			t.Fatal(err)
		}
		err := verifyAGUI(evs)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

func aguiStack(t *testing.T, opts stackOpts) *stack {
	t.Helper()
	st := newStack(t, opts)
	if !loadMapperPlugins(t, st)["agui"] {
		t.Skip("the agui mapper plugin does not run in this host yet; the fleet-format tests cover the stream")
	}
	return st
}

func aguiEvents(t *testing.T, raw []sseEvent) []aguiEvent {
	t.Helper()
	var out []aguiEvent
	for _, r := range raw {
		if r.Data == "" {
			continue
		}
		var e aguiEvent
		if err := json.Unmarshal([]byte(r.Data), &e); err != nil {
			t.Fatalf("frame %q: %v", r.Data, err)
		}
		out = append(out, e)
	}
	return out
}

// TestAGUIConformance streams runs of several workflows in the default format and checks each
// stream with the client's rules.
func TestAGUIConformance(t *testing.T) {
	url := pageServer(t)
	st := aguiStack(t, stackOpts{})
	for _, tc := range []struct{ name, workflow, message, last string }{
		{"tools", "assistant", "What is 17*23 and what time is it in Tokyo?", "RUN_FINISHED"},
		{"plain", "echo", "Say exactly: hello there", "RUN_FINISHED"},
		{"handoff", "handoff", "I want a refund for my invoice", "RUN_FINISHED"},
		{"group chat", "groupchat", "Plan a picnic", "RUN_FINISHED"},
		{"research", "research", "Write about bees", "RUN_FINISHED"},
		{"panel", "panel", "Should we adopt Go?", "RUN_FINISHED"},
		{"review", "review", "Write a haiku about Go", "RUN_FINISHED"},
		{"interrupt", "approval", "Fetch " + url, "RUN_FINISHED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := st.postRun(tc.workflow, "", input("", "", tc.message))
			raw := newSSEReader(t, resp).all()
			resp.Body.Close()
			for _, r := range raw {
				if len(r.Other) > 0 {
					t.Fatalf("SSE lines other than id/data: %q", r.Other)
				}
			}
			evs := aguiEvents(t, raw)
			if err := verifyAGUI(evs); err != nil {
				t.Fatal(err)
			}
			if got := evs[len(evs)-1].str("type"); got != tc.last {
				t.Fatalf("last event %s, want %s", got, tc.last)
			}
		})
	}
}

// TestAGUIConformanceEndings: a cancelled run (cancelled mid-message, mid-step) and a failed run
// (the model refuses every call) give valid AG-UI streams that end with RUN_ERROR.
func TestAGUIConformanceEndings(t *testing.T) {
	st := aguiStack(t, stackOpts{tokenDelay: 10 * time.Millisecond})
	t.Run("cancelled", func(t *testing.T) {
		resp := st.postRun("echo", "", input("", "run_cancel_me", "Say exactly: "+strings.Repeat("word ", 200)))
		defer resp.Body.Close()
		rd := newSSEReader(t, resp)
		var raw []sseEvent
		for {
			ev, err := rd.next()
			if err != nil {
				break
			}
			raw = append(raw, ev)
			if strings.Contains(ev.Data, "TEXT_MESSAGE_CONTENT") && len(raw) == 5 {
				r, err := http.Post(st.url+"/v1/runs/run_cancel_me/cancel", "application/json", nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
			}
		}
		evs := aguiEvents(t, raw)
		if err := verifyAGUI(evs); err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		if last.str("type") != "RUN_ERROR" || last.str("code") != "cancelled" {
			t.Fatalf("last event %v", last)
		}
	})
	t.Run("failed", func(t *testing.T) {
		st.off.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Status: 401, Times: -1})
		defer st.off.ClearFaults()
		resp := st.postRun("echo", "", input("", "", "Say exactly: never"))
		evs := aguiEvents(t, newSSEReader(t, resp).all())
		resp.Body.Close()
		if err := verifyAGUI(evs); err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		if last.str("type") != "RUN_ERROR" || last.str("code") != "model_error" {
			t.Fatalf("last event %v", last)
		}
	})
}

// TestAGUIResumeAfterDrop: an AG-UI stream dropped and resumed with Last-Event-ID gives, in two
// pieces, exactly the events of the stream read whole.
func TestAGUIResumeAfterDrop(t *testing.T) {
	st := aguiStack(t, stackOpts{tokenDelay: 2 * time.Millisecond})
	resp := st.postRun("assistant", "", input("thr_ar", "run_ar", "What is 3*4? Say it twice."))
	whole := newSSEReader(t, resp).all()
	resp.Body.Close()
	for cut := 1; cut < len(whole); cut += 3 {
		if whole[cut-1].ID == "" {
			continue
		}
		req, _ := http.NewRequest("GET", st.url+"/v1/runs/run_ar/events", nil)
		req.Header.Set("Last-Event-ID", whole[cut-1].ID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rest := newSSEReader(t, resp).all()
		resp.Body.Close()
		if len(rest) != len(whole)-cut {
			t.Fatalf("after %s: %d events, want %d", whole[cut-1].ID, len(rest), len(whole)-cut)
		}
		for i := range rest {
			if rest[i].ID != whole[cut+i].ID {
				t.Fatalf("after %s: event %d has id %s, want %s", whole[cut-1].ID, i, rest[i].ID, whole[cut+i].ID)
			}
		}
	}
}

// TestAGUIHttpAgent points the real @ag-ui/client HttpAgent (testdata/agui-client) at the server:
// two turns of a thread (the second sends the whole history back), then an interrupt answered with
// resume[] under a fresh runId, as the client does.
func TestAGUIHttpAgent(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := filepath.Join("testdata", "agui-client")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@ag-ui", "client")); err != nil {
		t.Skip("run `npm ci` in host/server/testdata/agui-client to install @ag-ui/client")
	}
	page := pageServer(t)
	// Tokens come slowly and the heartbeat is short: the client also gets ": ping" comments.
	st := aguiStack(t, stackOpts{tokenDelay: 5 * time.Millisecond, cfg: func(c *serverConfig) { c.Heartbeat = 2 * time.Millisecond }})
	cmd := exec.Command(node, "client.mjs", st.url, page)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, stderr.String())
	}
	var report map[string]json.RawMessage
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("report %s: %v", out, err)
	}
	type runRec struct {
		Events  []aguiEvent `json:"events"`
		Error   *string     `json:"error"`
		Outcome *string     `json:"outcome"`
	}
	runs := map[string]runRec{}
	for _, k := range []string{"first", "second", "interrupted", "resumed"} {
		var r runRec
		if err := json.Unmarshal(report[k], &r); err != nil {
			t.Fatal(err)
		}
		if r.Error != nil {
			t.Fatalf("%s run: the client failed: %s\n%s", k, *r.Error, stderr.String())
		}
		if err := verifyAGUI(r.Events); err != nil {
			t.Fatalf("%s run: %v", k, err)
		}
		runs[k] = r
	}
	if o := runs["interrupted"].Outcome; o == nil || *o != "interrupt" {
		t.Fatalf("the approval run's outcome %v, want interrupt", o)
	}
	var msgs []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	json.Unmarshal(report["messages"], &msgs)
	var texts []string
	for _, m := range msgs {
		if m.Role == "assistant" && m.Content != "" {
			texts = append(texts, m.Content)
		}
	}
	if strings.Join(texts, "|") != "17*23 = 391.|second turn" {
		t.Fatalf("assistant messages %q", texts)
	}
	st.waitStatus("run_agui_apr", "succeeded")
}

// TestAGUIOverWebSocket: the default format on the WebSocket is AG-UI; each stretch of a run
// (up to the interrupt, then the continuation after the approval) is a valid AG-UI stream.
func TestAGUIOverWebSocket(t *testing.T) {
	url := pageServer(t)
	st := aguiStack(t, stackOpts{})
	wc := st.ws()
	wc.send(map[string]any{"type": "run", "workflow": "approval", "message": "Fetch " + url, "runId": "run_agws"})
	if m := wc.next(10 * time.Second); m.Type != "accepted" {
		t.Fatalf("%s", m.raw)
	}
	isType := func(types ...string) func(wsMsg) bool {
		return func(m wsMsg) bool {
			var e aguiEvent
			json.Unmarshal(m.Frame, &e)
			return slices.Contains(types, e.str("type"))
		}
	}
	stretch := func(ms []wsMsg) ([]aguiEvent, aguiEvent) {
		var evs []aguiEvent
		for _, m := range ms {
			var e aguiEvent
			if err := json.Unmarshal(m.Frame, &e); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
		}
		if err := verifyAGUI(evs); err != nil {
			t.Fatal(err)
		}
		return evs, evs[len(evs)-1]
	}
	_, last := stretch(wc.runFrames("run_agws", isType("RUN_FINISHED", "RUN_ERROR")))
	outcome, _ := last["outcome"].(map[string]any)
	interrupts, _ := outcome["interrupts"].([]any)
	if outcome["type"] != "interrupt" || len(interrupts) != 1 {
		t.Fatalf("first stretch ends with %v", last)
	}
	id, _ := interrupts[0].(map[string]any)["id"].(string)
	wc.send(map[string]any{"type": "approve", "runId": "run_agws", "approvalId": id})
	_, last = stretch(wc.runFrames("run_agws", isType("RUN_FINISHED", "RUN_ERROR")))
	if outcome, _ := last["outcome"].(map[string]any); last.str("type") != "RUN_FINISHED" || outcome["type"] != "success" {
		t.Fatalf("continuation ends with %v", last)
	}
	st.waitStatus("run_agws", "succeeded")
}

// TestOtherMappers: the vercel and legacy mapper plugins through the SSE endpoint, with the
// Vercel stream's header and [DONE] line.
func TestOtherMappers(t *testing.T) {
	st := newStack(t, stackOpts{})
	formats := loadMapperPlugins(t, st)
	for _, f := range []string{"vercel", "legacy"} {
		t.Run(f, func(t *testing.T) {
			if !formats[f] {
				t.Skipf("the %s mapper plugin is not available", f)
			}
			resp := st.postRun("assistant", f, input("", "", "What is 2+2?"))
			raw := newSSEReader(t, resp).all()
			resp.Body.Close()
			if resp.StatusCode != 200 || len(raw) < 3 {
				t.Fatalf("status %d, %d events", resp.StatusCode, len(raw))
			}
			for _, r := range raw[:len(raw)-1] {
				if !json.Valid([]byte(r.Data)) {
					t.Fatalf("frame %q is not JSON", r.Data)
				}
			}
			if f == "vercel" {
				if resp.Header.Get("x-vercel-ai-ui-message-stream") != "v1" || raw[len(raw)-1].Data != "[DONE]" {
					t.Fatalf("vercel stream: header %q, last %q", resp.Header.Get("x-vercel-ai-ui-message-stream"), raw[len(raw)-1].Data)
				}
			}
		})
	}
}
