package sdk

import (
	"encoding/binary"
	"fmt"
)

// Envelope parsing. The host encodes every event the same way (engine/event's MarshalJSON): the
// members v, type, seq, run_id, thread_id, time, node?, agent?, path?, data, in that order, with no
// whitespace. The fast path reads exactly that layout, matching each member's name and punctuation
// with two 8-byte word compares; anything else (another order, whitespace, escapes in the envelope's
// strings, unknown members) falls back to the general member loop, which reads any valid JSON.

// token is a short literal (at most 16 bytes) matched with word compares.
type token struct {
	w0, w1, m0, m1 uint64
	n              int
	s              string
}

func newToken(s string) token {
	var buf [16]byte
	copy(buf[:], s)
	t := token{w0: binary.LittleEndian.Uint64(buf[:8]), w1: binary.LittleEndian.Uint64(buf[8:]), n: len(s), s: s}
	for i := range len(s) {
		if i < 8 {
			t.m0 |= 0xff << (8 * i)
		} else {
			t.m1 |= 0xff << (8 * (i - 8))
		}
	}
	return t
}

// at reports whether b holds the token at i.
func (t *token) at(b []byte, i int) bool {
	if i >= 0 && i+16 <= len(b) {
		return load64(b, i)&t.m0 == t.w0 && load64(b, i+8)&t.m1 == t.w1
	}
	return t.atEnd(b, i)
}

// atEnd is at near the end of b.
func (t *token) atEnd(b []byte, i int) bool {
	return i >= 0 && i+t.n <= len(b) && string(b[i:i+t.n]) == t.s
}

var (
	tokV        = newToken(`{"v":`)
	tokType     = newToken(`,"type":`)
	tokSeq      = newToken(`,"seq":`)
	tokRunID    = newToken(`,"run_id":`)
	tokThreadID = newToken(`,"thread_id":`)
	tokTime     = newToken(`,"time":`)
	tokNode     = newToken(`,"node":`)
	tokAgent    = newToken(`,"agent":`)
	tokPath     = newToken(`,"path":`)
	tokData     = newToken(`,"data":`)
)

// plainString reads a string without escapes at i: its contents (a view) and the position after
// it; ok is false for anything else.
func plainString(b []byte, i int) (v string, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	j := plainRun(b, i+1)
	if j >= len(b) || b[j] != '"' {
		return "", i, false
	}
	return viewString(b[i+1 : j]), j + 1, true
}

// match says how a member of the engine's layout was found.
type match uint8

const (
	absent    match = iota // its token is not there
	found                  // read
	malformed              // its token is there but not the value the layout has
)

// fieldString reads the string member of token t at i, without escapes, into dst.
func fieldString(b []byte, i int, t *token, dst *string) (int, match) {
	if !t.at(b, i) {
		return i, absent
	}
	j := i + t.n
	if j >= len(b) || b[j] != '"' {
		return i, malformed
	}
	k := plainRun(b, j+1)
	if k >= len(b) || b[k] != '"' {
		return i, malformed
	}
	*dst = viewString(b[j+1 : k])
	return k + 1, found
}

// fieldUint reads the integer member of token t at i (at most 18 digits, no sign, fraction,
// exponent or leading zero) into dst.
func fieldUint(b []byte, i int, t *token, dst *uint64) (int, match) {
	if !t.at(b, i) {
		return i, absent
	}
	j := i + t.n
	start := j
	var n uint64
	for j < len(b) && j-start < 18 && b[j] >= '0' && b[j] <= '9' {
		n = n*10 + uint64(b[j]-'0')
		j++
	}
	if j == start || j >= len(b) || (b[start] == '0' && j > start+1) || (b[j] != ',' && b[j] != '}') {
		return i, malformed
	}
	*dst = n
	return j, found
}

// fastEnvelope reads an event in the engine's layout into e and its payload's members into c; it
// returns false, having changed nothing the general path relies on, when the event is laid out in
// any other way.
func (c *mapCall[S]) fastEnvelope(s *scanner, e *Event) bool {
	var v, seq uint64
	b, i := s.b, s.i
	var m [6]match
	i, m[0] = fieldUint(b, i, &tokV, &v)
	i, m[1] = fieldString(b, i, &tokType, &e.Type)
	i, m[2] = fieldUint(b, i, &tokSeq, &seq)
	i, m[3] = fieldString(b, i, &tokRunID, &e.RunID)
	i, m[4] = fieldString(b, i, &tokThreadID, &e.ThreadID)
	i, m[5] = fieldString(b, i, &tokTime, &e.Time)
	if m != [6]match{found, found, found, found, found, found} {
		return false
	}
	var o [3]match
	i, o[0] = fieldString(b, i, &tokNode, &e.Node)
	i, o[1] = fieldString(b, i, &tokAgent, &e.Agent)
	i, o[2] = fieldString(b, i, &tokPath, &e.Path)
	if o[0] == malformed || o[1] == malformed || o[2] == malformed || !tokData.at(b, i) {
		return false
	}
	e.V, e.Seq = int(v), seq
	s.i = i + tokData.n
	c.readData(s, e)
	if s.err != nil || s.i >= len(b) || b[s.i] != '}' {
		return false
	}
	s.i++
	return true
}

// readData reads the payload at the scanner into the event: its text and its member table.
func (c *mapCall[S]) readData(s *scanner, e *Event) {
	start := len(c.members)
	s.peek()
	from := s.i
	if from < len(s.b) && s.b[from] != '{' && s.b[from] != 'n' {
		s.fail("event data: want an object")
		return
	}
	c.members = s.members(c.members)
	if s.err != nil {
		return
	}
	e.Data, e.members, e.tabled = s.b[from:s.i], c.members[start:len(c.members):len(c.members)], true
	if string(e.Data) == "null" {
		e.Data = nil
	}
}

// parseEnvelope reads one event, by the fast path when it can.
func (c *mapCall[S]) parseEnvelope(s *scanner, e *Event) {
	s.peek()
	start, members := s.i, len(c.members)
	if c.fastEnvelope(s, e) {
		e.id, e.Type = intern(e.Type)
		return
	}
	*e = Event{Index: e.Index, arena: e.arena}
	s.i, c.members = start, c.members[:members]
	c.slowEnvelope(s, e)
}

// slowEnvelope reads one event's envelope member by member.
func (c *mapCall[S]) slowEnvelope(s *scanner, e *Event) {
	if !s.object("event") {
		if s.err == nil {
			s.fail(fmt.Sprintf("event %d is null", e.Index))
		}
		return
	}
	for n := 0; ; {
		k, ok := s.member(&n)
		if !ok {
			return
		}
		switch k {
		case "v":
			e.V = int(s.int())
		case "type":
			e.id, e.Type = intern(s.str())
		case "seq":
			e.Seq = s.uint()
		case "run_id":
			e.RunID = s.str()
		case "thread_id":
			e.ThreadID = s.str()
		case "time":
			e.Time = s.str()
		case "node":
			e.Node = s.str()
		case "agent":
			e.Agent = s.str()
		case "path":
			e.Path = s.str()
		case "data":
			c.readData(s, e)
		default:
			s.skip()
		}
	}
}
