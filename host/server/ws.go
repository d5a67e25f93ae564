package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/host/mapping"
)

// WebSocket timings that are not configurable.
const (
	wsWriteWait  = 10 * time.Second
	wsCloseGrace = time.Second
)

// Causes a WebSocket connection's context ends with.
var (
	errSlowClient = errors.New("client too slow: its queue of frames is full")
	errConnDone   = errors.New("connection closed")
)

// localClient is the Locals key of the client's identity, set before the upgrade.
const localClient = "fleet.client"

// wsGate checks a WebSocket request before the upgrade: it must be one (426), the server must not
// be shutting down (503), and its Origin must be the server's own or allowed (403).
func (s *Server) wsGate(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return newError(http.StatusUpgradeRequired, codeUpgradeRequired, "GET /v1/chat is a WebSocket endpoint")
	}
	if s.closing.Load() {
		return newError(http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down")
	}
	if origin := c.Get(fiber.HeaderOrigin); !s.originOK(origin, c.Hostname()) {
		return newError(http.StatusForbidden, codeForbiddenOrigin, "origin %q is not allowed", origin)
	}
	c.Locals(localClient, clientKey(c))
	return c.Next()
}

// wsRecover logs a panic in a WebSocket handler; nothing of it goes to the client.
func (s *Server) wsRecover(*websocket.Conn) {
	if r := recover(); r != nil {
		s.log.Error("websocket handler panicked", "panic", r)
	}
}

// wsConn is one WebSocket connection: one reader (the handler's goroutine), one writer goroutine
// fed by a bounded queue, and one goroutine per run streaming on it.
type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	client string
	out    chan [][]byte
	ctx    context.Context
	cancel context.CancelCauseFunc

	wg      sync.WaitGroup
	mu      sync.Mutex
	streams map[string]*wsStream
	slow    sync.Once // the connection is found slow once
}

type wsStream struct {
	cancel context.CancelFunc
	done   chan struct{}
	pos    mapping.Position // where the client is: the last frame queued for it (guarded by wsConn.mu)
}

// serveWS runs a connection. It returns only after the writer and every stream goroutine are done,
// so nothing touches the conn after (contrib/websocket recycles it).
func (s *Server) serveWS(conn *websocket.Conn) {
	client, _ := conn.Locals(localClient).(string)
	ctx, cancel := context.WithCancelCause(s.ctx)
	wc := &wsConn{s: s, conn: conn, client: client, out: make(chan [][]byte, s.cfg.WSQueue), ctx: ctx, cancel: cancel,
		streams: map[string]*wsStream{}}
	if !s.streams.add() {
		cancel(errShutdown)
	} else {
		defer s.streams.done()
	}
	s.metrics.wsConns.Inc()
	defer s.metrics.wsConns.Dec()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		wc.writeLoop()
	}()
	wc.readLoop()
	cancel(errConnDone)
	wc.wg.Wait()
	<-writerDone
}

// readLoop reads client frames until the connection fails, closes or times out. Control frames
// (pongs, close) are handled inside the reads.
func (wc *wsConn) readLoop() {
	c := wc.conn
	c.SetReadLimit(wc.s.cfg.WSReadLimit)
	extend := func() { c.SetReadDeadline(time.Now().Add(wc.s.cfg.PongTimeout)) }
	extend()
	c.SetPongHandler(func(string) error {
		if wc.ctx.Err() == nil {
			extend()
		}
		return nil
	})
	for {
		typ, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if wc.ctx.Err() != nil {
			// Closing: what the client sent meanwhile is read and dropped until its close frame
			// or the deadline the writer set (wsCloseGrace), so that our close frame reaches it
			// instead of a reset for data left unread.
			continue
		}
		extend()
		if typ != websocket.TextMessage {
			wc.protocolError("", badRequest("frames are JSON text messages"))
			continue
		}
		wc.dispatch(data)
	}
}

