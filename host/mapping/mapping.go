// Package mapping turns a run's engine events (docs/events.md) into the frames a client speaks:
// AG-UI, the Vercel AI SDK UI message stream, the predecessor's frames, or the engine's own events.
//
// A [Mapper] describes its wire [Format] and makes one [Stream] per client view of a run: two
// clients watching the same run are two streams, and a client that reconnects is a new stream. A
// stream keeps whatever state its frames depend on (open messages, text so far), so its events must
// come in order; [Cursor] lets a resumed stream be fed the run's earlier events to rebuild that
// state while only the frames after the resume point go out.
//
// Mappers come from two places, both reached through a [Registry] by format name: native Go mappers
// (the engine's own events, [Fleet]) and mapper plugins (docs/abi.md section 8), adapted by
// [PluginMapper].
package mapping

import (
	"context"
	"errors"

	"github.com/agentfleet/fleet/engine/event"
)

// Errors callers act on.
var (
	// ErrUnknownFormat: no mapper serves the requested format (HTTP 400, naming the known ones).
	ErrUnknownFormat = errors.New("mapping: unknown format")
	// ErrMapper: a mapper failed on a stream (a plugin error, trap, timeout or malformed output).
	// The stream ends with an error frame in the client's format ([ErrorFrame]); other streams go on.
	ErrMapper = errors.New("mapping: mapper failed")
)

// Framing says how frames are laid out on a byte stream.
type Framing string

// Framings.
const (
	// FramingSSE writes each frame as one Server-Sent Event: `data: <frame>` and a blank line.
	FramingSSE Framing = "sse"
	// FramingNDJSON writes each frame on a line of its own.
	FramingNDJSON Framing = "ndjson"
)

// Format describes a mapper's wire format.
type Format struct {
	// Name is what clients ask for (`?format=agui`).
	Name string
	// ContentType is sent as the response's Content-Type; default "text/event-stream".
	ContentType string
	// Framing is FramingSSE (the default; unknown values count as SSE) or FramingNDJSON.
	Framing Framing
	// Done, when set, is a raw last line written after a stream's last frame (Vercel's "[DONE]").
	Done string
	// Headers are extra response headers for a stream of these frames.
	Headers map[string]string
}

// WithDefaults returns f with ContentType and Framing filled in.
func (f Format) WithDefaults() Format {
	if f.ContentType == "" {
		f.ContentType = "text/event-stream"
	}
	if f.Framing != FramingNDJSON {
		f.Framing = FramingSSE
	}
	return f
}

// Frame is one frame for a client: a JSON value without raw newlines.
type Frame struct {
	// Seq is the seq of the event the frame belongs to; 0 for a frame tied to no event (what a
	// stream's End emits, or a preamble).
	Seq uint64
	// Data is the frame's JSON.
	Data []byte
}

// Mapper maps events to frames of one format. Implementations are safe for concurrent use.
type Mapper interface {
	// Format describes the frames.
	Format() Format
	// NewStream starts a stream; id is opaque, for logs.
	NewStream(id string) Stream
}

// Stream is one client's view of one run. It is not safe for concurrent use.
type Stream interface {
	// Map maps a batch of events, in seq order, continuing the previous batch. Frames come in
	// order; an event may give zero or more frames, all in the same call. An error (wrapping
	// [ErrMapper] for a mapper's own failure) ends the stream: call nothing more on it.
	Map(ctx context.Context, events []event.Event) ([]Frame, error)
	// End ends the stream (the run paused or ended, or the client is going away) and returns what
	// closes it, e.g. frames for spans still open. Calling End more than once returns nothing.
	End(ctx context.Context) ([]Frame, error)
}

// Stateless is implemented by mappers whose frames for an event depend on that event alone. A
// resumed stream of a stateless mapper skips the replay of earlier events.
type Stateless interface {
	// Stateless reports whether the mapper keeps no state between events.
	Stateless() bool
}

// IsStateless reports whether m implements [Stateless] and says it is.
func IsStateless(m Mapper) bool {
	s, ok := m.(Stateless)
	return ok && s.Stateless()
}
