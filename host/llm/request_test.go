package llm_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/host/llm"
)

func f32(v float32) *float32 { return &v }
func bptr(v bool) *bool      { return &v }

// TestRequestFields checks what goes on the wire, through a recording proxy in front of the
// offline model.
func TestRequestFields(t *testing.T) {
	url, seen := capture(t, nil)
	tests := []struct {
		name  string
		cfg   llm.Config
		req   engine.ModelRequest
		check func(t *testing.T, c captured)
	}{
		{"defaults", llm.Config{Name: "local"}, withModel(userReq("hi"), "m"), func(t *testing.T, c captured) {
			want(t, c, "model", `"m"`)
			want(t, c, "stream", `true`)
			want(t, c, "stream_options", `{"include_usage":true}`)
			for _, k := range []string{"temperature", "max_tokens", "max_completion_tokens", "tools", "tool_choice",
				"parallel_tool_calls", "reasoning_effort"} {
				absent(t, c, k)
			}
			if c.auth != "" {
				t.Errorf("authorization %q without a key", c.auth)
			}
		}},
		{"temperature zero is sent", llm.Config{Name: "local"}, func() engine.ModelRequest {
			r := withModel(userReq("hi"), "m")
			r.Temperature = f32(0)
			return r
		}(), func(t *testing.T, c captured) {
			var v float64
			if json.Unmarshal(c.body["temperature"], &v) != nil || v <= 0 || v > 1e-30 {
				t.Errorf("temperature %s", c.body["temperature"])
			}
		}},
		{"temperature and max_tokens", llm.Config{Name: "local", APIKey: "k-123456"}, func() engine.ModelRequest {
			r := withModel(userReq("hi"), "m")
			r.Temperature, r.MaxTokens, r.ReasoningEffort = f32(0.5), 77, "low"
			return r
		}(), func(t *testing.T, c captured) {
			want(t, c, "temperature", `0.5`)
			want(t, c, "max_tokens", `77`)
			want(t, c, "reasoning_effort", `"low"`)
			absent(t, c, "max_completion_tokens")
			if c.auth != "Bearer k-123456" {
				t.Errorf("authorization %q", c.auth)
			}
		}},
		{"max_completion_tokens by config", llm.Config{Name: "local", MaxTokensField: llm.MaxCompletionTokens},
			func() engine.ModelRequest { r := withModel(userReq("hi"), "m"); r.MaxTokens = 5; return r }(),
			func(t *testing.T, c captured) { want(t, c, "max_completion_tokens", `5`); absent(t, c, "max_tokens") }},
		{"max_completion_tokens for o-series", llm.Config{Name: "local"},
			func() engine.ModelRequest { r := withModel(userReq("hi"), "o3-mini"); r.MaxTokens = 5; return r }(),
			func(t *testing.T, c captured) { want(t, c, "max_completion_tokens", `5`); absent(t, c, "max_tokens") }},
		{"tools, choice, parallel", llm.Config{Name: "local", ParallelToolCalls: bptr(false)}, func() engine.ModelRequest {
			r := withModel(userReq("hi", "calculate", "plugin.tool"), "m")
			r.ToolChoice = engine.ToolChoiceRequired
			r.Tools[0].Parameters = json.RawMessage(`{"type":"object","properties":{"expression":{"type":"string"}}}`)
			return r
		}(), func(t *testing.T, c captured) {
			want(t, c, "tool_choice", `"required"`)
			want(t, c, "parallel_tool_calls", `false`)
			want(t, c, "tools", `[{"function":{"name":"calculate","description":"tool calculate","parameters":{"type":"object","properties":{"expression":{"type":"string"}}}},"type":"function"},`+
				`{"function":{"name":"plugin_tool","description":"tool plugin.tool","parameters":{"type":"object","properties":{}}},"type":"function"}]`)
		}},
		{"forced function", llm.Config{Name: "local"}, func() engine.ModelRequest {
			r := withModel(userReq("hi", "plugin.tool"), "m")
			r.ToolChoice = "plugin.tool"
			return r
		}(), func(t *testing.T, c captured) {
			want(t, c, "tool_choice", `{"type":"function","function":{"name":"plugin_tool"}}`)
		}},
		{"choice without tools is dropped", llm.Config{Name: "local", ParallelToolCalls: bptr(true)}, func() engine.ModelRequest {
			r := withModel(userReq("hi"), "m")
			r.ToolChoice = engine.ToolChoiceNone
			return r
		}(), func(t *testing.T, c captured) { absent(t, c, "tool_choice"); absent(t, c, "parallel_tool_calls") }},
		{"history", llm.Config{Name: "local"}, withModel(engine.ModelRequest{Messages: []engine.Message{
			{Role: engine.RoleSystem, Content: "sys"},
			{Role: engine.RoleUser, Content: "u"},
			{Role: engine.RoleAssistant, Name: "writer", ToolCalls: []engine.ToolCall{{ID: "c1", Name: "plugin.tool", Arguments: `{}`}}},
			{Role: engine.RoleTool, ToolCallID: "c1", Content: `{"ok":true}`},
		}}, "m"), func(t *testing.T, c captured) {
			want(t, c, "messages", `[{"role":"system","content":"sys"},{"role":"user","content":"u"},`+
				`{"role":"assistant","name":"writer","tool_calls":[{"id":"c1","type":"function","function":{"name":"plugin_tool","arguments":"{}"}}]},`+
				`{"role":"tool","content":"{\"ok\":true}","tool_call_id":"c1"}]`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.BaseURL = url
			c, err := llm.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := c.Stream(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := collect(t, s); err != nil {
				t.Fatal(err)
			}
			got := <-seen
			if got.path != "/v1/chat/completions" {
				t.Fatalf("path %q", got.path)
			}
			tt.check(t, got)
		})
	}
}

func withModel(r engine.ModelRequest, m string) engine.ModelRequest { r.Model = m; return r }

func want(t *testing.T, c captured, key, v string) {
	t.Helper()
	if got := strings.TrimSpace(string(c.body[key])); got != v {
		t.Errorf("%s = %s, want %s", key, got, v)
	}
}

func absent(t *testing.T, c captured, key string) {
	t.Helper()
	if v, ok := c.body[key]; ok {
		t.Errorf("%s sent: %s", key, v)
	}
}

// TestOpenAIKind: bearer key and organization from the environment, max_completion_tokens, the
// default model.
func TestOpenAIKind(t *testing.T) {
	url, seen := capture(t, nil)
	t.Setenv(llm.EnvAPIKey, "sk-env-key")
	t.Setenv(llm.EnvBaseURL, url)
	t.Setenv(llm.EnvOrgID, "org-1")
	c, err := llm.New(llm.Config{Name: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.DefaultModel() != llm.DefaultOpenAIModel || c.Name() != "openai" {
		t.Fatalf("%q %q", c.DefaultModel(), c.Name())
	}
	req := userReq("hi")
	req.MaxTokens = 9
	s, err := c.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != nil {
		t.Fatal(err)
	}
	got := <-seen
	if got.auth != "Bearer sk-env-key" || got.org != "org-1" {
		t.Fatalf("auth %q org %q", got.auth, got.org)
	}
	want(t, got, "model", `"gpt-4o-mini"`)
	want(t, got, "max_completion_tokens", `9`)
}

// TestAzureKind: the deployment goes in the path, the key in api-key, the version in the query.
func TestAzureKind(t *testing.T) {
	url, seen := capture(t, func(string) string { return "/v1/chat/completions" })
	base := strings.TrimSuffix(url, "/v1")
	c, err := llm.New(llm.Config{Name: "azure", BaseURL: base, APIKey: "az-key-1",
		Deployments: map[string]string{"gpt-4o": "prod-4o"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for model, path := range map[string]string{"gpt-4o": "/openai/deployments/prod-4o/chat/completions",
		"gpt-4.1:mini": "/openai/deployments/gpt-4.1mini/chat/completions"} {
		s, err := c.Stream(context.Background(), withModel(userReq("Say exactly: hi"), model))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := collect(t, s); err != nil || r.content != "hi" {
			t.Fatalf("%v %+v", err, r)
		}
		got := <-seen
		if got.path != path || got.apiKey != "az-key-1" || got.auth != "" || got.query != "api-version="+llm.DefaultAzureAPIVersion {
			t.Fatalf("%s: %+v", model, got)
		}
	}
}
