package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/agentfleet/fleet/engine"
)

// Bounds of a RunAgentInput, besides the body limit.
const (
	maxMessages = 1000
	maxListLen  = 256
)

// decodeStrict decodes one JSON object into v, rejecting unknown fields, wrong types and trailing
// data with a *apiError naming the field under path ("" for the top level).
func decodeStrict(data []byte, v any, path string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err, path)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("%sunexpected data after the JSON value", where(path))
	}
	return nil
}

func where(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

func join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// describeJSONError turns a decoding error into a message a client can act on.
func describeJSONError(err error, path string) *apiError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return badRequest("field %s: got a JSON %s, want %s", join(path, te.Field), te.Value, kindOf(te.Type))
	case errors.As(err, &se):
		return badRequest("%smalformed JSON at byte %d: %v", where(path), se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("%sthe body is empty or cut short; want a JSON object", where(path))
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("field %s is not allowed", join(path, strings.Trim(field, `"`)))
	}
	return badRequest("%s%v", where(path), err)
}

var kinds = map[reflect.Kind]string{
	reflect.String: "a string", reflect.Bool: "a boolean", reflect.Slice: "an array", reflect.Struct: "an object",
	reflect.Map: "an object", reflect.Int: "an integer", reflect.Int64: "an integer", reflect.Uint64: "a non-negative integer",
	reflect.Float64: "a number",
}

func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if k, ok := kinds[t.Kind()]; ok {
		return k
	}
	return t.Kind().String()
}

// runInput is an AG-UI RunAgentInput. Nested objects are decoded one by one so that an error
// names its place ("messages[2].role").
type runInput struct {
	ThreadID       string            `json:"threadId"`
	RunID          string            `json:"runId"`
	ParentRunID    string            `json:"parentRunId"`
	State          json.RawMessage   `json:"state"`
	Messages       []json.RawMessage `json:"messages"`
	Tools          []json.RawMessage `json:"tools"`
	Context        []json.RawMessage `json:"context"`
	ForwardedProps json.RawMessage   `json:"forwardedProps"`
	Resume         []json.RawMessage `json:"resume"`
	Metadata       json.RawMessage   `json:"metadata"`
	// ProtocolVersion is sent by @ag-ui/client 1.x.
	ProtocolVersion string `json:"protocolVersion"`
}

// inputMessage is the union of the fields AG-UI messages have.
type inputMessage struct {
	ID             string          `json:"id"`
	Role           string          `json:"role"`
	Content        json.RawMessage `json:"content"`
	Name           string          `json:"name"`
	ToolCalls      json.RawMessage `json:"toolCalls"`
	ToolCallID     string          `json:"toolCallId"`
	Error          string          `json:"error"`
	ActivityType   string          `json:"activityType"`
	EncryptedValue string          `json:"encryptedValue"`
	Metadata       json.RawMessage `json:"metadata"`
	SubagentRunID  string          `json:"subagentRunId"`
}

var roles = map[string]bool{"developer": true, "system": true, "assistant": true, "user": true, "tool": true,
	"activity": true, "reasoning": true}

type contentPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ID       string          `json:"id"`
	MimeType string          `json:"mimeType"`
	URL      string          `json:"url"`
	Data     string          `json:"data"`
	Filename string          `json:"filename"`
	Metadata json.RawMessage `json:"metadata"`
}

type contextItem struct {
	Description string `json:"description"`
	Value       string `json:"value"`
}

type toolItem struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Metadata    json.RawMessage `json:"metadata"`
}

type resumeItem struct {
	InterruptID string          `json:"interruptId"`
	Status      string          `json:"status"`
	Payload     json.RawMessage `json:"payload"`
	Metadata    json.RawMessage `json:"metadata"`
}

// answerBody is an approval's answer: the payload of a resume entry, and the body of
// POST /v1/runs/{id}/approvals/{approvalId}.
type answerBody struct {
	Approve   *bool           `json:"approve"`
	Arguments json.RawMessage `json:"arguments"`
	Reason    string          `json:"reason"`
}

// runRequest is a validated RunAgentInput: either a new input or answers to approvals.
type runRequest struct {
	ThreadID, RunID string
	Input           string
	Answers         []engine.Answer
}

// parseRunInput decodes and validates a RunAgentInput.
func parseRunInput(body []byte) (runRequest, error) {
	var in runInput
	if err := decodeStrict(body, &in, ""); err != nil {
		return runRequest{}, err
	}
	if err := checkLists(in); err != nil {
		return runRequest{}, err
	}
	req := runRequest{ThreadID: in.ThreadID, RunID: in.RunID}
	if len(in.Resume) > 0 {
		if in.RunID == "" {
			return runRequest{}, badRequest("field runId: required with resume (the interrupted run's id)")
		}
		answers, err := parseResume(in.Resume)
		req.Answers = answers
		return req, err
	}
	input, err := lastUserText(in.Messages)
	req.Input = input
	return req, err
}

