package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is an offline server on 127.0.0.1 and an adapter client talking to it.
type env struct {
	srv    *offline.Server
	run    *offline.Running
	client *llm.Client
}

func newEnv(t testing.TB, opts offline.Options, cfg llm.Config) *env {
	t.Helper()
	s := offline.New(opts)
	r, err := s.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name == "" {
		cfg.Name = "offline"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = r.BaseURL
	}
	c, err := llm.New(cfg)
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return &env{srv: s, run: r, client: c}
}

// result is a stream accumulated the way the engine does it.
type result struct {
	content, reasoning string
	text, thought      strings.Builder
	calls              []engine.ToolCall
	argPieces          []int
	finish             string
	usage              *event.Usage
	chunks             int
	order              []string // "reasoning", "content", "tool" in arrival order, without repeats in a row
}

func (r *result) note(kind string) {
	if len(r.order) == 0 || r.order[len(r.order)-1] != kind {
		r.order = append(r.order, kind)
	}
}

func collect(t testing.TB, s engine.ModelStream) (*result, error) {
	t.Helper()
	defer s.Close()
	r := &result{}
	for {
		ch, err := s.Recv()
		if err != nil {
			r.content, r.reasoning = r.text.String(), r.thought.String()
			if errors.Is(err, io.EOF) {
				return r, nil
			}
			return r, err
		}
		r.chunks++
		if ch.Reasoning != "" {
			r.thought.WriteString(ch.Reasoning)
			r.note("reasoning")
		}
		if ch.Content != "" {
			r.text.WriteString(ch.Content)
			r.note("content")
		}
		for _, d := range ch.ToolCalls {
			r.note("tool")
			for len(r.calls) <= d.Index {
				r.calls = append(r.calls, engine.ToolCall{})
				r.argPieces = append(r.argPieces, 0)
			}
			c := &r.calls[d.Index]
			if d.ID != "" {
				c.ID = d.ID
			}
			if d.Name != "" {
				c.Name = d.Name
			}
			c.Arguments += d.Arguments
			if d.Arguments != "" {
				r.argPieces[d.Index]++
			}
		}
		if ch.FinishReason != "" {
			r.finish = ch.FinishReason
		}
		if ch.Usage != nil {
			r.usage = ch.Usage
		}
	}
}

