package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
)

// loadConfig is one load: what to open and how the server paces its tokens.
type loadConfig struct {
	Base       string        `json:"-"`
	Token      string        `json:"-"`
	Transport  string        `json:"transport"`
	Streams    int           `json:"streams"`
	Ramp       time.Duration `json:"ramp_ns"`
	Duration   time.Duration `json:"duration_ns"`
	Runs       int           `json:"runs_per_stream"`
	RunTimeout time.Duration `json:"run_timeout_ns"`
	Workflow   string        `json:"workflow"`
	Message    string        `json:"-"`
	Words      int           `json:"answer_words,omitempty"`
	Format     string        `json:"format"`
	Delay      time.Duration `json:"delay_ns"`
}

func (lc loadConfig) label() string {
	return fmt.Sprintf("%s %d streams format=%s delay=%s", lc.Transport, lc.Streams, lc.Format, lc.Delay)
}

// worker runs one stream's runs, one after the other.
type worker interface {
	one(ctx context.Context)
	close()
}

// errKinds name the errors worth grouping; others are reported by their text.
var errKinds = []struct {
	err  error
	name string
}{
	{context.DeadlineExceeded, "timeout"},
	{os.ErrDeadlineExceeded, "timeout"},
	{syscall.ECONNRESET, "connection reset"},
	{syscall.ECONNREFUSED, "connection refused"},
	{syscall.EPIPE, "broken pipe"},
	{syscall.EMFILE, "too many open files"},
	{syscall.EADDRNOTAVAIL, "no free local port"},
	{io.ErrUnexpectedEOF, "unexpected EOF"},
	{io.EOF, "EOF"},
	{errLineTooLong, "line too long"},
}

func errKind(err error) string {
	for _, k := range errKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("websocket closed %d %s", ce.Code, ce.Text)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// apiErrorCode is the code of a Fleet error body ({"error":{"code":…}}), or "".
func apiErrorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// sseWorker POSTs runs and reads their Server-Sent Events, reusing its connection.
type sseWorker struct {
	lc     loadConfig
	client *http.Client
	col    *collector
	body   []byte
	chk    runCheck
	rd     *sseReader
}

func newSSEWorker(lc loadConfig, client *http.Client, col *collector, chk runCheck) *sseWorker {
	body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"id": "u1", "role": "user", "content": lc.Message}}})
	return &sseWorker{lc: lc, client: client, col: col, body: body, chk: chk, rd: newSSEReader(nil)}
}

func (w *sseWorker) close() {}

func (w *sseWorker) request(ctx context.Context) (*http.Request, error) {
	u := w.lc.Base + "/v1/workflows/" + url.PathEscape(w.lc.Workflow) + "/runs?format=" + url.QueryEscape(w.lc.Format)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(w.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if w.lc.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.lc.Token)
	}
	return req, nil
}

func (w *sseWorker) one(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, w.lc.RunTimeout)
	defer cancel()
	req, err := w.request(rctx)
	if err != nil {
		w.col.fail("request: " + err.Error())
		return
	}
	sent := time.Now()
	w.col.sent(sent)
	resp, err := w.client.Do(req)
	if err != nil {
		w.col.fail("request: " + errKind(err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		w.col.fail(fmt.Sprintf("http %d %s", resp.StatusCode, apiErrorCode(b)))
		return
	}
	w.col.open(1)
	defer w.col.open(-1)
	w.chk.reset(sent)
	w.rd.reset(resp.Body)
	last := w.read()
	w.col.run(&w.chk, last)
}

// read reads the stream to its end and returns when its last frame came.
func (w *sseWorker) read() time.Time {
	var last time.Time
	for {
		id, data, err := w.rd.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				w.col.note("sse read: " + errKind(err))
			}
			return last
		}
		last = time.Now()
		seq, part := uint64(0), -1
		if len(id) > 0 {
			fid, err := parseFrameID(string(id))
			if err != nil {
				w.chk.fail("%v", err)
			}
			seq, part = fid.seq, fid.part
		}
		w.count(last, seq, part, data)
	}
}

func (w *sseWorker) count(now time.Time, seq uint64, part int, data []byte) {
	before := w.chk.tokens
	if err := w.chk.frame(now, seq, part, data); err != nil {
		w.col.note(err.Error())
	}
	w.col.frames.Add(1)
	if w.chk.tokens > before {
		w.col.tokens.Add(1)
	}
}

// newSSEClient is an HTTP client for n concurrent streams to one host: no bound on connections,
// n of them kept between runs, no timeout (a run's context bounds it).
func newSSEClient(n int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     0,
		MaxIdleConns:        n,
		MaxIdleConnsPerHost: n,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr}
}

