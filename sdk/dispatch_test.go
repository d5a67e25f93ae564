package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

type addArgs struct {
	A int `json:"a"`
	B int `json:"b,omitempty"`
}

type addResult struct {
	Sum int `json:"sum"`
}

func testPlugin(t testing.TB) *plugin {
	t.Helper()
	p, err := newPlugin(Plugin{
		Name:         "test",
		Version:      "1.2.3",
		Description:  "Tools for tests.",
		Capabilities: []Capability{CapLog, CapKV},
		Tools: []Tool{
			NewTool("add", "Adds two numbers.", func(_ context.Context, a addArgs) (addResult, error) {
				return addResult{Sum: a.A + a.B}, nil
			}),
			NewTool("fail", "Always fails.", func(context.Context, struct{}) (any, error) {
				return nil, Errorf("broken", "it broke at %d", 7)
			}),
			NewTool("plain_fail", "Fails without a code.", func(context.Context, struct{}) (any, error) {
				return nil, fmt.Errorf("wrapped: %w", errors.New("plain"))
			}),
			NewTool("reject", "Rejects its arguments.", func(context.Context, struct{}) (any, error) {
				return nil, fmt.Errorf("%w: out of range", ErrInvalidArguments)
			}),
			NewTool("nan", "Returns an unencodable result.", func(context.Context, struct{}) (float64, error) {
				return math.NaN(), nil
			}),
			NewRawTool("echo", "Echoes its arguments.", nil, func(_ context.Context, args json.RawMessage) (any, error) {
				return args, nil
			}),
			NewTool("html", "Returns markup.", func(context.Context, struct{}) (string, error) {
				return "<b>&</b>", nil
			}),
		},
	})
	if err != nil {
		t.Fatalf("newPlugin: %v", err)
	}
	return p
}

