package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hostcall calls the good fixture's hostcall tool and returns the host_call status and response.
func hostcall(t *testing.T, p *Plugin, capID, op int, input string) (int, string) {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"cap": capID, "op": op, "input": input})
	out, err := p.Call(context.Background(), "hostcall", args)
	if err != nil {
		t.Fatalf("hostcall(%d, %d): %v", capID, op, err)
	}
	var r struct {
		Status   int
		Response string
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r.Status, r.Response
}

func allGranted() Capabilities {
	return Capabilities{Log: true, Config: true, Clock: true, Random: true, KV: true, HTTP: &HTTPGrant{}}
}

// TestCapabilitiesDenyByDefault: every capability is denied (status 2, logged) without a grant.
func TestCapabilitiesDenyByDefault(t *testing.T) {
	h, logs := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{})
	for _, c := range []struct {
		id, op int
		name   string
	}{{1, 1, "log"}, {2, 1, "config"}, {3, 1, "clock"}, {4, 1, "random"}, {5, 1, "http"}, {6, 1, "kv"}} {
		status, resp := hostcall(t, p, c.id, c.op, `{"key":"k","url":"http://example.com/"}`)
		if status != hcDenied || !strings.Contains(resp, `"code":"denied"`) {
			t.Errorf("%s: status %d %s, want 2 denied", c.name, status, resp)
		}
		if !strings.Contains(logs.String(), "capability="+c.name) {
			t.Errorf("%s: denial not logged", c.name)
		}
	}
}

func TestCapabilityStatuses(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{Capabilities: allGranted(), Config: map[string]any{"n": 3, "list": []any{"a", true}}})
	tests := []struct {
		name       string
		cap, op    int
		input      string
		wantStatus int
		wantResp   string
	}{
		{"unknown capability", 9, 1, "", hcUnsupported, `"code":"unsupported"`},
		{"unknown log level", 1, 7, "x", hcUnsupported, "capability log has no operation 7"},
		{"clock has no operations", 3, 1, "", hcUnsupported, "capability clock has no operation 1"},
		{"config get", 2, 1, "list", hcOK, `["a",true]`},
		{"config absent", 2, 1, "nope", hcNotFound, ""},
		{"config all", 2, 2, "", hcOK, `{"list":["a",true],"n":3}`},
		{"kv bad input", 6, 1, "not json", hcFailed, `"code":"bad_message"`},
		{"kv missing key", 6, 1, `{}`, hcFailed, "key is missing"},
		{"kv set without value", 6, 2, `{"key":"a"}`, hcFailed, "value is missing"},
		{"kv get absent", 6, 1, `{"key":"absent"}`, hcNotFound, ""},
		{"http bad input", 5, 1, `{"url":`, hcFailed, `"code":"bad_message"`},
		{"http empty allowlist", 5, 1, `{"url":"http://example.com/"}`, hcDenied, "not on the plugin's http allowlist"},
		{"http scheme", 5, 1, `{"url":"file:///etc/passwd"}`, hcDenied, `scheme \"file\" is not http or https`},
	}
	for _, tt := range tests {
		status, resp := hostcall(t, p, tt.cap, tt.op, tt.input)
		if status != tt.wantStatus || !strings.Contains(resp, tt.wantResp) {
			t.Errorf("%s: status %d %q, want %d with %q", tt.name, status, resp, tt.wantStatus, tt.wantResp)
		}
	}
	out, err := p.Call(context.Background(), "hostcall", []byte(`{"cap":1,"op":1,"bad_pointer":true}`))
	if err != nil || !strings.Contains(string(out), `"status":1`) {
		t.Fatalf("host_call with an input outside memory = %s, %v; want status 1", out, err)
	}
	status, resp := hostcall(t, p, 2, 1, "n")
	if status != hcOK || resp != "3" {
		t.Fatalf("config after a bad pointer: %d %s", status, resp)
	}
}

