package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
)

// chunks lists each chunk type's required and optional fields besides "type": the strict objects of
// the AI SDK's uiMessageChunkSchema (ui-message-chunks.ts), limited to fields AI SDK 5 knows.
var chunks = map[string]struct{ required, optional []string }{
	"start":                 {nil, []string{"messageId", "messageMetadata"}},
	"finish":                {nil, []string{"messageMetadata"}},
	"abort":                 {nil, nil},
	"error":                 {[]string{"errorText"}, nil},
	"start-step":            {nil, nil},
	"finish-step":           {nil, nil},
	"text-start":            {[]string{"id"}, []string{"providerMetadata"}},
	"text-delta":            {[]string{"id", "delta"}, []string{"providerMetadata"}},
	"text-end":              {[]string{"id"}, []string{"providerMetadata"}},
	"reasoning-start":       {[]string{"id"}, []string{"providerMetadata"}},
	"reasoning-delta":       {[]string{"id", "delta"}, []string{"providerMetadata"}},
	"reasoning-end":         {[]string{"id"}, []string{"providerMetadata"}},
	"tool-input-start":      {[]string{"toolCallId", "toolName"}, []string{"providerExecuted", "dynamic"}},
	"tool-input-delta":      {[]string{"toolCallId", "inputTextDelta"}, nil},
	"tool-input-available":  {[]string{"toolCallId", "toolName", "input"}, []string{"providerExecuted", "providerMetadata", "dynamic"}},
	"tool-input-error":      {[]string{"toolCallId", "toolName", "input", "errorText"}, []string{"providerExecuted", "providerMetadata", "dynamic"}},
	"tool-output-available": {[]string{"toolCallId", "output"}, []string{"providerExecuted", "dynamic", "preliminary"}},
	"tool-output-error":     {[]string{"toolCallId", "errorText"}, []string{"providerExecuted", "dynamic"}},
	"data-":                 {[]string{"data"}, []string{"id", "transient"}},
}

// stringFields must be strings.
var stringFields = []string{"messageId", "errorText", "id", "delta", "toolCallId", "toolName", "inputTextDelta"}

func checkChunk(f map[string]json.RawMessage) (string, error) {
	var typ string
	if err := json.Unmarshal(f["type"], &typ); err != nil {
		return "", fmt.Errorf("no string type")
	}
	key := typ
	if strings.HasPrefix(typ, "data-") && len(typ) > 5 {
		key = "data-"
	}
	spec, ok := chunks[key]
	if !ok {
		return typ, fmt.Errorf("unknown chunk type %s", typ)
	}
	for _, k := range spec.required {
		if _, ok := f[k]; !ok {
			return typ, fmt.Errorf("%s without %s", typ, k)
		}
	}
	for k, v := range f {
		if k != "type" && !slices.Contains(spec.required, k) && !slices.Contains(spec.optional, k) {
			return typ, fmt.Errorf("%s has field %s: the schema's strict object refuses it", typ, k)
		}
		var s string
		if slices.Contains(stringFields, k) && json.Unmarshal(v, &s) != nil {
			return typ, fmt.Errorf("%s.%s is not a string", typ, k)
		}
	}
	return typ, nil
}

// reader follows a stream as processUIMessageStream does: deltas and ends need an active part,
// tool input deltas a tool-input-start, tool outputs a tool part; finish-step forgets the active
// parts. It also checks the stream's own rules: start first, nothing after error or abort, steps not
// nested.
type reader struct {
	started, over, inStep bool
	text, reasoning       map[string]bool
	partial, tools        map[string]bool
}

func (r *reader) next(typ string, f map[string]json.RawMessage) error {
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(f[k], &s)
		return s
	}
	switch {
	case r.over:
		return fmt.Errorf("%s after error, abort or the last finish", typ)
	case !r.started && typ != "start":
		return fmt.Errorf("%s before start", typ)
	}
	switch typ {
	case "start":
		if r.started {
			return fmt.Errorf("start while a message is open")
		}
		r.started = true
	case "finish":
		r.started = false
	case "error", "abort":
		r.over = true
	case "start-step", "finish-step":
		if r.inStep == (typ == "start-step") {
			return fmt.Errorf("%s: steps must alternate", typ)
		}
		r.inStep = typ == "start-step"
		if typ == "finish-step" {
			r.text, r.reasoning = map[string]bool{}, map[string]bool{}
		}
	default:
		return r.part(typ, str)
	}
	return nil
}

