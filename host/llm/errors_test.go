package llm_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
)

// call streams one request and returns the error from Stream or from the stream, whichever
// ended the call.
func call(t testing.TB, c *llm.Client, ctx context.Context, req engine.ModelRequest) (*result, error) {
	t.Helper()
	s, err := c.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	return collect(t, s)
}

const key = "sk-secret-test-key-0123456789"

// TestFaultClassification: every fault the offline model injects is classified right.
func TestFaultClassification(t *testing.T) {
	tests := []struct {
		name      string
		fault     offline.Fault
		transient bool
		status    int
		inStream  bool // the error comes from Recv, not Stream
		is        error
	}{
		{"503", offline.Fault{Kind: offline.FaultHTTP, Status: 503}, true, 503, false, nil},
		{"500", offline.Fault{Kind: offline.FaultHTTP, Status: 500}, true, 500, false, nil},
		{"502", offline.Fault{Kind: offline.FaultHTTP, Status: 502}, true, 502, false, nil},
		{"429", offline.Fault{Kind: offline.FaultHTTP, Status: 429}, true, 429, false, nil},
		{"408", offline.Fault{Kind: offline.FaultHTTP, Status: 408}, true, 408, false, nil},
		{"409", offline.Fault{Kind: offline.FaultHTTP, Status: 409}, true, 409, false, nil},
		{"400", offline.Fault{Kind: offline.FaultHTTP, Status: 400, Message: "bad field"}, false, 400, false, nil},
		{"401 with the key echoed", offline.Fault{Kind: offline.FaultHTTP, Status: 401, Message: "Incorrect API key provided: " + key},
			false, 401, false, nil},
		{"403", offline.Fault{Kind: offline.FaultHTTP, Status: 403}, false, 403, false, nil},
		{"404", offline.Fault{Kind: offline.FaultHTTP, Status: 404, Message: "The model does not exist"}, false, 404, false, nil},
		{"abort mid-stream", offline.Fault{Kind: offline.FaultMidStream, After: 2}, true, 0, true, io.ErrUnexpectedEOF},
		{"abort before any piece", offline.Fault{Kind: offline.FaultMidStream, After: 100}, true, 0, true, io.ErrUnexpectedEOF},
		{"malformed chunk", offline.Fault{Kind: offline.FaultMidStream, After: 1, Malformed: true}, true, 0, true, nil},
		{"too many keep-alives", offline.Fault{Kind: offline.FaultKeepAlive}, true, 0, true, openai.ErrTooManyEmptyStreamMessages},
	}
	e := newEnv(t, offline.Options{}, llm.Config{APIKey: key})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.srv.InjectFault(tt.fault)
			s, err := e.client.Stream(context.Background(), userReq("Say exactly: one two three"))
			if (err != nil) == tt.inStream {
				t.Fatalf("Stream error %v, want it in the stream: %v", err, tt.inStream)
			}
			if err == nil {
				_, err = collect(t, s)
			}
			checkError(t, err, tt.transient, tt.status, tt.is)
		})
	}
	// Every fault above was consumed; the next call succeeds and is the only completed one.
	if r, err := call(t, e.client, context.Background(), userReq("Say exactly: ok")); err != nil || r.content != "ok" {
		t.Fatalf("%v %+v", err, r)
	}
	if e.srv.Requests() != 1 || e.srv.Received() != len(tests)+1 {
		t.Fatalf("completed %d received %d", e.srv.Requests(), e.srv.Received())
	}
}

