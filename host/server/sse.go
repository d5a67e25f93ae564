package server

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/agentfleet/fleet/host/mapping"
)

// streamSSE answers c with the pump's frames as Server-Sent Events (or NDJSON, as the format
// says). Everything the writer needs is copied out of c first: the writer runs on its own
// goroutine after the handler returns.
func (s *Server) streamSSE(c *fiber.Ctx, p *pump) error {
	if !s.streams.add() {
		return newError(http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down")
	}
	f := p.format
	c.Status(http.StatusOK)
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	for k, v := range f.Headers {
		c.Set(k, v)
	}
	// The connection ends with the stream: its last write keeps a deadline (see finish), which a
	// request served next on it would inherit.
	c.Context().SetConnectionClose()
	p.heartbeat = s.cfg.Heartbeat
	sk := &sseSink{conn: c.Context().Conn(), runID: p.runID, framing: f.Framing, writeTimeout: s.cfg.StreamWriteTimeout}
	gauge := s.metrics.openStreams.WithLabelValues(transportSSE)
	gauge.Inc()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.streams.done()
		defer gauge.Dec()
		sk.w = w
		err := p.run(s.ctx, sk)
		sk.finish(err, f)
	})
	return nil
}

// sseSink writes frames to an SSE response.
type sseSink struct {
	w            *bufio.Writer
	conn         net.Conn
	runID        string
	framing      mapping.Framing
	writeTimeout time.Duration
}

func (k *sseSink) send(frames []mapping.Labeled) error {
	for _, f := range frames {
		k.frame(f)
	}
	return k.flush()
}

// frame writes one frame: "id: <runId>:<pos>" (when it has a position) and "data: <json>" lines
// and a blank line, or, framed as NDJSON, the JSON and a newline.
func (k *sseSink) frame(f mapping.Labeled) {
	if k.framing == mapping.FramingNDJSON {
		k.w.Write(f.Data)
		k.w.WriteByte('\n')
		return
	}
	if f.Resumable {
		k.w.WriteString("id: ")
		k.w.WriteString(f.Pos.ID(k.runID))
		k.w.WriteByte('\n')
	}
	data := f.Data
	for {
		line, rest, more := bytes.Cut(data, []byte("\n"))
		k.w.WriteString("data: ")
		k.w.Write(line)
		k.w.WriteByte('\n')
		if !more {
			break
		}
		data = rest
	}
	k.w.WriteByte('\n')
}

// ping writes the heartbeat: a comment line, or an empty line for NDJSON.
func (k *sseSink) ping() error {
	if k.framing == mapping.FramingNDJSON {
		k.w.WriteByte('\n')
	} else {
		k.w.WriteString(": ping\n\n")
	}
	return k.flush()
}

// flush pushes what is buffered to the client. Each flush has its own write deadline on the
// connection, so a client that stops reading is dropped instead of holding the stream forever.
func (k *sseSink) flush() error {
	if k.conn != nil && k.writeTimeout > 0 {
		k.conn.SetWriteDeadline(time.Now().Add(k.writeTimeout))
	}
	return k.w.Flush()
}

// finish writes what ends the response after the pump stopped with err. What it flushes goes to
// fasthttp's pipe, which copies it to the connection after the writer returned; so the last write
// deadline stays set (a fresh one, never cleared): a client that stopped reading is dropped then
// too, instead of holding a blocked write, its connection and a goroutine forever.
func (k *sseSink) finish(err error, f mapping.Format) {
	defer func() {
		if k.conn != nil && k.writeTimeout > 0 {
			k.conn.SetWriteDeadline(time.Now().Add(k.writeTimeout))
		}
	}()
	switch {
	case errors.Is(err, errDetached):
		return
	case errors.Is(err, errShutdown):
		if k.framing != mapping.FramingNDJSON {
			k.w.WriteString(": shutdown\n")
		}
		k.frame(mapping.Labeled{Frame: mapping.Frame{Data: mapping.ErrorFrame(f.Name, mapping.CodeShutdown,
			"the server is shutting down; the run goes on: resume the stream with Last-Event-ID")}})
		k.flush()
		return
	}
	if f.Done != "" {
		if k.framing == mapping.FramingNDJSON {
			k.w.WriteString(f.Done + "\n")
		} else {
			k.w.WriteString("data: " + f.Done + "\n\n")
		}
		k.flush()
	}
}