func TestDescriptor(t *testing.T) {
	p, err := newPlugin(Plugin{Name: "calc", Tools: []Tool{
		NewTool("calculate", "Evaluate an expression.", func(context.Context, struct {
			Expression string `json:"expression"`
		}) (float64, error) {
			return 0, nil
		}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"abi_minor":0,"name":"calc","version":"0.0.0","kind":"tool","capabilities":[],"tools":[{"name":"calculate","description":"Evaluate an expression.","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"],"additionalProperties":false}}]}`
	if string(p.descriptor) != want {
		t.Errorf("descriptor\n got %s\nwant %s", p.descriptor, want)
	}
}

func TestNewPluginErrors(t *testing.T) {
	tool := NewTool("ok", "", func(context.Context, struct{}) (int, error) { return 0, nil })
	tests := []struct {
		name string
		p    Plugin
		want string
	}{
		{"empty name", Plugin{Tools: []Tool{tool}}, "plugin name"},
		{"upper case name", Plugin{Name: "Calc", Tools: []Tool{tool}}, "plugin name"},
		{"leading dash", Plugin{Name: "-x", Tools: []Tool{tool}}, "plugin name"},
		{"long name", Plugin{Name: strings.Repeat("a", 65), Tools: []Tool{tool}}, "plugin name"},
		{"no tools", Plugin{Name: "x"}, "has no tools"},
		{"zero tool", Plugin{Name: "x", Tools: []Tool{{}}}, "not made with NewTool"},
		{"bad tool name", Plugin{Name: "x", Tools: []Tool{NewRawTool("a b", "", nil, func(context.Context, json.RawMessage) (any, error) { return nil, nil })}}, "tool name"},
		{"duplicate tool", Plugin{Name: "x", Tools: []Tool{tool, tool}}, "used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPlugin(tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCall(t *testing.T) {
	p := testPlugin(t)
	tests := []struct {
		name   string
		tool   int
		args   string
		status byte
		want   string
	}{
		{"ok", 0, `{"a":17,"b":23}`, statusOK, `{"sum":40}`},
		{"optional field absent", 0, `{"a":2}`, statusOK, `{"sum":2}`},
		{"empty input is the zero value", 0, ``, statusOK, `{"sum":0}`},
		{"empty object", 0, `{}`, statusOK, `{"sum":0}`},
		{"whitespace around the object", 0, " {\"a\":1}\n", statusOK, `{"sum":1}`},
		{"unknown field", 0, `{"a":1,"c":2}`, statusBadRequest, `{"message":"sdk: invalid arguments: json: unknown field \"c\"","code":"invalid_arguments"}`},
		{"wrong type", 0, `{"a":"x"}`, statusBadRequest, `{"message":"sdk: invalid arguments: json: cannot unmarshal string into Go struct field addArgs.a of type int","code":"invalid_arguments"}`},
		{"trailing data", 0, `{"a":1} {}`, statusBadRequest, `{"message":"sdk: invalid arguments: data after the arguments object","code":"invalid_arguments"}`},
		{"not an object", 0, `[1]`, statusBadRequest, `{"message":"sdk: invalid arguments: json: cannot unmarshal array into Go value of type sdk.addArgs","code":"invalid_arguments"}`},
		{"malformed JSON", 0, `{"a":`, statusBadRequest, `{"message":"sdk: invalid arguments: unexpected EOF","code":"invalid_arguments"}`},
		{"key in another case", 0, `{"A":17,"b":1}`, statusOK, `{"sum":18}`},
		{"duplicate key: the last wins", 0, `{"a":1,"a":5}`, statusOK, `{"sum":5}`},
		{"null field", 0, `{"a":null,"b":3}`, statusOK, `{"sum":3}`},
		{"escaped key", 0, `{"\u0061":4}`, statusOK, `{"sum":4}`},
		{"out of range", 0, `{"a":1e3}`, statusBadRequest, `{"message":"sdk: invalid arguments: json: cannot unmarshal number 1e3 into Go struct field addArgs.a of type int","code":"invalid_arguments"}`},
		{"unknown field after a known one", 0, `{"a":1,"sum":2}`, statusBadRequest, `{"message":"sdk: invalid arguments: json: unknown field \"sum\"","code":"invalid_arguments"}`},
		{"tool error with code", 1, `{}`, statusToolError, `{"message":"it broke at 7","code":"broken"}`},
		{"tool error without code", 2, `{}`, statusToolError, `{"message":"wrapped: plain"}`},
		{"tool rejects its arguments", 3, `{}`, statusBadRequest, `{"message":"sdk: invalid arguments: out of range","code":"invalid_arguments"}`},
		{"unencodable result", 4, `{}`, statusToolError, `{"message":"sdk: encoding result: json: unsupported value: NaN"}`},
		{"raw tool echoes", 5, `{"x": [1, 2]}`, statusOK, `{"x": [1, 2]}`},
		{"raw tool empty input", 5, ``, statusOK, `{}`},
		{"no HTML escaping", 6, `{}`, statusOK, `"<b>&</b>"`},
		{"index past the end", 7, `{}`, statusBadRequest, `{"message":"sdk: no tool at index 7 (plugin \"test\" has 7)","code":"unknown_tool"}`},
		{"negative index", -1, `{}`, statusBadRequest, `{"message":"sdk: no tool at index -1 (plugin \"test\" has 7)","code":"unknown_tool"}`},
	}
	r := newResponse()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.call(context.Background(), tt.tool, []byte(tt.args), r)
			got := r.bytes()
			if got[0] != tt.status || string(got[1:]) != tt.want {
				t.Errorf("result = %d %s\nwant     %d %s", got[0], got[1:], tt.status, tt.want)
			}
		})
	}
}

func TestInit(t *testing.T) {
	p := testPlugin(t)
	r := newResponse()
	mask := p.init([]byte(`{"abi":{"major":1,"minor":1},"host":"fleet/0.1.0","capabilities":["log","kv","future"],"instance":3,"extra":true}`), r)
	if want := capBit(CapLog) | capBit(CapKV); mask != want {
		t.Errorf("grant mask = %b, want %b", mask, want)
	}
	if got := r.bytes(); got[0] != statusOK || string(got[1:]) != string(p.descriptor) {
		t.Errorf("init result = %d %s", got[0], got[1:])
	}
	mask = p.init([]byte(`{"abi":`), r)
	if got := r.bytes(); mask != 0 || got[0] != statusBadRequest || !strings.Contains(string(got), `"code":"bad_message"`) {
		t.Errorf("malformed init: mask %b, result %d %s", mask, got[0], got[1:])
	}
}

func TestResponseReleasesBigBuffers(t *testing.T) {
	r := newResponse()
	r.ok(strings.Repeat("x", 2*keepLimit))
	if r.buf.Cap() <= keepLimit {
		t.Fatalf("cap %d after a big result", r.buf.Cap())
	}
	r.ok(1)
	if r.buf.Cap() > keepLimit || string(r.bytes()[1:]) != "1" {
		t.Errorf("after a small result: cap %d, payload %q", r.buf.Cap(), r.bytes()[1:])
	}
}

// TestTypedCallKeepsNoBuffers checks that the decoder and encoder state a response keeps between
// calls holds neither the input nor a released result buffer.
func TestTypedCallKeepsNoBuffers(t *testing.T) {
	type text struct {
		Text string `json:"text"`
	}
	p, err := newPlugin(Plugin{Name: "big", Tools: []Tool{
		NewTool("echo", "", func(_ context.Context, a text) (text, error) { return a, nil }),
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := newResponse()
	big := []byte(`{"text":"` + strings.Repeat("x", 2*keepLimit) + `"}`)
	p.call(context.Background(), 0, big, r)
	if r.buf.Cap() <= keepLimit || !bytes.Equal(r.bytes()[1:], big) {
		t.Fatalf("big call: cap %d, %d bytes", r.buf.Cap(), len(r.bytes()))
	}
	p.call(context.Background(), 0, []byte(`{"text":"small"}`), r)
	if r.buf.Cap() > keepLimit || string(r.bytes()[1:]) != `{"text":"small"}` {
		t.Errorf("small call: cap %d, payload %q", r.buf.Cap(), r.bytes()[1:])
	}
	if r.result.b != nil || r.args.s.b != nil {
		t.Errorf("response keeps %d result bytes and %d input bytes", cap(r.result.b), len(r.args.s.b))
	}
}

func TestDecodeResult(t *testing.T) {
	tests := []struct {
		name     string
		region   string
		wantOut  string
		wantCode string
		wantIs   error
	}{
		{"ok", "\x00{}", "{}", "", nil},
		{"tool error", "\x01{\"message\":\"m\",\"code\":\"c\"}", "", "c", nil},
		{"invalid arguments", "\x02{\"message\":\"m\",\"code\":\"invalid_arguments\"}", "", "invalid_arguments", ErrInvalidArguments},
		{"unknown tool", "\x02{\"message\":\"m\",\"code\":\"unknown_tool\"}", "", "unknown_tool", ErrUnknownTool},
		{"empty region", "", "", "bad_message", nil},
		{"malformed error", "\x01nope", "", "bad_message", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := decodeResult([]byte(tt.region))
			if string(out) != tt.wantOut {
				t.Errorf("out = %q, want %q", out, tt.wantOut)
			}
			var te *ToolError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.wantCode != "" && (!errors.As(err, &te) || te.Code != tt.wantCode):
				t.Errorf("err = %#v, want code %q", err, tt.wantCode)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Errorf("err = %v, want it to match %v", err, tt.wantIs)
			}
		})
	}
}

func BenchmarkCallNoop(b *testing.B) {
	p, err := newPlugin(Plugin{Name: "bench", Tools: []Tool{
		NewTool("noop", "", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil }),
	}})
	if err != nil {
		b.Fatal(err)
	}
	r := newResponse()
	args := []byte(`{}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p.call(ctx, 0, args, r)
	}
}

func BenchmarkCallSmallArgs(b *testing.B) {
	p := testPlugin(b)
	r := newResponse()
	args := []byte(`{"a":17,"b":23}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p.call(ctx, 0, args, r)
	}
}

// exprArgs and exprResult have the shape of the calc plugin's arguments and result.
type exprArgs struct {
	Expression string `json:"expression"`
}

type exprResult struct {
	Expression string  `json:"expression"`
	Result     float64 `json:"result"`
}

// BenchmarkCallTyped is a typed tool call with calc's shapes of arguments and result: the SDK's whole
// per-call work around a tool function that does nothing.
func BenchmarkCallTyped(b *testing.B) {
	p, err := newPlugin(Plugin{Name: "bench", Tools: []Tool{
		NewTool("calc", "", func(_ context.Context, a exprArgs) (exprResult, error) {
			return exprResult{Expression: a.Expression, Result: 10.25}, nil
		}),
	}})
	if err != nil {
		b.Fatal(err)
	}
	r := newResponse()
	args := []byte(`{"expression":"(2+3)^2/sqrt(16) + max(1, 7, 3) * 17 % 5"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p.call(ctx, 0, args, r)
	}
}

// BenchmarkArguments decodes typed arguments with the plan and with encoding/json (strict), the way
// the SDK decoded them before it had plans.
func BenchmarkArguments(b *testing.B) {
	in := []byte(`{"s":"hello, world","i":42,"f64":2.5,"l":["a","b"],"in":{"n":1,"s":"x"},"m":{"k":1}}`)
	plan := argPlan(reflect.TypeFor[planArgs]())
	b.Run("plan", func(b *testing.B) {
		var d argDecoder
		b.ReportAllocs()
		for b.Loop() {
			var a planArgs
			if err := decodeArgs(&d, plan, in, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a planArgs
			if err := decodeStrict(in, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkResult encodes a result with the plan and with encoding/json, the way the SDK encoded
// results before it had plans.
func BenchmarkResult(b *testing.B) {
	v := planInner{N: 7, S: "a string", Next: &planInner{N: 8}}
	plan := resultPlan(reflect.TypeFor[planInner]())
	b.Run("plan", func(b *testing.B) {
		r := newResponse()
		b.ReportAllocs()
		for b.Loop() {
			r.okPlan(plan, unsafe.Pointer(&v))
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
