package mapping_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/mapping"
	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/testwasm"
)

func evs(types ...event.Type) []event.Event {
	out := make([]event.Event, len(types))
	for i, ty := range types {
		out[i] = event.Event{V: 1, Type: ty, Seq: uint64(10 + i), RunID: "r", ThreadID: "t",
			Data: event.Unknown{Type: ty, Raw: json.RawMessage(`{}`)}}
	}
	return out
}

func TestParseOutput(t *testing.T) {
	three := evs("a", "b", "c")
	for _, tc := range []struct {
		name, out string
		state     string
		seqs      []uint64
		err       string
	}{
		{name: "state only", out: "null", state: "null"},
		{name: "state and newline", out: "{\"open\":[]}\n", state: `{"open":[]}`},
		{name: "frames", out: "{}\n0 {\"x\":1}\n0 [2]\n2 \"s\"\n-1 {}\n", state: "{}", seqs: []uint64{10, 10, 12, 0}},
		{name: "unindexed first", out: "1\n-1 {}\n1 {}", state: "1", seqs: []uint64{0, 11}},
		{name: "empty", out: "", err: "line 1: the state is not a JSON value"},
		{name: "bad state", out: "{\n0 {}", err: "line 1"},
		{name: "no space", out: "null\n0{}", err: `line 2: want "<index> <frame>"`},
		{name: "index out of range", out: "null\n3 {}", err: `line 2: event index "3" is not -1 or in [0, 3)`},
		{name: "index below -1", out: "null\n-2 {}", err: "line 2: event index"},
		{name: "not a number", out: "null\nx {}", err: "line 2: event index"},
		{name: "bad frame", out: "null\n0 {nope}", err: "line 2: the frame is not a JSON value"},
		{name: "out of order", out: "null\n2 {}\n1 {}", err: "line 3: event index 1 after 2"},
		{name: "blank line inside", out: "null\n\n0 {}", err: "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, frames, err := mapping.ParseOutput([]byte(tc.out), three)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(state) != tc.state || len(frames) != len(tc.seqs) {
				t.Fatalf("state %s frames %d err %v", state, len(frames), err)
			}
			for i, f := range frames {
				if f.Seq != tc.seqs[i] || !json.Valid(f.Data) {
					t.Fatalf("frame %d: %+v", i, f)
				}
			}
		})
	}
}

func FuzzParseOutput(f *testing.F) {
	for _, s := range []string{"null", "{}\n0 {\"a\":1}\n", "1\n-1 []\n2 \"x\"", "\n", "null\n0  {}", "null\n01 {}"} {
		f.Add([]byte(s))
	}
	three := evs("a", "b", "c")
	f.Fuzz(func(t *testing.T, out []byte) {
		state, frames, err := mapping.ParseOutput(out, three)
		if err != nil {
			return
		}
		if !json.Valid(state) {
			t.Fatalf("state %q accepted", state)
		}
		last := uint64(0)
		for _, fr := range frames {
			if !json.Valid(fr.Data) || bytes.ContainsAny(fr.Data, "\n") {
				t.Fatalf("frame %q accepted", fr.Data)
			}
			if fr.Seq != 0 {
				if fr.Seq < last || fr.Seq < 10 || fr.Seq > 12 {
					t.Fatalf("frame seq %d after %d", fr.Seq, last)
				}
				last = fr.Seq
			}
		}
	})
}

func mapperDescriptor(mapper string) plugin.Descriptor {
	return plugin.Descriptor{ABIMinor: 1, Name: "upper", Version: "1.0.0", Kind: "mapper", Mapper: json.RawMessage(mapper)}
}

func TestNewPluginMapper(t *testing.T) {
	m, err := mapping.NewPluginMapper(plugin.NewRegistry(), mapperDescriptor(`{"format":"vercel","events":["run.started"],`+
		`"done":"[DONE]","headers":{"x-vercel-ai-ui-message-stream":"v1","Set-Cookie":"a=b","Access-Control-Allow-Origin":"*"}}`))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Format()
	if f.Name != "vercel" || f.ContentType != "text/event-stream" || f.Framing != mapping.FramingSSE || f.Done != "[DONE]" {
		t.Fatalf("format %+v", f)
	}
	if len(f.Headers) != 1 || f.Headers["x-vercel-ai-ui-message-stream"] != "v1" {
		t.Fatalf("headers %v: only x- headers may pass", f.Headers)
	}
	for _, bad := range []string{`{"format":"Bad"}`, `{}`, `[]`, `{"format":"x","framing":3}`} {
		if _, err := mapping.NewPluginMapper(plugin.NewRegistry(), mapperDescriptor(bad)); err == nil {
			t.Errorf("descriptor %s accepted", bad)
		}
	}
	if _, err := mapping.NewPluginMapper(plugin.NewRegistry(), plugin.Descriptor{Name: "calc", Kind: "tool"}); err == nil {
		t.Error("a tool plugin accepted as a mapper")
	}
}

