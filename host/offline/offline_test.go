package offline_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/host/offline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a server on 127.0.0.1 for the test and a client that closes its connections after.
func start(t *testing.T, opts offline.Options) (*offline.Server, *offline.Running, *http.Client) {
	t.Helper()
	s := offline.New(opts)
	r, err := s.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, r, c
}

func post(t *testing.T, c *http.Client, r *offline.Running, body string) *http.Response {
	t.Helper()
	resp, err := c.Post(r.BaseURL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// events reads an SSE body into its data payloads; comments and blank lines are checked and
// dropped.
func events(t *testing.T, body io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	expectBlank := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case expectBlank:
			if line != "" {
				t.Fatalf("event not followed by a blank line: %q", line)
			}
			expectBlank = false
		case strings.HasPrefix(line, "data: "):
			out = append(out, strings.TrimPrefix(line, "data: "))
			expectBlank = true
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type chunk struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Model   string          `json:"model"`
	Usage   json.RawMessage `json:"usage"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			Reasoning string  `json:"reasoning_content"`
			ToolCalls []struct {
				Index    *int   `json:"index"`
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string  `json:"name"`
					Arguments *string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

func decode(t *testing.T, data []string) []chunk {
	t.Helper()
	var out []chunk
	for _, d := range data {
		var c chunk
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %q: %v", d, err)
		}
		out = append(out, c)
	}
	return out
}

func TestStreamWireFormat(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	resp := post(t, c, r, `{"model":"m1","stream":true,"stream_options":{"include_usage":true},
		"messages":[{"role":"system","content":"You are the writer."},{"role":"user","content":"Say exactly: Hello wonderful world"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	data := events(t, resp.Body)
	if data[len(data)-1] != "[DONE]" {
		t.Fatalf("last event %q, want [DONE]", data[len(data)-1])
	}
	chunks := decode(t, data[:len(data)-1])
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Fatalf("first chunk has no role: %+v", chunks[0])
	}
	text, pieces := streamedText(t, chunks[:len(chunks)-1], "m1")
	if text != "Hello wonderful world" || pieces != 4 { // "wonderful" is cut into 8+1 runes
		t.Fatalf("text %q in %d pieces", text, pieces)
	}
	fin := chunks[len(chunks)-2].Choices[0].FinishReason
	if fin == nil || *fin != "stop" {
		t.Fatalf("finish reason %v", fin)
	}
	usageChunk := chunks[len(chunks)-1]
	var u usage
	if len(usageChunk.Choices) != 0 || json.Unmarshal(usageChunk.Usage, &u) != nil {
		t.Fatalf("usage chunk %+v", usageChunk)
	}
	want := (len("You are the writer.") + len("Say exactly: Hello wonderful world") + 3) / 4
	if u.CompletionTokens != 4 || u.PromptTokens != want || u.TotalTokens != want+4 {
		t.Fatalf("usage %+v, want prompt %d completion 4", u, want)
	}
}

// streamedText checks the common fields of the chunks (all but the usage chunk) and returns
// their text and the number of non-empty content pieces.
func streamedText(t *testing.T, chunks []chunk, model string) (string, int) {
	t.Helper()
	var text strings.Builder
	pieces := 0
	for i, ch := range chunks {
		if ch.Object != "chat.completion.chunk" || ch.Model != model || ch.ID != chunks[0].ID || string(ch.Usage) != "null" {
			t.Fatalf("chunk %d: %+v", i, ch)
		}
		if d := ch.Choices[0].Delta.Content; d != nil && *d != "" {
			text.WriteString(*d)
			pieces++
		}
	}
	return text.String(), pieces
}

func TestStreamWithoutUsage(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	data := events(t, post(t, c, r, `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`).Body)
	for _, ch := range decode(t, data[:len(data)-1]) {
		if ch.Usage != nil || len(ch.Choices) != 1 {
			t.Fatalf("chunk without include_usage: %+v", ch)
		}
	}
}

const toolsJSON = `"tools":[{"type":"function","function":{"name":"calculate","description":"math","parameters":{"type":"object"}}},
	{"type":"function","function":{"name":"now"}}]`

// streamedCall is a tool call accumulated from stream chunks.
type streamedCall struct {
	id, name, args string
	argDeltas      int
}

// streamedCalls accumulates tool calls by index, checking that each starts with its id, type and
// name and empty arguments, at the next index.
func streamedCalls(t *testing.T, chunks []chunk) []streamedCall {
	t.Helper()
	var calls []streamedCall
	for _, ch := range chunks {
		for _, tc := range ch.Choices[0].Delta.ToolCalls {
			i := *tc.Index
			if tc.ID == "" {
				calls[i].args += *tc.Function.Arguments
				calls[i].argDeltas++
				continue
			}
			if i != len(calls) || tc.Function.Name == "" || tc.Type != "function" || *tc.Function.Arguments != "" {
				t.Fatalf("call start %+v", tc)
			}
			calls = append(calls, streamedCall{id: tc.ID, name: tc.Function.Name})
		}
	}
	return calls
}

func TestStreamParallelToolCalls(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	data := events(t, post(t, c, r, `{"stream":true,"messages":[{"role":"user","content":"What are 17*23 and 6 times 7?"}],`+toolsJSON+`}`).Body)
	chunks := decode(t, data[:len(data)-1])
	calls := streamedCalls(t, chunks)
	want := []string{`{"expression":"17*23"}`, `{"expression":"6*7"}`}
	if len(calls) != 2 || calls[0].id == calls[1].id {
		t.Fatalf("calls %+v", calls)
	}
	for i, cl := range calls {
		if cl.name != "calculate" || cl.args != want[i] || cl.argDeltas < 2 || !strings.HasPrefix(cl.id, "call_") {
			t.Fatalf("call %d: %+v", i, cl)
		}
	}
	if fin := chunks[len(chunks)-1].Choices[0].FinishReason; *fin != "tool_calls" {
		t.Fatalf("finish %q", *fin)
	}
}

type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Choices []struct {
		Message struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			Reasoning string  `json:"reasoning_content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct{ Name, Arguments string }
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func complete(t *testing.T, c *http.Client, r *offline.Running, body string) completion {
	t.Helper()
	resp := post(t, c, r, body)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out completion
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNonStreaming(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	got := complete(t, c, r, `{"reasoning_effort":"low","messages":[{"role":"user","content":"What time is it in Tokyo?"}],`+toolsJSON+`}`)
	m := got.Choices[0].Message
	if got.Object != "chat.completion" || m.Role != "assistant" || m.Content != nil || got.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("%+v", got)
	}
	if len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != "now" || m.ToolCalls[0].Function.Arguments != `{"timezone":"Asia/Tokyo"}` {
		t.Fatalf("tool calls %+v", m.ToolCalls)
	}
	if !strings.HasPrefix(m.Reasoning, "Reasoning (low effort)") || got.Usage.CompletionTokens < 4 {
		t.Fatalf("reasoning %q usage %+v", m.Reasoning, got.Usage)
	}
	text := complete(t, c, r, `{"messages":[{"role":"user","content":[{"type":"text","text":"Say exactly: "},{"type":"text","text":"parts"}]}]}`)
	if m := text.Choices[0].Message; m.Content == nil || *m.Content != "parts" {
		t.Fatalf("content parts: %+v", m)
	}
}

func TestMaxTokens(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	for _, field := range []string{"max_tokens", "max_completion_tokens"} {
		got := complete(t, c, r, `{"`+field+`":2,"messages":[{"role":"user","content":"Say exactly: one two three four"}]}`)
		if *got.Choices[0].Message.Content != "one two" || got.Choices[0].FinishReason != "length" || got.Usage.CompletionTokens != 2 {
			t.Fatalf("%s: %+v", field, got)
		}
	}
}

func TestDeterministic(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	_, r2, c2 := start(t, offline.Options{Seed: 7})
	body := `{"messages":[{"role":"user","content":"17*23 and https://example.com/x"}],` + toolsJSON[:len(toolsJSON)-1] +
		`,{"type":"function","function":{"name":"web.http_fetch"}}]}`
	a, b := complete(t, c, r, body), complete(t, c, r, body)
	seeded := complete(t, c2, r2, body)
	if a.ID != b.ID || a.Choices[0].Message.ToolCalls[0].ID != b.Choices[0].Message.ToolCalls[0].ID {
		t.Fatal("ids differ between identical requests")
	}
	if seeded.ID == a.ID {
		t.Fatal("the seed did not change the id")
	}
	calls := a.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].Function.Name != "web.http_fetch" || calls[1].Function.Name != "calculate" {
		t.Fatalf("calls %+v", calls)
	}
}

func TestModels(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	get := func(path string) (int, map[string]any) {
		resp, err := c.Get(r.BaseURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, v
	}
	if st, v := get("/models"); st != 200 || v["data"].([]any)[0].(map[string]any)["id"] != offline.DefaultModel {
		t.Fatalf("%d %v", st, v)
	}
	if st, v := get("/models/" + offline.DefaultModel); st != 200 || v["id"] != offline.DefaultModel {
		t.Fatalf("%d %v", st, v)
	}
	if st, _ := get("/models/gpt-9"); st != 404 {
		t.Fatalf("unknown model: %d", st)
	}
}

func TestBadRequests(t *testing.T) {
	_, r, c := start(t, offline.Options{})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"not json", "POST", "/chat/completions", `{`, 400, "not a valid chat completion request"},
		{"no messages", "POST", "/chat/completions", `{"messages":[]}`, 400, "messages must not be empty"},
		{"bad role", "POST", "/chat/completions", `{"messages":[{"role":"robot","content":"x"}]}`, 400, `unknown role "robot"`},
		{"bad content", "POST", "/chat/completions", `{"messages":[{"role":"user","content":5}]}`, 400, "content must be"},
		{"bad tool", "POST", "/chat/completions", `{"messages":[{"role":"user"}],"tools":[{"type":"function"}]}`, 400, "tools must be functions"},
		{"bad tool choice", "POST", "/chat/completions", `{"messages":[{"role":"user"}],"tool_choice":"always"}`, 400, "tool_choice"},
		{"unoffered forced tool", "POST", "/chat/completions",
			`{"messages":[{"role":"user"}],"tool_choice":{"type":"function","function":{"name":"x"}}}`, 400, "not an offered tool"},
		{"negative cap", "POST", "/chat/completions", `{"messages":[{"role":"user"}],"max_tokens":-1}`, 400, "negative"},
		{"too large", "POST", "/chat/completions", `{"messages":"` + strings.Repeat("x", 9<<20) + `"}`, 413, "too large"},
		{"wrong method", "GET", "/chat/completions", ``, 405, "use POST"},
		{"unknown path", "GET", "/embeddings", ``, 404, "unknown path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, r.BaseURL+tt.path, strings.NewReader(tt.body))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(e.Error.Message, tt.msg) || e.Error.Type == "" {
				t.Fatalf("status %d, error %+v; want %d %q", resp.StatusCode, e.Error, tt.status, tt.msg)
			}
		})
	}
}

const hello = `{"stream":true,"messages":[{"role":"user","content":"Say exactly: a b c d"}]}`

func TestFaultHTTPQueue(t *testing.T) {
	s, r, c := start(t, offline.Options{})
	s.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Status: 429, Message: "slow down", Times: 2})
	s.InjectFault(offline.Fault{Kind: offline.FaultHTTP})
	want := []int{429, 429, 503, 200}
	for i, st := range want {
		resp := post(t, c, r, hello)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != st {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, st)
		}
	}
	if s.Received() != 4 || s.Requests() != 1 {
		t.Fatalf("received %d, completed %d", s.Received(), s.Requests())
	}
	s.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Times: -1})
	for range 3 {
		resp := post(t, c, r, hello)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 503 {
			t.Fatalf("status %d under a permanent fault", resp.StatusCode)
		}
	}
	s.ClearFaults()
	if resp := post(t, c, r, hello); resp.StatusCode != 200 {
		t.Fatalf("status %d after ClearFaults", resp.StatusCode)
	}
}

func TestFaultMidStream(t *testing.T) {
	s, r, c := start(t, offline.Options{})
	s.InjectFault(offline.Fault{Kind: offline.FaultMidStream, After: 2})
	resp := post(t, c, r, hello)
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read error %v, want unexpected EOF", err)
	}
	if n := bytes.Count(body, []byte("data: ")); n != 3 { // role chunk + 2 pieces
		t.Fatalf("%d events before the abort:\n%s", n, body)
	}
	s.InjectFault(offline.Fault{Kind: offline.FaultMidStream, After: 100, Malformed: true})
	data := events(t, post(t, c, r, hello).Body)
	if last := data[len(data)-1]; json.Valid([]byte(last)) || len(data) != 6 { // role + 4 pieces + broken
		t.Fatalf("events %q", data)
	}
	if s.Requests() != 0 {
		t.Fatalf("faulted requests counted as completed: %d", s.Requests())
	}
}

func TestFaultKeepAliveAndSlow(t *testing.T) {
	s, r, c := start(t, offline.Options{})
	s.InjectFault(offline.Fault{Kind: offline.FaultKeepAlive, Lines: 3})
	body, _ := io.ReadAll(post(t, c, r, hello).Body)
	if !bytes.HasPrefix(body, []byte(": keep-alive\n: keep-alive\n: keep-alive\ndata: ")) {
		t.Fatalf("body %q", body)
	}
	s.InjectFault(offline.Fault{Kind: offline.FaultSlow, Delay: 5 * time.Millisecond})
	t0 := time.Now()
	io.Copy(io.Discard, post(t, c, r, hello).Body)
	if el := time.Since(t0); el < 4*5*time.Millisecond {
		t.Fatalf("slow fault took %v for 4 pieces at 5ms", el)
	}
	if s.Requests() != 1 { // the slow call; a keep-alive-faulted call is not counted
		t.Fatalf("completed %d", s.Requests())
	}
}

// TestFaultHangEndsWithClient: a hung response ends when the client leaves, and Close then
// returns (every handler has returned; goleak checks the rest).
func TestFaultHangEndsWithClient(t *testing.T) {
	s, r, c := start(t, offline.Options{})
	s.InjectFault(offline.Fault{Kind: offline.FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", r.BaseURL+"/chat/completions", strings.NewReader(hello))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("read: %v", err)
	}
	resp.Body.Close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFaultHangEndsWithServer: Close ends a hung response while the client still waits.
func TestFaultHangEndsWithServer(t *testing.T) {
	s, r, c := start(t, offline.Options{})
	s.InjectFault(offline.Fault{Kind: offline.FaultHang})
	resp := post(t, c, r, hello)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the hung body ended cleanly")
	}
}

func TestStartContextCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := offline.New(offline.Options{}).Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := r.Close(); err != nil { // waits for the shutdown the cancel began
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Get(r.BaseURL + "/models"); err == nil {
		t.Fatal("server still answers after its context ended")
	}
	if _, err := offline.New(offline.Options{}).Start(context.Background(), "256.0.0.1:0"); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestTokenDelay(t *testing.T) {
	_, r, c := start(t, offline.Options{TokenDelay: 5 * time.Millisecond})
	t0 := time.Now()
	io.Copy(io.Discard, post(t, c, r, hello).Body)
	if el := time.Since(t0); el < 20*time.Millisecond {
		t.Fatalf("4 pieces at 5ms took %v", el)
	}
}
