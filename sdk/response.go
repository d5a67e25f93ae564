package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Result statuses: the first byte of every result region (ABI section 3).
const (
	statusOK         byte = 0
	statusToolError  byte = 1
	statusBadRequest byte = 2
)

// keepLimit is the largest buffer kept for reuse between calls; larger ones are released after use so
// that one big call does not pin its memory for the instance's life.
const keepLimit = 1 << 20

// response builds one result region: a status byte followed by the payload. It is kind-neutral: tool
// calls, init and (later) mapper batches all answer through it.
type response struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newResponse() *response {
	r := &response{}
	r.enc = json.NewEncoder(&r.buf)
	r.enc.SetEscapeHTML(false)
	return r
}

// reset empties the response, dropping an oversized buffer.
func (r *response) reset() {
	if r.buf.Cap() > keepLimit {
		r.buf = bytes.Buffer{}
	}
	r.buf.Reset()
}

// bytes returns the region: status byte and payload.
func (r *response) bytes() []byte { return r.buf.Bytes() }

// ok writes status 0 and v encoded as JSON; if v cannot be encoded it writes a tool error instead.
func (r *response) ok(v any) {
	r.reset()
	r.buf.WriteByte(statusOK)
	if err := r.encode(v); err != nil {
		r.fail(statusToolError, "", fmt.Sprintf("sdk: encoding result: %v", err))
	}
}

// raw writes a status and a payload that is already encoded.
func (r *response) raw(status byte, payload []byte) {
	r.reset()
	r.buf.WriteByte(status)
	r.buf.Write(payload)
}

// errorBody is the error JSON of statuses 1 and 2, as decoded; appendErrorJSON encodes it.
type errorBody struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// fail writes an error status with its error JSON. An empty message is replaced, so that the caller
// always has something to read.
func (r *response) fail(status byte, code, msg string) {
	if msg == "" {
		msg = "sdk: error with no message"
	}
	r.reset()
	r.buf.WriteByte(status)
	r.buf.Write(appendErrorJSON(r.buf.AvailableBuffer(), code, msg))
}

// encode appends v as JSON without the encoder's trailing newline. On error nothing is written.
func (r *response) encode(v any) error {
	if b, ok := appendScalar(r.buf.AvailableBuffer(), v); ok {
		r.buf.Write(b)
		return nil
	}
	if err := r.enc.Encode(v); err != nil {
		return err
	}
	r.buf.Truncate(r.buf.Len() - 1)
	return nil
}
