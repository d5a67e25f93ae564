package server

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/mapping"
)

// sink is where a pump writes: an SSE response or a WebSocket connection.
type sink interface {
	// send writes one batch of frames and flushes once. An error detaches the stream.
	send(frames []mapping.Labeled) error
	// ping keeps a quiet stream alive (SSE heartbeat).
	ping() error
}

// Outcomes of a pump, besides nil (the run's stream paused or ended) and the context's cause.
var (
	// errDetached: the sink failed (the client went away or is too slow).
	errDetached = errors.New("stream detached")
	// errStreamFailed: the stream ended early with an error frame (mapper or store failure).
	errStreamFailed = errors.New("stream failed")
)

// pump streams one run to one client: it reads the run's events, maps them to the client's
// format and writes them to a sink. A resumed pump replays the run's earlier events through the
// mapper (unless it is stateless) and lets only the frames after its start through.
type pump struct {
	srv       *Server
	runID     string
	format    mapping.Format
	sub       *engine.Subscription
	stream    mapping.Stream
	cursor    *mapping.Cursor
	heartbeat time.Duration
}

// openPump subscribes to runID for a stream starting after from. Its errors (unknown run) come
// before any response is written.
func (s *Server) openPump(ctx context.Context, runID string, m mapping.Mapper, from mapping.Position) (*pump, error) {
	start := uint64(0)
	if mapping.IsStateless(m) {
		start = from.Seq
	}
	sub, err := s.eng.Subscribe(ctx, runID, start)
	if err != nil {
		return nil, err
	}
	return &pump{srv: s, runID: runID, format: m.Format().WithDefaults(), sub: sub,
		stream: m.NewStream("s_" + strings.ToLower(rand.Text()[:12])), cursor: mapping.NewCursor(from)}, nil
}

// run feeds the sink until the run's stream pauses or ends (nil), the sink fails (errDetached),
// the stream fails (errStreamFailed, after an error frame) or ctx ends (its cause).
func (p *pump) run(ctx context.Context, sk sink) error {
	for {
		evs, err := p.next(ctx, sk)
		switch {
		case errors.Is(err, io.EOF):
			return p.end(ctx, sk)
		case err != nil && ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(err, errDetached):
			return err
		case err != nil:
			p.srv.log.Error("stream: read events", "run", p.runID, "err", err)
			return p.fail(sk, mapping.CodeInternal, "reading the run's events failed")
		}
		frames, err := p.stream.Map(ctx, evs)
		if err != nil {
			return p.mapFailed(ctx, sk, err)
		}
		if err := p.send(sk, frames); err != nil {
			return err
		}
	}
}

// next returns the next events; with a heartbeat it pings the sink whenever the run has been
// quiet that long.
func (p *pump) next(ctx context.Context, sk sink) ([]event.Event, error) {
	if p.heartbeat <= 0 {
		return p.sub.Next(ctx)
	}
	for {
		hctx, cancel := context.WithTimeout(ctx, p.heartbeat)
		evs, err := p.sub.Next(hctx)
		quiet := err != nil && hctx.Err() != nil && ctx.Err() == nil
		cancel()
		if !quiet {
			return evs, err
		}
		if err := sk.ping(); err != nil {
			return nil, errDetached
		}
	}
}

func (p *pump) send(sk sink, frames []mapping.Frame) error {
	labeled := p.cursor.Filter(frames)
	if len(labeled) == 0 {
		return nil
	}
	if err := sk.send(labeled); err != nil {
		return errDetached
	}
	return nil
}

// end closes the stream after the run's stretch ended.
func (p *pump) end(ctx context.Context, sk sink) error {
	frames, err := p.stream.End(ctx)
	if err != nil {
		return p.mapFailed(ctx, sk, err)
	}
	return p.send(sk, frames)
}

func (p *pump) mapFailed(ctx context.Context, sk sink, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	p.srv.log.Warn("stream: mapper failed; the stream ends", "run", p.runID, "format", p.format.Name, "err", err)
	return p.fail(sk, mapping.CodeMapper, err.Error())
}

// fail writes an error frame in the client's format and ends the stream.
func (p *pump) fail(sk sink, code, message string) error {
	frame := mapping.Labeled{Frame: mapping.Frame{Data: mapping.ErrorFrame(p.format.Name, code, message)}}
	if err := sk.send([]mapping.Labeled{frame}); err != nil {
		return errDetached
	}
	return errStreamFailed
}
