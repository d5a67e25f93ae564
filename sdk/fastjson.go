package sdk

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// Inside WebAssembly, encoding/json costs about a microsecond even for `null` (its encoder state
// pool, reflection and type cache are slow there), which would be most of a no-op call. The result
// values tools return most often, and the error JSON, are therefore written here, byte for byte as
// encoding/json writes them with HTML escaping off (FuzzAppendScalar checks that).

// appendScalar appends v as JSON if it is nil, struct{}, a bool, a string, an int, int64, uint64, a
// finite float64 or a valid json.RawMessage; ok is false (and b unchanged) for anything else.
func appendScalar(b []byte, v any) (_ []byte, ok bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case struct{}:
		return append(b, "{}"...), true
	case bool:
		return strconv.AppendBool(b, x), true
	case string:
		return appendJSONString(b, x), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case float64:
		return appendJSONFloat(b, x)
	case json.RawMessage:
		if len(x) > 0 && json.Valid(x) {
			return append(b, x...), true
		}
	}
	return b, false
}

// appendJSONFloat formats f as encoding/json does (ES6 number formatting); NaN and infinities are
// not JSON and give ok false.
func appendJSONFloat(b []byte, f float64) (_ []byte, ok bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// shortEscapes are the two-character escapes encoding/json uses for ASCII bytes.
var shortEscapes = [utf8.RuneSelf]byte{'"': '"', '\\': '\\', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// appendJSONString appends s as a JSON string: invalid UTF-8 becomes U+FFFD, control characters,
// quotes, backslashes and U+2028/U+2029 are escaped, everything else is copied.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			if e := shortEscapes[c]; e != 0 {
				b = append(b, '\\', e)
			} else {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendErrorJSON appends the error JSON {"message":...,"code":...} of statuses 1 and 2.
func appendErrorJSON(b []byte, code, msg string) []byte {
	b = append(b, `{"message":`...)
	b = appendJSONString(b, msg)
	if code != "" {
		b = append(b, `,"code":`...)
		b = appendJSONString(b, code)
	}
	return append(b, '}')
}
