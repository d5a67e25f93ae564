package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unsafe"
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
// calls, init and mapper batches all answer through it.
type response struct {
	buf bytes.Buffer
	// enc encodes what the SDK's own encoder leaves to encoding/json; made on first use.
	enc *json.Encoder
	// args and result are the state of typed argument decoding and result encoding, kept here
	// because they escape (through the plans' function values) and would otherwise be allocated
	// per call.
	args   argDecoder
	result resultEncoder
}

func newResponse() *response { return &response{} }

// reset empties the response, dropping an oversized buffer.
func (r *response) reset() {
	if r.buf.Cap() > keepLimit {
		r.buf = bytes.Buffer{}
		r.enc = nil
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

// okPlan writes status 0 and the value at p, of the type plan encodes. It returns false, with the
// response reset, when the plan cannot write the value: the caller then writes it with ok.
func (r *response) okPlan(plan *encNode, p unsafe.Pointer) bool {
	r.reset()
	r.buf.WriteByte(statusOK)
	e := r.encoder()
	plan.enc(e, plan, p)
	b, bail := e.b, e.bail
	e.b = nil // holds no buffer between calls
	if bail {
		r.buf.Reset()
		return false
	}
	r.buf.Write(b)
	return true
}

// encoder returns the response's result encoder, reset to append to its buffer.
func (r *response) encoder() *resultEncoder {
	e := &r.result
	e.b, e.bail, e.depth = r.buf.AvailableBuffer(), false, 0
	return e
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

// encode appends v as JSON without the encoder's trailing newline: scalars and values the SDK's
// encoder covers are written by it, anything else (and anything it cannot write) by encoding/json.
// On error nothing is written.
func (r *response) encode(v any) error {
	if b, ok := appendScalar(r.buf.AvailableBuffer(), v); ok {
		r.buf.Write(b)
		return nil
	}
	e := r.encoder()
	e.dynamic(v)
	b, bail := e.b, e.bail
	e.b = nil
	if !bail {
		r.buf.Write(b)
		return nil
	}
	if r.enc == nil {
		r.enc = json.NewEncoder(&r.buf)
		r.enc.SetEscapeHTML(false)
	}
	n := r.buf.Len()
	if err := r.enc.Encode(v); err != nil {
		r.buf.Truncate(n)
		return err
	}
	r.buf.Truncate(r.buf.Len() - 1)
	return nil
}
