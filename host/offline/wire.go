package offline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/agentfleet/fleet/host/offline/internal/policy"
)

// chatRequest is the part of an OpenAI chat completion request the offline model reads. Other
// fields are accepted and ignored.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Tools               []wireTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	ReasoningEffort     string          `json:"reasoning_effort"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`

	// toolChoice is ToolChoice decoded: "", "auto", "none", "required" or a function name.
	toolChoice string
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    messageContent `json:"content"`
	Name       string         `json:"name"`
	ToolCalls  []wireToolCall `json:"tool_calls"`
	ToolCallID string         `json:"tool_call_id"`
}

type wireToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// messageContent is a message's text: a JSON string, null, or an array of content parts whose
// "text" parts are joined.
type messageContent string

// UnmarshalJSON implements [json.Unmarshaler].
func (c *messageContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = ""
		return nil
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var s string
		for _, p := range parts {
			if p.Type == "text" {
				s += p.Text
			}
		}
		*c = messageContent(s)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("content must be a string, null or an array of content parts")
	}
	*c = messageContent(s)
	return nil
}

// requestError is a client error, reported as HTTP 400 in OpenAI's error shape.
type requestError struct {
	param string
	msg   string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(param, format string, args ...any) error {
	return &requestError{param: param, msg: fmt.Sprintf(format, args...)}
}

// validRoles are the message roles the offline model accepts.
var validRoles = map[string]bool{
	policy.RoleSystem: true, policy.RoleDeveloper: true, policy.RoleUser: true,
	policy.RoleAssistant: true, policy.RoleTool: true,
}

// parseRequest decodes and checks a chat completion request body.
func parseRequest(body []byte) (*chatRequest, error) {
	if !utf8.Valid(body) {
		return nil, badRequest("", "request body is not valid UTF-8")
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("", "request body is not a valid chat completion request: %v", err)
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages must not be empty")
	}
	for i, m := range req.Messages {
		if !validRoles[m.Role] {
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
		}
	}
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "tools must be functions with a name")
		}
	}
	if req.MaxTokens < 0 || req.MaxCompletionTokens < 0 {
		return nil, badRequest("max_tokens", "max_tokens must not be negative")
	}
	choice, err := decodeToolChoice(req.ToolChoice, req.Tools)
	if err != nil {
		return nil, err
	}
	req.toolChoice = choice
	return &req, nil
}

// decodeToolChoice reads tool_choice: "auto", "none", "required", or
// {"type":"function","function":{"name":...}} naming an offered tool.
func decodeToolChoice(raw json.RawMessage, tools []wireTool) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case policy.ChoiceAuto, policy.ChoiceNone, policy.ChoiceRequired:
			return s, nil
		}
		return "", badRequest("tool_choice", "tool_choice %q is not auto, none or required", s)
	}
	var obj struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Function.Name == "" {
		return "", badRequest("tool_choice", "tool_choice must be a string or name a function")
	}
	for _, t := range tools {
		if t.Function.Name == obj.Function.Name {
			return obj.Function.Name, nil
		}
	}
	return "", badRequest("tool_choice", "tool_choice names %q, which is not an offered tool", obj.Function.Name)
}

// maxTokens is the completion cap the request asks for, 0 for none.
func (r *chatRequest) maxTokens() int {
	if r.MaxCompletionTokens > 0 {
		return r.MaxCompletionTokens
	}
	return r.MaxTokens
}

// policyRequest converts the request to the policy's input.
func (r *chatRequest) policyRequest() policy.Request {
	p := policy.Request{
		ToolChoice:      r.toolChoice,
		NoParallel:      r.ParallelToolCalls != nil && !*r.ParallelToolCalls,
		ReasoningEffort: r.ReasoningEffort,
	}
	for _, m := range r.Messages {
		pm := policy.Message{Role: m.Role, Content: string(m.Content), Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			pm.ToolCalls = append(pm.ToolCalls, policy.Call{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		p.Messages = append(p.Messages, pm)
	}
	for _, t := range r.Tools {
		p.Tools = append(p.Tools, policy.Tool{Name: t.Function.Name, Description: t.Function.Description})
	}
	return p
}

// promptTokens estimates the prompt's tokens as a quarter of its characters (rounded up, at
// least 1): message contents, names, tool calls, and tool definitions.
func (r *chatRequest) promptTokens() int {
	n := 0
	for _, m := range r.Messages {
		n += utf8.RuneCountInString(string(m.Content)) + utf8.RuneCountInString(m.Name)
		for _, tc := range m.ToolCalls {
			n += utf8.RuneCountInString(tc.Function.Name) + utf8.RuneCountInString(tc.Function.Arguments)
		}
	}
	for _, t := range r.Tools {
		n += utf8.RuneCountInString(t.Function.Name) + utf8.RuneCountInString(t.Function.Description) +
			utf8.RuneCount(t.Function.Parameters)
	}
	return max(1, (n+3)/4)
}

// Response wire types, in OpenAI's shape.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	// Usage is null on every chunk but the last when the client asked for usage, absent otherwise.
	Usage json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	Logprobs     *struct{}  `json:"logprobs"`
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallDelta `json:"tool_calls,omitempty"`
}

type toolCallDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function functionDelta `json:"function"`
}

type functionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             usage              `json:"usage"`
}

type completionChoice struct {
	Index        int               `json:"index"`
	Message      completionMessage `json:"message"`
	Logprobs     *struct{}         `json:"logprobs"`
	FinishReason string            `json:"finish_reason"`
}

type completionMessage struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
}

type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}
