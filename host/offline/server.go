package offline

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentfleet/fleet/host/offline/internal/policy"
)

// DefaultModel is the model name the offline server reports by default.
const DefaultModel = "fleet-offline"

// maxBody caps a request body.
const maxBody = 8 << 20

// Options configure a [Server]. The zero value is ready to use.
type Options struct {
	// TokenDelay is the pause before each streamed piece (and, for a non-streaming response,
	// per piece before the response). Default 0: as fast as possible.
	TokenDelay time.Duration
	// Seed varies the generated response and tool call ids; replies are the same for every
	// seed. Default 0.
	Seed uint64
	// Model is the model id GET /v1/models lists. Default [DefaultModel]. Chat requests may
	// name any model; the response echoes the name asked for.
	Model string
}

// Server is the offline model: an OpenAI-compatible HTTP handler serving POST
// /v1/chat/completions (streaming and not) and GET /v1/models. It is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex
	faults []Fault

	received  atomic.Int64
	completed atomic.Int64
}

// New returns a server with the given options.
func New(opts Options) *Server {
	if opts.Model == "" {
		opts.Model = DefaultModel
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("/v1/chat/completions", s.handleChat)
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	s.mux.HandleFunc("GET /v1/models/{id}", s.handleModel)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "unknown path "+r.URL.Path)
	})
	return s
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Requests returns how many chat completions the server has completed: responses generated in
// full. A call is counted just before its last write (the body of a non-streaming response,
// "data: [DONE]" of a stream), so a client that has read the whole response always sees it
// counted. Invalid, abandoned and faulted requests (except FaultSlow) are not counted.
func (s *Server) Requests() int { return int(s.completed.Load()) }

// Received returns how many chat completion requests the server has received, including
// invalid, faulted and abandoned ones.
func (s *Server) Received() int { return int(s.received.Load()) }

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{s.modelObject()}})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.opts.Model {
		writeError(w, http.StatusNotFound, "model", "the model "+r.PathValue("id")+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
}

func (s *Server) modelObject() map[string]any {
	return map[string]any{"id": s.opts.Model, "object": "model", "created": 0, "owned_by": "fleet"}
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "", "use POST")
		return
	}
	s.received.Add(1)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		status := http.StatusBadRequest
		if errors.As(err, new(*http.MaxBytesError)) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, "", "reading the request body: "+err.Error())
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		param := ""
		if re, ok := err.(*requestError); ok {
			param = re.param
		}
		writeError(w, http.StatusBadRequest, param, err.Error())
		return
	}
	f, _ := s.takeFault()
	if f.Kind == FaultHTTP {
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		writeError(w, f.Status, "", msg)
		return
	}
	x := &exchange{s: s, w: w, r: r, rc: http.NewResponseController(w), req: req, fault: f,
		plan: newPlan(req, policy.Decide(req.policyRequest()), s.opts.Seed), created: time.Now().Unix()}
	model := req.Model
	if model == "" {
		model = s.opts.Model
	}
	x.model = model
	if req.Stream {
		x.stream()
	} else {
		x.complete()
	}
}

// errorTypes maps HTTP statuses to OpenAI error types and codes.
var errorTypes = map[int][2]string{
	http.StatusUnauthorized:    {"invalid_request_error", "invalid_api_key"},
	http.StatusForbidden:       {"permission_error", ""},
	http.StatusNotFound:        {"invalid_request_error", "not_found"},
	http.StatusTooManyRequests: {"requests", "rate_limit_exceeded"},
}

