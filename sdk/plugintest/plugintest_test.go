package plugintest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/sdk/plugintest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const pingWasm = "../../host/plugin/testdata/ping.wasm"

// goodDir is the host's main test guest, built from source by Load.
const goodDir = "../../host/plugin/testdata/good"

func TestPing(t *testing.T) {
	p := plugintest.Load(t, pingWasm)
	if out := p.Call("ping", nil); string(out) != `{"ok":true}` {
		t.Fatalf("ping = %s", out)
	}
}

func TestBuildFromSourceWithGrants(t *testing.T) {
	p := plugintest.Load(t, goodDir, plugintest.Grant("config", "kv", "log"), plugintest.Config("greeting", "hi"))
	if out := p.Call("echo", map[string]int{"n": 1}); string(out) != `{"n":1}` {
		t.Fatalf("echo = %s", out)
	}
	out := string(p.Call("caps", nil))
	for _, want := range []string{`"greeting":"\"hi\""`, `"kv_set":0`, `"log":0`, `"http":2`} {
		if !strings.Contains(out, want) {
			t.Errorf("caps = %s, missing %s", out, want)
		}
	}
	if !strings.Contains(p.Logs(), "caps: hello from the guest") || !strings.Contains(p.Logs(), "capability denied") {
		t.Errorf("logs = %s", p.Logs())
	}
	err := p.CallErr("fail", nil)
	var te *plugin.ToolError
	if !errors.Is(err, plugin.ErrPlugin) || !errors.As(err, &te) || te.Code != "E42" {
		t.Fatalf("CallErr(fail) = %v", err)
	}
	if err := p.CallErr("strict", `{"n":"x"}`); !errors.Is(err, plugin.ErrInvalidArguments) {
		t.Fatalf("CallErr(strict) = %v", err)
	}
	if _, ok, _ := p.KV().Get(context.Background(), p.Plugin().Name(), "visits"); ok {
		t.Fatal("caps deletes the key it sets")
	}
}

func TestAllowHTTP(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "pong") }))
	defer s.Close()
	url := `{"url":"` + s.URL + `"}`
	allowed := plugintest.Load(t, goodDir, plugintest.AllowHTTP("127.0.0.1"), plugintest.AllowPrivate())
	if out := allowed.Call("fetch", url); !strings.Contains(string(out), `"body":"pong"`) {
		t.Fatalf("fetch = %s", out)
	}
	refused := plugintest.Load(t, goodDir, plugintest.AllowHTTP("127.0.0.1"))
	if err := refused.CallErr("fetch", url); !errors.Is(err, plugin.ErrCapabilityDenied) {
		t.Fatalf("fetch without AllowPrivate = %v", err)
	}
}

// recorder is a TB that records failures instead of stopping a test.
type recorder struct {
	failed   string
	cleanups []func()
}

func (r *recorder) Helper()                        {}
func (r *recorder) Logf(string, ...any)            {}
func (r *recorder) Cleanup(f func())               { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...); panic(r) }

func (r *recorder) run(f func()) {
	defer func() {
		if v := recover(); v != nil && v != r {
			panic(v)
		}
		for _, c := range r.cleanups {
			c()
		}
	}()
	f()
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name string
		f    func(tb plugintest.TB)
		want string
	}{
		{"unknown capability", func(tb plugintest.TB) { plugintest.Load(tb, pingWasm, plugintest.Grant("telepathy")) }, `Grant("telepathy")`},
		{"missing file", func(tb plugintest.TB) { plugintest.Load(tb, "nope.wasm") }, "nope.wasm"},
		{"not a plugin", func(tb plugintest.TB) { plugintest.Load(tb, "plugintest.go") }, "loading plugintest.go"},
		{"call fails", func(tb plugintest.TB) { plugintest.Load(tb, pingWasm).Call("nope", nil) }, "tool not found"},
		{"call succeeds", func(tb plugintest.TB) { plugintest.Load(tb, pingWasm).CallErr("ping", nil) }, "succeeded with {\"ok\":true}"},
		{"arguments do not encode", func(tb plugintest.TB) { plugintest.Load(tb, pingWasm).Call("ping", func() {}) }, "encoding arguments"},
	}
	for _, tt := range tests {
		r := &recorder{}
		r.run(func() { tt.f(r) })
		if !strings.Contains(r.failed, tt.want) {
			t.Errorf("%s: failure %q, want it to mention %q", tt.name, r.failed, tt.want)
		}
	}
}
