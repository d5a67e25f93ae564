package event

import (
	"encoding/json"
	"fmt"
)

// Usage counts model tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// Calls is the number of model calls counted.
	Calls int `json:"calls,omitempty"`
}

// Add returns u plus o.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		PromptTokens:     u.PromptTokens + o.PromptTokens,
		CompletionTokens: u.CompletionTokens + o.CompletionTokens,
		TotalTokens:      u.TotalTokens + o.TotalTokens,
		Calls:            u.Calls + o.Calls,
	}
}

// Error describes a failure in an event.
type Error struct {
	// Code is a stable machine-readable code (see docs/events.md), e.g. "model_error", "timeout".
	Code string `json:"code"`
	// Message is for people.
	Message string `json:"message"`
}

// Approval is a tool call waiting for a person's decision.
type Approval struct {
	// ID addresses the approval in answers; unique within its run.
	ID string `json:"id"`
	// CallID is the tool call's id as the model gave it.
	CallID string `json:"call_id"`
	// Tool is the tool's name as the model called it.
	Tool string `json:"tool"`
	// Arguments are the call's arguments (a JSON object).
	Arguments json.RawMessage `json:"arguments"`
	// Agent and Node say who asked.
	Agent string `json:"agent,omitempty"`
	Node  string `json:"node,omitempty"`
}

// RunStartedData is the payload of [RunStarted], the first event of every run.
type RunStartedData struct {
	Workflow string `json:"workflow"`
	// Input is the user's message that started the run.
	Input string `json:"input"`
}

// RunFinishedData is the payload of [RunFinished].
type RunFinishedData struct {
	// Output is the run's final answer.
	Output string `json:"output"`
	// Usage totals every model call of the run.
	Usage Usage `json:"usage"`
	// Limit names the limit that ended the run early with a best-effort answer
	// ("max_steps", "max_turns", "max_rounds"); empty when the run ended normally.
	Limit string `json:"limit,omitempty"`
}

// RunFailedData is the payload of [RunFailed].
type RunFailedData struct {
	Error Error `json:"error"`
	Usage Usage `json:"usage"`
}

// RunCancelledData is the payload of [RunCancelled].
type RunCancelledData struct {
	Reason string `json:"reason,omitempty"`
	Usage  Usage  `json:"usage"`
}

// RunInterruptedData is the payload of [RunInterrupted]: the run waits for answers to Approvals.
type RunInterruptedData struct {
	Approvals []Approval `json:"approvals"`
	Usage     Usage      `json:"usage"`
}

// RunResumedData is the payload of [RunResumed]: the run continues after an interruption
// (answered approvals) or after its process died (from its last checkpoint).
type RunResumedData struct {
	// Reason is "approval" or "restart".
	Reason string `json:"reason"`
	// Checkpoint is the seq of the last event covered by the checkpoint resumed from.
	Checkpoint uint64 `json:"checkpoint"`
}

// StepStartedData is the payload of [StepStarted]: a graph node begins.
type StepStartedData struct {
	// Kind is the node's kind: "agent", "router", "tool" or "join".
	Kind string `json:"kind"`
	// Step counts node executions in the run, from 1.
	Step int `json:"step"`
}

// StepFinishedData is the payload of [StepFinished].
type StepFinishedData struct {
	Kind string `json:"kind"`
	Step int    `json:"step"`
	// Status is "ok", "error", "cancelled", "interrupted" or "aborted" (closed on resume after a crash).
	Status string `json:"status"`
}

// MessageStartData is the payload of [MessageStart]: an agent begins a message.
type MessageStartData struct {
	MessageID string `json:"message_id"`
	// Role is "assistant".
	Role string `json:"role"`
	// Name is the agent's name.
	Name string `json:"name,omitempty"`
}

// MessageDeltaData is the payload of [MessageDelta]: text as the model streams it (never empty).
type MessageDeltaData struct {
	MessageID string `json:"message_id"`
	Delta     string `json:"delta"`
}