// writeLoop writes queued frames and pings until the connection's context ends, then closes the
// connection in the way its cause asks for.
func (wc *wsConn) writeLoop() {
	ping := time.NewTicker(wc.s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case msgs := <-wc.out:
			if err := wc.write(msgs); err != nil {
				wc.cancel(errConnDone)
				wc.conn.SetReadDeadline(time.Now())
				return
			}
		case <-ping.C:
			if err := wc.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				wc.cancel(errConnDone)
				wc.conn.SetReadDeadline(time.Now())
				return
			}
		case <-wc.ctx.Done():
			wc.closeFor(context.Cause(wc.ctx))
			return
		}
	}
}

func (wc *wsConn) write(msgs [][]byte) error {
	for _, m := range msgs {
		wc.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
		if err := wc.conn.WriteMessage(websocket.TextMessage, m); err != nil {
			return err
		}
	}
	return nil
}

// closeFor ends the connection: at shutdown the queued frames go out, then {"type":"shutdown"}
// and close 1001; a slow client gets close 1008. The reader then stops within wsCloseGrace.
func (wc *wsConn) closeFor(cause error) {
	switch {
	case errors.Is(cause, errShutdown):
		wc.drain()
		wc.write([][]byte{[]byte(`{"type":"shutdown"}`)})
		wc.closeFrame(websocket.CloseGoingAway, "server shutting down")
		wc.conn.SetReadDeadline(time.Now().Add(wsCloseGrace))
	case errors.Is(cause, errSlowClient):
		wc.closeFrame(websocket.ClosePolicyViolation, "client too slow")
		wc.conn.SetReadDeadline(time.Now().Add(wsCloseGrace))
	}
}

func (wc *wsConn) drain() {
	for {
		select {
		case msgs := <-wc.out:
			if wc.write(msgs) != nil {
				return
			}
		default:
			return
		}
	}
}

func (wc *wsConn) closeFrame(code int, reason string) {
	wc.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(wsWriteWait))
}

// enqueue hands messages to the writer without ever blocking: a client whose queue is full is
// disconnected, so a slow client never holds up a run or the reader.
func (wc *wsConn) enqueue(msgs ...[]byte) error {
	if err := context.Cause(wc.ctx); err != nil {
		return err
	}
	select {
	case wc.out <- msgs:
		return nil
	default:
		wc.slow.Do(func() {
			wc.cancel(errSlowClient)
			wc.s.metrics.slowClients.Inc()
			wc.s.firstSlowOnce.Do(func() { close(wc.s.firstSlow) })
		})
		return errSlowClient
	}
}

// Server -> client protocol frames.
type wsErrorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	RunID   string `json:"runId,omitempty"`
}

type wsAccepted struct {
	Type     string `json:"type"`
	RunID    string `json:"runId"`
	ThreadID string `json:"threadId"`
}

func (wc *wsConn) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err == nil {
		wc.enqueue(b)
	}
}

// protocolError tells the client a frame failed; the connection stays usable.
func (wc *wsConn) protocolError(runID string, err error) {
	ae, known := toAPIError(err)
	if !known {
		wc.s.log.Error("websocket frame failed", "run", runID, "err", err)
	}
	wc.sendJSON(wsErrorFrame{Type: "error", Code: ae.code, Message: ae.message, RunID: runID})
}

// wsHandlers is the dispatch table of client frames by type.
var wsHandlers = map[string]func(*wsConn, []byte) (runID string, err error){
	"run":     (*wsConn).onRun,
	"cancel":  (*wsConn).onCancel,
	"approve": (*wsConn).onApprove,
	"deny":    (*wsConn).onDeny,
	"resume":  (*wsConn).onResume,
}

