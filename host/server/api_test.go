package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/mapping"
	"github.com/agentfleet/fleet/host/plugin"
)

// TestErrors: every error is {"error":{"code","message"}} with the documented status, and the
// message names the field at fault.
func TestErrors(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	resp := st.postRun("echo", "fleet", input("thr_e", "run_done", "Say exactly: done"))
	newSSEReader(t, resp).all()
	resp.Body.Close()
	big := `{"messages":[{"id":"u","role":"user","content":"` + strings.Repeat("x", 1<<20) + `"}]}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"unknown workflow", "POST", "/v1/workflows/nope/runs?format=fleet", input("", "", "hi"), 404, "unknown_workflow", `engine: unknown workflow: "nope"`},
		{"malformed JSON", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":`, 400, "bad_request", "the body is empty or cut short"},
		{"syntax error", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[}`, 400, "bad_request", "malformed JSON at byte"},
		{"unknown field", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[],"colour":1}`, 400, "bad_request", "field colour is not allowed"},
		{"unknown message field", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[{"id":"u","role":"user","content":"hi","mood":"ok"}]}`, 400, "bad_request", "field messages[0].mood is not allowed"},
		{"wrong type", "POST", "/v1/workflows/echo/runs?format=fleet", `{"threadId":7,"messages":[]}`, 400, "bad_request", "field threadId: got a JSON number, want a string"},
		{"bad role", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[{"id":"u","role":"boss","content":"hi"}]}`, 400, "bad_request", "field messages[0].role"},
		{"no user message", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[{"id":"s","role":"system","content":"hi"}]}`, 400, "bad_request", "field messages: no user message"},
		{"binary part", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[{"id":"u","role":"user","content":[{"type":"binary","mimeType":"image/png","data":"AA=="}]}]}`, 400, "bad_request", "field messages[0].content[0].type"},
		{"bad tool", "POST", "/v1/workflows/echo/runs?format=fleet", `{"messages":[],"tools":[{"name":"x","oops":1}]}`, 400, "bad_request", "field tools[0].oops is not allowed"},
		{"resume without runId", "POST", "/v1/workflows/echo/runs?format=fleet", `{"resume":[{"interruptId":"a","status":"resolved"}]}`, 400, "bad_request", "field runId: required with resume"},
		{"bad resume status", "POST", "/v1/workflows/echo/runs?format=fleet", `{"runId":"r","resume":[{"interruptId":"a","status":"maybe"}]}`, 400, "bad_request", "field resume[0].status"},
		{"bad resume payload", "POST", "/v1/workflows/echo/runs?format=fleet", `{"runId":"r","resume":[{"interruptId":"a","status":"resolved","payload":{"approve":1}}]}`, 400, "bad_request", "field resume[0].payload.approve"},
		{"bad run id", "POST", "/v1/workflows/echo/runs?format=fleet", input("", "bad id!", "hi"), 400, "bad_request", "run id"},
		{"run exists", "POST", "/v1/workflows/echo/runs?format=fleet", input("", "run_done", "hi"), 409, "run_exists", "run_done"},
		{"unknown format", "POST", "/v1/workflows/echo/runs?format=klingon", input("", "", "hi"), 400, "bad_request", `unknown format "klingon" (available: fleet)`},
		{"too large", "POST", "/v1/workflows/echo/runs?format=fleet", big, 413, "too_large", ""},
		{"unknown run", "GET", "/v1/runs/run_nope", "", 404, "unknown_run", "run_nope"},
		{"unknown run events", "GET", "/v1/runs/run_nope/events?format=fleet", "", 404, "unknown_run", "run_nope"},
		{"bad after", "GET", "/v1/runs/run_done/events?format=fleet&after=x", "", 400, "bad_request", "query after"},
		{"cancel ended", "POST", "/v1/runs/run_done/cancel", "", 409, "not_running", "succeeded"},
		{"cancel bad body", "POST", "/v1/runs/run_done/cancel", `{"why":1}`, 400, "bad_request", "field why is not allowed"},
		{"approve not waiting", "POST", "/v1/runs/run_done/approvals/apr_1", `{"approve":true}`, 409, "not_waiting", ""},
		{"unknown thread", "GET", "/v1/threads/thr_nope", "", 404, "unknown_thread", "thr_nope"},
		{"delete unknown thread", "DELETE", "/v1/threads/thr_nope", "", 404, "unknown_thread", ""},
		{"bad limit", "GET", "/v1/threads?limit=0", "", 400, "bad_request", "query limit"},
		{"unknown endpoint", "GET", "/v1/nothing", "", 404, "not_found", "/v1/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := st.do(tc.method, tc.path, tc.body)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not the error JSON: %v", body, err)
			}
			if code != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", code, e.Error.Code, e.Error.Message, tc.status, tc.code, tc.msg)
			}
		})
	}
	// Last-Event-ID of another run.
	code, body := st.do("GET", "/v1/runs/run_done/events?format=fleet", "", "Last-Event-ID", "run_other:3")
	if code != 400 || !strings.Contains(body, "does not belong to run run_done") {
		t.Fatalf("foreign Last-Event-ID: %d %s", code, body)
	}
}

