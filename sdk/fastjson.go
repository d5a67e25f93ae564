package sdk

import (
	"encoding/json"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
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
		if len(x) > 0 && validJSON(x) {
			return append(b, x...), true
		}
	}
	return b, false
}

// maxQuickJSON is the longest text validJSON checks with the SDK's scanner (FuzzScanner holds it to
// json.Valid): too short to nest deeper than both accept.
const maxQuickJSON = 16 << 10

// validJSON reports whether b is one valid JSON value, as json.Valid does; encoding/json's scanner
// calls a function per byte, which is slow in WebAssembly.
func validJSON(b []byte) bool {
	if len(b) > maxQuickJSON {
		return json.Valid(b)
	}
	s := scanner{b: b}
	s.skip()
	s.end()
	return s.err == nil
}

// appendJSONFloat formats f as encoding/json does (ES6 number formatting); NaN and infinities are
// not JSON and give ok false.
func appendJSONFloat(b []byte, f float64) (_ []byte, ok bool) {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		// A whole number below 2^53 is written as its integer digits: the shortest decimal that
		// reads back as f has no more digits, and 'f' formatting pads it back to the integer.
		if f == 0 && math.Signbit(f) {
			return append(b, "-0"...), true
		}
		return strconv.AppendInt(b, int64(f), 10), true
	}
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

// Word-at-a-time scanning (SWAR). Go compiled to WebAssembly runs a byte loop about ten times
// slower than natively but a loop over 8-byte words only four to five times slower, so the hot
// loops over string bytes, decoding and encoding, test eight bytes at once and fall back to bytes
// only around the bytes that need care.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// quoteOrControl has the high bit of a byte set if some byte of x is '"', '\\' or below 0x20 (the
// bytes a JSON string cannot hold as they are). The lowest flagged byte is exactly the first such
// byte (little-endian); bytes after it may be flagged wrongly, by borrows.
func quoteOrControl(x uint64) uint64 {
	q, bs := x^(lsb*'"'), x^(lsb*'\\')
	return ((x - lsb*0x20) | (q - lsb) | (bs - lsb)) & ^x & ^q & ^bs & msb
}

// plainRun returns the position of the first byte at or after j that is '"', '\\' or below 0x20,
// or len(b).
func plainRun(b []byte, j int) int {
	n := len(b)
	for j >= 0 && j+8 <= n {
		if m := quoteOrControl(load64(b, j)); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
		j += 8
	}
	if j >= 0 && j < n && n >= 8 {
		// The last word, overlapping the bytes already passed, which are made harmless so that no
		// borrow from them flags a byte after j.
		k := n - 8
		if m := quoteOrControl(maskBefore(load64(b, k), j-k)); m != 0 {
			return k + bits.TrailingZeros64(m)>>3
		}
		return n
	}
	for j < n && strPlain[b[j]] {
		j++
	}
	return j
}

// maskBefore replaces the first k bytes of the word x (k < 8) with 'a', a byte no test flags.
func maskBefore(x uint64, k int) uint64 {
	low := uint64(1)<<(8*uint(k)) - 1
	return x&^low | lsb*'a'&low
}

// shortWord returns the bytes of s (shorter than 8) as a word, padded with 'a'. The fallthrough
// chain reads them without a loop: in WebAssembly every loop iteration costs a jump, and with a
// host that can stop its guests (wazero's WithCloseOnContextDone) a check at each.
func shortWord(s string) uint64 {
	x := uint64(lsb * 'a')
	switch len(s) {
	case 7:
		x = x&^(0xff<<48) | uint64(s[6])<<48
		fallthrough
	case 6:
		x = x&^(0xff<<40) | uint64(s[5])<<40
		fallthrough
	case 5:
		x = x&^(0xff<<32) | uint64(s[4])<<32
		fallthrough
	case 4:
		x = x&^(0xff<<24) | uint64(s[3])<<24
		fallthrough
	case 3:
		x = x&^(0xff<<16) | uint64(s[2])<<16
		fallthrough
	case 2:
		x = x&^(0xff<<8) | uint64(s[1])<<8
		fallthrough
	case 1:
		x = x&^0xff | uint64(s[0])
	}
	return x
}

