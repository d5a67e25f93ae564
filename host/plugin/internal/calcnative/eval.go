package calcnative

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on an expression.
const (
	maxExprLen = 1000 // bytes
	maxDepth   = 64   // nested parentheses, function calls, unary operators and powers
	maxArgs    = 64   // arguments of one min or max call
)

// evalError is an error in an expression: its code is a tool error code and pos the 1-based
// character position it refers to (0: the expression as a whole).
type evalError struct {
	code string
	pos  int
	msg  string
}

func (e *evalError) Error() string {
	if e.pos > 0 {
		return fmt.Sprintf("%s at position %d", e.msg, e.pos)
	}
	return e.msg
}

// function is an entry of the function table: its arity and its implementation.
type function struct {
	minArgs, maxArgs int
	apply            func(args []float64) (float64, string)
}

// functions are the callable names; apply returns a domain error message, or "".
var functions = map[string]function{
	"sqrt": {1, 1, func(a []float64) (float64, string) {
		if a[0] < 0 {
			return 0, "sqrt of a negative number"
		}
		return math.Sqrt(a[0]), ""
	}},
	"abs":   {1, 1, func(a []float64) (float64, string) { return math.Abs(a[0]), "" }},
	"floor": {1, 1, func(a []float64) (float64, string) { return math.Floor(a[0]), "" }},
	"ceil":  {1, 1, func(a []float64) (float64, string) { return math.Ceil(a[0]), "" }},
	"round": {1, 2, roundTo},
	"min":   {1, maxArgs, func(a []float64) (float64, string) { return fold(a, math.Min), "" }},
	"max":   {1, maxArgs, func(a []float64) (float64, string) { return fold(a, math.Max), "" }},
}

// constants are the named values.
var constants = map[string]float64{"pi": math.Pi, "e": math.E}

func fold(a []float64, f func(x, y float64) float64) float64 {
	v := a[0]
	for _, x := range a[1:] {
		v = f(v, x)
	}
	return v
}

// roundTo rounds half away from zero, to a[1] decimal places when given (0 to 15).
func roundTo(a []float64) (float64, string) {
	if len(a) == 1 {
		return math.Round(a[0]), ""
	}
	digits := a[1]
	if digits != math.Trunc(digits) || digits < 0 || digits > 15 {
		return 0, "round: decimal places must be a whole number from 0 to 15"
	}
	scale := math.Pow(10, digits)
	return math.Round(a[0]*scale) / scale, ""
}

