// Package e2e runs the first-party plugins and the SDK probe as WebAssembly in Fleet's real plugin
// host (host/plugin): the ABI as the SDK implements it against the ABI as the host implements it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/testwasm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer collects the host's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type env struct {
	host *plugin.Host
	logs *logBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	logs := &logBuffer{}
	h, err := plugin.NewHost(context.Background(), plugin.Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return &env{host: h, logs: logs}
}

func (e *env) load(t *testing.T, name string, m plugin.Manifest) *plugin.Plugin {
	t.Helper()
	return e.loadTB(t, name, m)
}

func (e *env) loadB(b *testing.B, name string) *plugin.Plugin {
	b.Helper()
	return e.loadTB(b, name, plugin.Manifest{})
}

// pluginDirs are the packages of the plugins, by descriptor name.
var pluginDirs = map[string]string{
	"calc": "../calc", "clock": "../clock", "http": "../http", "json": "../json", "text": "../text",
	"sdkprobe": "../internal/sdkprobe",
}

// loadTB builds the plugin (testwasm caches builds by their sources) and loads it in e's host.
func (e *env) loadTB(t testing.TB, name string, m plugin.Manifest) *plugin.Plugin {
	t.Helper()
	p, err := e.host.Load(context.Background(), testwasm.Build(t, pluginDirs[name]), m)
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return p
}

// result is one call's outcome, compared as a whole.
type result struct {
	out     string
	err     error
	code    string
	matches error
}

func call(p *plugin.Plugin, tool, args string) result {
	out, err := p.Call(context.Background(), tool, []byte(args))
	r := result{out: string(out), err: err}
	var te *plugin.ToolError
	if errors.As(err, &te) {
		r.code = te.Code
	}
	return r
}

// check compares a call's outcome: want is the exact output, or wantErr the sentinel and code the
// tool error code the error must carry.
func check(t *testing.T, what string, r result, want string, wantErr error, code string) {
	t.Helper()
	switch {
	case wantErr == nil && (r.err != nil || r.out != want):
		t.Errorf("%s = %s, %v\nwant %s", what, r.out, r.err, want)
	case wantErr != nil && (!errors.Is(r.err, wantErr) || r.code != code):
		t.Errorf("%s: err = %v (code %q); want %v with code %q", what, r.err, r.code, wantErr, code)
	}
}

func TestDescriptors(t *testing.T) {
	e := newEnv(t)
	want := map[string][]string{
		"calc":     {"calculate"},
		"clock":    {"now", "convert_time"},
		"http":     {"http_fetch"},
		"json":     {"json_query", "json_set"},
		"text":     {"word_count", "text_replace", "regex_match"},
		"sdkprobe": {"noop", "echo", "fail", "reject", "panic", "big", "caps", "log", "config", "kv", "fetch"},
	}
	for name, tools := range want {
		d := e.load(t, name, plugin.Manifest{}).Descriptor()
		var got []string
		for _, tool := range d.Tools {
			got = append(got, tool.Name)
		}
		if d.Name != name || d.Kind != "tool" || d.ABIMinor != 0 || strings.Join(got, ",") != strings.Join(tools, ",") {
			t.Errorf("%s: descriptor %+v, tools %v; want tools %v", name, d, got, tools)
		}
	}
}

