package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// countState counts what it sees; it encodes itself with StateCodec.
type countState struct {
	Seen  int64
	Types []string
}

func (s *countState) MarshalState(j *JSON) {
	j.Object("").Int("seen", s.Seen).Array("types")
	for _, t := range s.Types {
		j.String("", t)
	}
	j.End().End()
}

func (s *countState) UnmarshalState(d *Decoder) error {
	if !d.Object() {
		return d.Err()
	}
	for k, ok := d.Next(); ok; k, ok = d.Next() {
		switch k {
		case "seen":
			s.Seen = d.Int()
		case "types":
			if d.Array() {
				for d.More() {
					s.Types = append(s.Types, d.String())
				}
			}
		default:
			d.Skip()
		}
	}
	return d.Err()
}

var _ StateCodec = (*countState)(nil)

func countMapper() Mapper[countState] {
	return Mapper[countState]{
		Name:   "count",
		Format: Format{Name: "count"},
		Handlers: map[string]Handler[countState]{
			EventMessageDelta: func(out *Frames, s *countState, e *Event) error {
				s.Seen++
				out.Frame().String("delta", e.MessageDelta().Delta).End()
				return nil
			},
			"future.thing": func(out *Frames, s *countState, e *Event) error {
				s.Types = append(s.Types, e.Type)
				out.Raw(e.Data)
				return nil
			},
		},
		Default: func(out *Frames, s *countState, e *Event) error {
			s.Types = append(s.Types, "default:"+e.Type)
			return nil
		},
		Start: func(out *Frames, s *countState) error {
			out.Frame().String("type", "hello").End()
			return nil
		},
		End: func(out *Frames, s *countState) error {
			out.Frame().Int("seen", s.Seen).End()
			return nil
		},
	}
}

func ev(typ, data string) json.RawMessage { return json.RawMessage(env(typ, data)) }