func (e *env) run1(t testing.TB, req engine.ModelRequest) *result {
	t.Helper()
	s, err := e.client.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func userReq(text string, tools ...string) engine.ModelRequest {
	req := engine.ModelRequest{Messages: []engine.Message{{Role: engine.RoleUser, Content: text}}}
	for _, n := range tools {
		req.Tools = append(req.Tools, engine.ToolDef{Name: n, Description: "tool " + n})
	}
	return req
}

func TestStreamText(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	req := userReq("Say exactly: The quick brown fox jumps over the lazy dog.")
	req.Messages = append([]engine.Message{{Role: engine.RoleSystem, Content: "You are terse."}}, req.Messages...)
	r := e.run1(t, req)
	if r.content != "The quick brown fox jumps over the lazy dog." || r.finish != "stop" || len(r.calls) != 0 {
		t.Fatalf("%+v", r)
	}
	// 9 word pieces; the usage chunk has no choices and must not break the adapter.
	if r.usage == nil || r.usage.CompletionTokens != 9 || r.usage.PromptTokens < 1 ||
		r.usage.TotalTokens != r.usage.PromptTokens+9 || r.usage.Calls != 0 {
		t.Fatalf("usage %+v", r.usage)
	}
	if r.chunks != 9+2 { // pieces, finish, usage (the empty role chunk is skipped)
		t.Fatalf("%d chunks", r.chunks)
	}
	if e.srv.Requests() != 1 {
		t.Fatalf("server completed %d", e.srv.Requests())
	}
}

func TestStreamReasoning(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	req := userReq("hello there")
	req.ReasoningEffort = "medium"
	r := e.run1(t, req)
	if !strings.HasPrefix(r.reasoning, "Reasoning (medium effort)") || !strings.HasPrefix(r.content, "As the assistant:") {
		t.Fatalf("%+v", r)
	}
	if strings.Join(r.order, ",") != "reasoning,content" {
		t.Fatalf("order %v", r.order)
	}
}

func TestToolCalls(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	tests := []struct {
		name  string
		req   engine.ModelRequest
		calls []engine.ToolCall // IDs checked separately
	}{
		{"single", userReq("What is 17*23?", "calculate", "now"),
			[]engine.ToolCall{{Name: "calculate", Arguments: `{"expression":"17*23"}`}}},
		{"parallel", userReq("What are 17*23, 2+2 and the time in Tokyo?", "calculate", "now"),
			[]engine.ToolCall{{Name: "calculate", Arguments: `{"expression":"17*23"}`},
				{Name: "calculate", Arguments: `{"expression":"2+2"}`}, {Name: "now", Arguments: `{"timezone":"Asia/Tokyo"}`}}},
		{"canonical names mapped back", userReq("Fetch https://example.com/a and 3*3", "http.http_fetch", "calc.calculate"),
			[]engine.ToolCall{{Name: "http.http_fetch", Arguments: `{"url":"https://example.com/a"}`},
				{Name: "calc.calculate", Arguments: `{"expression":"3*3"}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run1(t, tt.req)
			if r.finish != "tool_calls" || len(r.calls) != len(tt.calls) || r.content != "" {
				t.Fatalf("%+v", r)
			}
			ids := map[string]bool{}
			for i, c := range r.calls {
				if c.Name != tt.calls[i].Name || c.Arguments != tt.calls[i].Arguments || r.argPieces[i] < 2 {
					t.Fatalf("call %d: %+v in %d pieces, want %+v", i, c, r.argPieces[i], tt.calls[i])
				}
				if c.ID == "" || ids[c.ID] {
					t.Fatalf("call %d id %q", i, c.ID)
				}
				ids[c.ID] = true
			}
		})
	}
}

// TestToolLoop runs a whole exchange the way the engine does: tool call, result, answer.
func TestToolLoop(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	req := userReq("What is 17*23?", "calculate")
	r := e.run1(t, req)
	call := r.calls[0]
	req.Messages = append(req.Messages,
		engine.Message{Role: engine.RoleAssistant, ToolCalls: []engine.ToolCall{call}},
		engine.Message{Role: engine.RoleTool, ToolCallID: call.ID, Content: `{"expression":"17*23","result":391}`})
	if r := e.run1(t, req); r.content != "17*23 = 391." || r.finish != "stop" {
		t.Fatalf("%+v", r)
	}
}

func TestExample(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	p, err := llm.NewProviders("offline", llm.Config{Name: "offline", BaseURL: e.run.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m, name, err := p.Model("")
	if err != nil || name != offline.DefaultModel {
		t.Fatalf("%v %q", err, name)
	}
	s, err := m.Stream(context.Background(), userReq("Say exactly: ok"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := collect(t, s); err != nil || r.content != "ok" {
		t.Fatalf("%v %+v", err, r)
	}
}

// captured is the body of a request seen by a capturing proxy in front of the offline server.
type captured struct {
	path, auth, org, apiKey, query string
	body                           map[string]json.RawMessage
}

// capture serves the offline model behind a handler that records each request. rewrite, when
// set, maps the incoming path to the offline server's path.
func capture(t *testing.T, rewrite func(string) string) (string, <-chan captured) {
	t.Helper()
	s := offline.New(offline.Options{})
	ch := make(chan captured, 16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := captured{path: r.URL.Path, auth: r.Header.Get("Authorization"), org: r.Header.Get("OpenAI-Organization"),
			apiKey: r.Header.Get("api-key"), query: r.URL.RawQuery}
		_ = json.Unmarshal(b, &c.body)
		ch <- c
		if rewrite != nil {
			r.URL.Path = rewrite(r.URL.Path)
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		s.ServeHTTP(w, r)
	})
	srv := startHandler(t, h)
	return srv, ch
}
