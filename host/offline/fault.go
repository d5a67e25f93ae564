package offline

import "time"

// FaultKind selects what an injected [Fault] does.
type FaultKind int

// Fault kinds.
const (
	// FaultHTTP answers with HTTP status Fault.Status (default 503) and an OpenAI-style error
	// body carrying Fault.Message (default: the status text).
	FaultHTTP FaultKind = iota + 1
	// FaultMidStream streams Fault.After pieces of the reply (default 1), then breaks: it
	// aborts the connection, or with Fault.Malformed sends a chunk that is not JSON and ends the
	// response without "data: [DONE]". A non-streaming response is cut after part of its body.
	FaultMidStream
	// FaultSlow waits Fault.Delay (default 50ms) before each piece instead of Options.TokenDelay.
	FaultSlow
	// FaultHang sends the response headers, then nothing until the client goes away or the
	// server closes.
	FaultHang
	// FaultKeepAlive sends Fault.Lines SSE comment lines (default 301) before the reply, which
	// is more than go-openai's default limit of 300 empty messages.
	FaultKeepAlive
)

// String names the kind.
func (k FaultKind) String() string {
	switch k {
	case FaultHTTP:
		return "http"
	case FaultMidStream:
		return "mid_stream"
	case FaultSlow:
		return "slow"
	case FaultHang:
		return "hang"
	case FaultKeepAlive:
		return "keep_alive"
	}
	return "none"
}

// Fault is a failure the server injects into the next chat completion requests (see
// [Server.InjectFault]). Fields a kind does not use are ignored.
type Fault struct {
	Kind FaultKind
	// Status is FaultHTTP's HTTP status; default 503.
	Status int
	// Message is FaultHTTP's error message; default the status text.
	Message string
	// After is how many pieces FaultMidStream sends before breaking; default 1, capped at the
	// reply's length.
	After int
	// Malformed makes FaultMidStream send a malformed chunk instead of aborting the connection.
	Malformed bool
	// Delay is FaultSlow's pause before each piece; default 50ms.
	Delay time.Duration
	// Lines is how many comment lines FaultKeepAlive sends; default 301.
	Lines int
	// Times is how many requests the fault applies to; 0 means 1, negative means every request
	// until [Server.ClearFaults].
	Times int
}

// withDefaults fills the zero fields of f.
func (f Fault) withDefaults() Fault {
	if f.Status == 0 {
		f.Status = 503
	}
	if f.After <= 0 {
		f.After = 1
	}
	if f.Delay <= 0 {
		f.Delay = 50 * time.Millisecond
	}
	if f.Lines <= 0 {
		f.Lines = 301
	}
	if f.Times == 0 {
		f.Times = 1
	}
	return f
}

// InjectFault queues f. Each chat completion request that parses takes the fault at the head of
// the queue (faults apply in the order injected); a fault leaves the queue once it has applied
// Times times.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f.withDefaults())
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for the next request, if any.
func (s *Server) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	if s.faults[0].Times > 0 {
		s.faults[0].Times--
		if s.faults[0].Times == 0 {
			s.faults = s.faults[1:]
		}
	}
	return f, true
}
