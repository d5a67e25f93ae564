package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// The fleet_map dispatch, shared by the export and by InvokeMap: parse the batch, decode the state,
// run the handlers, encode the state and the frames into the result region (docs/abi.md section 8).

// Ops of a fleet_map request.
const (
	OpStart  = "start"  // the stream's first batch; its state is null
	OpEvents = "events" // a batch in the middle of the stream
	OpEnd    = "end"    // the stream is over: emit what closes it
)

// mapCall holds the buffers of one fleet_map call; calls reuse them through the mapper's pool.
type mapCall[S any] struct {
	events  []Event
	members []member
	arena   []byte
	frames  Frames
	state   S
	sj      JSON
	dec     Decoder
}

// batch is a parsed fleet_map request.
type batch struct {
	stream, op string
	state      []byte
}

// parseBatch reads a request into b and c.events. Its strings point into in and c.arena.
func (c *mapCall[S]) parseBatch(in []byte, b *batch) error {
	s := scanner{b: in, arena: &c.arena}
	c.events, c.members = c.events[:0], c.members[:0]
	if !s.object("request") {
		if s.err == nil {
			return errors.New("the request is null")
		}
		return s.err
	}
	for n := 0; ; {
		k, ok := s.member(&n)
		if !ok {
			break
		}
		switch k {
		case "stream":
			b.stream = s.str()
		case "op":
			b.op = s.str()
		case "state":
			b.state = s.raw()
		case "events":
			c.parseEvents(&s)
		default:
			s.skip()
		}
	}
	s.end()
	return s.err
}

func (c *mapCall[S]) parseEvents(s *scanner) {
	if !s.array("events") {
		return
	}
	for i := 0; s.element(&i); {
		c.events = append(c.events, Event{})
		e := &c.events[len(c.events)-1]
		e.Index, e.arena = len(c.events)-1, &c.arena
		c.parseEnvelope(s, e)
		if s.err == nil && e.Type == "" {
			s.fail(fmt.Sprintf("event %d has no type", e.Index))
		}
	}
}

// mapBatch answers one fleet_map request into r.
func (m *mapper[S]) mapBatch(ctx context.Context, in []byte, r *response) {
	c := m.pool.Get().(*mapCall[S])
	defer m.release(c)
	var b batch
	if err := c.parseBatch(in, &b); err != nil {
		r.fail(statusBadRequest, CodeBadMessage, "sdk: fleet_map request: "+err.Error())
		return
	}
	if b.op != OpStart && b.op != OpEvents && b.op != OpEnd {
		r.fail(statusBadRequest, CodeUnsupported, fmt.Sprintf("sdk: fleet_map op %q is not start, events or end", b.op))
		return
	}
	if b.op != OpStart {
		if err := m.decodeState(c, b.state); err != nil {
			r.fail(statusBadRequest, CodeBadMessage, "sdk: fleet_map state: "+err.Error())
			return
		}
	}
	if status, code, msg := m.run(ctx, c, b.op); status != statusOK {
		r.fail(status, code, msg)
		return
	}
	state, err := m.encodeState(c)
	if err != nil {
		r.fail(statusToolError, "", "sdk: encoding the stream state: "+err.Error())
		return
	}
	r.reset()
	r.buf.Grow(2 + len(state) + c.frames.j.Len())
	r.buf.WriteByte(statusOK)
	r.buf.Write(state)
	r.buf.WriteByte('\n')
	r.buf.Write(c.frames.j.Bytes())
}

// run calls the hooks and the handlers of the batch's events, in order.
func (m *mapper[S]) run(ctx context.Context, c *mapCall[S], op string) (status byte, code, msg string) {
	f := &c.frames
	f.reset()
	if op == OpStart && m.start != nil {
		if err := m.start(f, &c.state); err != nil {
			return classify(err)
		}
	}
	for i := range c.events {
		if i&63 == 63 && ctx.Err() != nil {
			return statusToolError, "", "sdk: " + ctx.Err().Error()
		}
		e := &c.events[i]
		h := m.handler(e)
		if h == nil {
			continue
		}
		f.idx = i
		err := h(f, &c.state, e)
		if status, code, msg := checkHandler(f, e, err); status != statusOK {
			return status, code, msg
		}
	}
	f.idx = -1
	if op == OpEnd && m.end != nil {
		if err := m.end(f, &c.state); err != nil {
			return classify(err)
		}
	}
	if f.j.depth != 0 {
		return statusToolError, "", "sdk: a frame was left open (Frames.Frame without its End)"
	}
	if f.err != nil {
		return statusToolError, "", f.err.Error()
	}
	return statusOK, "", ""
}

// handler finds the handler of an event: by type id, by name for types the SDK does not know, or
// the default.
func (m *mapper[S]) handler(e *Event) Handler[S] {
	if e.id != tUnknown {
		if h := m.table[e.id]; h != nil {
			return h
		}
		return m.def
	}
	if h, ok := m.byName[e.Type]; ok {
		return h
	}
	return m.def
}

// checkHandler turns what a handler left behind into a status: its error, a payload it could not
// decode, or a frame it left open.
func checkHandler(f *Frames, e *Event, err error) (status byte, code, msg string) {
	switch {
	case e.err != nil:
		return statusBadRequest, CodeBadMessage, "sdk: " + e.err.Error()
	case err != nil:
		return classify(err)
	case f.j.depth != 0:
		return statusToolError, "", fmt.Sprintf("sdk: the handler of event %d (%s) left a frame open (Frames.Frame without its End)", e.Index, e.Type)
	case f.err != nil:
		return statusToolError, "", f.err.Error()
	}
	return statusOK, "", ""
}

// decodeState sets c.state from the state JSON of the request (null or absent: the zero state).
func (m *mapper[S]) decodeState(c *mapCall[S], raw []byte) error {
	var zero S
	c.state = zero
	if m.empty || len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if m.codec {
		c.dec.reset(raw, &c.arena)
		if err := any(&c.state).(StateCodec).UnmarshalState(&c.dec); err != nil {
			return err
		}
		if c.dec.End(); c.dec.Err() != nil {
			return c.dec.Err()
		}
		return nil
	}
	return json.Unmarshal(raw, &c.state)
}

// encodeState writes the state as one line of JSON.
func (m *mapper[S]) encodeState(c *mapCall[S]) ([]byte, error) {
	if m.empty {
		return nullJSON, nil
	}
	if m.codec {
		c.sj.Reset()
		c.sj.line = false
		any(&c.state).(StateCodec).MarshalState(&c.sj)
		if c.sj.depth != 0 || c.sj.Len() == 0 {
			return nil, errors.New("MarshalState did not write exactly one complete value")
		}
		return c.sj.Bytes(), nil
	}
	b, err := json.Marshal(&c.state)
	if err != nil {
		return nil, err
	}
	if slices.Contains(b, '\n') {
		return nil, errors.New("the state's JSON spans lines")
	}
	return b, nil
}

// release returns the call's buffers to the pool, dropping oversized ones and the references the
// state and events hold into the batch.
func (m *mapper[S]) release(c *mapCall[S]) {
	var zero S
	c.state = zero
	clear(c.events)
	c.events = c.events[:0]
	if cap(c.events) > 4096 {
		c.events = nil
	}
	clear(c.members)
	c.members = c.members[:0]
	if cap(c.members) > 8192 {
		c.members = nil
	}
	if cap(c.arena) > keepLimit {
		c.arena = nil
	}
	c.arena = c.arena[:0]
	c.dec = Decoder{}
	m.pool.Put(c)
}