func TestFirstPartyPlugins(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		plugin, tool, args string
		want               string
		wantErr            error
		code               string
	}{
		{"calc", "calculate", `{"expression":"17*23"}`, `{"expression":"17*23","result":391}`, nil, ""},
		{"calc", "calculate", `{"expression":"(2+3)^2/sqrt(16)"}`, `{"expression":"(2+3)^2/sqrt(16)","result":6.25}`, nil, ""},
		{"calc", "calculate", `{"expression":"1/0"}`, "", plugin.ErrPlugin, "division_by_zero"},
		{"calc", "calculate", `{"expr":"1"}`, "", plugin.ErrInvalidArguments, ""},
		{"clock", "convert_time", `{"time":"2024-03-10T12:00:00Z","to":"America/New_York"}`,
			`{"time":"2024-03-10T08:00:00-04:00","timezone":"America/New_York","unix":1710072000,"weekday":"Sunday"}`, nil, ""},
		{"clock", "convert_time", `{"time":"2024-03-10T12:00:00Z","to":"Nowhere/Land"}`, "", plugin.ErrPlugin, "unknown_timezone"},
		{"json", "json_query", `{"document":{"a":[1,2,3]},"path":"a|@reverse"}`, `{"path":"a|@reverse","exists":true,"value":[3,2,1]}`, nil, ""},
		{"json", "json_set", `{"document":"{\"a\":1}","path":"b","value":true}`, `{"document":{"a":1,"b":true}}`, nil, ""},
		{"text", "word_count", `{"text":"One two. Three!"}`, `{"words":3,"characters":15,"lines":1,"sentences":2}`, nil, ""},
		{"text", "regex_match", `{"text":"a1 b22","pattern":"[a-z](\\d+)","all":true}`,
			`{"matched":true,"matches":[{"match":"a1","index":0,"groups":["1"]},{"match":"b22","index":3,"groups":["22"]}]}`, nil, ""},
		{"text", "text_replace", `{"text":"x","find":"(","regex":true,"replace":""}`, "", plugin.ErrPlugin, "bad_pattern"},
	}
	loaded := map[string]*plugin.Plugin{}
	for _, tt := range tests {
		p, ok := loaded[tt.plugin]
		if !ok {
			p = e.load(t, tt.plugin, plugin.Manifest{})
			loaded[tt.plugin] = p
		}
		check(t, tt.plugin+"."+tt.tool+tt.args, call(p, tt.tool, tt.args), tt.want, tt.wantErr, tt.code)
	}
}

func TestClockCapability(t *testing.T) {
	e := newEnv(t)
	for _, granted := range []bool{false, true} {
		p := e.load(t, "clock", plugin.Manifest{Capabilities: plugin.Capabilities{Clock: granted}})
		r := call(p, "now", `{"timezone":"Europe/Paris"}`)
		var got struct {
			Time      string `json:"time"`
			RealClock bool   `json:"real_clock"`
			Note      string `json:"note"`
		}
		if r.err != nil || json.Unmarshal([]byte(r.out), &got) != nil {
			t.Fatalf("now with clock granted=%v: %s, %v", granted, r.out, r.err)
		}
		when, err := time.Parse(time.RFC3339, got.Time)
		// Granted: the real time. Denied: the sandbox's fixed clock, years away from now.
		if off := time.Since(when).Abs(); err != nil || got.RealClock != granted || (got.Note != "") == granted ||
			granted && off > time.Minute || !granted && off < 24*time.Hour {
			t.Errorf("now with clock granted=%v: %s (%v)", granted, r.out, err)
		}
	}
}