func (r *reader) part(typ string, str func(string) string) error {
	active := func(set map[string]bool, id string, open, close bool) error {
		switch {
		case open:
			set[id] = true
		case !set[id]:
			return fmt.Errorf("%s for missing part %s", typ, id)
		case close:
			delete(set, id)
		}
		return nil
	}
	switch typ {
	case "text-start", "text-delta", "text-end":
		return active(r.text, str("id"), typ == "text-start", typ == "text-end")
	case "reasoning-start", "reasoning-delta", "reasoning-end":
		return active(r.reasoning, str("id"), typ == "reasoning-start", typ == "reasoning-end")
	case "tool-input-start":
		r.partial[str("toolCallId")], r.tools[str("toolCallId")] = true, true
	case "tool-input-delta":
		return active(r.partial, str("toolCallId"), false, false)
	case "tool-input-available", "tool-input-error":
		r.tools[str("toolCallId")] = true
	case "tool-output-available", "tool-output-error":
		return active(r.tools, str("toolCallId"), false, false)
	}
	return nil
}

func checkVercel(t *testing.T, name string, frames []mappertest.Frame) {
	r := &reader{text: map[string]bool{}, reasoning: map[string]bool{}, partial: map[string]bool{}, tools: map[string]bool{}}
	for i, fr := range frames {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(fr.Frame, &f); err != nil {
			t.Fatalf("%s: frame %d is not an object: %s", name, i, fr.Frame)
		}
		typ, err := checkChunk(f)
		if err == nil {
			err = r.next(typ, f)
		}
		if err != nil {
			t.Fatalf("%s: frame %d (seq %d) %s: %v", name, i, fr.Seq, fr.Frame, err)
		}
	}
	if r.inStep && !frames[len(frames)-1].End {
		t.Errorf("%s: a step is left open", name)
	}
}

// TestGoldenNative maps every event log of testdata natively (through the SDK's fleet_map code),
// checks the chunks as the AI SDK reads them and compares them with the golden files.
func TestGoldenNative(t *testing.T) {
	mappertest.Golden(t, "testdata", mappertest.Native, checkVercel)
}

// TestGoldenWasm maps the same logs with the plugin built as WebAssembly.
func TestGoldenWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the go command; skipped with -short")
	}
	m := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{})
	if d := string(m.Descriptor); !strings.Contains(d, `"done":"[DONE]","headers":{"x-vercel-ai-ui-message-stream":"v1"}`) {
		t.Errorf("descriptor %s", d)
	}
	mappertest.Golden(t, "testdata", m.Map, checkVercel)
}

// TestGoldenHost maps the logs through the real plugin host, once it runs mapper plugins.
func TestGoldenHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the go command; skipped with -short")
	}
	mappertest.Golden(t, "testdata", mappertest.HostMap(t, ".", plugin.Manifest{}), checkVercel)
}

func TestReader(t *testing.T) {
	for name, frames := range map[string][]string{
		"no start":            {`{"type":"text-start","id":"a"}`},
		"delta without start": {`{"type":"start"}`, `{"type":"text-delta","id":"a","delta":"x"}`},
		"across finish-step":  {`{"type":"start"}`, `{"type":"start-step"}`, `{"type":"text-start","id":"a"}`, `{"type":"finish-step"}`, `{"type":"text-end","id":"a"}`},
		"output without tool": {`{"type":"start"}`, `{"type":"tool-output-available","toolCallId":"c","output":1}`},
		"after error":         {`{"type":"start"}`, `{"type":"error","errorText":"x"}`, `{"type":"start"}`},
		"strict":              {`{"type":"start","messageId":"m","extra":1}`},
		"abort reason":        {`{"type":"start"}`, `{"type":"abort","reason":"user"}`},
		"nested step":         {`{"type":"start"}`, `{"type":"start-step"}`, `{"type":"start-step"}`},
	} {
		r := &reader{text: map[string]bool{}, reasoning: map[string]bool{}, partial: map[string]bool{}, tools: map[string]bool{}}
		var err error
		for _, fr := range frames {
			var f map[string]json.RawMessage
			_ = json.Unmarshal([]byte(fr), &f)
			var typ string
			if typ, err = checkChunk(f); err == nil {
				err = r.next(typ, f)
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%s: the reader accepted %v", name, frames)
		}
	}
}
