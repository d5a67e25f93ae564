package sqlite

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/agentfleet/fleet/engine/event"
)

// decodeFast decodes line when it has exactly the form [event.Event.AppendJSON] writes for the
// per-token payloads (message.delta, reasoning.delta, tool.args): the envelope's keys in their
// order, numbers in plain digits, and the payload's two strings. It reports false for anything
// else, which the caller decodes with UnmarshalJSON. What it accepts is valid JSON and decodes to
// what UnmarshalJSON returns (FuzzDecodeFast checks both), several times faster: replaying a log
// is mostly decoding token events. Strings equal to the ones in the line decoded before with the
// same seen share their memory.
func decodeFast(line []byte, seen *seenStrings) (event.Event, bool) {
	p := parser{b: line, seen: seen}
	var e event.Event
	p.lit(`{"v":`)
	e.V = int(p.digits(strconv.IntSize - 1))
	p.lit(`,"type":`)
	fast := p.payloadType()
	e.Type = fast.typ
	p.lit(`,"seq":`)
	e.Seq = p.digits(64)
	p.lit(`,"run_id":`)
	e.RunID = p.str(fieldRun)
	p.lit(`,"thread_id":`)
	e.ThreadID = p.str(fieldThread)
	p.lit(`,"time":`)
	e.Time = p.time()
	e.Node = p.optStr(`,"node":`, fieldNode)
	e.Agent = p.optStr(`,"agent":`, fieldAgent)
	e.Path = p.optStr(`,"path":`, fieldPath)
	p.lit(`,"data":`)
	if !p.bad {
		e.Data = fast.decode(&p)
	}
	p.lit(`}`)
	if p.bad || len(p.b) != 0 {
		return event.Event{}, false
	}
	return e, true
}

// The fields whose strings seenStrings keeps.
const (
	fieldRun = iota
	fieldThread
	fieldNode
	fieldAgent
	fieldPath
	fieldID // the payload's message or call id
	fieldNone
)

// seenStrings holds the last string decoded per field: the lines of a batch mostly repeat them.
type seenStrings [fieldNone]string

// fastPayload decodes the payload of one type.
type fastPayload struct {
	typ    event.Type
	decode func(*parser) event.Payload
}

// fastPayloads are the payloads decodeFast knows, by type.
var fastPayloads = map[event.Type]fastPayload{
	event.MessageDelta: {event.MessageDelta, func(p *parser) event.Payload {
		id, delta := p.pair(`{"message_id":`)
		return event.MessageDeltaData{MessageID: id, Delta: delta}
	}},
	event.ReasoningDelta: {event.ReasoningDelta, func(p *parser) event.Payload {
		id, delta := p.pair(`{"message_id":`)
		return event.ReasoningDeltaData{MessageID: id, Delta: delta}
	}},
	event.ToolArgs: {event.ToolArgs, func(p *parser) event.Payload {
		id, delta := p.pair(`{"call_id":`)
		return event.ToolArgsData{CallID: id, Delta: delta}
	}},
}

// parser reads b from the front; once a step fails, bad is set and later steps do nothing.
type parser struct {
	b    []byte
	bad  bool
	seen *seenStrings
}

// lit consumes s.
func (p *parser) lit(s string) {
	if !p.bad && !bytes.HasPrefix(p.b, []byte(s)) {
		p.bad = true
	}
	if !p.bad {
		p.b = p.b[len(s):]
	}
}

// digits consumes a number written as AppendJSON writes a non-negative one (no sign, fraction,
// exponent or leading zero) that fits in bits bits.
func (p *parser) digits(bits int) uint64 {
	if p.bad {
		return 0
	}
	n := 0
	for n < len(p.b) && p.b[n] >= '0' && p.b[n] <= '9' {
		n++
	}
	if n == 0 || (n > 1 && p.b[0] == '0') {
		p.bad = true
		return 0
	}
	v, err := strconv.ParseUint(string(p.b[:n]), 10, bits)
	if err != nil {
		p.bad = true
		return 0
	}
	p.b = p.b[n:]
	return v
}

// token consumes a JSON string token and returns it with its quotes, and whether it is plain:
// valid UTF-8 without escapes, so its value is the bytes between the quotes.
func (p *parser) token() (tok []byte, plain bool) {
	if p.bad || len(p.b) == 0 || p.b[0] != '"' {
		p.bad = true
		return nil, false
	}
	plain = true
	ascii := true
	for i := 1; i < len(p.b); i++ {
		c := p.b[i]
		if c >= 0x20 && c < 0x80 && c != '"' && c != '\\' {
			continue
		}
		switch {
		case c == '"':
			tok, p.b = p.b[:i+1], p.b[i+1:]
			return tok, plain && (ascii || utf8.Valid(tok))
		case c == '\\':
			plain = false
			i++
		case c < 0x20:
			p.bad = true // not JSON
			return nil, false
		default:
			ascii = false
		}
	}
	p.bad = true
	return nil, false
}

// str consumes a JSON string of field f and returns its value; strings with escapes or invalid
// UTF-8 are decoded by encoding/json, as UnmarshalJSON would.
func (p *parser) str(f int) string {
	tok, plain := p.token()
	switch {
	case p.bad:
		return ""
	case plain && f < fieldNone:
		if v := tok[1 : len(tok)-1]; string(v) != p.seen[f] {
			p.seen[f] = string(v)
		}
		return p.seen[f]
	case plain:
		return string(tok[1 : len(tok)-1])
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		p.bad = true
	}
	return s
}

// optStr consumes key and a string of field f when the input continues with key.
func (p *parser) optStr(key string, f int) string {
	if p.bad || !bytes.HasPrefix(p.b, []byte(key)) {
		return ""
	}
	p.b = p.b[len(key):]
	return p.str(f)
}

// time consumes a time without escapes, decoded by time.Time's UnmarshalJSON as encoding/json
// would.
func (p *parser) time() time.Time {
	var t time.Time
	tok, plain := p.token()
	if !p.bad && (!plain || t.UnmarshalJSON(tok) != nil) {
		p.bad = true
	}
	return t
}

// payloadType consumes the event's type, which must be one decodeFast knows.
func (p *parser) payloadType() fastPayload {
	tok, plain := p.token()
	fast, ok := fastPayloads[event.Type(tok[min(1, len(tok)):max(0, len(tok)-1)])]
	if p.bad || !plain || !ok {
		p.bad = true
	}
	return fast
}

// pair consumes an object of two strings: head (`{"key":`) and a string, then "delta" and a string.
func (p *parser) pair(head string) (id, delta string) {
	p.lit(head)
	id = p.str(fieldID)
	p.lit(`,"delta":`)
	delta = p.str(fieldNone)
	p.lit(`}`)
	return id, delta
}
