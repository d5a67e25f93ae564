// Package expr evaluates arithmetic expressions safely (a recursive-descent parser, no eval): the
// logic of the first-party calc plugin, importable so that it can also run natively (benchmarks).
package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The evaluator runs inside WebAssembly, where every function call and most taken branches cost a
// loop iteration of the guest, and each one a round trip through the host when the host can stop
// its guests: the hot path therefore avoids function values, maps, per-character library calls
// (strings.IndexByte), defers and allocations. Error paths may be slow.

// Limits on an expression.
const (
	maxExprLen = 1000 // bytes
	maxDepth   = 64   // nested parentheses, function calls, unary operators and powers
	maxArgs    = 64   // arguments of one min or max call
)

// Error is an error in an expression: its code is a tool error code and pos the 1-based
// character position it refers to (0: the expression as a whole).
type Error struct {
	code string
	pos  int
	msg  string
}

// Code is the error's tool error code ("division_by_zero", "syntax", ...).
func (e *Error) Code() string { return e.code }

// Pos is the 1-based character position the error refers to (0: the expression as a whole).
func (e *Error) Pos() int { return e.pos }

// Error implements error.
func (e *Error) Error() string {
	if e.pos > 0 {
		return fmt.Sprintf("%s at position %d", e.msg, e.pos)
	}
	return e.msg
}

// function is an entry of the function table: its name and arity.
type function struct {
	name             string
	minArgs, maxArgs int
}

// The callable functions, indexes into functions.
const (
	fnSqrt = iota
	fnAbs
	fnFloor
	fnCeil
	fnRound
	fnMin
	fnMax
)

var functions = [...]function{
	fnSqrt: {"sqrt", 1, 1}, fnAbs: {"abs", 1, 1}, fnFloor: {"floor", 1, 1}, fnCeil: {"ceil", 1, 1},
	fnRound: {"round", 1, 2}, fnMin: {"min", 1, maxArgs}, fnMax: {"max", 1, maxArgs},
}

// lookupName returns a constant's value, or the index of a function (isFn true); ok is false for an
// unknown name. name is lower case.
func lookupName(name string) (v float64, fn int, isFn, ok bool) {
	switch name {
	case "pi":
		return math.Pi, 0, false, true
	case "e":
		return math.E, 0, false, true
	case "sqrt":
		return 0, fnSqrt, true, true
	case "abs":
		return 0, fnAbs, true, true
	case "floor":
		return 0, fnFloor, true, true
	case "ceil":
		return 0, fnCeil, true, true
	case "round":
		return 0, fnRound, true, true
	case "min":
		return 0, fnMin, true, true
	case "max":
		return 0, fnMax, true, true
	}
	return 0, 0, false, false
}

// argList is what the arguments of a call come to: their count, the first two, and the fold of
// all of them by the function's min or max, left to right.
type argList struct {
	n      int
	a0, a1 float64
	fold   float64
}

// add appends the value v of argument number a.n to the list of a call of fn.
func (a *argList) add(fn int, v float64) {
	switch {
	case a.n == 0:
		a.a0, a.fold = v, v
	case fn == fnMin:
		a.fold = math.Min(a.fold, v)
	case fn == fnMax:
		a.fold = math.Max(a.fold, v)
	}
	if a.n == 1 {
		a.a1 = v
	}
	a.n++
}

// apply computes function fn of a (within its arity); it returns a domain error message, or "".
func apply(fn int, a argList) (float64, string) {
	switch fn {
	case fnSqrt:
		if a.a0 < 0 {
			return 0, "sqrt of a negative number"
		}
		return math.Sqrt(a.a0), ""
	case fnAbs:
		return math.Abs(a.a0), ""
	case fnFloor:
		return math.Floor(a.a0), ""
	case fnCeil:
		return math.Ceil(a.a0), ""
	case fnRound:
		return roundTo(a)
	}
	return a.fold, "" // min, max
}

// roundTo rounds half away from zero, to a.a1 decimal places when given (0 to 15).
func roundTo(a argList) (float64, string) {
	if a.n == 1 {
		return math.Round(a.a0), ""
	}
	digits := a.a1
	if digits != math.Trunc(digits) || digits < 0 || digits > 15 {
		return 0, "round: decimal places must be a whole number from 0 to 15"
	}
	scale := math.Pow(10, digits)
	return math.Round(a.a0*scale) / scale, ""
}

// evaluate computes an arithmetic expression: + - * / % ^ (right-associative, binding tighter than
// unary minus: -2^2 = -4), parentheses, decimals with optional exponent, the functions above and the
// constants pi and e.
func Evaluate(src string) (float64, error) {
	if len(src) > maxExprLen {
		return 0, &Error{code: "too_long", msg: fmt.Sprintf("expression longer than %d characters", maxExprLen)}
	}
	p := parser{src: src}
	p.skipSpace()
	if p.pos == len(p.src) {
		return 0, &Error{code: "syntax_error", msg: "empty expression"}
	}
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if p.skipSpace(); p.pos < len(p.src) {
		return 0, p.fail("syntax_error", "unexpected %q", p.peekToken())
	}
	if v == 0 {
		v = 0 // no negative zero in results
	}
	return v, nil
}