// checkError checks an error's classification, message and wrapped errors.
func checkError(t *testing.T, err error, transient bool, status int, is error) {
	t.Helper()
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %T %v is not an *llm.Error", err, err)
	}
	if errors.Is(err, engine.ErrTransient) != transient || le.Transient != transient || le.Status != status {
		t.Fatalf("%v: transient %v status %d, want %v %d", err, le.Transient, le.Status, transient, status)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "llm offline: ") || strings.Contains(msg, key) {
		t.Fatalf("message %q", msg)
	}
	var ae *openai.APIError
	if status > 0 && (!errors.As(err, &ae) || ae.HTTPStatusCode != status || !strings.Contains(msg, "HTTP "+strconv.Itoa(status)+": ")) {
		t.Fatalf("%q: no status, or the API error is not reachable", msg)
	}
	if is != nil && !errors.Is(err, is) {
		t.Fatalf("%v is not %v", err, is)
	}
}

// TestRetryAfterTransient: the engine's retry pattern pays for one completed call only.
func TestRetryAfterTransient(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	e.srv.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Status: 503})
	e.srv.InjectFault(offline.Fault{Kind: offline.FaultMidStream, After: 1})
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := call(t, e.client, context.Background(), userReq("Say exactly: done"))
		if err == nil {
			if r.content != "done" || attempt != 2 {
				t.Fatalf("attempt %d: %+v", attempt, r)
			}
			last = nil
			break
		}
		if !errors.Is(err, engine.ErrTransient) {
			t.Fatalf("attempt %d: permanent %v", attempt, err)
		}
		last = err
	}
	if last != nil || e.srv.Requests() != 1 || e.srv.Received() != 3 {
		t.Fatalf("last %v, completed %d, received %d", last, e.srv.Requests(), e.srv.Received())
	}
}

// tinyServer serves handler on 127.0.0.1 and returns a client for it.
func tinyServer(t *testing.T, h http.HandlerFunc, cfg llm.Config) *llm.Client {
	t.Helper()
	cfg.Name = "tiny"
	cfg.BaseURL = startHandler(t, h)
	c, err := llm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		io.WriteString(w, "data: "+e+"\n\n")
	}
}

