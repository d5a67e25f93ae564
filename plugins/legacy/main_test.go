package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
	"github.com/agentfleet/fleet/sdk"
)

// order is the predecessor's field order (StreamEvent.to_sse_dict), every field a legacy frame may
// have.
var order = []string{"type", "message", "delta", "reasoning", "agent_id", "author", "role", "kind", "error",
	"reasoning_partial", "data", "category", "ui_hint", "workflow_id", "log_line", "quality_score", "quality_flag", "timestamp"}

// types are the predecessor's frame types.
var types = []string{"connected", "heartbeat", "orchestrator.message", "orchestrator.thought", "agent.start",
	"agent.message", "agent.output", "agent.complete", "reasoning.delta", "reasoning.completed", "response.delta",
	"response.completed", "cancelled", "error", "done"}

// checkFrame checks one frame against the predecessor's StreamEvent: known type, known fields in
// its order, a timestamp, a category and a ui_hint of the allowed values.
func checkFrame(raw json.RawMessage) error {
	keys, f, err := frameFields(raw)
	if err != nil {
		return err
	}
	if err := checkFieldOrder(keys); err != nil {
		return err
	}
	return checkFrameValues(f)
}

// frameFields decodes a frame's members: their keys in the frame's order, and their values.
func frameFields(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var keys []string
	f := map[string]json.RawMessage{}
	for dec.More() {
		k, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k.(string))
		f[k.(string)] = v
	}
	return keys, f, nil
}

// checkFieldOrder checks that each key is one of the predecessor's fields, in its order.
func checkFieldOrder(keys []string) error {
	last := -1
	for _, k := range keys {
		i := slices.Index(order, k)
		if i < 0 || i < last {
			return fmt.Errorf("field %s unknown or out of the predecessor's order (%v)", k, keys)
		}
		last = i
	}
	return nil
}

// checkFrameValues checks a frame's type, category and ui_hint against the allowed values, and
// that it has a timestamp and a workflow_id.
func checkFrameValues(f map[string]json.RawMessage) error {
	var typ, category string
	var hint struct {
		Component, Priority string
		Collapsible         *bool
		IconHint            *string `json:"icon_hint"`
	}
	_ = json.Unmarshal(f["type"], &typ)
	_ = json.Unmarshal(f["category"], &category)
	if err := json.Unmarshal(f["ui_hint"], &hint); err != nil {
		return fmt.Errorf("ui_hint: %v", err)
	}
	switch {
	case !slices.Contains(types, typ):
		return fmt.Errorf("type %q", typ)
	case !slices.Contains(categories, category):
		return fmt.Errorf("category %q", category)
	case hint.Component == "" || !slices.Contains(priorities, hint.Priority) || hint.Collapsible == nil:
		return fmt.Errorf("ui_hint %s", f["ui_hint"])
	case hint.IconHint != nil && *hint.IconHint == "":
		return fmt.Errorf("empty icon_hint: omitted, not empty")
	case f["timestamp"] == nil || f["workflow_id"] == nil:
		return fmt.Errorf("no timestamp or workflow_id")
	}
	return nil
}

func checkLegacy(t *testing.T, name string, frames []mappertest.Frame) {
	texts := map[string]string{}
	for i, fr := range frames {
		if err := checkFrame(fr.Frame); err != nil {
			t.Fatalf("%s: frame %d (seq %d) %s: %v", name, i, fr.Seq, fr.Frame, err)
		}
		var f struct {
			Type, Delta, Message string
			Data                 struct {
				MessageID string `json:"message_id"`
			}
		}
		_ = json.Unmarshal(fr.Frame, &f)
		switch f.Type {
		case "response.delta":
			texts[f.Data.MessageID] += f.Delta
		case "agent.message":
			if _, seen := texts[f.Data.MessageID]; seen && f.Message != texts[f.Data.MessageID] {
				t.Errorf("%s: agent.message %s is %q, its deltas say %q", name, f.Data.MessageID, f.Message, texts[f.Data.MessageID])
			}
		case "done":
			if i != len(frames)-1 {
				t.Errorf("%s: frames after done", name)
			}
		}
	}
}

// TestGoldenNative maps every event log of testdata natively with the built-in routing table.
func TestGoldenNative(t *testing.T) {
	table.Store(nil)
	defer sdk.SetLocalHost(sdk.LocalHost{Grants: []sdk.Capability{}})()
	mappertest.Golden(t, "testdata", mappertest.Native, checkLegacy)
}

// TestGoldenWasm maps the same logs with the plugin built as WebAssembly, without the config
// capability: the built-in table.
func TestGoldenWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the go command; skipped with -short")
	}
	m := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{})
	mappertest.Golden(t, "testdata", m.Map, checkLegacy)
}

// TestGoldenHost maps the logs through the real plugin host, once it runs mapper plugins.
func TestGoldenHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the go command; skipped with -short")
	}
	mappertest.Golden(t, "testdata", mappertest.HostMap(t, ".", plugin.Manifest{}), checkLegacy)
}

