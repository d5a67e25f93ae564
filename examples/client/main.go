// Command client is a terminal chat client for `fleet serve`, written against docs/api.md with
// the standard library only: it starts a run over SSE in the AG-UI format, prints the answer as
// it streams (with the agent speaking and the tools it calls), reconnects after a dropped
// connection with Last-Event-ID so that no frame is lost or repeated and no second run starts,
// and answers approval requests from the terminal.
//
//	go run ./examples/client -workflow assistant "What is 17*23?"
//	go run ./examples/client -workflow approval "Fetch https://example.com"   # asks y/n
//
// Flags: -url (default http://127.0.0.1:8080), -workflow (default assistant), -thread (default:
// a new thread), -token (default $FLEET_TOKEN), -yes (approve every tool call without asking).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	c := Client{HTTP: http.DefaultClient}
	flag.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "base URL of fleet serve")
	flag.StringVar(&c.Token, "token", os.Getenv("FLEET_TOKEN"), "bearer token, when the server has one")
	workflow := flag.String("workflow", "assistant", "workflow to run")
	thread := flag.String("thread", "", "thread (conversation) to continue; default a new one")
	yes := flag.Bool("yes", false, "approve every tool call without asking")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, `usage: client [-url URL] [-workflow NAME] [-thread ID] [-yes] "MESSAGE"`)
		os.Exit(2)
	}
	in := bufio.NewReader(os.Stdin)
	c.Approve = func(it Interrupt) bool {
		if *yes {
			return true
		}
		fmt.Fprintf(os.Stderr, "\n%s [y/N] ", it.Message)
		line, _ := in.ReadString('\n')
		return strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := c.Chat(ctx, os.Stdout, *workflow, *thread, flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "\nclient:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "\n(thread %s, run %s)\n", res.ThreadID, res.RunID)
}

// Client talks to one fleet server.
type Client struct {
	URL   string // base URL, e.g. http://127.0.0.1:8080
	Token string // bearer token; "" when the server has none
	HTTP  *http.Client
	// Approve decides an approval request; nil denies every one.
	Approve func(Interrupt) bool
	// Retries bounds the reconnects after a dropped stream (default 5), with a backoff from
	// 100 ms doubling to 2 s.
	Retries int
}

// Interrupt is an approval request, from RUN_FINISHED's outcome.
type Interrupt struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// Result is how a chat ended.
type Result struct {
	ThreadID, RunID string
	Answer          string // the text of the run's messages, in order
	Reconnects      int    // how many times the stream was resumed after a drop
}

// Chat runs workflow on message in thread ("" for a new one), writes what streams to out, and
// returns when the run finished or failed (an error with the server's message).
func (c *Client) Chat(ctx context.Context, out io.Writer, workflow, thread, message string) (*Result, error) {
	body := map[string]any{"messages": []map[string]any{{"id": "u1", "role": "user", "content": message}}}
	if thread != "" {
		body["threadId"] = thread
	}
	s := &session{c: c, out: out, res: &Result{}}
	resp, err := c.post(ctx, "/v1/workflows/"+workflow+"/runs?format=agui", body)
	for {
		if errors.Is(err, errNoContent) {
			return s.res, nil // the run is over and every frame of it was seen
		}
		if err != nil {
			return s.res, err
		}
		end, err2 := s.read(resp)
		switch {
		case end == endFinished:
			return s.res, nil
		case end == endInterrupted:
			resp, err = c.post(ctx, "/v1/workflows/"+workflow+"/runs?format=agui", s.answers())
		case end == endFailed:
			return s.res, err2
		default: // the stream dropped: resume after the last frame seen
			resp, err = s.reconnect(ctx, err2)
		}
	}
}

// post sends a JSON body and returns the streaming response, or the server's error.
func (c *Client) post(ctx context.Context, path string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+path, strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Accept", "text/event-stream")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNoContent {
		resp.Body.Close()
		return nil, errNoContent
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return nil, fmt.Errorf("%s: %s (%s)", resp.Status, e.Error.Message, e.Error.Code)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return resp, nil
}

// errNoContent: the server has nothing more for this stream (204: the run is not running and
// the client saw all of it).
var errNoContent = errors.New("no more frames")

// streamEnd is how one response's stream ended.
type streamEnd int

const (
	endDropped     streamEnd = iota // the connection ended before the run did
	endFinished                     // RUN_FINISHED without an interrupt
	endInterrupted                  // RUN_FINISHED with approvals to answer
	endFailed                       // RUN_ERROR
)

// session is one chat: where it prints and what it has seen.
type session struct {
	c          *Client
	out        io.Writer
	res        *Result
	lastID     string // the id: of the last frame seen, for Last-Event-ID
	interrupts []Interrupt
	tools      map[string]string // tool call id -> tool name
	speaker    string
}

// reconnect resumes the run's stream after the last frame seen, with backoff.
func (s *session) reconnect(ctx context.Context, cause error) (*http.Response, error) {
	if s.res.RunID == "" || s.lastID == "" {
		return nil, fmt.Errorf("the stream dropped before the run started: %w", cause)
	}
	retries := s.c.Retries
	if retries == 0 {
		retries = 5
	}
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.c.URL+"/v1/runs/"+s.res.RunID+"/events?format=agui", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Last-Event-ID", s.lastID)
		resp, err := s.c.do(req)
		if err == nil {
			s.res.Reconnects++
			return resp, nil
		}
		if errors.Is(err, errNoContent) {
			return nil, err
		}
		if attempt > retries {
			return nil, fmt.Errorf("resuming run %s after %s: %w", s.res.RunID, s.lastID, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// read prints one response's frames until its stream ends.
func (s *session) read(resp *http.Response) (streamEnd, error) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			data += line[len("data: "):]
		case line == "" && data != "":
			end, err := s.frame(data)
			if id != "" {
				s.lastID = id // frames without an id (end-of-stream, errors) are not resumable
			}
			id, data = "", ""
			if end != endDropped {
				return end, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return endDropped, err
	}
	return endDropped, io.ErrUnexpectedEOF
}

// frame handles one AG-UI event through the handlers table.
func (s *session) frame(data string) (streamEnd, error) {
	var f frame
	if err := json.Unmarshal([]byte(data), &f); err != nil {
		return endFailed, fmt.Errorf("a frame that is not JSON: %w", err)
	}
	if h, ok := handlers[f.Type]; ok {
		return h(s, &f)
	}
	return endDropped, nil // other events (steps, usage, ...) are not shown
}

// frame is the union of the AG-UI fields this client reads.
type frame struct {
	Type         string `json:"type"`
	RunID        string `json:"runId"`
	ThreadID     string `json:"threadId"`
	Name         string `json:"name"`
	Delta        string `json:"delta"`
	ToolCallID   string `json:"toolCallId"`
	ToolCallName string `json:"toolCallName"`
	Content      string `json:"content"`
	Message      string `json:"message"`
	Code         string `json:"code"`
	Outcome      *struct {
		Type       string      `json:"type"`
		Interrupts []Interrupt `json:"interrupts"`
	} `json:"outcome"`
}

// handlers maps an AG-UI event type to what the client does with it; streamEnd endDropped means
// "go on reading".
var handlers = map[string]func(*session, *frame) (streamEnd, error){
	"RUN_STARTED": func(s *session, f *frame) (streamEnd, error) {
		s.res.RunID, s.res.ThreadID = f.RunID, f.ThreadID
		return endDropped, nil
	},
	"TEXT_MESSAGE_START": func(s *session, f *frame) (streamEnd, error) {
		if f.Name != s.speaker {
			s.speaker = f.Name
			fmt.Fprintf(s.out, "\n%s: ", f.Name)
		}
		return endDropped, nil
	},
	"TEXT_MESSAGE_CONTENT": func(s *session, f *frame) (streamEnd, error) {
		s.res.Answer += f.Delta
		fmt.Fprint(s.out, f.Delta)
		return endDropped, nil
	},
	"TOOL_CALL_START": func(s *session, f *frame) (streamEnd, error) {
		if s.tools == nil {
			s.tools = map[string]string{}
		}
		s.tools[f.ToolCallID] = f.ToolCallName
		fmt.Fprintf(s.out, "\n  [tool %s ", f.ToolCallName)
		return endDropped, nil
	},
	"TOOL_CALL_ARGS": func(s *session, f *frame) (streamEnd, error) {
		fmt.Fprint(s.out, f.Delta)
		return endDropped, nil
	},
	"TOOL_CALL_END": func(s *session, f *frame) (streamEnd, error) {
		fmt.Fprint(s.out, "]")
		return endDropped, nil
	},
	"TOOL_CALL_RESULT": func(s *session, f *frame) (streamEnd, error) {
		fmt.Fprintf(s.out, "\n  [%s -> %s]", s.tools[f.ToolCallID], f.Content)
		return endDropped, nil
	},
	"RUN_FINISHED": func(s *session, f *frame) (streamEnd, error) {
		if f.Outcome != nil && f.Outcome.Type == "interrupt" && len(f.Outcome.Interrupts) > 0 {
			s.interrupts = f.Outcome.Interrupts
			return endInterrupted, nil
		}
		fmt.Fprintln(s.out)
		return endFinished, nil
	},
	"RUN_ERROR": func(s *session, f *frame) (streamEnd, error) {
		return endFailed, fmt.Errorf("run failed: %s (%s)", f.Message, f.Code)
	},
}

// answers is the resume body that answers the pending interrupts with Approve.
func (s *session) answers() map[string]any {
	resume := make([]map[string]any, 0, len(s.interrupts))
	for _, it := range s.interrupts {
		ok := s.c.Approve != nil && s.c.Approve(it)
		resume = append(resume, map[string]any{"interruptId": it.ID, "status": "resolved", "payload": map[string]any{"approve": ok}})
	}
	s.interrupts = nil
	return map[string]any{"threadId": s.res.ThreadID, "runId": s.res.RunID, "resume": resume}
}
