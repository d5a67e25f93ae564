package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
)

// The rules AG-UI clients check, as a test oracle: the event schemas of @ag-ui/core (events.ts:
// required and optional fields of each event type, strict RUN_FINISHED outcomes, the Interrupt
// type) and the order @ag-ui/client's verifyEvents (verify.ts) enforces. Fields are checked strictly
// (a field the schema does not name is an error) so that a typo cannot pass.

// fields lists each event type's required and optional fields besides "type".
var fields = map[string]struct{ required, optional []string }{
	"RUN_STARTED":               {[]string{"threadId", "runId"}, []string{"parentRunId", "input"}},
	"RUN_FINISHED":              {[]string{"threadId", "runId"}, []string{"result", "outcome"}},
	"RUN_ERROR":                 {[]string{"message"}, []string{"code"}},
	"STEP_STARTED":              {[]string{"stepName"}, nil},
	"STEP_FINISHED":             {[]string{"stepName"}, nil},
	"TEXT_MESSAGE_START":        {[]string{"messageId"}, []string{"role", "name"}},
	"TEXT_MESSAGE_CONTENT":      {[]string{"messageId", "delta"}, nil},
	"TEXT_MESSAGE_END":          {[]string{"messageId"}, nil},
	"TOOL_CALL_START":           {[]string{"toolCallId", "toolCallName"}, []string{"parentMessageId"}},
	"TOOL_CALL_ARGS":            {[]string{"toolCallId", "delta"}, nil},
	"TOOL_CALL_END":             {[]string{"toolCallId"}, nil},
	"TOOL_CALL_RESULT":          {[]string{"messageId", "toolCallId", "content"}, []string{"role"}},
	"REASONING_START":           {[]string{"messageId"}, nil},
	"REASONING_MESSAGE_START":   {[]string{"messageId", "role"}, nil},
	"REASONING_MESSAGE_CONTENT": {[]string{"messageId", "delta"}, nil},
	"REASONING_MESSAGE_END":     {[]string{"messageId"}, nil},
	"REASONING_END":             {[]string{"messageId"}, nil},
	"CUSTOM":                    {[]string{"name"}, []string{"value"}},
	"STATE_SNAPSHOT":            {[]string{"snapshot"}, nil},
}

// stringFields must be strings when present.
var stringFields = []string{"threadId", "runId", "message", "code", "stepName", "messageId", "role", "name", "delta",
	"toolCallId", "toolCallName", "parentMessageId", "content"}

// checkSchema checks one frame against its type's schema.
func checkSchema(f map[string]json.RawMessage) error {
	var typ string
	if err := json.Unmarshal(f["type"], &typ); err != nil {
		return fmt.Errorf("no string type")
	}
	spec, ok := fields[typ]
	if !ok {
		return fmt.Errorf("unknown type %s", typ)
	}
	for _, k := range spec.required {
		if _, ok := f[k]; !ok {
			return fmt.Errorf("%s without %s", typ, k)
		}
	}
	for k, v := range f {
		if k != "type" && !slices.Contains(spec.required, k) && !slices.Contains(spec.optional, k) {
			return fmt.Errorf("%s has field %s, not in its schema", typ, k)
		}
		if string(v) == "null" {
			return fmt.Errorf("%s.%s is null: optional fields are omitted, never null", typ, k)
		}
		var s string
		if slices.Contains(stringFields, k) && json.Unmarshal(v, &s) != nil {
			return fmt.Errorf("%s.%s is not a string", typ, k)
		}
	}
	return checkValues(typ, f)
}

// checkValues checks the fields with fixed values: roles, non-empty deltas, outcomes.
func checkValues(typ string, f map[string]json.RawMessage) error {
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(f[k], &s)
		return s
	}
	switch {
	case typ == "TEXT_MESSAGE_START" && !slices.Contains([]string{"developer", "system", "assistant", "user"}, str("role")):
		return fmt.Errorf("TEXT_MESSAGE_START role %q", str("role"))
	case typ == "REASONING_MESSAGE_START" && str("role") != "reasoning":
		return fmt.Errorf("REASONING_MESSAGE_START role %q", str("role"))
	case (typ == "TEXT_MESSAGE_CONTENT" || typ == "REASONING_MESSAGE_CONTENT") && str("delta") == "":
		return fmt.Errorf("%s with an empty delta", typ)
	case typ == "TOOL_CALL_RESULT" && f["role"] != nil && str("role") != "tool":
		return fmt.Errorf("TOOL_CALL_RESULT role %q", str("role"))
	case typ == "RUN_FINISHED" && f["outcome"] != nil:
		return checkOutcome(f["outcome"])
	}
	return nil
}