// load64 returns the 8 bytes of b at i, little-endian, without a bounds check: the caller has
// checked that 0 <= i and i+8 <= len(b). (binary.LittleEndian.Uint64 of a subslice costs two more
// checks, which matter in WebAssembly's hot loops.)
func load64(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// asciiRun returns the position of the first byte at or after i that encoding a JSON string must
// look at: '"', '\\', below 0x20, or not ASCII; or len(s).
func asciiRun(s string, i int) int {
	n := len(s)
	if i == 0 && n < 8 {
		if m := attention(shortWord(s)); m != 0 {
			return bits.TrailingZeros64(m) >> 3
		}
		return n
	}
	b := stringBytes(s)
	for i >= 0 && i+8 <= n {
		if m := attention(load64(b, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if i >= 0 && i < n && n >= 8 {
		k := n - 8
		if m := attention(maskBefore(load64(b, k), i-k)); m != 0 {
			return k + bits.TrailingZeros64(m)>>3
		}
		return n
	}
	for i < n && s[i] < utf8.RuneSelf && strPlain[s[i]] {
		i++
	}
	return i
}

// attention flags the bytes of x that encoding a JSON string must look at (exactly the first).
func attention(x uint64) uint64 { return quoteOrControl(x) | x&msb }

// shortEscapes are the two-character escapes encoding/json uses for ASCII bytes.
var shortEscapes = [utf8.RuneSelf]byte{'"': '"', '\\': '\\', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// appendJSONString appends s as a JSON string: invalid UTF-8 becomes U+FFFD, control characters,
// quotes, backslashes and U+2028/U+2029 are escaped, everything else is copied.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = asciiRun(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
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

// The decoding half: a scanner over one JSON text that reads exactly the values a caller asks for
// and validates everything it passes over (RFC 8259: strings, numbers, literals, nesting), without
// reflection and without allocating. Strings without escapes are returned as views of the input;
// strings with escapes are decoded into an arena the caller owns (reset per batch). Both kinds are
// valid only while the input and the arena are: the SDK guarantees that for the duration of one
// fleet_map call.

// maxDepth bounds the nesting the scanner follows, as encoding/json does.
const maxDepth = 10000

// strPlain marks the bytes that may appear unescaped inside a JSON string without ending it.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner reads JSON from b, from position i. The first error stops it: every later read returns a
// zero value, and err names the first problem and its byte offset.
type scanner struct {
	b     []byte
	i     int
	err   error
	arena *[]byte
}

// scanError is a malformed-input error with the byte offset it was found at.
type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return "at byte " + strconv.Itoa(e.off) + ": " + e.msg }

// fail records msg as the error (if none is recorded yet) and stops the scanner.
func (s *scanner) fail(msg string) {
	if s.err == nil {
		s.err = &scanError{off: s.i, msg: msg}
	}
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		if c := s.b[s.i]; c > ' ' {
			return c
		}
	}
	return s.peekSpace()
}

// peekSpace is peek's slow path, past whitespace.
func (s *scanner) peekSpace() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// null consumes a null literal if one is next and reports whether it did.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		s.literal("null")
		return s.err == nil
	}
	return false
}

func (s *scanner) literal(lit string) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		s.fail("invalid literal")
		return
	}
	s.i += len(lit)
}

// object consumes the opening brace of an object. It returns false, consuming it, for null, and
// false with an error for anything else.
func (s *scanner) object(what string) bool {
	switch s.peek() {
	case '{':
		s.i++
		return true
	case 'n':
		s.null()
		return false
	}
	s.fail(what + ": want an object")
	return false
}

// member advances to the next member of an object entered with object: it returns its key, or
// false at the closing brace (consumed) or on error. n counts the members read so far.
func (s *scanner) member(n *int) (string, bool) {
	c := s.peek()
	if c == '}' {
		s.i++
		return "", false
	}
	if *n > 0 {
		if c != ',' {
			s.fail("want , or } in object")
			return "", false
		}
		s.i++
		c = s.peek()
	}
	if c != '"' {
		s.fail("want a string key")
		return "", false
	}
	*n++
	k := s.str()
	if s.peek() != ':' {
		s.fail("want : after key")
		return "", false
	}
	s.i++
	return k, s.err == nil
}

// array consumes the opening bracket of an array; null and other values as for object.
func (s *scanner) array(what string) bool {
	switch s.peek() {
	case '[':
		s.i++
		return true
	case 'n':
		s.null()
		return false
	}
	s.fail(what + ": want an array")
	return false
}

