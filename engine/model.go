package engine

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/agentfleet/fleet/engine/event"
)

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one chat message sent to a model.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content,omitempty"`
	// Name is the speaking agent's name on assistant messages (sent to models that accept it).
	Name string `json:"name,omitempty"`
	// ToolCalls are the calls an assistant message made.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID links a tool message to its call.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the JSON text of the arguments object.
	Arguments string `json:"arguments"`
}

// ToolDef describes a tool offered to a model.
type ToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// Tool choice values for [ModelRequest].
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
)

// ModelRequest is one streaming chat completion request.
type ModelRequest struct {
	// Model is the provider's model name.
	Model    string
	Messages []Message
	Tools    []ToolDef
	// ToolChoice is one of the ToolChoice constants; empty means auto when tools are offered.
	ToolChoice string
	// Temperature is sent when not nil.
	Temperature *float32
	// MaxTokens caps the completion; 0 leaves it to the provider.
	MaxTokens int
	// ReasoningEffort ("low", "medium", "high") is sent when not empty.
	ReasoningEffort string
}

// ToolCallDelta is a piece of a streamed tool call. ID and Name usually arrive in the first
// piece of a call; Arguments pieces concatenate. Index orders parallel calls.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// Chunk is one piece of a streamed model response.
type Chunk struct {
	Content      string
	Reasoning    string
	ToolCalls    []ToolCallDelta
	FinishReason string
	// Usage is set on the chunk that reports the call's token usage (usually the last).
	Usage *event.Usage
}

// ModelStream yields a response's chunks. Recv returns io.EOF after the last chunk.
// Close must be called once the caller is done, whatever Recv returned.
type ModelStream interface {
	Recv() (Chunk, error)
	Close() error
}

// Model streams chat completions. Implementations are safe for concurrent use.
type Model interface {
	Stream(ctx context.Context, req ModelRequest) (ModelStream, error)
}

// Models resolves a provider name (from an agent's model spec) to a [Model] and the provider's
// default model name. An empty provider name means the default provider.
type Models interface {
	Model(provider string) (m Model, defaultName string, err error)
}

// ErrTransient marks a model error worth retrying (rate limits, 5xx, a dropped connection or
// stream). Model adapters wrap such errors with it; the engine retries them with backoff.
var ErrTransient = errors.New("transient model error")

// ToolInfo describes a tool the engine can call.
type ToolInfo struct {
	// Name is the canonical name, "plugin.tool".
	Name string `json:"name"`
	// Plugin and Tool are its parts.
	Plugin      string          `json:"plugin"`
	Tool        string          `json:"tool"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// Tools is the engine's view of the tools it may call (the plugin registry in production).
type Tools interface {
	// Lookup finds a tool by canonical name "plugin.tool" or by bare tool name when that is
	// unambiguous.
	Lookup(name string) (ToolInfo, bool)
	// Call runs a tool by canonical name. An error the tool itself reported is returned as is;
	// the engine hands every error's message to the model as the tool result.
	Call(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error)
}