func TestToken(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) { c.Token = "tok" }})
	for _, tc := range []struct {
		path   string
		hdr    []string
		status int
	}{
		{"/v1/threads", nil, 401},
		{"/v1/threads", []string{"Authorization", "Bearer wrong"}, 401},
		{"/v1/threads?token=tok", nil, 401}, // ?token= is only for the WebSocket and event streams
		{"/v1/threads", []string{"Authorization", "Bearer tok"}, 200},
		{"/v1/runs/run_x/events?token=tok&format=fleet", nil, 404},
		{"/healthz", nil, 200},
		{"/readyz", nil, 200},
		{"/metrics", nil, 200},
		{"/", nil, 200},
	} {
		code, body := st.do("GET", tc.path, "", tc.hdr...)
		if code != tc.status {
			t.Errorf("GET %s %v: %d %s, want %d", tc.path, tc.hdr, code, body, tc.status)
		}
		if code == 401 && !strings.Contains(body, `"code":"unauthorized"`) {
			t.Errorf("401 body %s", body)
		}
	}
}

func TestCORS(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) {
		c.AllowedOrigins = []string{"https://app.example"}
		c.Token = "tok"
	}})
	req, _ := http.NewRequest("OPTIONS", st.url+"/v1/workflows/echo/runs", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("preflight from an allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin allowed: %v", resp.Header)
	}
	// Without AllowedOrigins no CORS header is sent at all (same origin only).
	st2 := newStack(t, stackOpts{noPlugins: true})
	req2, _ := http.NewRequest("GET", st2.url+"/v1/threads", nil)
	req2.Header.Set("Origin", "https://app.example")
	resp, err = http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS header without AllowedOrigins: %v", resp.Header)
	}
}