// wsWorker keeps one WebSocket connection and runs chats on it, one after the other.
type wsWorker struct {
	lc     loadConfig
	dialer *websocket.Dialer
	col    *collector
	conn   *websocket.Conn
	msg    []byte
	chk    runCheck
}

func newWSWorker(lc loadConfig, dialer *websocket.Dialer, col *collector, chk runCheck) *wsWorker {
	msg, _ := json.Marshal(map[string]string{"type": "run", "workflow": lc.Workflow, "message": lc.Message, "format": lc.Format})
	return &wsWorker{lc: lc, dialer: dialer, col: col, msg: msg, chk: chk}
}

// wsURL is the chat endpoint of base, with the token as a query parameter when there is one.
func wsURL(base, token string) string {
	u := "ws" + base[len("http"):] + "/v1/chat"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	return u
}

func newDialer() *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
}

func (w *wsWorker) close() {
	if w.conn != nil {
		_ = w.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = w.conn.Close()
		w.conn = nil
	}
}

func (w *wsWorker) drop() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

func (w *wsWorker) one(ctx context.Context) {
	if w.conn == nil {
		dctx, cancel := context.WithTimeout(ctx, w.lc.RunTimeout)
		conn, resp, err := w.dialer.DialContext(dctx, wsURL(w.lc.Base, w.lc.Token), nil)
		cancel()
		if err != nil {
			w.col.fail(dialError(resp, err))
			return
		}
		conn.SetReadLimit(16 << 20)
		w.conn = conn
	}
	sent := time.Now()
	w.col.sent(sent)
	w.conn.SetWriteDeadline(sent.Add(10 * time.Second))
	if err := w.conn.WriteMessage(websocket.TextMessage, w.msg); err != nil {
		w.col.fail("ws write: " + errKind(err))
		w.drop()
		return
	}
	w.chk.reset(sent)
	w.conn.SetReadDeadline(sent.Add(w.lc.RunTimeout))
	if stop := context.AfterFunc(ctx, func() { w.conn.SetReadDeadline(time.Now()) }); stop != nil {
		defer stop()
	}
	w.read()
}

func dialError(resp *http.Response, err error) string {
	if resp != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return fmt.Sprintf("ws dial: http %d %s", resp.StatusCode, apiErrorCode(b))
	}
	return "ws dial: " + errKind(err)
}

// wsMessage is a server message: a protocol frame ({"type": …}) or a run's frame in its envelope
// ({"runId", "seq", "part"?, "frame"}).
type wsMessage struct {
	Type  string          `json:"type"`
	Code  string          `json:"code"`
	RunID string          `json:"runId"`
	Seq   uint64          `json:"seq"`
	Part  *int            `json:"part"`
	Frame json.RawMessage `json:"frame"`
}

// read reads one run's messages until its terminal frame, a refusal or a read error.
func (w *wsWorker) read() {
	var last time.Time
	runID := ""
	for !w.chk.done {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			if runID == "" {
				w.col.fail("ws read: " + errKind(err))
			} else {
				w.col.note("ws read: " + errKind(err))
				w.col.run(&w.chk, last)
				w.col.open(-1)
			}
			w.drop()
			return
		}
		last = time.Now()
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			w.chk.fail("message is not JSON: %.60q", data)
			continue
		}
		if m.Frame == nil {
			if refused := w.protocol(m, &runID); refused {
				return
			}
			continue
		}
		if m.RunID != runID {
			w.chk.fail("frame of run %q on a stream of %q", m.RunID, runID)
		}
		part := -1
		if m.Part != nil {
			part = *m.Part
		}
		w.count(last, m.Seq, part, m.Frame)
	}
	w.col.run(&w.chk, last)
	w.col.open(-1)
}

// protocol handles a protocol frame; refused is true when the run was refused (an error before
// "accepted").
func (w *wsWorker) protocol(m wsMessage, runID *string) (refused bool) {
	switch m.Type {
	case "accepted":
		if *runID == "" {
			*runID = m.RunID
			w.col.open(1)
		}
	case "error":
		if *runID == "" {
			w.col.fail("ws error " + m.Code)
			return true
		}
		w.col.note("ws error " + m.Code)
	default:
		w.col.note("ws message " + m.Type)
	}
	return false
}

func (w *wsWorker) count(now time.Time, seq uint64, part int, data []byte) {
	before := w.chk.tokens
	if err := w.chk.frame(now, seq, part, data); err != nil {
		w.col.note(err.Error())
	}
	w.col.frames.Add(1)
	if w.chk.tokens > before {
		w.col.tokens.Add(1)
	}
}