// routingConfig changes two entries and the fallback, with a dotted and an underscored key.
var routingConfig = map[string]any{
	"response.delta":       map[string]any{"_default": map[string]any{"category": "output", "component": "Typewriter", "priority": "medium", "collapsible": true, "icon_hint": "pen"}},
	"orchestrator_thought": map[string]any{"tool_call": map[string]any{"component": "ToolCard"}},
	"_fallback":            map[string]any{"category": "status", "component": "Plain", "priority": "low", "collapsible": false},
}

// TestRoutingConfig maps a run with a ui_routing config, natively (the SDK's stand-in host serves
// config) and as WebAssembly (config served to the guest through host_call), and checks that the
// configured entries apply and the others keep the built-in values.
func TestRoutingConfig(t *testing.T) {
	evs := mappertest.ReadEvents(t, "testdata/tools.events.ndjson")
	table.Store(nil)
	restore := sdk.SetLocalHost(sdk.LocalHost{Config: map[string]any{"ui_routing": routingConfig}})
	native, _, err := mappertest.Stream(context.Background(), mappertest.Native, evs, 64)
	restore()
	table.Store(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkConfigured(t, native)
	if testing.Short() {
		return
	}
	m := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{Config: map[string]any{"ui_routing": routingConfig}})
	wasm, _, err := mappertest.Stream(context.Background(), m.Map, evs, 64)
	if err != nil {
		t.Fatal(err)
	}
	if mappertest.Render(wasm) != mappertest.Render(native) {
		t.Errorf("WebAssembly and native frames differ with the same config")
	}
}

func checkConfigured(t *testing.T, frames []mappertest.Frame) {
	t.Helper()
	seen := map[string]bool{}
	for _, fr := range frames {
		var f struct {
			Type, Kind, Category string
			UIHint               map[string]any `json:"ui_hint"`
		}
		_ = json.Unmarshal(fr.Frame, &f)
		key := f.Type + "/" + f.Kind
		var want string
		switch key {
		case "response.delta/":
			want = `output {"collapsible":true,"component":"Typewriter","icon_hint":"pen","priority":"medium"}`
		case "orchestrator.thought/tool_call":
			want = `status {"collapsible":false,"component":"ToolCard","priority":"low"}`
		case "agent.start/agent":
			want = `step {"collapsible":true,"component":"ChatStep","icon_hint":"agent_start","priority":"low"}`
		default:
			continue
		}
		seen[key] = true
		hint, _ := json.Marshal(f.UIHint)
		if got := f.Category + " " + string(hint); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	if len(seen) != 3 {
		t.Errorf("frames checked: %v", seen)
	}
}

func TestRoutingConfigErrors(t *testing.T) {
	for name, cfg := range map[string]any{
		"not an object":    []int{1},
		"bad priority":     map[string]any{"done": map[string]any{"_default": map[string]any{"priority": "urgent"}}},
		"bad category":     map[string]any{"_fallback": map[string]any{"category": "misc"}},
		"collapsible text": map[string]any{"done": map[string]any{"_default": map[string]any{"collapsible": "yes"}}},
		"kinds not object": map[string]any{"done": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			table.Store(nil)
			defer table.Store(nil)
			defer sdk.SetLocalHost(sdk.LocalHost{Config: map[string]any{"ui_routing": cfg}})()
			_, err := sdk.InvokeMap(context.Background(), sdk.MapRequest{Op: sdk.OpStart,
				Events: mappertest.ReadEvents(t, "testdata/tools.events.ndjson")[:1]})
			var te *sdk.ToolError
			if !errors.As(err, &te) || te.Code != "config" || !strings.Contains(te.Message, "ui_routing") {
				t.Errorf("err %v, want a config error naming ui_routing", err)
			}
		})
	}
}

// TestLongMessage checks that the text kept for agent.message stops at maxText and says so.
func TestLongMessage(t *testing.T) {
	table.Store(nil)
	delta := strings.Repeat("word ", 1000)
	evs := []json.RawMessage{mkEvent(1, "message.start", `{"message_id":"m","role":"assistant","name":"a"}`)}
	for i := range 20 {
		evs = append(evs, mkEvent(uint64(i+2), "message.delta", `{"message_id":"m","delta":"`+delta+`"}`))
	}
	evs = append(evs, mkEvent(22, "message.end", `{"message_id":"m"}`))
	frames, _, err := mappertest.Stream(context.Background(), mappertest.Native, evs, 7)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Message string
		Data    struct{ Truncated bool }
	}
	_ = json.Unmarshal(frames[len(frames)-1].Frame, &f)
	if want := strings.Repeat(delta, maxText/len(delta)); f.Message != want || !f.Data.Truncated {
		t.Errorf("agent.message of %d bytes, truncated %v; want %d bytes, truncated", len(f.Message), f.Data.Truncated, len(want))
	}
}

func mkEvent(seq uint64, typ, data string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"v":1,"type":%q,"seq":%d,"run_id":"r","thread_id":"t","time":"2026-12-04T20:00:00Z","node":"a","agent":"a","path":"a","data":%s}`, typ, seq, data))
}
