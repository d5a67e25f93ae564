// Package event defines the engine's events: typed Go values with a stable, versioned JSON form.
//
// The JSON form is the input contract of event-mapper plugins and of clients that read the engine's
// own stream (docs/events.md). Every event has the same envelope; the type-specific payload is the
// "data" object:
//
//	{"v":1,"type":"message.delta","seq":12,"run_id":"r_1","thread_id":"t_1",
//	 "time":"2026-12-04T20:00:00.000000001Z","node":"writer","agent":"writer","path":"writer",
//	 "data":{"message_id":"m_3","delta":"Hel"}}
//
// Compatibility rules (version 1): fields and types are only ever added; readers ignore unknown
// fields, and an event of an unknown type decodes to [Unknown] rather than failing.
package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Version is the version of the JSON form written in every event's "v" field.
const Version = 1

// Type names an event type. Values are dotted lowercase names, stable across releases.
type Type string

// The event types of version 1.
const (
	RunStarted     Type = "run.started"
	RunFinished    Type = "run.finished"
	RunFailed      Type = "run.failed"
	RunCancelled   Type = "run.cancelled"
	RunInterrupted Type = "run.interrupted"
	RunResumed     Type = "run.resumed"

	StepStarted  Type = "step.started"
	StepFinished Type = "step.finished"

	MessageStart Type = "message.start"
	MessageDelta Type = "message.delta"
	MessageEnd   Type = "message.end"

	ReasoningStart Type = "reasoning.start"
	ReasoningDelta Type = "reasoning.delta"
	ReasoningEnd   Type = "reasoning.end"

	ToolStart  Type = "tool.start"
	ToolArgs   Type = "tool.args"
	ToolEnd    Type = "tool.end"
	ToolResult Type = "tool.result"

	Route Type = "route"

	ApprovalRequested Type = "approval.requested"
	ApprovalResolved  Type = "approval.resolved"

	UsageReported Type = "usage"
	StateSnapshot Type = "state.snapshot"
)

// Event is one event of a run. Seq numbers of a run start at 1 and have no gaps.
type Event struct {
	// V is the JSON form's version; [Version] when the engine writes it.
	V int `json:"v"`
	// Type says which payload Data holds.
	Type Type `json:"type"`
	// Seq is the event's position in its run's log, from 1, without gaps.
	Seq uint64 `json:"seq"`
	// RunID and ThreadID name the run and its conversation.
	RunID    string `json:"run_id"`
	ThreadID string `json:"thread_id"`
	// Time is when the engine emitted the event (UTC).
	Time time.Time `json:"time"`
	// Node is the graph node that produced the event; empty for run-level events.
	Node string `json:"node,omitempty"`
	// Agent is the agent speaking at that node, if any.
	Agent string `json:"agent,omitempty"`
	// Path is the node path from the run's root, "/"-separated ("panel/optimist").
	Path string `json:"path,omitempty"`
	// Data is the type-specific payload; never nil on an event the engine emits.
	Data Payload `json:"-"`
}

// Payload is implemented by every event payload type.
type Payload interface {
	// EventType is the [Type] the payload belongs to.
	EventType() Type
}

type envelope struct {
	V        int             `json:"v"`
	Type     Type            `json:"type"`
	Seq      uint64          `json:"seq"`
	RunID    string          `json:"run_id"`
	ThreadID string          `json:"thread_id"`
	Time     time.Time       `json:"time"`
	Node     string          `json:"node,omitempty"`
	Agent    string          `json:"agent,omitempty"`
	Path     string          `json:"path,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// MarshalJSON writes the event in its version-1 JSON form.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(make([]byte, 0, 256)) }

// UnmarshalJSON reads an event, decoding Data by Type. Unknown types decode to [Unknown].
func (e *Event) UnmarshalJSON(b []byte) error {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	p, err := decodePayload(env.Type, env.Data)
	if err != nil {
		return fmt.Errorf("event %s seq %d: %w", env.Type, env.Seq, err)
	}
	*e = Event{V: env.V, Type: env.Type, Seq: env.Seq, RunID: env.RunID, ThreadID: env.ThreadID,
		Time: env.Time, Node: env.Node, Agent: env.Agent, Path: env.Path, Data: p}
	return nil
}

// Terminal reports whether t ends a run's stream for good (finished, failed or cancelled).
// An interrupted run may continue later, under the same run id, after [RunResumed].
func (t Type) Terminal() bool {
	return t == RunFinished || t == RunFailed || t == RunCancelled
}

// Pause reports whether t ends the current stretch of a run's stream: a terminal type or
// [RunInterrupted].
func (t Type) Pause() bool { return t.Terminal() || t == RunInterrupted }

// AppendJSON appends the event's JSON form to b. It writes the envelope by hand (the same bytes
// encoding/json would, without its reflection and the compaction pass over the payload) and the
// hottest payloads too; MarshalJSON uses it.
func (e Event) AppendJSON(b []byte) ([]byte, error) {
	typ := e.Type
	if typ == "" && e.Data != nil {
		typ = e.Data.EventType()
	}
	v := e.V
	if v == 0 {
		v = Version
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	b = append(b, `,"type":`...)
	b = appendString(b, string(typ))
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"run_id":`...)
	b = appendString(b, e.RunID)
	b = append(b, `,"thread_id":`...)
	b = appendString(b, e.ThreadID)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, f := range [...]struct{ key, val string }{{`,"node":`, e.Node}, {`,"agent":`, e.Agent}, {`,"path":`, e.Path}} {
		if f.val != "" {
			b = append(b, f.key...)
			b = appendString(b, f.val)
		}
	}
	b = append(b, `,"data":`...)
	b, err := appendPayload(b, e.Data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	return append(b, '}'), nil
}

// appendPayload writes the payload; the per-token types by hand, the rest with encoding/json.
func appendPayload(b []byte, p Payload) ([]byte, error) {
	switch d := p.(type) {
	case nil:
		return append(b, "{}"...), nil
	case MessageDeltaData:
		return appendDelta(b, `{"message_id":`, d.MessageID, d.Delta), nil
	case ReasoningDeltaData:
		return appendDelta(b, `{"message_id":`, d.MessageID, d.Delta), nil
	case ToolArgsData:
		return appendDelta(b, `{"call_id":`, d.CallID, d.Delta), nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return append(b, data...), nil
}

func appendDelta(b []byte, head, id, delta string) []byte {
	b = append(b, head...)
	b = appendString(b, id)
	b = append(b, `,"delta":`...)
	b = appendString(b, delta)
	return append(b, '}')
}

// appendString appends s as a JSON string, escaped exactly as encoding/json does (including its
// HTML-safe escapes of <, > and &, and of U+2028 and U+2029).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