func checkLists(in runInput) error {
	lists := []struct {
		name string
		n    int
		max  int
		item any
		raw  []json.RawMessage
	}{
		{"messages", len(in.Messages), maxMessages, nil, nil},
		{"tools", len(in.Tools), maxListLen, &toolItem{}, in.Tools},
		{"context", len(in.Context), maxListLen, &contextItem{}, in.Context},
		{"resume", len(in.Resume), maxListLen, nil, nil},
	}
	for _, l := range lists {
		if l.n > l.max {
			return badRequest("field %s: %d items, at most %d", l.name, l.n, l.max)
		}
		for i, raw := range l.raw {
			if err := decodeStrict(raw, l.item, fmt.Sprintf("%s[%d]", l.name, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// lastUserText validates the messages and returns the text of the last user message.
func lastUserText(raws []json.RawMessage) (string, error) {
	last := -1
	var text string
	for i, raw := range raws {
		path := fmt.Sprintf("messages[%d]", i)
		var m inputMessage
		if err := decodeStrict(raw, &m, path); err != nil {
			return "", err
		}
		if !roles[m.Role] {
			return "", badRequest("field %s.role: %q is not one of developer, system, assistant, user, tool, activity, reasoning", path, m.Role)
		}
		if m.Role != "user" {
			continue
		}
		t, err := userText(m.Content, path+".content")
		if err != nil {
			return "", err
		}
		last, text = i, t
	}
	if last < 0 {
		return "", badRequest("field messages: no user message (or send resume to answer approvals)")
	}
	if strings.TrimSpace(text) == "" {
		return "", badRequest("field messages[%d].content: the last user message is empty", last)
	}
	return text, nil
}

// userText reads a user message's content: a string, or text parts joined by newlines.
func userText(raw json.RawMessage, path string) (string, error) {
	if len(raw) == 0 {
		return "", badRequest("field %s: required", path)
	}
	var s string
	if raw[0] == '"' {
		err := decodeStrict(raw, &s, path)
		return s, err
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest("field %s: want a string or an array of content parts", path)
	}
	texts := make([]string, 0, len(parts))
	for j, p := range parts {
		var cp contentPart
		ppath := fmt.Sprintf("%s[%d]", path, j)
		if err := decodeStrict(p, &cp, ppath); err != nil {
			return "", err
		}
		if cp.Type != "text" {
			return "", badRequest("field %s.type: %q is not supported (text parts only)", ppath, cp.Type)
		}
		texts = append(texts, cp.Text)
	}
	return strings.Join(texts, "\n"), nil
}

// parseResume turns resume entries into answers.
func parseResume(raws []json.RawMessage) ([]engine.Answer, error) {
	out := make([]engine.Answer, 0, len(raws))
	for i, raw := range raws {
		path := fmt.Sprintf("resume[%d]", i)
		var r resumeItem
		if err := decodeStrict(raw, &r, path); err != nil {
			return nil, err
		}
		if r.InterruptID == "" {
			return nil, badRequest("field %s.interruptId: required", path)
		}
		a, err := answerFrom(r, path)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func answerFrom(r resumeItem, path string) (engine.Answer, error) {
	a := engine.Answer{ApprovalID: r.InterruptID}
	switch r.Status {
	case "cancelled":
		a.Reason = "cancelled by the user"
	case "resolved":
		a.Approve = true
	default:
		return a, badRequest("field %s.status: %q is not resolved or cancelled", path, r.Status)
	}
	if len(r.Payload) == 0 || string(r.Payload) == "null" {
		return a, nil
	}
	var b answerBody
	if err := decodeStrict(r.Payload, &b, path+".payload"); err != nil {
		return a, err
	}
	if b.Approve != nil {
		a.Approve = a.Approve && *b.Approve
	}
	if err := checkArguments(b.Arguments, path+".payload.arguments"); err != nil {
		return a, err
	}
	if string(b.Arguments) != "null" {
		a.Arguments = b.Arguments
	}
	if b.Reason != "" {
		a.Reason = b.Reason
	}
	return a, nil
}

// checkArguments accepts absent arguments or a JSON object.
func checkArguments(raw json.RawMessage, path string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return badRequest("field %s: want a JSON object", path)
	}
	return nil
}

// parseAnswer decodes the body of POST /v1/runs/{id}/approvals/{approvalId}.
func parseAnswer(body []byte, approvalID string) (engine.Answer, error) {
	var b answerBody
	if err := decodeStrict(body, &b, ""); err != nil {
		return engine.Answer{}, err
	}
	if b.Approve == nil {
		return engine.Answer{}, badRequest("field approve: required (true or false)")
	}
	if err := checkArguments(b.Arguments, "arguments"); err != nil {
		return engine.Answer{}, err
	}
	if len(b.Arguments) > 0 && string(b.Arguments) == "null" {
		b.Arguments = nil
	}
	return engine.Answer{ApprovalID: approvalID, Approve: *b.Approve, Arguments: b.Arguments, Reason: b.Reason}, nil
}