// TestEveryCapability runs the caps tool, which uses each capability, granted and not.
func TestEveryCapability(t *testing.T) {
	logs := &logBuffer{}
	logger, _ := newSignalLogger(logs)
	kv := NewMemoryKV(0)
	h, _ := newTestHost(t, Config{Logger: logger, KV: kv})
	good := fixture(t, "good")
	run := func(m Manifest) map[string]any {
		t.Helper()
		p := load(t, h, good, m)
		defer p.Close(context.Background())
		out, err := p.Call(context.Background(), "caps", nil)
		if err != nil {
			t.Fatal(err)
		}
		var r map[string]any
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	granted := run(Manifest{Capabilities: allGranted(), Config: map[string]any{"greeting": "hi"}})
	want := map[string]any{"log": 0.0, "config": 0.0, "greeting": `"hi"`, "kv_set": 0.0, "kv_get": 0.0, "kv_value": "1",
		"kv_list": 0.0, "kv_keys": `["visits"]`, "kv_delete": 0.0, "http": 2.0, "year": float64(time.Now().UTC().Year())}
	for k, v := range want {
		if granted[k] != v {
			t.Errorf("granted %s = %v, want %v", k, granted[k], v)
		}
	}
	if !strings.Contains(logs.String(), `msg="caps: hello from the guest" plugin=good instance=`) {
		t.Errorf("guest log line missing:\n%s", logs)
	}
	denied := run(Manifest{})
	for _, k := range []string{"log", "config", "kv_set", "kv_get", "kv_list", "kv_delete", "http"} {
		if denied[k] != 2.0 {
			t.Errorf("denied %s = %v, want status 2", k, denied[k])
		}
	}
	if denied["year"] != 2022.0 {
		t.Errorf("year on the fake clock = %v, want 2022", denied["year"])
	}
	if again := run(Manifest{}); again["random"] != denied["random"] {
		t.Errorf("fake random differs between instances: %v and %v", again["random"], denied["random"])
	}
	if again := run(Manifest{Capabilities: Capabilities{Random: true}}); again["random"] == denied["random"] {
		t.Errorf("granted random equals the fake sequence %v", again["random"])
	}
}

// TestKVScope: a plugin's keys live under its name in the host's KV, and the store is bounded.
func TestKVScope(t *testing.T) {
	kv := NewMemoryKV(64)
	h, _ := newTestHost(t, Config{KV: kv})
	p := load(t, h, fixture(t, "good"), Manifest{Capabilities: Capabilities{KV: true}})
	if st, _ := hostcall(t, p, 6, 2, `{"key":"color","value":"blue"}`); st != hcOK {
		t.Fatalf("kv set: %d", st)
	}
	ctx := context.Background()
	if v, ok, _ := kv.Get(ctx, "good", "color"); !ok || string(v) != "blue" {
		t.Fatalf("kv scope good: %q %v", v, ok)
	}
	if keys, _ := kv.List(ctx, "other", ""); len(keys) != 0 {
		t.Fatalf("another scope sees %v", keys)
	}
	st, resp := hostcall(t, p, 6, 2, fmt.Sprintf(`{"key":"big","value":%q}`, strings.Repeat("v", 100)))
	if st != hcFailed || !strings.Contains(resp, `"code":"full"`) {
		t.Fatalf("kv set over the bound: %d %s", st, resp)
	}
	if st, resp := hostcall(t, p, 6, 1, `{"key":"color"}`); st != hcOK || resp != "blue" {
		t.Fatalf("kv get after a refused set: %d %s", st, resp)
	}
}

func TestMemoryKV(t *testing.T) {
	ctx := context.Background()
	kv := NewMemoryKV(20)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(kv.Set(ctx, "a", "k1", []byte("0123456789"))) // 12 bytes
	must(kv.Set(ctx, "b", "k1", []byte("0123456789"))) // other scope, own bound
	if err := kv.Set(ctx, "a", "k2", []byte("012345678")); !errors.Is(err, ErrKVFull) {
		t.Fatalf("set past the bound = %v", err)
	}
	must(kv.Set(ctx, "a", "k1", []byte("01234567890123456"))) // replacing counts the new size only: 19
	must(kv.Delete(ctx, "a", "k1"))
	must(kv.Delete(ctx, "a", "k1"))
	must(kv.Set(ctx, "a", "k2", []byte("012345678")))
	must(kv.Set(ctx, "a", "j", []byte("x")))
	keys, _ := kv.List(ctx, "a", "k")
	if len(keys) != 1 || keys[0] != "k2" {
		t.Fatalf("List = %v", keys)
	}
	v, ok, _ := kv.Get(ctx, "a", "k2")
	v[0] = 'X'
	if again, _, _ := kv.Get(ctx, "a", "k2"); again[0] != '0' || !ok {
		t.Fatal("Get returned the stored slice")
	}
}

// TestDeniedJoinsError: a call that fails after a denial matches both its error and
// ErrCapabilityDenied.
func TestDeniedJoinsError(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{})
	_, err := p.Call(context.Background(), "fetch", []byte(`{"url":"http://example.com/"}`))
	if !errors.Is(err, ErrPlugin) || !errors.Is(err, ErrCapabilityDenied) || !strings.Contains(err.Error(), "http: capability http is not granted") {
		t.Fatalf("fetch without http = %v", err)
	}
	var te *ToolError
	if !errors.As(err, &te) || te.Code != "fetch" {
		t.Fatalf("ToolError = %+v", te)
	}
}