// MessageEndData is the payload of [MessageEnd].
type MessageEndData struct {
	MessageID string `json:"message_id"`
	// Aborted is true when the message was cut off (model error before a retry, cancel, crash).
	Aborted bool `json:"aborted,omitempty"`
}

// ReasoningStartData is the payload of [ReasoningStart].
type ReasoningStartData struct {
	MessageID string `json:"message_id"`
}

// ReasoningDeltaData is the payload of [ReasoningDelta] (never empty).
type ReasoningDeltaData struct {
	MessageID string `json:"message_id"`
	Delta     string `json:"delta"`
}

// ReasoningEndData is the payload of [ReasoningEnd].
type ReasoningEndData struct {
	MessageID string `json:"message_id"`
}

// ToolStartData is the payload of [ToolStart]: the model began a tool call.
type ToolStartData struct {
	CallID string `json:"call_id"`
	Tool   string `json:"tool"`
	// MessageID is the assistant message the call belongs to.
	MessageID string `json:"message_id,omitempty"`
}

// ToolArgsData is the payload of [ToolArgs]: a piece of the call's JSON arguments as streamed.
type ToolArgsData struct {
	CallID string `json:"call_id"`
	Delta  string `json:"delta"`
}

// ToolEndData is the payload of [ToolEnd]: the call's arguments are complete.
type ToolEndData struct {
	CallID    string          `json:"call_id"`
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments"`
	// Aborted is true when the call was cut off before its arguments completed; no result follows.
	Aborted bool `json:"aborted,omitempty"`
}

// ToolResultData is the payload of [ToolResult].
type ToolResultData struct {
	CallID string `json:"call_id"`
	Tool   string `json:"tool"`
	// MessageID identifies the tool message holding the result.
	MessageID string `json:"message_id"`
	// Result is the tool's JSON result; absent when Error is set.
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	// DurationMS is how long the call took.
	DurationMS int64 `json:"duration_ms"`
}

