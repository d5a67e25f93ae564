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
		b = b[i : i+16]
		return binary.LittleEndian.Uint64(b)&t.m0 == t.w0 && binary.LittleEndian.Uint64(b[8:])&t.m1 == t.w1
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

// digits reads a non-negative integer without sign, fraction or exponent at i (at most 18 digits,
// no leading zero) followed by , or }.
func digits(b []byte, i int) (n uint64, next int, ok bool) {
	j := i
	for j < len(b) && j-i < 18 && b[j] >= '0' && b[j] <= '9' {
		n = n*10 + uint64(b[j]-'0')
		j++
	}
	if j == i || j >= len(b) || (b[i] == '0' && j > i+1) || (b[j] != ',' && b[j] != '}') {
		return 0, i, false
	}
	return n, j, true
}

// envField is one member of the engine's envelope layout: its token and where its value goes.
type envField struct {
	tok      *token
	str      *string
	num      *uint64
	optional bool
}

// fastEnvelope reads an event in the engine's layout into e and its payload's members into c; it
// returns false, having changed nothing the general path relies on, when the event is laid out in
// any other way.
func (c *mapCall[S]) fastEnvelope(s *scanner, e *Event) bool {
	var v, seq uint64
	fields := [...]envField{{tok: &tokV, num: &v}, {tok: &tokType, str: &e.Type}, {tok: &tokSeq, num: &seq},
		{tok: &tokRunID, str: &e.RunID}, {tok: &tokThreadID, str: &e.ThreadID}, {tok: &tokTime, str: &e.Time},
		{tok: &tokNode, str: &e.Node, optional: true}, {tok: &tokAgent, str: &e.Agent, optional: true},
		{tok: &tokPath, str: &e.Path, optional: true}}
	b, i := s.b, s.i
	ok := true
	for _, f := range fields {
		switch {
		case !f.tok.at(b, i) && f.optional:
			continue
		case !f.tok.at(b, i):
			return false
		case f.num != nil:
			*f.num, i, ok = digits(b, i+f.tok.n)
		default:
			*f.str, i, ok = plainString(b, i+f.tok.n)
		}
		if !ok {
			return false
		}
	}
	if !tokData.at(b, i) {
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