// checkOutcome checks a RUN_FINISHED outcome: {type: success} or {type: interrupt, interrupts: [...]},
// both strict, interrupts non-empty with the Interrupt type's fields.
func checkOutcome(raw json.RawMessage) error {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("outcome: %v", err)
	}
	switch string(o["type"]) {
	case `"success"`:
		if len(o) != 1 {
			return fmt.Errorf("success outcome with other fields: %s", raw)
		}
		return nil
	case `"interrupt"`:
	default:
		return fmt.Errorf("outcome type %s", o["type"])
	}
	var interrupts []map[string]json.RawMessage
	if err := json.Unmarshal(o["interrupts"], &interrupts); err != nil || len(interrupts) == 0 || len(o) != 2 {
		return fmt.Errorf("interrupt outcome %s: want exactly type and a non-empty interrupts", raw)
	}
	for _, in := range interrupts {
		if err := checkInterrupt(in); err != nil {
			return err
		}
	}
	return nil
}

// interruptFields are the fields of the Interrupt type.
var interruptFields = []string{"id", "reason", "message", "toolCallId", "responseSchema", "expiresAt", "metadata", "subagentRunId"}

// checkInterrupt checks one interrupt of an outcome: a non-empty string id and reason, no field
// the Interrupt type does not name, and a toolCallId when the reason is tool_call.
func checkInterrupt(in map[string]json.RawMessage) error {
	var id, reason string
	if json.Unmarshal(in["id"], &id) != nil || json.Unmarshal(in["reason"], &reason) != nil || id == "" || reason == "" {
		return fmt.Errorf("interrupt without id and reason: %v", in)
	}
	for k := range in {
		if !slices.Contains(interruptFields, k) {
			return fmt.Errorf("interrupt field %s", k)
		}
	}
	if reason == "tool_call" && in["toolCallId"] == nil {
		return fmt.Errorf("a tool_call interrupt must name its toolCallId")
	}
	return nil
}

// verifier follows a stream's order as @ag-ui/client's verifyEvents does, plus the reasoning spans.
type verifier struct {
	first, running, finished, errored bool
	messages, tools, steps, reasoning map[string]bool
	reasoningMsgs                     map[string]bool
}

func newVerifier() *verifier {
	return &verifier{messages: map[string]bool{}, tools: map[string]bool{}, steps: map[string]bool{},
		reasoning: map[string]bool{}, reasoningMsgs: map[string]bool{}}
}

// spans maps the span events to the set they open or close.
func (v *verifier) spans(typ string) (set map[string]bool, key string, open bool, ok bool) {
	switch typ {
	case "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END":
		return v.messages, "messageId", typ == "TEXT_MESSAGE_START", true
	case "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END":
		return v.tools, "toolCallId", typ == "TOOL_CALL_START", true
	case "STEP_STARTED", "STEP_FINISHED":
		return v.steps, "stepName", typ == "STEP_STARTED", true
	case "REASONING_START", "REASONING_END":
		return v.reasoning, "messageId", typ == "REASONING_START", true
	case "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT", "REASONING_MESSAGE_END":
		return v.reasoningMsgs, "messageId", typ == "REASONING_MESSAGE_START", true
	}
	return nil, "", false, false
}

func (v *verifier) next(typ string, f map[string]json.RawMessage) error {
	switch {
	case v.errored:
		return fmt.Errorf("%s after RUN_ERROR", typ)
	case !v.first && typ != "RUN_STARTED" && typ != "RUN_ERROR":
		return fmt.Errorf("first event %s, want RUN_STARTED", typ)
	case v.finished && typ != "RUN_STARTED" && typ != "RUN_ERROR":
		return fmt.Errorf("%s after RUN_FINISHED", typ)
	case typ == "RUN_STARTED" && v.running:
		return fmt.Errorf("RUN_STARTED while a run is active")
	}
	v.first = true
	if set, key, open, ok := v.spans(typ); ok {
		return v.span(typ, set, key, open, f)
	}
	return v.run(typ)
}