// goGuest is a mapper guest written in Go to docs/abi.md section 8: it upper-cases message
// deltas, keeps the number of events seen as its state, checks the state comes back, and
// records each call's op and event count.
type goGuest struct {
	calls []string
	fail  string // an op to fail on
}

func (g *goGuest) call(_ context.Context, input []byte) ([]byte, error) {
	var req struct {
		Stream string          `json:"stream"`
		Op     string          `json:"op"`
		State  json.RawMessage `json:"state"`
		Events []event.Event   `json:"events"`
	}
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	g.calls = append(g.calls, fmt.Sprintf("%s:%d", req.Op, len(req.Events)))
	if req.Op == g.fail {
		return nil, errors.New("guest failed")
	}
	var seen int
	if req.Op != "start" {
		if err := json.Unmarshal(req.State, &seen); err != nil {
			return nil, fmt.Errorf("state %s did not come back", req.State)
		}
	} else if string(req.State) != "null" {
		return nil, fmt.Errorf("start with state %s", req.State)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%d\n", seen+len(req.Events))
	for i, e := range req.Events {
		if d, ok := e.Data.(event.MessageDeltaData); ok {
			b, _ := json.Marshal(map[string]string{"text": strings.ToUpper(d.Delta)})
			fmt.Fprintf(&out, "%d %s\n", i, b)
		}
	}
	if req.Op == "end" {
		fmt.Fprintf(&out, "-1 {\"end\":%d}\n", seen)
	}
	return out.Bytes(), nil
}

func delta(seq uint64, text string) event.Event {
	return event.Event{V: 1, Type: event.MessageDelta, Seq: seq, RunID: "r", ThreadID: "t",
		Data: event.MessageDeltaData{MessageID: "m", Delta: text}}
}

func TestPluginMapperAgainstGoGuest(t *testing.T) {
	pm, err := mapping.NewPluginMapper(plugin.NewRegistry(), mapperDescriptor(`{"format":"upper","events":["message.delta"]}`))
	if err != nil {
		t.Fatal(err)
	}
	g := &goGuest{}
	s := mapping.WithCall(pm, g.call).NewStream("s1")
	ctx := context.Background()
	mapOK := func(what string, evs []event.Event, check func([]mapping.Frame) bool) {
		t.Helper()
		fs, err := s.Map(ctx, evs)
		if err != nil || !check(fs) {
			t.Fatalf("%s: frames %+v, %v", what, fs, err)
		}
	}
	// The run.started event is filtered out (not in "events"), the deltas go through.
	mapOK("first batch", []event.Event{{V: 1, Type: event.RunStarted, Seq: 1, Data: event.RunStartedData{Workflow: "w"}}, delta(2, "hel"), delta(3, "lo")},
		func(fs []mapping.Frame) bool {
			return len(fs) == 2 && fs[0].Seq == 2 && string(fs[0].Data) == `{"text":"HEL"}` && fs[1].Seq == 3
		})
	// A batch of only filtered events makes no call.
	mapOK("filtered batch", []event.Event{{V: 1, Type: event.StepStarted, Seq: 4, Data: event.StepStartedData{}}},
		func(fs []mapping.Frame) bool { return len(fs) == 0 })
	// A batch bigger than MaxBatchBytes is split; the state goes through every call.
	big := strings.Repeat("x", mapping.MaxBatchBytes/3)
	mapOK("big batch", []event.Event{delta(5, big), delta(6, big), delta(7, big), delta(8, "!")},
		func(fs []mapping.Frame) bool { return len(fs) == 4 && fs[3].Seq == 8 })
	end, err := s.End(ctx)
	if err != nil || len(end) != 1 || end[0].Seq != 0 || string(end[0].Data) != `{"end":6}` {
		t.Fatalf("end: %+v %v", end, err)
	}
	if got := strings.Join(g.calls, " "); got != "start:2 events:2 events:2 end:0" {
		t.Fatalf("calls %s", got)
	}
	if more, err := s.End(ctx); more != nil || err != nil {
		t.Fatalf("second End: %v %v", more, err)
	}
}

func TestPluginMapperErrorEndsStream(t *testing.T) {
	pm, _ := mapping.NewPluginMapper(plugin.NewRegistry(), mapperDescriptor(`{"format":"upper"}`))
	g := &goGuest{fail: "events"}
	s := mapping.WithCall(pm, g.call).NewStream("")
	ctx := context.Background()
	if _, err := s.Map(ctx, []event.Event{delta(1, "a")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Map(ctx, []event.Event{delta(2, "b")})
	if !errors.Is(err, mapping.ErrMapper) {
		t.Fatalf("err %v, want ErrMapper", err)
	}
	if _, err2 := s.Map(ctx, []event.Event{delta(3, "c")}); !errors.Is(err2, mapping.ErrMapper) || len(g.calls) != 2 {
		t.Fatalf("after a failure: %v, %d calls", err2, len(g.calls))
	}
}

func TestPluginMapperMalformedOutput(t *testing.T) {
	pm, _ := mapping.NewPluginMapper(plugin.NewRegistry(), mapperDescriptor(`{"format":"upper"}`))
	s := mapping.WithCall(pm, func(context.Context, []byte) ([]byte, error) { return []byte("null\n7 {}"), nil }).NewStream("")
	_, err := s.Map(context.Background(), []event.Event{delta(1, "a")})
	if !errors.Is(err, mapping.ErrMapper) || !strings.Contains(err.Error(), "event index") {
		t.Fatalf("err %v", err)
	}
}

// TestPluginMapperWithoutPlugin: a mapper whose plugin is gone ends its streams with ErrMapper.
func TestPluginMapperWithoutPlugin(t *testing.T) {
	pm, _ := mapping.NewPluginMapper(plugin.NewRegistry(), mapperDescriptor(`{"format":"upper"}`))
	_, err := pm.NewStream("").Map(context.Background(), []event.Event{delta(1, "a")})
	if !errors.Is(err, mapping.ErrMapper) || !strings.Contains(err.Error(), "not loaded") {
		t.Fatalf("err %v", err)
	}
}

// wasmMapper loads wasm with man into a new host and plugin registry (closed with the test) and
// returns them and the mapper of format, found through the mapping registry.
func wasmMapper(t *testing.T, wasm []byte, man plugin.Manifest, format string) (*plugin.Host, *plugin.Registry, mapping.Mapper) {
	t.Helper()
	ctx := context.Background()
	h, err := plugin.NewHost(ctx, plugin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	p, err := h.Load(ctx, wasm, man)
	if err != nil {
		t.Fatal(err)
	}
	reg := plugin.NewRegistry()
	t.Cleanup(func() { reg.Close(ctx) })
	if err := reg.Add(p); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewRegistry(reg).Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	return h, reg, m
}

// TestPluginMapperEndToEnd maps a run's events through the real agui mapper plugin in the wazero
// host, found by format through the registry, in two batches (the state crosses between them).
func TestPluginMapperEndToEnd(t *testing.T) {
	ctx := context.Background()
	_, _, m := wasmMapper(t, testwasm.Shipped(t, "../../plugins/agui"), plugin.Manifest{}, "agui")
	at := func(seq uint64, node string, d event.Payload) event.Event {
		return event.Event{V: 1, Type: d.EventType(), Seq: seq, RunID: "r1", ThreadID: "t1", Node: node, Agent: node, Data: d}
	}
	evs := []event.Event{
		at(1, "", event.RunStartedData{Workflow: "w", Input: "hi"}),
		at(2, "a", event.StepStartedData{Kind: "agent", Step: 1}),
		at(3, "a", event.MessageStartData{MessageID: "m1", Role: "assistant", Name: "a"}),
		at(4, "a", event.MessageDeltaData{MessageID: "m1", Delta: "Hel"}),
		at(5, "a", event.MessageDeltaData{MessageID: "m1", Delta: "lo"}),
		at(6, "a", event.MessageEndData{MessageID: "m1"}),
		at(7, "a", event.StepFinishedData{Kind: "agent", Step: 1, Status: "ok"}),
		at(8, "", event.RunFinishedData{Output: "Hello"}),
	}
	s := m.NewStream("s1")
	first, err := s.Map(ctx, evs[:4])
	if err != nil {
		t.Fatal(err)
	}
	rest, err := s.Map(ctx, evs[4:])
	if err != nil {
		t.Fatal(err)
	}
	end, err := s.End(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range append(append(first, rest...), end...) {
		var fr struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(f.Data, &fr); err != nil {
			t.Fatalf("frame %s: %v", f.Data, err)
		}
		types = append(types, fr.Type)
	}
	want := "RUN_STARTED STEP_STARTED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT TEXT_MESSAGE_CONTENT TEXT_MESSAGE_END STEP_FINISHED RUN_FINISHED"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("frames\n got %s\nwant %s", got, want)
	}
}

// TestPluginMapperSwap: a mapper plugin replaced between two batches of a stream serves the next
// batch with the stream's state; each frame keeps its event's seq; a removed plugin ends the
// stream with ErrMapper.
func TestPluginMapperSwap(t *testing.T) {
	ctx := context.Background()
	wasm := testwasm.Shipped(t, "../../plugins/agui")
	h, reg, m := wasmMapper(t, wasm, plugin.Manifest{}, "") // "" finds the default, agui
	at := func(seq uint64, d event.Payload) event.Event {
		return event.Event{V: 1, Type: d.EventType(), Seq: seq, RunID: "r1", ThreadID: "t1", Node: "a", Agent: "a", Data: d}
	}
	s := m.NewStream("s1")
	first, err := s.Map(ctx, []event.Event{at(1, event.RunStartedData{Workflow: "w"}), at(2, event.MessageStartData{MessageID: "m1", Role: "assistant"})})
	if err != nil {
		t.Fatal(err)
	}
	// The same module with a custom section appended: another plugin instance, other bytes.
	section := []byte{0, 6, 4, 't', 'e', 's', 't', 'x'} // id 0 (custom), size 6, name "test", payload "x"
	p2, err := h.Load(ctx, append(append([]byte(nil), wasm...), section...), plugin.Manifest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Replace(p2); err != nil {
		t.Fatal(err)
	}
	rest, err := s.Map(ctx, []event.Event{at(3, event.MessageDeltaData{MessageID: "m1", Delta: "x"}), at(4, event.RunFinishedData{Output: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range append(first, rest...) {
		var fr struct{ Type string }
		json.Unmarshal(f.Data, &fr)
		got = append(got, fmt.Sprintf("%d:%s", f.Seq, fr.Type))
	}
	// The new instance knew the message was open (state crossed): it closes it before RUN_FINISHED.
	want := "1:RUN_STARTED 2:TEXT_MESSAGE_START 3:TEXT_MESSAGE_CONTENT 4:TEXT_MESSAGE_END 4:RUN_FINISHED"
	if strings.Join(got, " ") != want {
		t.Fatalf("frames\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	reg.Remove("agui")
	if _, err := m.NewStream("s2").Map(ctx, []event.Event{at(1, event.RunStartedData{})}); !errors.Is(err, mapping.ErrMapper) {
		t.Fatalf("after removal: %v", err)
	}
}

// TestPluginMapperMisbehaves: a real wasm mapper that traps, loops, answers too much or answers
// junk ends the stream it was mapping with ErrMapper (and the plugin's own typed error), while
// another stream on the same plugin, open all along, goes on mapping.
func TestPluginMapperMisbehaves(t *testing.T) {
	ctx := context.Background()
	_, _, m := wasmMapper(t, testwasm.Build(t, "../plugin/testdata/badmapper"), plugin.Manifest{Timeout: 500 * time.Millisecond}, "bad")
	bystander := m.NewStream("bystander")
	for i, tc := range []struct {
		word    string
		pluginE error
		text    string
	}{
		{"trap", plugin.ErrTrap, "asked to trap"},
		{"loop", plugin.ErrTimeout, ""},
		{"huge", plugin.ErrOutputTooLarge, ""},
		{"junk", nil, "line 2: event index"},
	} {
		t.Run(tc.word, func(t *testing.T) {
			s := m.NewStream(fmt.Sprintf("s%d", i))
			if _, err := s.Map(ctx, []event.Event{delta(1, "fine")}); err != nil {
				t.Fatalf("a good batch: %v", err)
			}
			_, err := s.Map(ctx, []event.Event{delta(2, tc.word)})
			if !errors.Is(err, mapping.ErrMapper) || tc.pluginE != nil && !errors.Is(err, tc.pluginE) ||
				!strings.Contains(err.Error(), tc.text) {
				t.Fatalf("%s: err %v, want ErrMapper wrapping %v and containing %q", tc.word, err, tc.pluginE, tc.text)
			}
			if _, err := s.Map(ctx, []event.Event{delta(3, "fine")}); !errors.Is(err, mapping.ErrMapper) {
				t.Fatalf("the failed stream mapped again: %v", err)
			}
			if _, err := bystander.Map(ctx, []event.Event{delta(uint64(i+1), "fine")}); err != nil {
				t.Fatalf("the other stream after %s: %v", tc.word, err)
			}
		})
	}
}
