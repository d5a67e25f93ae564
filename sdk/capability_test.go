package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/sdk"
)

// These tests run the capability functions against the stand-in host, which answers with the same
// statuses and JSON as a Fleet host.

func TestGrantedDefaults(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{})()
	for _, c := range []sdk.Capability{sdk.CapLog, sdk.CapConfig, sdk.CapKV, sdk.CapClock, sdk.CapRandom} {
		if !sdk.Granted(c) {
			t.Errorf("Granted(%s) = false by default", c)
		}
	}
	if sdk.Granted(sdk.CapHTTP) {
		t.Error("Granted(http) = true without a Fetch")
	}
	if sdk.Granted("teleport") {
		t.Error("Granted(unknown) = true")
	}
	sdk.SetLocalHost(sdk.LocalHost{Fetch: func(context.Context, sdk.HTTPRequest) (*sdk.HTTPResponse, error) { return nil, nil }})
	if !sdk.Granted(sdk.CapHTTP) {
		t.Error("Granted(http) = false with a Fetch")
	}
	sdk.SetLocalHost(sdk.LocalHost{Grants: []sdk.Capability{}})
	if sdk.Granted(sdk.CapLog) {
		t.Error("Granted(log) = true with no grants")
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	defer sdk.SetLocalHost(sdk.LocalHost{LogOutput: &buf})()
	sdk.Log(sdk.LevelWarn, "disk low")
	sdk.Logf(sdk.LevelDebug, "n=%d", 3)
	if got, want := buf.String(), "WARN: disk low\nDEBUG: n=3\n"; got != want {
		t.Errorf("log output %q, want %q", got, want)
	}
}

// same fails the test when got and want differ (reflect.DeepEqual).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %s, want %s", what, show(got), show(want))
	}
}