// element advances to the next element of an array entered with array: false at the closing
// bracket (consumed) or on error.
func (s *scanner) element(n *int) bool {
	c := s.peek()
	if c == ']' {
		s.i++
		return false
	}
	if *n > 0 {
		if c != ',' {
			s.fail("want , or ] in array")
			return false
		}
		s.i++
	}
	*n++
	return s.err == nil
}

// str reads a string value (null reads as ""). It fails on anything else.
func (s *scanner) str() string {
	switch s.peek() {
	case '"':
	case 'n':
		s.null()
		return ""
	default:
		s.fail("want a string")
		return ""
	}
	b := s.b
	start := s.i + 1
	j := plainRun(b, start)
	switch {
	case j >= len(b):
		s.i = len(b)
		s.fail("unterminated string")
		return ""
	case b[j] == '"':
		s.i = j + 1
		return viewString(b[start:j])
	case b[j] == '\\':
		return s.escaped(start, j)
	}
	s.i = j
	s.fail("control character in string")
	return ""
}

// escaped decodes a string with escapes into the arena; plain holds its bytes up to the first one.
func (s *scanner) escaped(start, j int) string {
	var scratch []byte
	arena := &scratch
	if s.arena != nil {
		arena = s.arena
	}
	out := append(*arena, s.b[start:j]...)
	from := len(*arena)
	b := s.b
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			s.i = j + 1
			*arena = out
			return viewString(out[from:])
		case c == '\\':
			var ok bool
			if out, j, ok = unescape(out, b, j); !ok {
				s.i = j
				s.fail("invalid escape in string")
				return ""
			}
		case c < 0x20:
			s.i = j
			s.fail("control character in string")
			return ""
		default:
			out = append(out, c)
			j++
		}
	}
	s.i = len(b)
	s.fail("unterminated string")
	return ""
}

// unescape decodes the escape at b[j] (a backslash) onto out and returns the position after it.
// Surrogate pairs are joined; a lone surrogate becomes U+FFFD, as encoding/json decodes it.
func unescape(out, b []byte, j int) ([]byte, int, bool) {
	if j+1 >= len(b) {
		return out, j, false
	}
	switch c := b[j+1]; c {
	case '"', '\\', '/':
		return append(out, c), j + 2, true
	case 'b':
		return append(out, '\b'), j + 2, true
	case 'f':
		return append(out, '\f'), j + 2, true
	case 'n':
		return append(out, '\n'), j + 2, true
	case 'r':
		return append(out, '\r'), j + 2, true
	case 't':
		return append(out, '\t'), j + 2, true
	case 'u':
		return unescapeU(out, b, j)
	}
	return out, j, false
}

// unescapeU decodes the \\u escape at b[j], joining a surrogate pair; a lone surrogate becomes
// U+FFFD, as encoding/json decodes it.
func unescapeU(out, b []byte, j int) ([]byte, int, bool) {
	r, ok := hex4(b, j+2)
	if !ok {
		return out, j, false
	}
	j += 6
	if !utf16IsSurrogate(r) {
		return utf8.AppendRune(out, r), j, true
	}
	r2, ok2 := rune(-1), false
	if j+1 < len(b) && b[j] == '\\' && b[j+1] == 'u' {
		r2, ok2 = hex4(b, j+2)
	}
	if dec := utf16Decode(r, r2); ok2 && dec != utf8.RuneError {
		return utf8.AppendRune(out, dec), j + 6, true
	}
	return utf8.AppendRune(out, utf8.RuneError), j, true
}

