package llm_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/host/llm"
)

// TestToolCallIndexes: tool call pieces are accumulated by index whether the server sends
// indexes, omits them, or reuses one index for several calls.
func TestToolCallIndexes(t *testing.T) {
	finish := `{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`
	tests := []struct {
		name   string
		events []string
	}{
		{"with indexes, interleaved", []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"calculate","arguments":""}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"now","arguments":"{\"time"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"expression\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"zone\":\"UTC\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"1+1\"}"}}]}}]}`,
			finish, `[DONE]`}},
		{"without indexes", []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","type":"function","function":{"name":"calculate"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"{\"expression\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"\"1+1\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","type":"function","function":{"name":"now","arguments":"{\"timezone\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"\"UTC\"}"}}]}}]}`,
			finish, `[DONE]`}},
		{"whole calls without indexes in one chunk", []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","type":"function","function":{"name":"calculate","arguments":"{\"expression\":\"1+1\"}"}},` +
				`{"id":"b","type":"function","function":{"name":"now","arguments":"{\"timezone\":\"UTC\"}"}}]}}]}`,
			finish, `[DONE]`}},
		{"index 0 reused with new ids", []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"calculate","arguments":"{\"expression\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"1+1\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","type":"function","function":{"name":"now","arguments":"{\"timezone\":\"UTC\"}"}}]}}]}`,
			finish, `[DONE]`}},
		{"id repeated on every piece", []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"calculate","arguments":"{\"expression\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"arguments":"\"1+1\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"now","arguments":"{\"timezone\":\"UTC\"}"}}]}}]}`,
			finish, `[DONE]`}},
	}
	want := []engine.ToolCall{{ID: "a", Name: "calculate", Arguments: `{"expression":"1+1"}`},
		{ID: "b", Name: "now", Arguments: `{"timezone":"UTC"}`}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tinyServer(t, func(w http.ResponseWriter, r *http.Request) { sse(w, tt.events...) }, llm.Config{DefaultModel: "m"})
			r, err := call(t, c, context.Background(), userReq("hi"))
			if err != nil {
				t.Fatal(err)
			}
			if r.finish != "tool_calls" || len(r.calls) != 2 || r.calls[0] != want[0] || r.calls[1] != want[1] {
				t.Fatalf("calls %+v finish %q", r.calls, r.finish)
			}
		})
	}
}