// parser is a recursive-descent parser that evaluates as it parses.
type parser struct {
	src   string
	pos   int // byte offset
	depth int
}

func (p *parser) fail(code, format string, args ...any) *Error {
	return &Error{code: code, pos: utf8.RuneCountInString(p.src[:p.pos]) + 1, msg: fmt.Sprintf(format, args...)}
}

// spaces are the bytes skipSpace passes over.
var spaces = [256]bool{' ': true, '\t': true, '\r': true, '\n': true}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && spaces[p.src[p.pos]] {
		p.pos++
	}
}

// next skips spaces and returns the next byte, or 0 at the end.
func (p *parser) next() byte {
	if p.pos < len(p.src) && !spaces[p.src[p.pos]] {
		return p.src[p.pos] // no loop when no space comes next: the usual case
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// accept consumes c (after spaces) if it is next.
func (p *parser) accept(c byte) bool {
	if p.next() == c && c != 0 {
		p.pos++
		return true
	}
	return false
}

// peekToken returns the next character, or "end of expression".
func (p *parser) peekToken() string {
	if p.pos >= len(p.src) {
		return "end of expression"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return string(r)
}

func (p *parser) enter() error {
	if p.depth++; p.depth > maxDepth {
		return p.fail("too_deep", "expression nested deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) failAt(pos int, code, msg string) *Error {
	saved := p.pos
	p.pos = pos
	err := p.fail(code, "%s", msg)
	p.pos = saved
	return err
}

// finite rejects infinities and NaN, which JSON cannot carry.
func (p *parser) finite(v float64, pos int) (float64, error) {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, p.failAt(pos, "out_of_range", "result out of range")
	}
	return v, nil
}

// expr parses terms joined by + and -, and a term operands joined by *, / and %, each left to
// right: one function for both levels, which WebAssembly runs faster than two.
func (p *parser) expr() (float64, error) {
	var sum float64
	addOp, addPos := byte(0), 0
	for {
		v, err := p.unary()
		if err != nil {
			return 0, err
		}
		op := p.next()
		for op == '*' || op == '/' || op == '%' {
			pos := p.pos
			p.pos++
			y, err := p.unary()
			if err != nil {
				return 0, err
			}
			if v, err = p.binary(op, pos, v, y); err != nil {
				return 0, err
			}
			op = p.next()
		}
		switch addOp {
		case '+':
			sum, err = p.finite(sum+v, addPos)
		case '-':
			sum, err = p.finite(sum-v, addPos)
		default:
			sum = v
		}
		if err != nil {
			return 0, err
		}
		if op != '+' && op != '-' {
			return sum, nil
		}
		addOp, addPos = op, p.pos
		p.pos++
	}
}

// binary applies *, / or % at pos.
func (p *parser) binary(op byte, pos int, x, y float64) (float64, error) {
	switch {
	case op == '*':
		return p.finite(x*y, pos)
	case y == 0 && op == '/':
		return 0, p.failAt(pos, "division_by_zero", "division by zero")
	case y == 0:
		return 0, p.failAt(pos, "division_by_zero", "modulo by zero")
	case op == '/':
		return p.finite(x/y, pos)
	}
	return p.finite(math.Mod(x, y), pos)
}

// unary parses signs, then an operand with an optional ^ exponent.
func (p *parser) unary() (float64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	var v float64
	var err error
	switch c := p.next(); c {
	case '-':
		p.pos++
		v, err = p.unary()
		v = -v
	case '+':
		p.pos++
		v, err = p.unary()
	default:
		if v, err = p.operand(c); err == nil && p.pos < len(p.src) && (p.src[p.pos] == '^' || spaces[p.src[p.pos]]) {
			v, err = p.power(v)
		}
	}
	p.depth--
	return v, err
}

// power raises base to a ^ exponent if one follows.
func (p *parser) power(base float64) (float64, error) {
	pos := p.pos
	if !p.accept('^') {
		return base, nil
	}
	exp, err := p.unary() // right-associative; the exponent may be negative: 2^-1
	if err != nil {
		return 0, err
	}
	return p.finite(math.Pow(base, exp), pos)
}

// operand parses a number, a parenthesised expression, a constant or a function call; c is the next
// byte (after spaces).
func (p *parser) operand(c byte) (float64, error) {
	switch {
	case p.pos >= len(p.src):
		return 0, p.fail("syntax_error", "expected a number, name or ( but found end of expression")
	case c >= '0' && c <= '9':
		// An integer of at most 15 digits is the common case: read here, the rest by number.
		start := p.pos
		if m, n := p.mantissa(0, 0); n <= 15 && (p.pos == len(p.src) || !fractionOrExponent[p.src[p.pos]]) {
			return float64(m), nil
		}
		p.pos = start
		return p.number()
	case c == '.':
		return p.number()
	case c == '(':
		return p.group()
	case identChars[c]:
		return p.name()
	}
	return 0, p.fail("syntax_error", "expected a number, name or ( but found %q", p.peekToken())
}

// fractionOrExponent are the bytes after digits that make a number more than an integer.
var fractionOrExponent = [256]bool{'.': true, 'e': true, 'E': true}

func (p *parser) group() (float64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	p.pos++ // (
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if !p.accept(')') {
		return 0, p.fail("syntax_error", "expected ) but found %q", p.peekToken())
	}
	p.depth--
	return v, nil
}

// number parses digits, an optional fraction and an optional exponent (1.5e3).
func (p *parser) number() (float64, error) {
	start := p.pos
	m, n := p.mantissa(0, 0)
	point := -1
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		point = p.pos
		m, n = p.mantissa(m, n)
	}
	if p.exponentAhead() {
		p.pos++
		if c := p.src[p.pos]; c == '+' || c == '-' {
			p.pos++
		}
		p.digits()
	} else if n > 0 && n <= 15 {
		// At most 15 digits and no exponent: the quotient of two exactly represented numbers,
		// which IEEE division rounds correctly, so the value strconv.ParseFloat returns.
		if point < 0 {
			return float64(m), nil
		}
		return float64(m) / pow10[p.pos-point], nil
	}
	text := p.src[start:p.pos]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || text == "." {
		p.pos = start
		return 0, p.fail("syntax_error", "malformed number %q", text)
	}
	return v, nil
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// mantissa reads digits, accumulating them onto m (the value of the n digits read before); past 19
// digits m is no longer meaningful, and the caller only uses it for at most 15.
func (p *parser) mantissa(m uint64, n int) (uint64, int) {
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		m = m*10 + uint64(p.src[p.pos]-'0')
		n++
		p.pos++
	}
	return m, n
}

func (p *parser) digits() {
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
}

// exponentAhead reports an exponent: e or E followed by a digit, or by a sign and a digit. A bare
// e is the constant (2e means 2 then e, a syntax error).
func (p *parser) exponentAhead() bool {
	s := p.src[p.pos:]
	if len(s) < 2 || s[0] != 'e' && s[0] != 'E' {
		return false
	}
	if s[1] == '+' || s[1] == '-' {
		s = s[1:]
	}
	return len(s) >= 2 && s[1] >= '0' && s[1] <= '9'
}

// identChars are the bytes of a name.
var identChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return t
}()

// identifier reads a name and returns it in lower case (a name is ASCII).
func (p *parser) identifier() (id, lower string) {
	start, upper := p.pos, false
	for p.pos < len(p.src) && identChars[p.src[p.pos]] {
		upper = upper || p.src[p.pos] <= 'Z' && p.src[p.pos] >= 'A'
		p.pos++
	}
	id = p.src[start:p.pos]
	if upper {
		return id, strings.ToLower(id)
	}
	return id, id
}

// name parses a constant or a function call.
func (p *parser) name() (float64, error) {
	start := p.pos
	id, lower := p.identifier()
	v, fn, isFn, ok := lookupName(lower)
	switch {
	case !ok:
		p.pos = start
		return 0, p.fail("unknown_name", "unknown name %q (functions: sqrt abs floor ceil round min max; constants: pi e)", id)
	case !isFn:
		return v, nil
	case !p.accept('('):
		return 0, p.fail("syntax_error", "expected ( after %s but found %q", lower, p.peekToken())
	}
	args, err := p.arguments(fn)
	if err != nil {
		return 0, err
	}
	if f := functions[fn]; args.n < f.minArgs || args.n > f.maxArgs {
		p.pos = start
		return 0, p.fail("syntax_error", "%s takes %s", lower, arity(f))
	}
	v, domainErr := apply(fn, args)
	if domainErr != "" {
		p.pos = start
		return 0, p.fail("domain_error", "%s", domainErr)
	}
	return p.finite(v, start)
}

func arity(fn function) string {
	switch {
	case fn.minArgs == fn.maxArgs:
		return fmt.Sprintf("%d argument(s)", fn.minArgs)
	case fn.maxArgs == maxArgs:
		return fmt.Sprintf("%d to %d arguments", fn.minArgs, maxArgs)
	}
	return fmt.Sprintf("%d or %d arguments", fn.minArgs, fn.maxArgs)
}

// arguments parses the comma-separated arguments of a call of fn up to the closing parenthesis
// (the opening one is read).
func (p *parser) arguments(fn int) (argList, error) {
	var args argList
	if err := p.enter(); err != nil {
		return args, err
	}
	if p.accept(')') {
		p.depth--
		return args, nil
	}
	for {
		v, err := p.expr()
		if err != nil {
			return args, err
		}
		if args.add(fn, v); args.n > maxArgs {
			return args, p.fail("too_long", "more than %d arguments", maxArgs)
		}
		if p.accept(')') {
			p.depth--
			return args, nil
		}
		if !p.accept(',') {
			return args, p.fail("syntax_error", "expected , or ) but found %q", p.peekToken())
		}
	}
}