// TestThreadsSurviveRestart: threads and their messages are read back after a restart (a new
// server and engine on the same data directory); a deleted thread is gone with its runs.
func TestThreadsSurviveRestart(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	for i, msg := range []string{"Say exactly: one", "Say exactly: two"} {
		resp := st.postRun("echo", "fleet", input("thr_keep", fmt.Sprintf("run_keep_%d", i), msg))
		newSSEReader(t, resp).all()
		resp.Body.Close()
	}
	resp := st.postRun("echo", "fleet", input("thr_gone", "run_gone", "Say exactly: bye"))
	newSSEReader(t, resp).all()
	resp.Body.Close()
	st.restart()

	checkThread(t, st, "thr_keep", "Say exactly: one", []string{"user:Say exactly: one", "assistant:one", "user:Say exactly: two", "assistant:two"})
	_, body := st.do("GET", "/v1/threads", "")
	if !strings.Contains(body, `"id":"thr_keep"`) || !strings.Contains(body, `"id":"thr_gone"`) {
		t.Fatalf("threads %s", body)
	}
	if code, _ := st.do("DELETE", "/v1/threads/thr_gone", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := st.do("GET", "/v1/threads/thr_gone", ""); code != 404 {
		t.Fatalf("deleted thread: %d", code)
	}
	if code, _ := st.do("GET", "/v1/runs/run_gone", ""); code != 404 {
		t.Fatalf("run of the deleted thread: %d", code)
	}
}

// checkThread reads a thread through the API and checks its title and messages ("role:content",
// each answer by the echo agent, in the runs run_keep_0, run_keep_1, ...).
func checkThread(t *testing.T, st *stack, id, title string, want []string) {
	t.Helper()
	code, body := st.do("GET", "/v1/threads/"+id, "")
	var got struct {
		Thread struct {
			ID, Title string
		} `json:"thread"`
		Messages []struct {
			Seq     int64  `json:"seq"`
			Role    string `json:"role"`
			Content string `json:"content"`
			Agent   string `json:"agent"`
			RunID   string `json:"run_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if got.Thread.ID != id || got.Thread.Title != title || len(got.Messages) != len(want) {
		t.Fatalf("thread %+v, messages %+v", got.Thread, got.Messages)
	}
	for i, m := range got.Messages {
		agent := map[string]string{"user": "", "assistant": "echo"}[m.Role]
		run := fmt.Sprintf("run_keep_%d", i/2)
		if m.Role+":"+m.Content != want[i] || m.Seq != int64(i+1) || m.Agent != agent || m.RunID != run {
			t.Fatalf("message %d: %+v, want %s by %q in %s", i, m, want[i], agent, run)
		}
	}
}

// TestDeleteBusyThread: a thread with a running run cannot be deleted.
func TestDeleteBusyThread(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 30 * time.Millisecond})
	resp := st.postRun("echo", "fleet", input("thr_busy", "run_busy", "Say exactly: "+strings.Repeat("a ", 20)))
	defer resp.Body.Close()
	r := newSSEReader(t, resp)
	r.next()
	code, body := st.do("DELETE", "/v1/threads/thr_busy", "")
	if code != 409 || !strings.Contains(body, "thread_busy") {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := st.do("POST", "/v1/runs/run_busy/cancel", `{"reason":"test"}`); code != 202 || !strings.Contains(body, `"id":"run_busy"`) {
		t.Fatalf("cancel: %d %s", code, body)
	}
	r.all()
	st.waitStatus("run_busy", "cancelled")
	if code, _ := st.do("DELETE", "/v1/threads/thr_busy", ""); code != 204 {
		t.Fatalf("delete after cancel: %d", code)
	}
}

// TestListings: workflows and plugins, with no manifest config value in the plugin listing.
func TestListings(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	p, err := sharedHost.Load(context.Background(), pluginWasm(t, "calc"),
		plugin.Manifest{Capabilities: plugin.Capabilities{Config: true}, Config: map[string]any{"api_key": "sk-SECRET-VALUE"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.plugins.Add(p); err != nil {
		t.Fatal(err)
	}
	_, body := st.do("GET", "/v1/plugins", "")
	var pl struct {
		Plugins []struct {
			Name, Kind, Status, SHA256 string
			Tools                      []string
		} `json:"plugins"`
	}
	json.Unmarshal([]byte(body), &pl)
	if len(pl.Plugins) != 1 || pl.Plugins[0].Name != "calc" || pl.Plugins[0].Status != "loaded" || len(pl.Plugins[0].SHA256) != 64 ||
		strings.Join(pl.Plugins[0].Tools, ",") != "calculate" {
		t.Fatalf("plugins %s", body)
	}
	if strings.Contains(body, "SECRET") || strings.Contains(body, "api_key") {
		t.Fatalf("the plugin listing shows config: %s", body)
	}
	_, body = st.do("GET", "/v1/workflows", "")
	var wl struct {
		Workflows []struct {
			Name, Pattern string
			Agents        []struct {
				Name  string
				Tools []string
			}
		} `json:"workflows"`
	}
	json.Unmarshal([]byte(body), &wl)
	if len(wl.Workflows) != 8 || wl.Workflows[0].Name != "approval" || wl.Workflows[0].Pattern != "single" ||
		strings.Join(wl.Workflows[0].Agents[0].Tools, ",") != "calculate,now,http_fetch" {
		t.Fatalf("workflows %s", body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	if code, body := st.do("GET", "/healthz", ""); code != 200 || body != "ok" {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, _ := st.do("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	resp := st.postRun("echo", "fleet", input("thr_m", "run_m", "Say exactly: metrics"))
	evs := fleetEvents(t, newSSEReader(t, resp).all())
	resp.Body.Close()
	st.waitStatus("run_m", "succeeded")
	waitFor(t, "the run to be counted", func() bool { return st.metric(`fleet_runs_finished_total{status="succeeded"}`) == 1 })
	for series, want := range map[string]float64{
		"fleet_runs_started_total":                  1,
		`fleet_open_streams{transport="sse"}`:       0,
		`fleet_open_streams{transport="websocket"}`: 0,
		"fleet_events_total":                        float64(len(evs)),
	} {
		if got := st.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if st.metric("go_goroutines") <= 0 {
		t.Error("no Go runtime metrics")
	}
}

// TestPluginCallMetrics: tool calls made by runs are counted by plugin, tool and result.
func TestPluginCallMetrics(t *testing.T) {
	st := newStack(t, stackOpts{})
	resp := st.postRun("assistant", "fleet", input("thr_pm", "run_pm", "What is 2+3 and 4*5?"))
	newSSEReader(t, resp).all()
	resp.Body.Close()
	if got := st.metric(`fleet_plugin_calls_total{plugin="calc",result="ok",tool="calculate"}`); got != 2 {
		t.Fatalf("calc calls = %v, want 2", got)
	}
	if got := st.metric(`fleet_plugin_call_seconds_count{plugin="calc",tool="calculate"}`); got != 2 {
		t.Fatalf("calc call durations = %v, want 2", got)
	}
}

func TestWebPage(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) {
		c.Web = fstest.MapFS{"index.html": {Data: []byte("<h1>fleet</h1>")}, "app.js": {Data: []byte("let x = 1")}}
	}})
	if code, body := st.do("GET", "/", ""); code != 200 || body != "<h1>fleet</h1>" {
		t.Fatalf("/: %d %q", code, body)
	}
	if code, body := st.do("GET", "/app.js", ""); code != 200 || body != "let x = 1" {
		t.Fatalf("/app.js: %d %q", code, body)
	}
	if code, body := st.do("GET", "/missing.js", ""); code != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("/missing.js: %d %q", code, body)
	}
	// The default page is the embedded one.
	st2 := newStack(t, stackOpts{noPlugins: true})
	if code, body := st2.do("GET", "/", ""); code != 200 || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("default page: %d %.80q", code, body)
	}
}

// twice is a native mapper giving two frames per event and a closing frame at the end: it shows
// the ids of events with several frames and exact resumption inside an event.
type twice struct{}

func (twice) Format() mapping.Format { return mapping.Format{Name: "twice", Done: "[END]"} }
func (twice) NewStream(string) mapping.Stream {
	return &twiceStream{}
}

type twiceStream struct{ n int }

func (s *twiceStream) Map(_ context.Context, evs []event.Event) ([]mapping.Frame, error) {
	var out []mapping.Frame
	for _, e := range evs {
		s.n++
		for half := 1; half <= 2; half++ {
			out = append(out, mapping.Frame{Seq: e.Seq, Data: fmt.Appendf(nil, `{"seq":%d,"half":%d,"n":%d}`, e.Seq, half, s.n)})
		}
	}
	return out, nil
}

func (s *twiceStream) End(context.Context) ([]mapping.Frame, error) {
	return []mapping.Frame{{Data: fmt.Appendf(nil, `{"end":%d}`, s.n)}}, nil
}

// broken fails on the third batch it maps.
type broken struct{ mapping.Fleet }

func (broken) Format() mapping.Format                                { return mapping.Format{Name: "agui"} }
func (broken) Stateless() bool                                       { return false }
func (broken) NewStream(string) mapping.Stream                       { return &brokenStream{} }
func (s *brokenStream) End(context.Context) ([]mapping.Frame, error) { return nil, nil }

type brokenStream struct{ n int }

func (s *brokenStream) Map(ctx context.Context, evs []event.Event) ([]mapping.Frame, error) {
	if s.n++; s.n == 3 {
		return nil, fmt.Errorf("%w: it broke", mapping.ErrMapper)
	}
	return mapping.Fleet{}.NewStream("").Map(ctx, evs)
}

func mappers(ms ...mapping.Mapper) func(*serverConfig) {
	return func(c *serverConfig) {
		c.Mappers = mapping.NewRegistry(c.Plugins)
		for _, m := range ms {
			if err := c.Mappers.Register(m); err != nil {
				panic(err)
			}
		}
	}
}

// TestSeveralFramesPerEvent: frames of one event get ids "<run>:<seq>:<i>" but the last, which gets
// "<run>:<seq>"; a stream resumed from inside an event continues with its next frame; the mapper's
// state is rebuilt by replay (n counts every event of the run); End's frame and the Done line close
// the stream.
func TestSeveralFramesPerEvent(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: mappers(twice{})})
	resp := st.postRun("echo", "twice", input("thr_tw", "run_tw", "Say exactly: a b c"))
	all := newSSEReader(t, resp).all()
	resp.Body.Close()
	if all[0].ID != "run_tw:1:0" || all[1].ID != "run_tw:1" || all[2].ID != "run_tw:2:0" {
		t.Fatalf("ids %q %q %q", all[0].ID, all[1].ID, all[2].ID)
	}
	n := len(all)
	if all[n-2].ID != "" || !strings.HasPrefix(all[n-2].Data, `{"end":`) || all[n-1].Data != "[END]" || all[n-1].ID != "" {
		t.Fatalf("stream end %+v %+v", all[n-2], all[n-1])
	}
	for cut := 1; cut < n-2; cut++ {
		checkResumeAfter(t, st, "/v1/runs/run_tw/events?format=twice", all, cut)
	}
	// Over the WebSocket, frames that are not their event's last carry "part".
	wc := st.ws()
	wc.send(`{"type":"resume","runId":"run_tw","after":2,"part":0,"format":"twice"}`)
	m := wc.next(5 * time.Second)
	if m.Seq != 2 || m.Part != nil || !strings.Contains(string(m.Frame), `"half":2`) {
		t.Fatalf("first frame after part 0 of event 2: %s", m.raw)
	}
	m = wc.next(5 * time.Second)
	if m.Seq != 3 || m.Part == nil || *m.Part != 0 {
		t.Fatalf("next frame: %s", m.raw)
	}
}

// checkResumeAfter resumes a stream after its event cut-1 and checks it gives the rest exactly.
func checkResumeAfter(t *testing.T, st *stack, path string, all []sseEvent, cut int) {
	t.Helper()
	req, _ := http.NewRequest("GET", st.url+path, nil)
	req.Header.Set("Last-Event-ID", all[cut-1].ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rest := newSSEReader(t, resp).all()
	resp.Body.Close()
	if len(rest) != len(all)-cut {
		t.Fatalf("resume after %s: %d events, want %d", all[cut-1].ID, len(rest), len(all)-cut)
	}
	for i := range rest {
		if rest[i].ID != all[cut+i].ID || rest[i].Data != all[cut+i].Data {
			t.Fatalf("resume after %s: event %d is %+v, want %+v", all[cut-1].ID, i, rest[i], all[cut+i])
		}
	}
}

// TestMapperFailure: a mapper error ends that stream with an error frame in the client's format
// (here AG-UI's RUN_ERROR with code mapper_error); the run goes on.
func TestMapperFailure(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, tokenDelay: 2 * time.Millisecond, cfg: mappers(broken{})})
	resp := st.postRun("echo", "", input("thr_mf", "run_mf", "Say exactly: "+strings.Repeat("w ", 30)))
	all := newSSEReader(t, resp).all()
	resp.Body.Close()
	last := all[len(all)-1]
	if last.ID != "" || last.Data != `{"type":"RUN_ERROR","message":"mapping: mapper failed: it broke","code":"mapper_error"}` {
		t.Fatalf("last event %+v", last)
	}
	st.waitStatus("run_mf", "succeeded")
}

// TestNDJSONFraming: a format framed as NDJSON gets one frame per line.
type ndjson struct{ mapping.Fleet }

func (ndjson) Format() mapping.Format {
	return mapping.Format{Name: "lines", ContentType: "application/x-ndjson", Framing: mapping.FramingNDJSON, Done: "END",
		Headers: map[string]string{"X-Lines": "1"}}
}

func TestNDJSONFraming(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true, cfg: mappers(ndjson{})})
	resp := st.postRun("echo", "lines", input("thr_nd", "run_nd", "Say exactly: x"))
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/x-ndjson" || resp.Header.Get("X-Lines") != "1" {
		t.Fatalf("headers %v", resp.Header)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[len(lines)-1] != "END" {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
	for i, l := range lines[:len(lines)-1] {
		var e event.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Seq != uint64(i+1) {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
	}
}

var _ = errors.New

// TestBodyTooLarge: a body just over the limit is read to its end and answered 413 on a
// connection that stays usable (it used to be a race between the 413 and a reset while the
// client was still writing); a body far over it is refused from its Content-Length, which a
// client that waits for "100 Continue" gets as a 417 before sending it.
func TestBodyTooLarge(t *testing.T) {
	st := newStack(t, stackOpts{noPlugins: true})
	big := `{"messages":[{"id":"u","role":"user","content":"` + strings.Repeat("x", 1<<20) + `"}]}`
	tr := &http.Transport{MaxConnsPerHost: 1, ExpectContinueTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var conns []string
	post := func(body string, hdr ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", st.url+"/v1/workflows/echo/runs?format=fleet", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { conns = append(conns, ci.Conn.LocalAddr().String()) },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	for i := range 20 {
		code, body := post(big)
		if code != 413 || !strings.Contains(body, `"code":"too_large"`) || !strings.Contains(body, "over 1048576 bytes") {
			t.Fatalf("attempt %d: %d %s", i, code, body)
		}
	}
	for i, c := range conns {
		if c != conns[0] {
			t.Fatalf("request %d came on a new connection %s (first %s): the 413 closed it", i, c, conns[0])
		}
	}
	// Over the limit with "Expect: 100-continue": 417 before the body is sent (fasthttp's
	// answer; it has no body), so the client never writes into a closed connection.
	for _, n := range []int{1<<20 + 1, 8 << 20} {
		code, body := post(strings.Repeat("x", n), "Expect", "100-continue", "Content-Type", "application/json")
		if code != http.StatusExpectationFailed {
			t.Fatalf("%d bytes with Expect: %d %s", n, code, body)
		}
	}
	code, body := post(`{"messages":[]}`, "Expect", "100-continue", "Content-Type", "application/json")
	if code != 400 || !strings.Contains(body, "no user message") {
		t.Fatalf("a small body with Expect goes through: %d %s", code, body)
	}
}