// writeError writes an OpenAI-style error response.
func writeError(w http.ResponseWriter, status int, param, msg string) {
	t, ok := errorTypes[status]
	switch {
	case ok:
	case status >= 500:
		t = [2]string{"server_error", ""}
	default:
		t = [2]string{"invalid_request_error", ""}
	}
	body := apiErrorBody{Message: msg, Type: t[0]}
	if param != "" {
		body.Param = &param
	}
	if t[1] != "" {
		body.Code = &t[1]
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, apiError{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // only this package's plain types are written
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// exchange is one chat completion being answered.
type exchange struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	rc      *http.ResponseController
	req     *chatRequest
	fault   Fault
	plan    plan
	model   string
	created int64
	buf     []byte
}

// delay is the pause before each piece.
func (x *exchange) delay() time.Duration {
	if x.fault.Kind == FaultSlow {
		return x.fault.Delay
	}
	return x.s.opts.TokenDelay
}

// pause waits the per-piece delay; false when the client went away.
func (x *exchange) pause() bool {
	ctx := x.r.Context()
	d := x.delay()
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// breakAt is the index of the piece before which FaultMidStream strikes, or -1.
func (x *exchange) breakAt() int {
	if x.fault.Kind != FaultMidStream {
		return -1
	}
	return min(x.fault.After, len(x.plan.pieces))
}

// hang sends the headers and waits for the client to leave.
func (x *exchange) hang(contentType string) bool {
	x.w.Header().Set("Content-Type", contentType)
	x.w.WriteHeader(http.StatusOK)
	_ = x.rc.Flush()
	<-x.r.Context().Done()
	return false
}

// complete answers a non-streaming request; true when the whole response was written.
func (x *exchange) complete() bool {
	if x.fault.Kind == FaultHang {
		return x.hang("application/json")
	}
	for range x.plan.pieces {
		if !x.pause() {
			return false
		}
	}
	p := x.plan
	b, _ := json.Marshal(completion{ID: p.id, Object: "chat.completion", Created: x.created, Model: x.model,
		SystemFingerprint: fingerprint, Choices: []completionChoice{{Message: p.message(), FinishReason: p.finish}},
		Usage: p.usage})
	x.w.Header().Set("Content-Type", "application/json")
	if x.fault.Kind == FaultMidStream {
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(b[:len(b)/2])
		_ = x.rc.Flush()
		if x.fault.Malformed {
			return false
		}
		panic(http.ErrAbortHandler)
	}
	x.count()
	_, err := x.w.Write(b)
	return err == nil
}

const fingerprint = "fp_fleet_offline"

// stream answers a streaming request as server-sent events; true when it reached [DONE].
func (x *exchange) stream() bool {
	if x.fault.Kind == FaultHang {
		return x.hang("text/event-stream")
	}
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	x.w.WriteHeader(http.StatusOK)
	if x.fault.Kind == FaultKeepAlive && !x.write([]byte(strings.Repeat(": keep-alive\n", x.fault.Lines))) {
		return false
	}
	empty := ""
	if !x.send(chunkDelta{Role: "assistant", Content: &empty}, nil) {
		return false
	}
	stop := x.breakAt()
	for i, pc := range x.plan.pieces {
		if i == stop {
			return x.breakStream()
		}
		if !x.pause() || !x.send(pc.delta(), nil) {
			return false
		}
	}
	if stop == len(x.plan.pieces) {
		return x.breakStream()
	}
	return x.finish()
}

// finish sends the finish chunk, the usage chunk when asked for, and [DONE].
func (x *exchange) finish() bool {
	reason := x.plan.finish
	if !x.send(chunkDelta{}, &reason) {
		return false
	}
	if o := x.req.StreamOptions; o != nil && o.IncludeUsage {
		u, _ := json.Marshal(x.plan.usage)
		if !x.writeChunk(chunk{Choices: []chunkChoice{}, Usage: u}) {
			return false
		}
	}
	x.count()
	return x.write([]byte("data: [DONE]\n\n"))
}

// count counts the call as completed, unless a fault other than FaultSlow touched it.
func (x *exchange) count() {
	if x.fault.Kind == 0 || x.fault.Kind == FaultSlow {
		x.s.completed.Add(1)
	}
}

// breakStream ends the stream the way FaultMidStream asks.
func (x *exchange) breakStream() bool {
	if x.fault.Malformed {
		x.write([]byte("data: {\"id\": \"broken\n\n"))
		return false
	}
	panic(http.ErrAbortHandler)
}

// send writes one chunk with one choice.
func (x *exchange) send(d chunkDelta, finish *string) bool {
	return x.writeChunk(chunk{Choices: []chunkChoice{{Delta: d, FinishReason: finish}}})
}

var nullUsage = json.RawMessage("null")

// writeChunk fills the chunk's common fields and writes it as one event.
func (x *exchange) writeChunk(c chunk) bool {
	c.ID, c.Object, c.Created, c.Model, c.SystemFingerprint = x.plan.id, "chat.completion.chunk", x.created, x.model, fingerprint
	if o := x.req.StreamOptions; o != nil && o.IncludeUsage && c.Usage == nil {
		c.Usage = nullUsage
	}
	b, _ := json.Marshal(c) // only this package's plain types
	x.buf = append(append(append(x.buf[:0], "data: "...), b...), "\n\n"...)
	return x.write(x.buf)
}

// write writes and flushes; false when the client went away.
func (x *exchange) write(b []byte) bool {
	if _, err := x.w.Write(b); err != nil {
		return false
	}
	return x.rc.Flush() == nil
}