func TestHTTPPlugin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><head><title>Probe</title><script>x()</script></head><body><nav>menu</nav><p>Hello <b>wasm</b> world.</p></body></html>")
	}))
	defer srv.Close()
	e := newEnv(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	args := `{"url":"` + srv.URL + `/page"}`

	p := e.load(t, "http", plugin.Manifest{Capabilities: plugin.Capabilities{HTTP: &plugin.HTTPGrant{Allow: []string{host}, AllowPrivate: true}}})
	check(t, "http_fetch allowed", call(p, "http_fetch", args),
		`{"url":"`+srv.URL+`/page","status":200,"content_type":"text/html; charset=utf-8","title":"Probe","text":"Hello wasm world.","truncated":false}`, nil, "")

	p = e.load(t, "http", plugin.Manifest{})
	check(t, "http_fetch without the capability", call(p, "http_fetch", args), "", plugin.ErrPlugin, "denied")
	p = e.load(t, "http", plugin.Manifest{Capabilities: plugin.Capabilities{HTTP: &plugin.HTTPGrant{Allow: []string{"example.com"}, AllowPrivate: true}}})
	check(t, "http_fetch off the allowlist", call(p, "http_fetch", args), "", plugin.ErrPlugin, "denied")
	// The shipped manifest allows any host name ("*") but only public addresses: the request
	// passes the allowlist and is refused at connect time, never sent to 127.0.0.1.
	m, err := plugin.ReadManifest("../http/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p = e.load(t, "http", m)
	r := call(p, "http_fetch", args)
	check(t, "http_fetch with the shipped manifest to loopback", r, "", plugin.ErrPlugin, "denied")
	if r.err == nil || !strings.Contains(r.err.Error(), "address 127.0.0.1 is not public") {
		t.Errorf("shipped manifest: %v; want the address refused, not the host name", r.err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSDKProbe(t *testing.T) {
	e := newEnv(t)
	p := e.load(t, "sdkprobe", plugin.Manifest{})
	check(t, "noop", call(p, "noop", `{}`), `{}`, nil, "")
	check(t, "echo", call(p, "echo", `{"a": [1, "é\n"]}`), `{"a": [1, "é\n"]}`, nil, "")
	check(t, "fail", call(p, "fail", `{}`), "", plugin.ErrPlugin, "probe_failed")
	check(t, "reject", call(p, "reject", `{}`), "", plugin.ErrInvalidArguments, "invalid_arguments")
	check(t, "unknown tool", call(p, "nope", `{}`), "", plugin.ErrToolNotFound, "")
	big := call(p, "big", `{"bytes":3000000}`)
	check(t, "big result over max_output", big, "", plugin.ErrOutputTooLarge, "")
	check(t, "small result after a big one", call(p, "big", `{"bytes":3}`), `"xxx"`, nil, "")
	r := call(p, "panic", `{}`)
	var trap *plugin.TrapError
	if !errors.Is(r.err, plugin.ErrTrap) || !errors.As(r.err, &trap) || !strings.Contains(r.err.Error(), "probe panic") {
		t.Errorf("panic: err = %v; want a trap showing the panic", r.err)
	}
	check(t, "noop after a trap", call(p, "noop", ``), `{}`, nil, "")
	check(t, "capabilities granted: none", call(p, "caps", `{}`),
		`{"clock":false,"config":false,"http":false,"kv":false,"log":false,"random":false}`, nil, "")
	check(t, "kv denied", call(p, "kv", `{"key":"k","value":"v"}`), "", plugin.ErrPlugin, "denied")
}

func TestSDKProbeCapabilities(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "probe header "+r.Header.Get("X-Probe")+" "+strings.Repeat("y", 100))
	}))
	defer srv.Close()
	e := newEnv(t)
	p := e.load(t, "sdkprobe", plugin.Manifest{
		Capabilities: plugin.Capabilities{Log: true, Config: true, KV: true, Random: true,
			HTTP: &plugin.HTTPGrant{Allow: []string{strings.TrimPrefix(srv.URL, "http://")}, AllowPrivate: true}},
		Config: map[string]any{"limit": 5, "greeting": "hi"},
	})
	check(t, "caps", call(p, "caps", `{}`),
		`{"clock":false,"config":true,"http":true,"kv":true,"log":true,"random":true}`, nil, "")
	check(t, "config", call(p, "config", `{}`),
		`{"value":5,"found":true,"greeting":"hi","all":{"greeting":"hi","limit":5}}`, nil, "")
	check(t, "kv", call(p, "kv", `{"key":"k1","value":"v1"}`),
		`{"before":null,"after":"v1","keys":["k1"],"deleted":true,"granted":true}`, nil, "")
	check(t, "fetch", call(p, "fetch", `{"url":"`+srv.URL+`/x"}`),
		`{"status":200,"url":"`+srv.URL+`/x","body":"probe header 1 `+strings.Repeat("y", 64-len("probe header 1 "))+`","truncated":true,"type":"text/plain"}`, nil, "")
	check(t, "log", call(p, "log", `{"message":"hello"}`), `true`, nil, "")
	for _, level := range []string{"debug", "info", "warn", "error"} {
		if want := "hello at " + level; !strings.Contains(e.logs.String(), want) {
			t.Errorf("host log lacks %q:\n%s", want, e.logs.String())
		}
	}
	http.DefaultClient.CloseIdleConnections()
}