func hex4(b []byte, j int) (rune, bool) {
	if j+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[j : j+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func utf16IsSurrogate(r rune) bool { return 0xd800 <= r && r < 0xe000 }

// utf16Decode joins a surrogate pair; anything else gives U+FFFD.
func utf16Decode(r1, r2 rune) rune {
	if 0xd800 <= r1 && r1 < 0xdc00 && 0xdc00 <= r2 && r2 < 0xe000 {
		return (r1-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
	}
	return utf8.RuneError
}

// viewString returns the bytes of b as a string without copying. The string is valid as long as
// b's bytes are not changed.
func viewString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// number validates a JSON number at the current position and returns its bytes and whether it is
// an integer (no fraction, no exponent).
func (s *scanner) number() ([]byte, bool) {
	b, start := s.b, s.i
	j := intPart(b, start)
	integer := true
	if j >= 0 && j < len(b) && b[j] == '.' {
		integer, j = false, mustDigits(b, j+1)
	}
	if j >= 0 && j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		if j++; j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		integer, j = false, mustDigits(b, j)
	}
	if j < 0 {
		s.i = -j - 1
		s.fail("invalid number")
		return nil, false
	}
	s.i = j
	return b[start:j], integer
}

// intPart reads the sign and integer part of a number at j: the position after it, or -j-1.
func intPart(b []byte, j int) int {
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		return j + 1
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		return digitRun(b, j+1)
	}
	return -j - 1
}

// digitRun returns the position of the first byte at or after j that is not a decimal digit.
func digitRun(b []byte, j int) int {
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	return j
}

// mustDigits is digitRun for at least one digit; without one it returns -j-1.
func mustDigits(b []byte, j int) int {
	if k := digitRun(b, j); k > j {
		return k
	}
	return -j - 1
}

// int reads an integer value (null reads as 0).
func (s *scanner) int() int64 {
	switch c := s.peek(); {
	case c == 'n':
		s.null()
		return 0
	case c != '-' && (c < '0' || c > '9'):
		s.fail("want a number")
		return 0
	}
	start := s.i
	num, integer := s.number()
	if s.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(viewString(num), 10, 64)
	if !integer || err != nil {
		s.i = start
		s.fail("want an integer in range")
		return 0
	}
	return n
}

// uint reads a non-negative integer value (null reads as 0).
func (s *scanner) uint() uint64 {
	start := s.i
	if s.peek() == '-' {
		s.fail("want a non-negative integer")
		return 0
	}
	n := s.int()
	if n < 0 {
		s.i = start
		s.fail("want a non-negative integer")
	}
	return uint64(n)
}

// bool reads true or false (null reads as false).
func (s *scanner) bool() bool {
	switch s.peek() {
	case 't':
		s.literal("true")
		return s.err == nil
	case 'f':
		s.literal("false")
	case 'n':
		s.null()
	default:
		s.fail("want true or false")
	}
	return false
}

// raw reads any value and returns its bytes (a view of the input); null is returned as "null".
func (s *scanner) raw() []byte {
	s.ws()
	start := s.i
	s.skip()
	if s.err != nil {
		return nil
	}
	return s.b[start:s.i]
}

// skip passes over one value of any kind, validating it.
func (s *scanner) skip() { s.skipDepth(0) }

func (s *scanner) skipDepth(depth int) {
	if depth > maxDepth {
		s.fail("nested too deep")
		return
	}
	switch c := s.peek(); {
	case c == '"':
		s.skipString()
	case c == '{':
		s.i++
		for n := 0; ; {
			if _, ok := s.member(&n); !ok {
				return
			}
			s.skipDepth(depth + 1)
		}
	case c == '[':
		s.i++
		for n := 0; s.element(&n); {
			s.skipDepth(depth + 1)
		}
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	default:
		s.fail("want a value")
	}
}

// skipString passes over a string, validating its escapes, and reports whether it holds any.
func (s *scanner) skipString() (escaped bool) {
	end, escaped, problem := stringEnd(s.b, s.i+1)
	if problem != "" {
		s.i = end
		s.fail(problem)
		return false
	}
	s.i = end + 1
	return escaped
}

// stringEnd finds the closing quote of the string whose contents start at j, validating escapes
// and reporting whether there are any; on a problem it returns its position and description.
func stringEnd(b []byte, j int) (end int, escaped bool, problem string) {
	for ; j < len(b); j++ {
		if j = plainRun(b, j); j >= len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			return j, escaped, ""
		case c != '\\':
			return j, false, "control character in string"
		case j+1 < len(b) && strings.IndexByte(`"\\/bfnrt`, b[j+1]) >= 0:
			escaped, j = true, j+1
		case j+1 < len(b) && b[j+1] == 'u':
			if _, ok := hex4(b, j+2); !ok {
				return j, false, "invalid escape in string"
			}
			escaped, j = true, j+5
		default:
			return j, false, "invalid escape in string"
		}
	}
	return len(b), false, "unterminated string"
}

// end checks that nothing but whitespace follows the value read.
func (s *scanner) end() {
	if s.peek() != 0 || s.i < len(s.b) {
		s.fail("data after the value")
	}
}
