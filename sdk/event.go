package sdk

import (
	"encoding/json"
	"fmt"
)

// The engine's event types, version 1 (docs/events.md). Mappers name the types they handle with
// these in Mapper.Handlers; Event.Type holds them (or the name of a type this SDK does not know).
const (
	EventRunStarted        = "run.started"
	EventRunFinished       = "run.finished"
	EventRunFailed         = "run.failed"
	EventRunCancelled      = "run.cancelled"
	EventRunInterrupted    = "run.interrupted"
	EventRunResumed        = "run.resumed"
	EventStepStarted       = "step.started"
	EventStepFinished      = "step.finished"
	EventMessageStart      = "message.start"
	EventMessageDelta      = "message.delta"
	EventMessageEnd        = "message.end"
	EventReasoningStart    = "reasoning.start"
	EventReasoningDelta    = "reasoning.delta"
	EventReasoningEnd      = "reasoning.end"
	EventToolStart         = "tool.start"
	EventToolArgs          = "tool.args"
	EventToolEnd           = "tool.end"
	EventToolResult        = "tool.result"
	EventRoute             = "route"
	EventApprovalRequested = "approval.requested"
	EventApprovalResolved  = "approval.resolved"
	EventUsage             = "usage"
	EventStateSnapshot     = "state.snapshot"
)

// typeID numbers the known event types; 0 is a type this SDK does not know.
type typeID uint8

const (
	tUnknown typeID = iota
	tRunStarted
	tRunFinished
	tRunFailed
	tRunCancelled
	tRunInterrupted
	tRunResumed
	tStepStarted
	tStepFinished
	tMessageStart
	tMessageDelta
	tMessageEnd
	tReasoningStart
	tReasoningDelta
	tReasoningEnd
	tToolStart
	tToolArgs
	tToolEnd
	tToolResult
	tRoute
	tApprovalRequested
	tApprovalResolved
	tUsage
	tStateSnapshot
	numTypes
)

// typeNames are the known types by id, in documentation order.
var typeNames = [numTypes]string{"", EventRunStarted, EventRunFinished, EventRunFailed, EventRunCancelled,
	EventRunInterrupted, EventRunResumed, EventStepStarted, EventStepFinished, EventMessageStart,
	EventMessageDelta, EventMessageEnd, EventReasoningStart, EventReasoningDelta, EventReasoningEnd,
	EventToolStart, EventToolArgs, EventToolEnd, EventToolResult, EventRoute, EventApprovalRequested,
	EventApprovalResolved, EventUsage, EventStateSnapshot}

// typeIDs finds a known type's id; a map lookup with a string key neither allocates nor copies.
var typeIDs = func() map[string]typeID {
	m := make(map[string]typeID, numTypes)
	for id, name := range typeNames {
		if id > 0 {
			m[name] = typeID(id)
		}
	}
	return m
}()

// EventTypes returns every event type this SDK knows, in documentation order.
func EventTypes() []string { return append([]string(nil), typeNames[1:]...) }

// intern returns the id of a type name and, for a known type, the SDK's own copy of the name (so
// the event's Type never points into the batch it came from).
func intern(name string) (typeID, string) {
	if name == EventMessageDelta { // most events are deltas: skip the map for them
		return tMessageDelta, EventMessageDelta
	}
	if id, ok := typeIDs[name]; ok {
		return id, typeNames[id]
	}
	return tUnknown, name
}

// Event is one engine event as a mapper receives it (docs/events.md): the envelope, decoded, and
// its payload, Data, kept as JSON until a handler asks for it with the method named after the
// type (MessageDelta, ToolResult...), which decodes only that payload, on each call.
//
// # Lifetime
//
// Strings and byte slices in an Event and in the payloads it decodes point into the batch being
// mapped; they are valid until the handler's mapping call returns. Keeping them in the stream's
// state is fine (the state is encoded before the call returns); to keep them anywhere else, copy
// them (strings.Clone, bytes.Clone).
//
// # Errors
//
// A payload that does not decode (a field of the wrong type, broken JSON) makes its method return
// the zero payload and record the error, which Err reports. After the handler returns, the SDK fails
// the batch with the first such error (ABI status 2, code bad_message) naming the event.
type Event struct {
	// V is the version of the event's JSON form (1).
	V int
	// Type is the event type: one of the Event* constants, or the name of a type this SDK does not
	// know (passed on as is).
	Type string
	// Seq is the event's position in its run's log.
	Seq uint64
	// RunID and ThreadID name the run and its conversation.
	RunID, ThreadID string
	// Time is when the engine emitted the event, RFC 3339 UTC, as sent.
	Time string
	// Node, Agent and Path say where in the graph the event comes from; empty for run-level events.
	Node, Agent, Path string
	// Data is the payload as JSON text (an object); nil when the event has none.
	Data json.RawMessage
	// Index is the event's position in its batch, from 0: the index its frames carry.
	Index int

	id      typeID
	arena   *[]byte
	err     error
	members []member
	// tabled says members holds the payload's member table.
	tabled bool
}