func (v *verifier) span(typ string, set map[string]bool, key string, open bool, f map[string]json.RawMessage) error {
	var id string
	_ = json.Unmarshal(f[key], &id)
	switch {
	case open && set[id]:
		return fmt.Errorf("%s %s while it is open", typ, id)
	case open:
		set[id] = true
	case !set[id]:
		return fmt.Errorf("%s %s that is not open", typ, id)
	case typ == "TEXT_MESSAGE_END" || typ == "TOOL_CALL_END" || typ == "STEP_FINISHED" || typ == "REASONING_END" || typ == "REASONING_MESSAGE_END":
		delete(set, id)
	}
	if typ == "REASONING_MESSAGE_START" && !v.reasoning[id] {
		return fmt.Errorf("REASONING_MESSAGE_START %s outside REASONING_START", id)
	}
	return nil
}

func (v *verifier) run(typ string) error {
	switch typ {
	case "RUN_STARTED":
		v.running, v.finished = true, false
	case "RUN_FINISHED":
		if n := len(v.messages) + len(v.tools) + len(v.steps) + len(v.reasoning) + len(v.reasoningMsgs); n > 0 {
			return fmt.Errorf("RUN_FINISHED with %d spans open: %v %v %v %v", n, v.messages, v.tools, v.steps, v.reasoning)
		}
		v.running, v.finished = false, true
	case "RUN_ERROR":
		v.errored = true
	}
	return nil
}

// checkAGUI checks a whole mapped stream.
func checkAGUI(t *testing.T, name string, frames []mappertest.Frame) {
	v := newVerifier()
	for i, fr := range frames {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(fr.Frame, &f); err != nil {
			t.Fatalf("%s: frame %d is not an object: %s", name, i, fr.Frame)
		}
		if err := checkSchema(f); err != nil {
			t.Fatalf("%s: frame %d (seq %d) %s: %v", name, i, fr.Seq, fr.Frame, err)
		}
		var typ string
		_ = json.Unmarshal(f["type"], &typ)
		if err := v.next(typ, f); err != nil {
			t.Fatalf("%s: frame %d (seq %d) %s: %v", name, i, fr.Seq, fr.Frame, err)
		}
	}
}

// TestVerifier makes sure the oracle itself rejects what AG-UI clients reject.
func TestVerifier(t *testing.T) {
	bad := map[string][]string{
		"not first":          {`{"type":"STEP_STARTED","stepName":"a"}`},
		"after error":        {`{"type":"RUN_ERROR","message":"x"}`, `{"type":"RUN_STARTED","threadId":"t","runId":"r"}`},
		"open at finish":     {`{"type":"RUN_STARTED","threadId":"t","runId":"r"}`, `{"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}`, `{"type":"RUN_FINISHED","threadId":"t","runId":"r"}`},
		"content not open":   {`{"type":"RUN_STARTED","threadId":"t","runId":"r"}`, `{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"x"}`},
		"empty delta":        {`{"type":"RUN_STARTED","threadId":"t","runId":"r"}`, `{"type":"TEXT_MESSAGE_START","messageId":"m"}`, `{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":""}`},
		"null optional":      {`{"type":"RUN_STARTED","threadId":"t","runId":"r","parentRunId":null}`},
		"unknown field":      {`{"type":"RUN_STARTED","threadId":"t","runId":"r","run_id":"r"}`},
		"empty interrupts":   {`{"type":"RUN_STARTED","threadId":"t","runId":"r"}`, `{"type":"RUN_FINISHED","threadId":"t","runId":"r","outcome":{"type":"interrupt","interrupts":[]}}`},
		"success with extra": {`{"type":"RUN_STARTED","threadId":"t","runId":"r"}`, `{"type":"RUN_FINISHED","threadId":"t","runId":"r","outcome":{"type":"success","x":1}}`},
		"after finished":     {`{"type":"RUN_STARTED","threadId":"t","runId":"r"}`, `{"type":"RUN_FINISHED","threadId":"t","runId":"r"}`, `{"type":"STEP_STARTED","stepName":"a"}`},
	}
	for name, frames := range bad {
		v := newVerifier()
		var err error
		for _, fr := range frames {
			var f map[string]json.RawMessage
			if err = json.Unmarshal([]byte(fr), &f); err != nil {
				t.Fatal(err)
			}
			var typ string
			_ = json.Unmarshal(f["type"], &typ)
			if err = checkSchema(f); err == nil {
				err = v.next(typ, f)
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%s: the verifier accepted %v", name, frames)
		}
	}
}