// TestOtherErrors covers errors the offline model does not inject.
func TestOtherErrors(t *testing.T) {
	tests := []struct {
		name      string
		h         http.HandlerFunc
		transient bool
		status    int
		contains  string
	}{
		{"429 insufficient quota", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`)
		}, false, 429, "exceeded your current quota"},
		{"502 html body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, "<html>Bad   Gateway</html>")
		}, true, 502, "Bad Gateway: <html>Bad Gateway</html>"},
		{"ends without finish reason", func(w http.ResponseWriter, r *http.Request) {
			sse(w, `{"choices":[{"index":0,"delta":{"content":"partial"}}]}`)
		}, true, 0, "ended before a finish reason"},
		{"ends without [DONE] after finish", func(w http.ResponseWriter, r *http.Request) {
			sse(w, `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`)
		}, false, -1, ""},
		{"error event mid-stream", func(w http.ResponseWriter, r *http.Request) {
			sse(w, `{"choices":[{"index":0,"delta":{"content":"x"}}]}`, `{"error":{"message":"overloaded","type":"server_error"}}`)
		}, true, 0, "stream error: overloaded"},
		{"permanent error event", func(w http.ResponseWriter, r *http.Request) {
			sse(w, `{"error":{"message":"content filtered","type":"invalid_request_error"}}`)
		}, false, 0, "stream error: content filtered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tinyServer(t, tt.h, llm.Config{DefaultModel: "m"})
			_, err := call(t, c, context.Background(), userReq("hi"))
			if tt.status < 0 {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var le *llm.Error
			if !errors.As(err, &le) || le.Transient != tt.transient || le.Status != tt.status ||
				errors.Is(err, engine.ErrTransient) != tt.transient || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("%v (%+v)", err, le)
			}
		})
	}
}

// TestConnectionErrors: a refused connection is transient; an untrusted certificate is not.
func TestConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := llm.New(llm.Config{Name: "gone", BaseURL: "http://" + addr + "/v1", DefaultModel: "m"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = call(t, c, context.Background(), userReq("hi"))
	if !errors.Is(err, engine.ErrTransient) || !strings.Contains(err.Error(), "llm gone: connection") {
		t.Fatalf("refused: %v", err)
	}

	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	ts.StartTLS()
	defer ts.Close()
	tc, err := llm.New(llm.Config{Name: "tls", BaseURL: ts.URL + "/v1", DefaultModel: "m"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	_, err = call(t, tc, context.Background(), userReq("hi"))
	var le *llm.Error
	if !errors.As(err, &le) || le.Transient || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

// readSignal is a transport whose response bodies announce each Read before it starts, so a
// test can cancel while the adapter waits inside a read.
type readSignal struct {
	base  *http.Transport
	reads chan struct{}
}

func (rs *readSignal) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rs.base.RoundTrip(r)
	if err == nil {
		resp.Body = signalBody{resp.Body, rs.reads}
	}
	return resp, err
}

type signalBody struct {
	io.ReadCloser
	reads chan struct{}
}

func (b signalBody) Read(p []byte) (int, error) {
	select {
	case b.reads <- struct{}{}:
	default:
	}
	return b.ReadCloser.Read(p)
}

// TestCancel: cancelling the context while the adapter waits in a read stops the stream
// promptly, whether the server hangs before the first byte or between pieces; the error is the
// context's (with its cause), not transient, and nothing leaks (goleak in TestMain; closing the
// server waits for its connections).
func TestCancel(t *testing.T) {
	tests := []struct {
		fault offline.Fault
		// blockingRead is the body read that waits for the server (the hung stream's first;
		// the slow stream's second, after the role chunk).
		blockingRead int
	}{
		{offline.Fault{Kind: offline.FaultHang}, 1},
		{offline.Fault{Kind: offline.FaultSlow, Delay: time.Hour}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.fault.Kind.String(), func(t *testing.T) {
			rs := &readSignal{base: &http.Transport{}, reads: make(chan struct{}, 16)}
			defer rs.base.CloseIdleConnections()
			e := newEnv(t, offline.Options{}, llm.Config{HTTPClient: &http.Client{Transport: rs}})
			e.srv.InjectFault(tt.fault)
			cause := errors.New("user pressed stop")
			ctx, cancel := context.WithCancelCause(context.Background())
			s, err := e.client.Stream(ctx, userReq("Say exactly: one two"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			recvd := make(chan error, 1)
			go func() {
				_, err := s.Recv() // waits: the server sends nothing more
				recvd <- err
			}()
			for range tt.blockingRead {
				<-rs.reads
			}
			t0 := time.Now()
			cancel(cause)
			select {
			case err = <-recvd:
			case <-time.After(10 * time.Second):
				t.Fatal("Recv did not return after cancel")
			}
			t.Logf("Recv returned %v after cancel", time.Since(t0))
			if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) || errors.Is(err, engine.ErrTransient) {
				t.Fatalf("error %v", err)
			}
			if _, again := s.Recv(); again == nil || again.Error() != err.Error() {
				t.Fatalf("second Recv: %v", again)
			}
			if e.srv.Requests() != 0 {
				t.Fatal("a cancelled call counted as completed")
			}
		})
	}
}

// TestCancelBeforeStart: a done context fails fast without a request.
func TestCancelBeforeStart(t *testing.T) {
	e := newEnv(t, offline.Options{}, llm.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	if _, err := e.client.Stream(ctx, userReq("hi")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
	if e.srv.Received() != 0 {
		t.Fatal("a request was sent")
	}
}

// TestNoModelName: a provider without a default model needs a model name.
func TestNoModelName(t *testing.T) {
	c, err := llm.New(llm.Config{Name: "ollama"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Stream(context.Background(), userReq("hi"))
	var le *llm.Error
	if !errors.As(err, &le) || le.Transient || !errors.Is(err, llm.ErrConfig) || !strings.Contains(err.Error(), "no model name") {
		t.Fatalf("%v", err)
	}
}