func (wc *wsConn) dispatch(data []byte) {
	var head struct {
		Type  string `json:"type"`
		RunID string `json:"runId"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		wc.protocolError("", describeJSONError(err, ""))
		return
	}
	h, ok := wsHandlers[head.Type]
	if !ok {
		wc.protocolError(head.RunID, badRequest("field type: %q is not run, cancel, approve, deny or resume", head.Type))
		return
	}
	if runID, err := h(wc, data); err != nil {
		wc.protocolError(runID, err)
	}
}

type wsRunFrame struct {
	Type     string `json:"type"`
	Workflow string `json:"workflow"`
	ThreadID string `json:"threadId"`
	Message  string `json:"message"`
	Format   string `json:"format"`
	RunID    string `json:"runId"`
}

func (wc *wsConn) onRun(data []byte) (string, error) {
	var f wsRunFrame
	if err := decodeStrict(data, &f, ""); err != nil {
		return f.RunID, err
	}
	if f.Message == "" {
		return f.RunID, badRequest("field message: required")
	}
	m, err := wc.s.cfg.Mappers.Lookup(f.Format)
	if err != nil {
		return f.RunID, err
	}
	p, err := wc.s.startRun(wc.ctx, engine.StartRequest{Workflow: f.Workflow, ThreadID: f.ThreadID, RunID: f.RunID,
		Input: f.Message}, wc.client, m)
	if err != nil {
		return f.RunID, err
	}
	rec, err := wc.s.eng.Run(wc.ctx, p.runID)
	if err != nil {
		return p.runID, err
	}
	wc.sendJSON(wsAccepted{Type: "accepted", RunID: rec.ID, ThreadID: rec.ThreadID})
	wc.startStream(p, mapping.Position{})
	return "", nil
}

type wsCancelFrame struct {
	Type   string `json:"type"`
	RunID  string `json:"runId"`
	Reason string `json:"reason"`
}

func (wc *wsConn) onCancel(data []byte) (string, error) {
	var f wsCancelFrame
	if err := decodeStrict(data, &f, ""); err != nil {
		return f.RunID, err
	}
	if f.RunID == "" {
		return "", badRequest("field runId: required")
	}
	return f.RunID, wc.s.eng.Cancel(wc.ctx, f.RunID, f.Reason)
}

type wsAnswerFrame struct {
	Type       string          `json:"type"`
	RunID      string          `json:"runId"`
	ApprovalID string          `json:"approvalId"`
	Arguments  json.RawMessage `json:"arguments"`
	Reason     string          `json:"reason"`
	Format     string          `json:"format"`
}

func (wc *wsConn) onApprove(data []byte) (string, error) { return wc.onAnswer(data, true) }
func (wc *wsConn) onDeny(data []byte) (string, error)    { return wc.onAnswer(data, false) }

// onAnswer answers an approval and streams what follows on this connection.
func (wc *wsConn) onAnswer(data []byte, approve bool) (string, error) {
	var f wsAnswerFrame
	if err := decodeStrict(data, &f, ""); err != nil {
		return f.RunID, err
	}
	if f.RunID == "" || f.ApprovalID == "" {
		return f.RunID, badRequest("fields runId and approvalId: required")
	}
	if err := checkArguments(f.Arguments, "arguments"); err != nil {
		return f.RunID, err
	}
	if string(f.Arguments) == "null" {
		f.Arguments = nil
	}
	m, err := wc.s.cfg.Mappers.Lookup(f.Format)
	if err != nil {
		return f.RunID, err
	}
	rec, err := wc.s.eng.Run(wc.ctx, f.RunID)
	if err != nil {
		return f.RunID, err
	}
	after, err := wc.s.answer(wc.ctx, rec, wc.client,
		engine.Answer{ApprovalID: f.ApprovalID, Approve: approve, Arguments: f.Arguments, Reason: f.Reason})
	if err != nil {
		return f.RunID, err
	}
	// A stream of this run may still be open on this connection (an earlier answer's): it may be
	// short of after, or past it if the run resumed meanwhile. The new one starts exactly where
	// that one stopped, so no frame is lost or repeated between them.
	from := mapping.Position{Seq: after}
	if pos, ok := wc.stopStream(f.RunID); ok {
		from = pos
	}
	return f.RunID, wc.resume(f.RunID, m, from)
}

// stopStream stops this connection's stream of runID, if any, and says where its client is.
func (wc *wsConn) stopStream(runID string) (mapping.Position, bool) {
	wc.mu.Lock()
	old := wc.streams[runID]
	wc.mu.Unlock()
	if old == nil {
		return mapping.Position{}, false
	}
	old.cancel()
	<-old.done
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return old.pos, true
}

type wsResumeFrame struct {
	Type   string `json:"type"`
	RunID  string `json:"runId"`
	After  uint64 `json:"after"`
	Part   *int   `json:"part"`
	Format string `json:"format"`
}

// onResume (re)subscribes to a run after a seq: after 12 is "I have every frame of event 12";
// with "part": i it is "I have frames up to part i of event 12", as the frames were labelled.
func (wc *wsConn) onResume(data []byte) (string, error) {
	var f wsResumeFrame
	if err := decodeStrict(data, &f, ""); err != nil {
		return f.RunID, err
	}
	if f.RunID == "" {
		return "", badRequest("field runId: required")
	}
	pos := mapping.Position{Seq: f.After}
	if f.Part != nil {
		p, err := mapping.ParsePosition(strconv.FormatUint(f.After, 10) + ":" + strconv.Itoa(*f.Part))
		if err != nil {
			return f.RunID, badRequest("fields after and part: %v", err)
		}
		pos = p
	}
	m, err := wc.s.cfg.Mappers.Lookup(f.Format)
	if err != nil {
		return f.RunID, err
	}
	return f.RunID, wc.resume(f.RunID, m, pos)
}

func (wc *wsConn) resume(runID string, m mapping.Mapper, from mapping.Position) error {
	p, err := wc.s.openPump(wc.ctx, runID, m, from)
	if err != nil {
		return err
	}
	wc.startStream(p, from)
	return nil
}

// startStream streams a run on this connection in its own goroutine, replacing a stream of the
// same run (whose goroutine ends first, so their frames never interleave).
func (wc *wsConn) startStream(p *pump, from mapping.Position) {
	wc.stopStream(p.runID)
	ctx, cancel := context.WithCancel(wc.ctx)
	st := &wsStream{cancel: cancel, done: make(chan struct{}), pos: from}
	wc.mu.Lock()
	wc.streams[p.runID] = st
	wc.mu.Unlock()
	gauge := wc.s.metrics.openStreams.WithLabelValues(transportWS)
	gauge.Inc()
	wc.wg.Add(1)
	go func() {
		defer wc.wg.Done()
		defer close(st.done)
		defer gauge.Dec()
		defer cancel()
		defer wc.forget(p.runID, st)
		p.run(ctx, &wsSink{wc: wc, runID: p.runID, st: st})
	}()
}

func (wc *wsConn) forget(runID string, st *wsStream) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.streams[runID] == st {
		delete(wc.streams, runID)
	}
}

// wsSink wraps each frame with its run and seq for the connection's writer.
type wsSink struct {
	wc    *wsConn
	runID string
	st    *wsStream
}

func (k *wsSink) send(frames []mapping.Labeled) error {
	msgs := make([][]byte, 0, len(frames))
	pos, moved := mapping.Position{}, false
	for _, f := range frames {
		msgs = append(msgs, wrapFrame(k.runID, f))
		if f.Resumable {
			pos, moved = f.Pos, true
		}
	}
	if err := k.wc.enqueue(msgs...); err != nil {
		return err
	}
	if moved {
		k.wc.mu.Lock()
		k.st.pos = pos
		k.wc.mu.Unlock()
	}
	return nil
}

func (k *wsSink) ping() error { return nil }

// wrapFrame builds {"runId":…,"seq":…,"part":…?,"frame":…}: seq is the frame's event (0 for a
// frame tied to none), part is set on a frame that is not its event's last.
func wrapFrame(runID string, f mapping.Labeled) []byte {
	id, _ := json.Marshal(runID)
	b := make([]byte, 0, len(f.Data)+len(id)+48)
	b = append(b, `{"runId":`...)
	b = append(b, id...)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, f.Seq, 10)
	if f.Resumable && f.Pos.Part > 0 {
		b = fmt.Appendf(b, `,"part":%d`, f.Pos.Part-1)
	}
	b = append(b, `,"frame":`...)
	b = append(b, f.Data...)
	return append(b, '}')
}