func TestMapperStream(t *testing.T) {
	m, err := NewMapper(countMapper())
	if err != nil {
		t.Fatal(err)
	}
	if d := string(m.Descriptor()); !strings.Contains(d, `"kind":"mapper"`) || !strings.Contains(d, `"events":[]`) || !strings.Contains(d, `"abi_minor":1`) {
		t.Errorf("descriptor %s: a Default asks for every type", d)
	}
	ctx := context.Background()
	res, err := m.Invoke(ctx, MapRequest{Stream: "s", Op: OpStart, Events: []json.RawMessage{
		ev("message.delta", `{"message_id":"m","delta":"a"}`), ev("run.started", `{}`),
		ev("future.thing", `{"x":[1,2]}`), ev("message.delta", `{"message_id":"m","delta":"b\n"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []MapFrame{{-1, json.RawMessage(`{"type":"hello"}`)}, {0, json.RawMessage(`{"delta":"a"}`)},
		{2, json.RawMessage(`{"x":[1,2]}`)}, {3, json.RawMessage(`{"delta":"b\n"}`)}}
	if string(res.State) != `{"seen":2,"types":["default:run.started","future.thing"]}` || !sameFrames(res.Frames, want) {
		t.Fatalf("start: state %s frames %v", res.State, res.Frames)
	}
	res, err = m.Invoke(ctx, MapRequest{Stream: "s", Op: OpEnd, State: res.State})
	if err != nil || string(res.State) != `{"seen":2,"types":["default:run.started","future.thing"]}` ||
		!sameFrames(res.Frames, []MapFrame{{-1, json.RawMessage(`{"seen":2}`)}}) {
		t.Fatalf("end: %v %s %v", err, res.State, res.Frames)
	}
}

func sameFrames(a, b []MapFrame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Event != b[i].Event || string(a[i].Frame) != string(b[i].Frame) {
			return false
		}
	}
	return true
}

// TestMapperJSONState round-trips a state type without StateCodec through encoding/json, and
// checks that a stateless mapper sends null.
func TestMapperJSONState(t *testing.T) {
	type st struct {
		Open []string `json:"open"`
	}
	m, err := NewMapper(Mapper[st]{Name: "j", Format: Format{Name: "j"}, Handlers: map[string]Handler[st]{
		EventMessageStart: func(out *Frames, s *st, e *Event) error {
			s.Open = append(s.Open, e.MessageStart().MessageID)
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Invoke(context.Background(), MapRequest{Op: OpEvents, State: json.RawMessage(`{"open":["a"]}`),
		Events: []json.RawMessage{ev("message.start", `{"message_id":"b\u00e9"}`)}})
	if err != nil || string(res.State) != `{"open":["a","bé"]}` {
		t.Fatalf("%v %s", err, res.State)
	}
	none, _ := NewMapper(Mapper[struct{}]{Name: "n", Format: Format{Name: "n"}, Handlers: map[string]Handler[struct{}]{
		EventRoute: func(*Frames, *struct{}, *Event) error { return nil }}})
	if res, err := none.Invoke(context.Background(), MapRequest{Op: OpEvents, State: json.RawMessage(`{"ignored":1}`)}); err != nil || string(res.State) != "null" {
		t.Fatalf("stateless: %v %s", err, res.State)
	}
}

func TestMapperErrors(t *testing.T) {
	type st struct{ N int }
	handler := func(fn func(out *Frames, e *Event) error) Mapper[st] {
		return Mapper[st]{Name: "e", Format: Format{Name: "e"}, Handlers: map[string]Handler[st]{
			EventMessageDelta: func(out *Frames, _ *st, e *Event) error { return fn(out, e) }}}
	}
	delta := ev("message.delta", `{"message_id":"m","delta":"x"}`)
	for _, tt := range []struct {
		name     string
		m        Mapper[st]
		req      string
		sentinel error
		code     string
		msg      string
	}{
		{"unknown op", handler(nil), `{"op":"pause","events":[]}`, ErrUnsupported, CodeUnsupported, `op "pause"`},
		{"malformed request", handler(nil), `{"op":"events","events":[`, ErrBadMessage, CodeBadMessage, "fleet_map request"},
		{"bad state", handler(nil), `{"op":"events","state":{"N":"x"},"events":[]}`, ErrBadMessage, CodeBadMessage, "fleet_map state"},
		{"handler error with code", handler(func(*Frames, *Event) error { return Errorf("boom", "it broke") }),
			`{"op":"events","events":[` + string(delta) + `]}`, nil, "boom", "it broke"},
		{"bad payload", handler(func(_ *Frames, e *Event) error { e.ToolEnd(); return nil }),
			`{"op":"events","events":[` + env("message.delta", `{"call_id":7}`) + `]}`, ErrBadMessage, CodeBadMessage, "data.call_id: want a string"},
		{"frame left open", handler(func(out *Frames, _ *Event) error { out.Frame().String("a", "b"); return nil }),
			`{"op":"events","events":[` + string(delta) + `]}`, nil, "", "left a frame open"},
		{"raw frame with newline", handler(func(out *Frames, _ *Event) error { out.Raw([]byte("{\"a\":\n1}")); return nil }),
			`{"op":"events","events":[` + string(delta) + `]}`, nil, "", "spans lines"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapper(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.InvokeRaw(context.Background(), []byte(tt.req))
			var te *ToolError
			if !errors.As(err, &te) || te.Code != tt.code || !strings.Contains(te.Message, tt.msg) {
				t.Fatalf("err %v (%#v), want code %q and message with %q", err, te, tt.code, tt.msg)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v does not match %v", err, tt.sentinel)
			}
		})
	}
	m, _ := NewMapper(handler(func(*Frames, *Event) error { return nil }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.InvokeRaw(ctx, []byte(`{"op":"events","events":[]}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestNewMapperRules(t *testing.T) {
	ok := map[string]Handler[struct{}]{EventRoute: func(*Frames, *struct{}, *Event) error { return nil }}
	for _, tt := range []struct {
		name string
		m    Mapper[struct{}]
		want string
	}{
		{"bad name", Mapper[struct{}]{Name: "Bad", Format: Format{Name: "f"}, Handlers: ok}, "plugin name"},
		{"no format", Mapper[struct{}]{Name: "m", Handlers: ok}, "format name"},
		{"long format", Mapper[struct{}]{Name: "m", Format: Format{Name: strings.Repeat("f", 33)}, Handlers: ok}, "format name"},
		{"bad framing", Mapper[struct{}]{Name: "m", Format: Format{Name: "f", Framing: "xml"}, Handlers: ok}, "framing"},
		{"bad header", Mapper[struct{}]{Name: "m", Format: Format{Name: "f", Headers: map[string]string{"a b": "c"}}, Handlers: ok}, "header"},
		{"done on two lines", Mapper[struct{}]{Name: "m", Format: Format{Name: "f", Done: "a\nb"}, Handlers: ok}, "one line"},
		{"no handlers", Mapper[struct{}]{Name: "m", Format: Format{Name: "f"}}, "handles no event types"},
		{"nil handler", Mapper[struct{}]{Name: "m", Format: Format{Name: "f"}, Handlers: map[string]Handler[struct{}]{"x": nil}}, "nil handler"},
	} {
		if _, err := NewMapper(tt.m); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		}
	}
	m, err := NewMapper(Mapper[struct{}]{Name: "m", Version: "2.0.0", Format: Format{Name: "vercel", Done: "[DONE]",
		Headers: map[string]string{"x-vercel-ai-ui-message-stream": "v1"}}, Handlers: map[string]Handler[struct{}]{
		EventRunStarted: ok[EventRoute], EventRoute: ok[EventRoute]}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"abi_minor":1,"name":"m","version":"2.0.0","kind":"mapper","capabilities":[],"mapper":{"format":"vercel","content_type":"text/event-stream","framing":"sse","events":["route","run.started"],"done":"[DONE]","headers":{"x-vercel-ai-ui-message-stream":"v1"}}}`
	if got := string(m.Descriptor()); got != want {
		t.Errorf("descriptor\n got %s\nwant %s", got, want)
	}
}

// TestRegisterMapperOnce checks that a process registers one plugin: this test binary registers the
// demo tool plugin already, so the registered plugin answers fleet_map with unsupported.
func TestRegisterMapperOnce(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "registered already") {
			t.Errorf("RegisterMapper after Register: %v", r)
		}
	}()
	_, err := InvokeMap(context.Background(), MapRequest{Op: OpEvents})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("InvokeMap on a tool plugin: %v, want ErrUnsupported", err)
	}
	RegisterMapper(countMapper())
}

func TestParseMapOutput(t *testing.T) {
	res, err := ParseMapOutput([]byte("{\"a\":1}\n0 {\"x\":1}\n-1 [2]\n"))
	if err != nil || string(res.State) != `{"a":1}` || !sameFrames(res.Frames, []MapFrame{{0, json.RawMessage(`{"x":1}`)}, {-1, json.RawMessage(`[2]`)}}) {
		t.Errorf("%v %+v", err, res)
	}
	for _, bad := range []string{"", "nope\n", "null\n0{}", "null\n-2 {}", "null\nx {}", "null\n0 {"} {
		if _, err := ParseMapOutput([]byte(bad)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("ParseMapOutput(%q): %v", bad, err)
		}
	}
	req := EncodeMapRequest(MapRequest{Stream: "s\"1", Op: OpStart, Events: []json.RawMessage{json.RawMessage(` {"a":1} `)}})
	if string(req) != `{"stream":"s\"1","op":"start","state":null,"events":[{"a":1}]}` {
		t.Errorf("EncodeMapRequest: %s", req)
	}
}