// RouteData is the payload of [Route]: control moves between nodes by a decision.
type RouteData struct {
	// Kind is "handoff" (an agent transferred control), "route" (a router chose),
	// "speaker" (a group chat coordinator chose), or "finish".
	Kind string `json:"kind"`
	From string `json:"from"`
	// To names the chosen nodes; empty for "finish".
	To     []string `json:"to,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// ApprovalRequestedData is the payload of [ApprovalRequested].
type ApprovalRequestedData struct {
	Approval Approval `json:"approval"`
}

// ApprovalResolvedData is the payload of [ApprovalResolved].
type ApprovalResolvedData struct {
	ApprovalID string `json:"approval_id"`
	// Decision is "approved" or "denied".
	Decision string `json:"decision"`
	// Arguments are the arguments the tool runs with when a person edited them.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Reason    string          `json:"reason,omitempty"`
}

// UsageData is the payload of [UsageReported], sent after every model call.
type UsageData struct {
	Model string `json:"model"`
	// Call is this model call's usage.
	Call Usage `json:"call"`
	// AgentTotal and RunTotal are running totals for the agent and the run.
	AgentTotal Usage `json:"agent_total"`
	RunTotal   Usage `json:"run_total"`
}

// StateSnapshotData is the payload of [StateSnapshot]: the run's visible state.
type StateSnapshotData struct {
	State json.RawMessage `json:"state"`
}

// Unknown holds the payload of an event type this version does not know.
type Unknown struct {
	Type Type            `json:"-"`
	Raw  json.RawMessage `json:"-"`
}

// MarshalJSON writes the raw payload back.
func (u Unknown) MarshalJSON() ([]byte, error) {
	if len(u.Raw) == 0 {
		return []byte("{}"), nil
	}
	return u.Raw, nil
}

// EventType implements [Payload].
func (u Unknown) EventType() Type { return u.Type }

// EventType implementations.
func (RunStartedData) EventType() Type        { return RunStarted }
func (RunFinishedData) EventType() Type       { return RunFinished }
func (RunFailedData) EventType() Type         { return RunFailed }
func (RunCancelledData) EventType() Type      { return RunCancelled }
func (RunInterruptedData) EventType() Type    { return RunInterrupted }
func (RunResumedData) EventType() Type        { return RunResumed }
func (StepStartedData) EventType() Type       { return StepStarted }
func (StepFinishedData) EventType() Type      { return StepFinished }
func (MessageStartData) EventType() Type      { return MessageStart }
func (MessageDeltaData) EventType() Type      { return MessageDelta }
func (MessageEndData) EventType() Type        { return MessageEnd }
func (ReasoningStartData) EventType() Type    { return ReasoningStart }
func (ReasoningDeltaData) EventType() Type    { return ReasoningDelta }
func (ReasoningEndData) EventType() Type      { return ReasoningEnd }
func (ToolStartData) EventType() Type         { return ToolStart }
func (ToolArgsData) EventType() Type          { return ToolArgs }
func (ToolEndData) EventType() Type           { return ToolEnd }
func (ToolResultData) EventType() Type        { return ToolResult }
func (RouteData) EventType() Type             { return Route }
func (ApprovalRequestedData) EventType() Type { return ApprovalRequested }
func (ApprovalResolvedData) EventType() Type  { return ApprovalResolved }
func (UsageData) EventType() Type             { return UsageReported }
func (StateSnapshotData) EventType() Type     { return StateSnapshot }

// decoders maps each known type to a function decoding its payload.
var decoders = map[Type]func([]byte) (Payload, error){
	RunStarted:        decodeAs[RunStartedData],
	RunFinished:       decodeAs[RunFinishedData],
	RunFailed:         decodeAs[RunFailedData],
	RunCancelled:      decodeAs[RunCancelledData],
	RunInterrupted:    decodeAs[RunInterruptedData],
	RunResumed:        decodeAs[RunResumedData],
	StepStarted:       decodeAs[StepStartedData],
	StepFinished:      decodeAs[StepFinishedData],
	MessageStart:      decodeAs[MessageStartData],
	MessageDelta:      decodeAs[MessageDeltaData],
	MessageEnd:        decodeAs[MessageEndData],
	ReasoningStart:    decodeAs[ReasoningStartData],
	ReasoningDelta:    decodeAs[ReasoningDeltaData],
	ReasoningEnd:      decodeAs[ReasoningEndData],
	ToolStart:         decodeAs[ToolStartData],
	ToolArgs:          decodeAs[ToolArgsData],
	ToolEnd:           decodeAs[ToolEndData],
	ToolResult:        decodeAs[ToolResultData],
	Route:             decodeAs[RouteData],
	ApprovalRequested: decodeAs[ApprovalRequestedData],
	ApprovalResolved:  decodeAs[ApprovalResolvedData],
	UsageReported:     decodeAs[UsageData],
	StateSnapshot:     decodeAs[StateSnapshotData],
}

// Types lists every event type this version knows, in documentation order.
func Types() []Type {
	return []Type{RunStarted, RunFinished, RunFailed, RunCancelled, RunInterrupted, RunResumed,
		StepStarted, StepFinished, MessageStart, MessageDelta, MessageEnd,
		ReasoningStart, ReasoningDelta, ReasoningEnd, ToolStart, ToolArgs, ToolEnd, ToolResult,
		Route, ApprovalRequested, ApprovalResolved, UsageReported, StateSnapshot}
}

func decodeAs[T Payload](b []byte) (Payload, error) {
	var v T
	if len(b) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func decodePayload(t Type, data json.RawMessage) (Payload, error) {
	if t == "" {
		return nil, fmt.Errorf("missing type")
	}
	dec, ok := decoders[t]
	if !ok {
		return Unknown{Type: t, Raw: append(json.RawMessage(nil), data...)}, nil
	}
	return dec(data)
}