// evaluate computes an arithmetic expression: + - * / % ^ (right-associative, binding tighter than
// unary minus: -2^2 = -4), parentheses, decimals with optional exponent, the functions above and the
// constants pi and e.
func evaluate(src string) (float64, error) {
	if len(src) > maxExprLen {
		return 0, &evalError{code: "too_long", msg: fmt.Sprintf("expression longer than %d characters", maxExprLen)}
	}
	p := &parser{src: src}
	p.skipSpace()
	if p.pos == len(p.src) {
		return 0, &evalError{code: "syntax_error", msg: "empty expression"}
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

func (p *parser) fail(code, format string, args ...any) *evalError {
	return &evalError{code: code, pos: utf8.RuneCountInString(p.src[:p.pos]) + 1, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

// accept consumes c (after spaces) if it is next.
func (p *parser) accept(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == c {
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

// binaryOps are the operators of the two left-associative levels.
var binaryOps = map[byte]func(p *parser, pos int, x, y float64) (float64, error){
	'+': func(p *parser, pos int, x, y float64) (float64, error) { return p.finite(x+y, pos) },
	'-': func(p *parser, pos int, x, y float64) (float64, error) { return p.finite(x-y, pos) },
	'*': func(p *parser, pos int, x, y float64) (float64, error) { return p.finite(x*y, pos) },
	'/': func(p *parser, pos int, x, y float64) (float64, error) {
		if y == 0 {
			return 0, p.failAt(pos, "division_by_zero", "division by zero")
		}
		return p.finite(x/y, pos)
	},
	'%': func(p *parser, pos int, x, y float64) (float64, error) {
		if y == 0 {
			return 0, p.failAt(pos, "division_by_zero", "modulo by zero")
		}
		return p.finite(math.Mod(x, y), pos)
	},
}

func (p *parser) failAt(pos int, code, msg string) *evalError {
	saved := p.pos
	p.pos = pos
	defer func() { p.pos = saved }()
	return p.fail(code, "%s", msg)
}

// finite rejects infinities and NaN, which JSON cannot carry.
func (p *parser) finite(v float64, pos int) (float64, error) {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, p.failAt(pos, "out_of_range", "result out of range")
	}
	return v, nil
}

// level parses operands joined by the given operators, left to right.
func (p *parser) level(ops string, operand func() (float64, error)) (float64, error) {
	v, err := operand()
	if err != nil {
		return 0, err
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || strings.IndexByte(ops, p.src[p.pos]) < 0 {
			return v, nil
		}
		op, pos := p.src[p.pos], p.pos
		p.pos++
		y, err := operand()
		if err != nil {
			return 0, err
		}
		if v, err = binaryOps[op](p, pos, v, y); err != nil {
			return 0, err
		}
	}
}

func (p *parser) expr() (float64, error) { return p.level("+-", p.term) }
func (p *parser) term() (float64, error) { return p.level("*/%", p.unary) }

func (p *parser) unary() (float64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer func() { p.depth-- }()
	switch {
	case p.accept('-'):
		v, err := p.unary()
		return -v, err
	case p.accept('+'):
		return p.unary()
	}
	return p.power()
}

func (p *parser) power() (float64, error) {
	base, err := p.primary()
	if err != nil {
		return 0, err
	}
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

func (p *parser) primary() (float64, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0, p.fail("syntax_error", "expected a number, name or ( but found end of expression")
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		return p.group()
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		return p.name()
	}
	return 0, p.fail("syntax_error", "expected a number, name or ( but found %q", p.peekToken())
}

func (p *parser) group() (float64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer func() { p.depth-- }()
	p.pos++ // (
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if !p.accept(')') {
		return 0, p.fail("syntax_error", "expected ) but found %q", p.peekToken())
	}
	return v, nil
}

// number parses digits, an optional fraction and an optional exponent (1.5e3).
func (p *parser) number() (float64, error) {
	start := p.pos
	p.digits()
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		p.digits()
	}
	if p.exponentAhead() {
		p.pos++
		if c := p.src[p.pos]; c == '+' || c == '-' {
			p.pos++
		}
		p.digits()
	}
	text := p.src[start:p.pos]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || text == "." {
		p.pos = start
		return 0, p.fail("syntax_error", "malformed number %q", text)
	}
	return v, nil
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

func (p *parser) identifier() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

// name parses a constant or a function call.
func (p *parser) name() (float64, error) {
	start := p.pos
	id := p.identifier()
	lower := strings.ToLower(id)
	if v, ok := constants[lower]; ok {
		return v, nil
	}
	fn, ok := functions[lower]
	if !ok {
		p.pos = start
		return 0, p.fail("unknown_name", "unknown name %q (functions: sqrt abs floor ceil round min max; constants: pi e)", id)
	}
	if !p.accept('(') {
		return 0, p.fail("syntax_error", "expected ( after %s but found %q", lower, p.peekToken())
	}
	args, err := p.arguments()
	if err != nil {
		return 0, err
	}
	if len(args) < fn.minArgs || len(args) > fn.maxArgs {
		p.pos = start
		return 0, p.fail("syntax_error", "%s takes %s", lower, arity(fn))
	}
	v, domainErr := fn.apply(args)
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

// arguments parses a comma-separated list up to the closing parenthesis (the opening one is read).
func (p *parser) arguments() ([]float64, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var args []float64
	if p.accept(')') {
		return args, nil
	}
	for {
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		if args = append(args, v); len(args) > maxArgs {
			return nil, p.fail("too_long", "more than %d arguments", maxArgs)
		}
		if p.accept(')') {
			return args, nil
		}
		if !p.accept(',') {
			return nil, p.fail("syntax_error", "expected , or ) but found %q", p.peekToken())
		}
	}
}
