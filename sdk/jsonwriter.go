package sdk

import (
	"slices"
	"strconv"
)

// JSON is an append-based JSON writer: no reflection, no encoding/json, no allocation once its
// buffer has grown. Mappers write frames with it (see Frames.Frame), and anyone may use it for
// other JSON, such as a state codec.
//
// Every method takes a key first. Inside an object the key names the member; inside an array, and
// for a top-level value, pass "" (an empty key writes no key). Commas are inserted as needed.
// Object and Array open a container that End closes; methods return the writer so calls chain:
//
//	j.Object("").String("type", "TEXT_MESSAGE_CONTENT").String("delta", d).End()
//
// Strings are escaped as encoding/json escapes them with HTML escaping off: quotes, backslashes,
// control characters and U+2028/U+2029 are escaped and invalid UTF-8 becomes U+FFFD, so the output
// never holds a raw newline. The zero JSON is empty and ready to use. Nesting is limited to 64
// levels; deeper containers panic.
type JSON struct {
	buf []byte
	// depth is the number of open containers; arrays has bit d set when container d is an array.
	depth  uint8
	arrays uint64
	// line ends the text with a newline when the outermost container closes (frame lines).
	line bool
}

// Bytes returns the text written so far. It aliases the writer's buffer.
func (j *JSON) Bytes() []byte { return j.buf }

// Len returns the number of bytes written.
func (j *JSON) Len() int { return len(j.buf) }

// Reset empties the writer, keeping its buffer.
func (j *JSON) Reset() {
	j.buf, j.depth, j.arrays = j.buf[:0], 0, 0
}

// Depth returns the number of containers open.
func (j *JSON) Depth() int { return int(j.depth) }

// key writes the separator and, unless k is empty, the key.
func (j *JSON) key(k string) {
	if n := len(j.buf); n > 0 {
		switch j.buf[n-1] {
		case '{', '[', ':', ' ', '\n':
		default:
			j.buf = append(j.buf, ',')
		}
	}
	if k != "" {
		j.buf = appendJSONString(j.buf, k)
		j.buf = append(j.buf, ':')
	}
}

// Object opens an object.
func (j *JSON) Object(k string) *JSON {
	j.key(k)
	j.open('{', 0)
	return j
}

// Array opens an array.
func (j *JSON) Array(k string) *JSON {
	j.key(k)
	j.open('[', 1)
	return j
}

func (j *JSON) open(c byte, array uint64) {
	if j.depth >= 64 {
		panic("sdk: JSON nested deeper than 64 levels")
	}
	j.buf = append(j.buf, c)
	j.arrays = j.arrays&^(1<<j.depth) | array<<j.depth
	j.depth++
}

// End closes the innermost open container. It panics when none is open.
func (j *JSON) End() *JSON {
	if j.depth == 0 {
		panic("sdk: JSON.End without an open object or array")
	}
	j.depth--
	if j.arrays&(1<<j.depth) != 0 {
		j.buf = append(j.buf, ']')
	} else {
		j.buf = append(j.buf, '}')
	}
	if j.depth == 0 && j.line {
		j.buf = append(j.buf, '\n')
	}
	return j
}

// String writes a string.
func (j *JSON) String(k, v string) *JSON {
	if k != "" && asciiRun(k, 0) == len(k) && asciiRun(v, 0) == len(v) {
		j.plainPair(k, v)
		return j
	}
	j.key(k)
	j.buf = appendJSONString(j.buf, v)
	return j
}

// plainPair writes the member "k":"v" of a key and a value that need no escaping with one
// capacity check and two copies: appending piece by piece costs several times more inside
// WebAssembly, where this is the hot path of every frame.
func (j *JSON) plainPair(k, v string) {
	n := len(j.buf)
	comma := 0
	if n > 0 {
		switch j.buf[n-1] {
		case '{', '[', ':', ' ', '\n':
		default:
			comma = 1
		}
	}
	total := comma + len(k) + len(v) + 5
	if cap(j.buf)-n < total {
		j.buf = slices.Grow(j.buf, total)
	}
	b := j.buf[n : n+total]
	if comma == 1 {
		b[0] = ','
	}
	b[comma] = '"'
	i := comma + 1 + copy(b[comma+1:], k)
	b[i], b[i+1], b[i+2] = '"', ':', '"'
	i += 3 + copy(b[i+3:], v)
	b[i] = '"'
	j.buf = j.buf[:n+total]
}

// OptString writes a string unless it is empty, in which case it writes nothing (key included):
// optional fields are omitted, never null.
func (j *JSON) OptString(k, v string) *JSON {
	if v != "" {
		j.String(k, v)
	}
	return j
}

// StringBytes writes v as a string, for text held in a byte slice: for example, a JSON value sent
// as a string of its text.
func (j *JSON) StringBytes(k string, v []byte) *JSON {
	return j.String(k, viewString(v))
}

// Int writes an integer.
func (j *JSON) Int(k string, v int64) *JSON {
	j.key(k)
	j.buf = strconv.AppendInt(j.buf, v, 10)
	return j
}

// Uint writes a non-negative integer.
func (j *JSON) Uint(k string, v uint64) *JSON {
	j.key(k)
	j.buf = strconv.AppendUint(j.buf, v, 10)
	return j
}

// Float writes a number as encoding/json formats it; NaN and infinities, which JSON cannot hold,
// are written as null.
func (j *JSON) Float(k string, v float64) *JSON {
	j.key(k)
	if b, ok := appendJSONFloat(j.buf, v); ok {
		j.buf = b
	} else {
		j.buf = append(j.buf, "null"...)
	}
	return j
}

// Bool writes true or false.
func (j *JSON) Bool(k string, v bool) *JSON {
	j.key(k)
	j.buf = strconv.AppendBool(j.buf, v)
	return j
}

// Null writes null.
func (j *JSON) Null(k string) *JSON {
	j.key(k)
	j.buf = append(j.buf, "null"...)
	return j
}

// Raw writes v, JSON text encoded already, as it is; empty v writes null. The caller vouches for
// v: it must be one valid JSON value without raw newlines (values the SDK decoded, such as
// Event.Data and the json.RawMessage fields of payloads, are).
func (j *JSON) Raw(k string, v []byte) *JSON {
	j.key(k)
	v = trimSpace(v)
	if len(v) == 0 {
		v = nullJSON
	}
	j.buf = append(j.buf, v...)
	return j
}

// trimSpace drops JSON whitespace around v, so that a raw value never ends in a separator the
// comma logic would misread.
func trimSpace(v []byte) []byte {
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// OptRaw writes v as Raw does unless v is empty or null, in which case it writes nothing.
func (j *JSON) OptRaw(k string, v []byte) *JSON {
	if v = trimSpace(v); len(v) > 0 && string(v) != "null" {
		j.Raw(k, v)
	}
	return j
}

var nullJSON = []byte("null")
