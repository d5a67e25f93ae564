package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentfleet/fleet/internal/app"
	"github.com/agentfleet/fleet/internal/testfleet"
	"github.com/agentfleet/fleet/internal/testwasm"
)

// serve starts a real fleet server (offline model, SQLite, the plugins the example workflows
// need, built from plugins/) on 127.0.0.1 and returns its base URL.
func serve(t *testing.T) string {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	dir := testwasm.PluginsDir(t, "calc", "clock", "json", "text", "http", "agui")
	return testfleet.Serve(t, app.Options{PluginsDir: dir, OfflineDelay: time.Millisecond})
}

func TestChat(t *testing.T) {
	base := serve(t)
	c := &Client{URL: base, HTTP: &http.Client{}}
	var out bytes.Buffer
	res, err := c.Chat(t.Context(), &out, "assistant", "", "What is 17*23?")
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "17*23 = 391." || res.Reconnects != 0 || res.RunID == "" || res.ThreadID == "" {
		t.Fatalf("result %+v", res)
	}
	for _, want := range []string{"[tool calculate {\"expression\":\"17*23\"}]", "[calculate -> ", "391", "assistant: 17*23 = 391."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The same thread goes on: a second message, the run sees it as the thread's.
	res2, err := c.Chat(t.Context(), io.Discard, "assistant", res.ThreadID, "Say exactly: again")
	if err != nil || res2.ThreadID != res.ThreadID || res2.RunID == res.RunID || res2.Answer != "again" {
		t.Fatalf("second chat: %+v, %v", res2, err)
	}
	// An unknown workflow is the server's error, with its code.
	if _, err := c.Chat(t.Context(), io.Discard, "nope", "", "hi"); err == nil || !strings.Contains(err.Error(), "unknown_workflow") {
		t.Fatalf("unknown workflow: %v", err)
	}
}

// cutter cuts the first streaming response after n bytes of its body, as a dropped connection.
type cutter struct {
	n    int
	once sync.Once
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	c.once.Do(func() { resp.Body = &cutBody{rc: resp.Body, left: c.n} })
	return resp, nil
}

type cutBody struct {
	rc   io.ReadCloser
	left int
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errors.New("connection reset (cut by the test)")
	}
	n, err := b.rc.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

// TestChatResumesAfterDrop: the stream is cut mid-answer; the client resumes it with
// Last-Event-ID and the answer it prints is whole, every word once, and no second run starts.
func TestChatResumesAfterDrop(t *testing.T) {
	base := serve(t)
	words := strings.Fields(strings.Repeat("alpha beta gamma delta ", 10))
	want := strings.Join(words, " ")
	for _, cut := range []int{200, 900, 1500} {
		c := &Client{URL: base, HTTP: &http.Client{Transport: &cutter{n: cut}}}
		res, err := c.Chat(t.Context(), io.Discard, "assistant", "", "Say exactly: "+want)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if res.Answer != want || res.Reconnects != 1 {
			t.Fatalf("cut at %d: answer %q (%d reconnects), want %q once", cut, res.Answer, res.Reconnects, want)
		}
	}
}

// TestChatApproval: a tool call that needs approval pauses the run; the client asks, the answer
// (deny, so nothing leaves 127.0.0.1) resumes it, and the run ends with an answer.
func TestChatApproval(t *testing.T) {
	base := serve(t)
	var asked []Interrupt
	c := &Client{URL: base, HTTP: &http.Client{}, Approve: func(it Interrupt) bool {
		asked = append(asked, it)
		return false
	}}
	var out bytes.Buffer
	res, err := c.Chat(t.Context(), &out, "approval", "", "Fetch https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0].ID == "" || !strings.Contains(asked[0].Message, "http_fetch") {
		t.Fatalf("asked %+v", asked)
	}
	if res.Answer == "" || !strings.Contains(out.String(), "[http_fetch -> ") {
		t.Fatalf("after the denial: %+v\n%s", res, out.String())
	}
}
