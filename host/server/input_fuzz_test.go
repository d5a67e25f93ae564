package server

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzParseRunInput: any body gives a request or a 400 naming the problem, never a panic; an
// accepted request has an input or answers.
func FuzzParseRunInput(f *testing.F) {
	for _, s := range []string{
		`{"threadId":"t","runId":"r","messages":[{"id":"u","role":"user","content":"hi"}],"tools":[],"context":[],"state":{},"forwardedProps":{}}`,
		`{"messages":[{"id":"u","role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		`{"runId":"r","resume":[{"interruptId":"a","status":"resolved","payload":{"approve":false,"arguments":{"x":1},"reason":"no"}}]}`,
		`{"runId":"r","resume":[{"interruptId":"a","status":"cancelled"}]}`,
		`{"messages":[{"id":"a","role":"assistant","toolCalls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"id":"t","role":"tool","toolCallId":"c","content":"1"}]}`,
		`{"protocolVersion":"1.0.0","messages":[{"id":"u","role":"user","content":"x","metadata":{"k":null}}]}`,
		`{}`, `[]`, `null`, `{"messages":null}`, `{"messages":[null]}`, `{"a":1} {"b":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRunInput(body)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.message == "" {
				t.Fatalf("error %v is not a 400 with a message", err)
			}
			return
		}
		if req.Input == "" && len(req.Answers) == 0 {
			t.Fatalf("accepted %q with neither input nor answers", body)
		}
		if len(req.Answers) > 0 && req.RunID == "" {
			t.Fatalf("accepted answers without a runId: %q", body)
		}
	})
}

// FuzzParseAnswer: the approval body decoder never panics and always needs "approve".
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"approve":true}`, `{"approve":false,"reason":"x"}`, `{"approve":true,"arguments":{"a":[1]}}`, `{"approve":true,"arguments":null}`, `{}`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseAnswer(body, "apr_1")
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if a.ApprovalID != "apr_1" || (len(a.Arguments) > 0 && a.Arguments[0] != '{') {
			t.Fatalf("accepted %q as %+v", body, a)
		}
	})
}
