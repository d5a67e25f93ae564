package sdk

import (
	"fmt"
)

// An event's payload is scanned once, when its batch is parsed: that pass validates it and records
// where each of its top-level members is (a member table). A typed decoder (Event.MessageDelta...)
// then reads only the members it knows, from the table, without scanning the payload again.

// member is one top-level member of a payload object: its key and its value's JSON text.
type member struct {
	key string
	val []byte
	// esc is set for a string value holding escapes (it must be decoded, not viewed).
	esc bool
}

// members reads an object (or null, which leaves dst as it is) into dst, one entry per member,
// validating every value. Keys with escapes are decoded into the arena.
func (s *scanner) members(dst []member) []member {
	if out, next, ok := fastMembers(s.b, s.i, dst); ok {
		s.i = next
		return out
	}
	if !s.object("data") {
		return dst
	}
	b := s.b
	for n := 0; ; n++ {
		k, ok := s.memberKey(n)
		if !ok {
			return dst
		}
		start := s.i
		if start >= len(b) || b[start] <= ' ' {
			s.peek()
			start = s.i
		}
		var esc bool
		if start < len(b) && b[start] == '"' {
			esc = s.skipString()
		} else {
			s.skip()
		}
		if s.err != nil {
			return dst
		}
		dst = append(dst, member{key: k, val: b[start:s.i], esc: esc})
		if s.i < len(b) && b[s.i] == '}' {
			s.i++
			return dst
		}
	}
}

// fastMembers reads an object laid out as the engine writes payloads whose members are strings
// (message and tool deltas): no whitespace, keys without escapes, string values. ok is false, with
// dst as it was, for anything else, which members then reads in general.
func fastMembers(b []byte, i int, dst []member) (out []member, next int, ok bool) {
	if i >= len(b) || b[i] != '{' {
		return dst, i, false
	}
	n0 := len(dst)
	if i++; i < len(b) && b[i] == '}' {
		return dst, i + 1, true
	}
	for i < len(b) && b[i] == '"' {
		m, end, ok := fastMember(b, i)
		if !ok {
			break
		}
		dst = append(dst, m)
		switch i = end; {
		case i < len(b) && b[i] == ',':
			i++
		case i < len(b) && b[i] == '}':
			return dst, i + 1, true
		default:
			return dst[:n0], 0, false
		}
	}
	return dst[:n0], 0, false
}

// fastMember reads "key":"value" at i (a key without escapes, a string value) and returns the
// position after it.
func fastMember(b []byte, i int) (member, int, bool) {
	k := plainRun(b, i+1)
	if k+2 >= len(b) || b[k] != '"' || b[k+1] != ':' || b[k+2] != '"' {
		return member{}, i, false
	}
	end, esc, problem := stringEnd(b, k+3)
	if problem != "" {
		return member{}, i, false
	}
	return member{key: viewString(b[i+1 : k]), val: b[k+2 : end+1], esc: esc}, end + 1, true
}

// memberKey reads the key of member n of an object (and the colon after it); false at the end of
// the object or on error. The engine's layout (a comma, a key without escapes, a colon, no
// whitespace) is read directly; anything else by member.
func (s *scanner) memberKey(n int) (string, bool) {
	b, i := s.b, s.i
	if n > 0 && i < len(b) && b[i] == ',' {
		i++
	}
	if n == 0 || i > s.i {
		if k, j, ok := plainString(b, i); ok && j < len(b) && b[j] == ':' {
			s.i = j + 1
			return k, true
		}
	}
	return s.member(&n)
}

// table returns the event's member table, building it for an Event made outside a batch.
func (e *Event) table() []member {
	if !e.tabled {
		e.tabled = true
		if len(e.Data) > 0 {
			s := scanner{b: e.Data, arena: e.arena}
			e.members = s.members(nil)
			s.end()
			e.check(&s)
		}
	}
	return e.members
}

// fieldError records that member m's value is not of the kind wanted.
func (e *Event) fieldError(m *member, want string) {
	if e.err == nil {
		e.err = fmt.Errorf("event %d (%s, seq %d): data.%s: want %s, got %.40s", e.Index, e.Type, e.Seq, m.key, want, m.val)
	}
}

// str decodes a string member (null reads as "").
func (e *Event) str(m *member) string {
	v := m.val
	switch {
	case len(v) >= 2 && v[0] == '"' && !m.esc:
		return viewString(v[1 : len(v)-1])
	case len(v) >= 2 && v[0] == '"':
		s := scanner{b: v, arena: e.arena}
		return s.str()
	case string(v) == "null":
		return ""
	}
	e.fieldError(m, "a string")
	return ""
}

// int decodes an integer member (null reads as 0).
func (e *Event) int(m *member) int64 {
	s := scanner{b: m.val}
	n := s.int()
	if s.err != nil {
		e.fieldError(m, "an integer")
	}
	return n
}

// uint decodes a non-negative integer member (null reads as 0).
func (e *Event) uint(m *member) uint64 {
	s := scanner{b: m.val}
	n := s.uint()
	if s.err != nil {
		e.fieldError(m, "a non-negative integer")
	}
	return n
}

// bool decodes a boolean member (null reads as false).
func (e *Event) bool(m *member) bool {
	switch string(m.val) {
	case "true":
		return true
	case "false", "null":
		return false
	}
	e.fieldError(m, "true or false")
	return false
}

// raw returns a member's value as JSON text; null gives nil.
func (e *Event) raw(m *member) []byte {
	if string(m.val) == "null" {
		return nil
	}
	return m.val
}

// nested decodes an object or array member with fn, which reads it from a scanner.
func (e *Event) nested(m *member, fn func(s *scanner)) {
	s := scanner{b: m.val, arena: e.arena}
	fn(&s)
	if s.err != nil && e.err == nil {
		e.err = fmt.Errorf("event %d (%s, seq %d): data.%s: %w", e.Index, e.Type, e.Seq, m.key, s.err)
	}
}

// usage decodes a usage member.
func (e *Event) usage(m *member) (u Usage) {
	e.nested(m, func(s *scanner) { u = s.usage() })
	return u
}

// errorObject decodes an error member; set is false for null.
func (e *Event) errorObject(m *member) (er Error, set bool) {
	e.nested(m, func(s *scanner) { er, set = s.errorObject() })
	return er, set
}

// approval decodes an approval member.
func (e *Event) approval(m *member) (a Approval) {
	e.nested(m, func(s *scanner) { a = s.approval() })
	return a
}

// approvals decodes an array of approvals.
func (e *Event) approvals(m *member) (as []Approval) {
	e.nested(m, func(s *scanner) {
		if s.array("approvals") {
			for i := 0; s.element(&i); {
				as = append(as, s.approval())
			}
		}
	})
	return as
}

// strings decodes an array of strings.
func (e *Event) strings(m *member) (ss []string) {
	e.nested(m, func(s *scanner) {
		if s.array(m.key) {
			for i := 0; s.element(&i); {
				ss = append(ss, s.str())
			}
		}
	})
	return ss
}