// show formats v for a failure message, following pointers one level.
func show(v any) string {
	if vs, ok := v.([]any); ok {
		parts := make([]string, len(vs))
		for i, x := range vs {
			parts[i] = show(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return fmt.Sprintf("&%+v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v)
}

// result3 packs a three-value result for same.
func result3[A, B any](a A, b B, err error) []any { return []any{a, b, fmt.Sprint(err)} }

// result2 packs a two-value result for same.
func result2[A any](a A, err error) []any { return []any{a, fmt.Sprint(err)} }

func TestConfig(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{Config: map[string]any{"greeting": "Hi", "limit": 3}})()
	same(t, "Config(limit)", result3(sdk.Config("limit")), []any{json.RawMessage("3"), true, "<nil>"})
	same(t, "Config(absent)", result3(sdk.Config("absent")), []any{json.RawMessage(nil), false, "<nil>"})
	same(t, "ConfigString(greeting)", result2(sdk.ConfigString("greeting", "Hello")), []any{"Hi", "<nil>"})
	same(t, "ConfigString(absent)", result2(sdk.ConfigString("absent", "Hello")), []any{"Hello", "<nil>"})
	same(t, "ConfigString(limit)", result2(sdk.ConfigString("limit", "d")),
		[]any{"d", "sdk: config limit is not a string: json: cannot unmarshal number into Go value of type string"})
	same(t, "ConfigAll()", result2(sdk.ConfigAll()),
		[]any{map[string]json.RawMessage{"greeting": json.RawMessage(`"Hi"`), "limit": json.RawMessage("3")}, "<nil>"})
}

func TestDenied(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{Grants: []sdk.Capability{}, Config: map[string]any{"k": 1}})()
	checks := map[string]error{}
	_, _, checks["config"] = sdk.Config("k")
	_, checks["config all"] = sdk.ConfigAll()
	_, _, checks["kv get"] = sdk.KVGet("k")
	checks["kv set"] = sdk.KVSet("k", "v")
	checks["kv delete"] = sdk.KVDelete("k")
	_, checks["kv list"] = sdk.KVList("")
	_, checks["http"] = sdk.Get(context.Background(), "https://example.com/")
	for name, err := range checks {
		var te *sdk.ToolError
		if !errors.Is(err, sdk.ErrDenied) || !errors.As(err, &te) || te.Code != sdk.CodeDenied {
			t.Errorf("%s: err = %v, want ErrDenied with code denied", name, err)
		}
	}
}

func TestKV(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{})()
	same(t, "KVGet on an empty store", result3(sdk.KVGet("a")), []any{"", false, "<nil>"})
	for _, kv := range [][2]string{{"note/2", "two"}, {"note/1", "one"}, {"other", ""}} {
		same(t, "KVSet("+kv[0]+")", fmt.Sprint(sdk.KVSet(kv[0], kv[1])), "<nil>")
	}
	same(t, "KVGet(note/1)", result3(sdk.KVGet("note/1")), []any{"one", true, "<nil>"})
	same(t, "KVGet(other), an empty value", result3(sdk.KVGet("other")), []any{"", true, "<nil>"})
	same(t, "KVList(note/)", result2(sdk.KVList("note/")), []any{[]string{"note/1", "note/2"}, "<nil>"})
	same(t, "KVDelete(note/1)", fmt.Sprint(sdk.KVDelete("note/1")), "<nil>")
	same(t, "KVList() after delete", result2(sdk.KVList("")), []any{[]string{"note/2", "other"}, "<nil>"})
	same(t, "KVList(zzz)", result2(sdk.KVList("zzz")), []any{[]string{}, "<nil>"})
}

// fetchHost is a stand-in Fetch that records the request it got and answers by URL.
type fetchHost struct {
	got         sdk.HTTPRequest
	gotDeadline bool
}

func (h *fetchHost) fetch(ctx context.Context, req sdk.HTTPRequest) (*sdk.HTTPResponse, error) {
	h.got = req
	_, h.gotDeadline = ctx.Deadline()
	switch req.URL {
	case "https://denied.test/":
		return nil, fmt.Errorf("host not on the allowlist: %w", sdk.ErrDenied)
	case "https://broken.test/":
		return nil, errors.New("connection refused")
	case "https://binary.test/":
		return &sdk.HTTPResponse{Status: 200, URL: req.URL, Body: []byte{0xff, 0x00, 0xfe}}, nil
	}
	return &sdk.HTTPResponse{Status: 404, URL: req.URL, Headers: map[string]string{"Content-Type": "text/plain"},
		Body: []byte("no such page"), Truncated: true}, nil
}

func TestFetch(t *testing.T) {
	h := &fetchHost{}
	defer sdk.SetLocalHost(sdk.LocalHost{Fetch: h.fetch})()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := sdk.Fetch(ctx, sdk.HTTPRequest{Method: "POST", URL: "https://ok.test/a", Headers: map[string]string{"X-A": "b"},
		Body: "payload", MaxBytes: 10})
	same(t, "Fetch(ok.test)", result2(resp, err), []any{&sdk.HTTPResponse{Status: 404, URL: "https://ok.test/a",
		Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("no such page"), Truncated: true}, "<nil>"})
	if h.got.Timeout <= 0 || h.got.Timeout > time.Minute || !h.gotDeadline {
		t.Errorf("timeout as the host saw it: %v (deadline %v); want the context's", h.got.Timeout, h.gotDeadline)
	}
	h.got.Timeout = 0
	same(t, "request as the host saw it", h.got, sdk.HTTPRequest{Method: "POST", URL: "https://ok.test/a",
		Headers: map[string]string{"X-A": "b"}, Body: "payload", MaxBytes: 10})

	resp, err = sdk.Get(context.Background(), "https://binary.test/")
	same(t, "Get(binary.test)", result2(resp, err), []any{&sdk.HTTPResponse{Status: 200, URL: "https://binary.test/",
		Body: []byte{0xff, 0x00, 0xfe}}, "<nil>"})
	same(t, "method of Get", h.got.Method, "GET")

	_, err = sdk.Get(context.Background(), "https://denied.test/")
	same(t, "denied fetch", []any{errors.Is(err, sdk.ErrDenied), fmt.Sprint(err)},
		[]any{true, "http fetch https://denied.test/: host not on the allowlist: sdk: capability denied"})
	_, err = sdk.Get(context.Background(), "https://broken.test/")
	same(t, "failed fetch", []any{errors.Is(err, sdk.ErrDenied), fmt.Sprint(err)},
		[]any{false, "http fetch https://broken.test/: connection refused"})
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = sdk.Get(cancelled, "https://ok.test/")
	same(t, "fetch with a cancelled context", errors.Is(err, context.Canceled), true)
}

func TestFetchDeniedWithoutHook(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{Grants: []sdk.Capability{sdk.CapHTTP}})()
	_, err := sdk.Get(context.Background(), "https://example.com/")
	if !errors.Is(err, sdk.ErrDenied) || !strings.Contains(err.Error(), "no Fetch") {
		t.Errorf("err = %v", err)
	}
}

func TestInvokeErrors(t *testing.T) {
	_, err := sdk.Invoke(context.Background(), "nope", nil)
	var te *sdk.ToolError
	if !errors.Is(err, sdk.ErrUnknownTool) || !errors.As(err, &te) || te.Code != sdk.CodeUnknownTool {
		t.Errorf("unknown tool: %v", err)
	}
	_, err = sdk.Invoke(context.Background(), "greet", []byte(`{"name":"x","extra":1}`))
	if !errors.Is(err, sdk.ErrInvalidArguments) {
		t.Errorf("unknown field: %v", err)
	}
	var raw json.RawMessage
	if _, err := sdk.Invoke(context.Background(), "greet", []byte(`{"name":"Ada"}`)); err != nil {
		t.Errorf("greet: %v %s", err, raw)
	}
}

// TestInvokeConcurrent runs tools that use the stand-in host from many goroutines (go test -race
// checks the SDK's shared state).
func TestInvokeConcurrent(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{LogOutput: io.Discard})()
	const workers, calls = 8, 50
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range calls {
				out, err := sdk.Invoke(context.Background(), "remember", []byte(fmt.Sprintf(`{"note":"w%d-%d"}`, w, i)))
				if err != nil || !bytes.HasPrefix(out, []byte(`{"notes":`)) {
					errs <- fmt.Errorf("remember: %s, %v", out, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	keys, err := sdk.KVList("note/")
	if err != nil || len(keys) == 0 || len(keys) > workers*calls {
		t.Errorf("KVList after the calls: %d keys, %v", len(keys), err)
	}
}