// Err returns the first error met decoding this event's payload, or nil.
func (e *Event) Err() error { return e.err }

// check records the scanner's error, if any, as the event's.
func (e *Event) check(s *scanner) {
	if s.err != nil && e.err == nil {
		e.err = fmt.Errorf("event %d (%s, seq %d): data: %w", e.Index, e.Type, e.Seq, s.err)
	}
}

// Usage counts model tokens.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
	// Calls is the number of model calls counted.
	Calls int64
}

// Error describes a failure in an event.
type Error struct {
	// Code is a stable machine-readable code (docs/events.md), e.g. "model_error", "timeout".
	Code string
	// Message is for people.
	Message string
}

// Approval is a tool call waiting for a person's decision.
type Approval struct {
	ID        string
	CallID    string
	Tool      string
	Arguments json.RawMessage
	Agent     string
	Node      string
	// Raw is the approval object as sent, to pass on whole.
	Raw json.RawMessage
}

// RunStartedData is the payload of run.started.
type RunStartedData struct {
	Workflow string
	Input    string
}

// RunFinishedData is the payload of run.finished.
type RunFinishedData struct {
	Output string
	Usage  Usage
	// Limit names the limit that ended the run early; empty when it ended normally.
	Limit string
}

// RunFailedData is the payload of run.failed.
type RunFailedData struct {
	Error Error
	Usage Usage
}

// RunCancelledData is the payload of run.cancelled.
type RunCancelledData struct {
	Reason string
	Usage  Usage
}

// RunInterruptedData is the payload of run.interrupted.
type RunInterruptedData struct {
	Approvals []Approval
	Usage     Usage
}

// RunResumedData is the payload of run.resumed.
type RunResumedData struct {
	// Reason is "approval" or "restart".
	Reason     string
	Checkpoint uint64
}

// StepStartedData is the payload of step.started.
type StepStartedData struct {
	// Kind is "agent", "router", "tool" or "join".
	Kind string
	Step int64
}

// StepFinishedData is the payload of step.finished.
type StepFinishedData struct {
	Kind string
	Step int64
	// Status is "ok", "error", "cancelled", "interrupted" or "aborted".
	Status string
}

// MessageStartData is the payload of message.start.
type MessageStartData struct {
	MessageID string
	Role      string
	// Name is the agent's name.
	Name string
}

// MessageDeltaData is the payload of message.delta.
type MessageDeltaData struct {
	MessageID string
	Delta     string
}

// MessageEndData is the payload of message.end.
type MessageEndData struct {
	MessageID string
	Aborted   bool
}

// ReasoningData is the payload of reasoning.start, reasoning.delta (with Delta) and reasoning.end.
type ReasoningData struct {
	MessageID string
	Delta     string
}

// ToolStartData is the payload of tool.start.
type ToolStartData struct {
	CallID string
	Tool   string
	// MessageID is the assistant message the call belongs to; may be empty.
	MessageID string
}

// ToolArgsData is the payload of tool.args.
type ToolArgsData struct {
	CallID string
	Delta  string
}

// ToolEndData is the payload of tool.end.
type ToolEndData struct {
	CallID    string
	Tool      string
	Arguments json.RawMessage
	Aborted   bool
}

// ToolResultData is the payload of tool.result.
type ToolResultData struct {
	CallID    string
	Tool      string
	MessageID string
	// Result is the tool's JSON result; nil when Error is set.
	Result json.RawMessage
	// Error is set when the call failed; HasError tells a set Error apart from an empty one.
	Error      Error
	HasError   bool
	DurationMS int64
}

// RouteData is the payload of route.
type RouteData struct {
	// Kind is "handoff", "route", "speaker" or "finish".
	Kind   string
	From   string
	To     []string
	Reason string
}

// ApprovalRequestedData is the payload of approval.requested.
type ApprovalRequestedData struct {
	Approval Approval
}

// ApprovalResolvedData is the payload of approval.resolved.
type ApprovalResolvedData struct {
	ApprovalID string
	// Decision is "approved" or "denied".
	Decision  string
	Arguments json.RawMessage
	Reason    string
}

// UsageData is the payload of usage.
type UsageData struct {
	Model      string
	Call       Usage
	AgentTotal Usage
	RunTotal   Usage
}

// StateSnapshotData is the payload of state.snapshot.
type StateSnapshotData struct {
	State json.RawMessage
}
