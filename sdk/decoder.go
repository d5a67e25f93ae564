package sdk

import "encoding/json"

// Decoder reads one JSON text value by value, without reflection and without allocating: the
// reading half of JSON, for a StateCodec and for payloads the SDK does not decode itself.
//
//	if d.Object() {
//		for k, ok := d.Next(); ok; k, ok = d.Next() {
//			switch k {
//			case "open":
//				if d.Array() {
//					for d.More() {
//						s.Open = append(s.Open, d.String())
//					}
//				}
//			default:
//				d.Skip()
//			}
//		}
//	}
//
// Everything read is validated; the first error stops the decoder (later reads return zero values)
// and Err reports it with its byte offset. null reads as the zero value of whatever is asked for.
// Strings and raw values point into the input (or, for strings with escapes, into the decoder's
// scratch space), so they are valid as long as the input is: inside a mapping call, until the call
// returns.
type Decoder struct {
	s     scanner
	arena []byte
}

// NewDecoder returns a decoder of data.
func NewDecoder(data []byte) *Decoder {
	d := &Decoder{}
	d.reset(data, nil)
	return d
}

// reset points the decoder at data, decoding escaped strings into arena (its own when nil).
func (d *Decoder) reset(data []byte, arena *[]byte) {
	if arena == nil {
		d.arena = d.arena[:0]
		arena = &d.arena
	}
	d.s = scanner{b: data, arena: arena}
}

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.s.err }

// Object enters an object. It returns false for null (consumed) and, with an error, for any other
// value.
func (d *Decoder) Object() bool { return d.s.object("value") }

// Next moves to the next member of the object entered last and returns its key; false at the end of
// the object (consumed) or on error.
func (d *Decoder) Next() (string, bool) {
	n := 0
	if d.s.prevNonSpace() != '{' {
		n = 1
	}
	return d.s.member(&n)
}

// Array enters an array. It returns false for null (consumed) and, with an error, for any other
// value.
func (d *Decoder) Array() bool { return d.s.array("value") }

// More moves to the next element of the array entered last: false at its end (consumed) or on
// error.
func (d *Decoder) More() bool {
	n := 0
	if d.s.prevNonSpace() != '[' {
		n = 1
	}
	return d.s.element(&n)
}

// String reads a string.
func (d *Decoder) String() string { return d.s.str() }

// Int reads an integer.
func (d *Decoder) Int() int64 { return d.s.int() }

// Uint reads a non-negative integer.
func (d *Decoder) Uint() uint64 { return d.s.uint() }

// Bool reads true or false.
func (d *Decoder) Bool() bool { return d.s.bool() }

// Raw reads any value and returns its JSON text.
func (d *Decoder) Raw() json.RawMessage { return d.s.raw() }

// Skip passes over any value.
func (d *Decoder) Skip() { d.s.skip() }

// End checks that only whitespace follows: call it after the last value.
func (d *Decoder) End() { d.s.end() }

// prevNonSpace returns the last byte before the current position that is not whitespace, or 0.
func (s *scanner) prevNonSpace() byte {
	for j := s.i - 1; j >= 0; j-- {
		if c := s.b[j]; !isSpace(c) {
			return c
		}
	}
	return 0
}
