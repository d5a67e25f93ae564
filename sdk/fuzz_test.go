package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

type fuzzArgs struct {
	Name  string            `json:"name"`
	Count *int              `json:"count,omitempty"`
	Tags  []string          `json:"tags,omitempty"`
	Meta  map[string]any    `json:"meta,omitempty"`
	Inner *fuzzArgs         `json:"inner,omitempty"`
	Flags map[string]bool   `json:"flags,omitempty"`
	Raw   json.RawMessage   `json:"raw,omitempty"`
	Pair  [2]int            `json:"pair,omitempty"`
	Sub   struct{ X uint8 } `json:"sub,omitzero"`
}

// FuzzCall feeds arbitrary arguments to every tool of a plugin through the fleet_call dispatch and
// checks the ABI's promises: a known status byte, a JSON payload, and error JSON with a message.
func FuzzCall(f *testing.F) {
	p, err := newPlugin(Plugin{Name: "fuzz", Tools: []Tool{
		NewTool("typed", "", func(_ context.Context, a fuzzArgs) (fuzzArgs, error) { return a, nil }),
		NewTool("add", "", func(_ context.Context, a addArgs) (addResult, error) { return addResult{a.A + a.B}, nil }),
		NewRawTool("raw", "", nil, func(_ context.Context, a json.RawMessage) (any, error) { return a, nil }),
		NewTool("fails", "", func(_ context.Context, a fuzzArgs) (any, error) { return nil, Errorf("c", "%s", a.Name) }),
	}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{``, `{}`, `{"name":"x"}`, `{"name":"x","count":3,"tags":["a"],"inner":{"name":"y"}}`,
		`{"meta":{"a":[1,{"b":null}]}}`, `{"pair":[1,2,3]}`, `{"a":1,"b":2}`, `{"a":1e400}`, `[`, `null`, `"s"`,
		`{"name":"\ud800"}`, `{"name":1}`, `{"raw":{"x":1}} trailing`, `{"sub":{"X":300}}`} {
		for tool := range 5 {
			f.Add(uint8(tool), []byte(seed))
		}
	}
	r := newResponse()
	f.Fuzz(func(t *testing.T, tool uint8, args []byte) {
		p.call(context.Background(), int(tool), args, r)
		region := r.bytes()
		if len(region) == 0 {
			t.Fatal("empty result region")
		}
		status, payload := region[0], region[1:]
		if !json.Valid(payload) {
			t.Fatalf("status %d with invalid JSON payload %q", status, payload)
		}
		switch status {
		case statusOK:
			if int(tool) >= len(p.tools) {
				t.Fatalf("tool %d out of range answered ok", tool)
			}
		case statusToolError, statusBadRequest:
			var body errorBody
			if err := json.Unmarshal(payload, &body); err != nil || body.Message == "" {
				t.Fatalf("status %d: error JSON %q: %v", status, payload, err)
			}
			if _, err := decodeResult(region); err == nil {
				t.Fatal("decodeResult of a failed call returned no error")
			}
		default:
			t.Fatalf("status %d", status)
		}
	})
}

// encodingJSON encodes v as encoding/json does with HTML escaping off, the reference for appendScalar.
func encodingJSON(t *testing.T, v any) (string, bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", false
	}
	return strings.TrimSuffix(buf.String(), "\n"), true
}

// FuzzAppendScalar checks that the SDK's own encoder writes exactly what encoding/json writes.
func FuzzAppendScalar(f *testing.F) {
	f.Add("plain", 0.0, int64(0), uint64(0), false)
	f.Add("\"quote\" \\ \b\f\n\r\t \x00\x1f\x7f <&> \u2028\u2029 é 日本 \xff\xfe", 1e21, int64(-1), uint64(1<<63), true)
	f.Add("", 1e-7, int64(math.MinInt64), uint64(math.MaxUint64), false)
	f.Add("x", -0.000001, int64(math.MaxInt64), uint64(7), false)
	f.Add("y", 123456789.125, int64(3), uint64(9), true)
	f.Add("z", 5e-324, int64(3), uint64(9), true)
	f.Add("w", math.MaxFloat64, int64(3), uint64(9), true)
	f.Fuzz(func(t *testing.T, s string, fl float64, i int64, u uint64, bo bool) {
		values := []any{nil, struct{}{}, bo, s, int(i), i, u, fl, json.RawMessage(s)}
		for _, v := range values {
			got, ok := appendScalar(nil, v)
			want, wantOK := encodingJSON(t, v)
			if raw, isRaw := v.(json.RawMessage); isRaw {
				// encoding/json compacts a raw message; the SDK sends a valid one as is.
				want, wantOK = string(raw), wantOK && len(raw) > 0
			}
			if ok != wantOK || ok && string(got) != want {
				t.Errorf("appendScalar(%T %#v) = %q, %v; encoding/json: %q, %v", v, v, got, ok, want, wantOK)
			}
		}
		got := appendErrorJSON(nil, s, s+"!")
		want, _ := json.Marshal(errorBody{Message: s + "!", Code: s})
		var gotBody, wantBody errorBody
		if err := json.Unmarshal(got, &gotBody); err != nil || json.Unmarshal(want, &wantBody) != nil || gotBody != wantBody {
			t.Errorf("appendErrorJSON(%q) = %s, want %s (%v)", s, got, want, err)
		}
	})
}
