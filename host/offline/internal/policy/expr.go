package policy

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxExpressions caps how many expressions [Expressions] returns.
const MaxExpressions = 8

// maxExprLen caps one expression's length in bytes.
const maxExprLen = 200

// tokKind classifies a token of the expression scanner.
type tokKind int

const (
	tokBreak tokKind = iota // anything that ends an expression run
	tokSpace
	tokNumber
	tokOp
	tokParen
)

type token struct {
	kind tokKind
	text string
}

// wordOps maps spelled-out operators to their symbols. "multiplied" and "divided" need a
// following "by".
var wordOps = map[string]string{
	"plus": "+", "minus": "-", "times": "*", "x": "*", "multiplied": "*", "divided": "/",
}

// runeOps maps operator runes (ASCII and typographic) to their ASCII symbols.
var runeOps = map[rune]string{
	'+': "+", '-': "-", '*': "*", '/': "/", '^': "^", '%': "%",
	'×': "*", '÷': "/", '−': "-", '·': "*",
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{1,2}-\d{1,2}$`)

// Expressions returns the arithmetic expressions written in text, in order of appearance, without
// spaces and without repeats (at most [MaxExpressions]). An expression has at least two numbers
// joined by a binary operator (+ - * / ^ % or **; "×", "÷", "plus", "minus", "times",
// "multiplied by", "divided by" and an "x" between numbers are read as operators), may use
// parentheses and a leading minus, and must parse completely. URLs and ISO dates (2024-01-02)
// are not expressions; "1,000" is the number 1000.
func Expressions(text string) []string {
	text = urlPattern.ReplaceAllString(text, " ")
	toks := scanExpr(text)
	var out []string
	seen := map[string]bool{}
	for _, run := range splitRuns(toks) {
		e, ok := cleanExpr(run)
		if !ok || seen[e] {
			continue
		}
		seen[e] = true
		out = append(out, e)
		if len(out) == MaxExpressions {
			break
		}
	}
	return out
}

// scanExpr splits text into tokens.
func scanExpr(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		t, n := scanOne(s, i, r, size)
		toks = append(toks, t)
		i += n
	}
	return mapWordOps(toks)
}

// scanOne reads the token starting at s[i] (whose first rune is r of width size) and returns it
// with its length in bytes.
func scanOne(s string, i int, r rune, size int) (token, int) {
	switch {
	case isDigit(r) || (r == '.' && i+1 < len(s) && isDigit(rune(s[i+1]))):
		n := numberLen(s[i:])
		return token{tokNumber, strings.ReplaceAll(s[i:i+n], ",", "")}, n
	case unicode.IsLetter(r):
		n := 0
		for n < len(s)-i {
			r2, sz := utf8.DecodeRuneInString(s[i+n:])
			if !unicode.IsLetter(r2) {
				break
			}
			n += sz
		}
		return token{tokBreak, strings.ToLower(s[i : i+n])}, n
	case r == ' ' || r == '\t':
		return token{tokSpace, " "}, size
	case r == '(' || r == ')':
		return token{tokParen, string(r)}, size
	}
	if op, ok := runeOps[r]; ok {
		return token{tokOp, op}, size
	}
	return token{tokBreak, string(r)}, size
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// numberLen returns the length of the number at the start of s: digits with an optional
// fraction, or digits grouped by thousands ("1,000,000").
func numberLen(s string) int {
	n := 0
	for n < len(s) && isDigit(rune(s[n])) {
		n++
	}
	if n > 0 && n <= 3 {
		for grouped(s[n:]) {
			n += 4
		}
	}
	if n < len(s) && s[n] == '.' && n+1 < len(s) && isDigit(rune(s[n+1])) {
		n++
		for n < len(s) && isDigit(rune(s[n])) {
			n++
		}
	}
	return n
}

// grouped reports whether s starts with ",ddd" not followed by another digit.
func grouped(s string) bool {
	if len(s) < 4 || s[0] != ',' {
		return false
	}
	for i := 1; i < 4; i++ {
		if !isDigit(rune(s[i])) {
			return false
		}
	}
	return len(s) == 4 || !isDigit(rune(s[4]))
}

// mapWordOps turns spelled-out operators into operator tokens.
func mapWordOps(toks []token) []token {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		op, ok := wordOps[t.text]
		if t.kind != tokBreak || !ok {
			out = append(out, t)
			continue
		}
		if t.text == "multiplied" || t.text == "divided" {
			j := nextNonSpace(toks, i+1)
			if j < 0 || toks[j].text != "by" {
				out = append(out, t)
				continue
			}
			i = j
		}
		if t.text == "x" && !betweenNumbers(toks, i) {
			out = append(out, t)
			continue
		}
		out = append(out, token{tokOp, op})
	}
	return out
}

func nextNonSpace(toks []token, i int) int {
	for ; i < len(toks); i++ {
		if toks[i].kind != tokSpace {
			return i
		}
	}
	return -1
}

func prevNonSpace(toks []token, i int) int {
	for ; i >= 0; i-- {
		if toks[i].kind != tokSpace {
			return i
		}
	}
	return -1
}

// betweenNumbers reports whether toks[i] has a number (or a parenthesis) on both sides.
func betweenNumbers(toks []token, i int) bool {
	p, n := prevNonSpace(toks, i-1), nextNonSpace(toks, i+1)
	operand := func(j int) bool { return j >= 0 && (toks[j].kind == tokNumber || toks[j].kind == tokParen) }
	return operand(p) && operand(n)
}

// splitRuns cuts the token list at every break token and returns each run joined without spaces.
func splitRuns(toks []token) []string {
	var runs []string
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tokBreak:
			if b.Len() > 0 {
				runs = append(runs, b.String())
				b.Reset()
			}
		case tokSpace:
		default:
			b.WriteString(t.text)
		}
	}
	if b.Len() > 0 {
		runs = append(runs, b.String())
	}
	return runs
}

// cleanExpr trims a run to a well-formed expression, or reports that it holds none.
func cleanExpr(run string) (string, bool) {
	if len(run) > 2*maxExprLen {
		return "", false // trimming is quadratic; nothing that long is a question's arithmetic
	}
	run = trimRun(run)
	if run == "" || len(run) > maxExprLen || isoDate.MatchString(run) {
		return "", false
	}
	p := exprParser{s: run}
	if !p.parse() {
		return "", false
	}
	return run, true
}

// trimRun drops trailing operators, leading operators other than a minus, and unmatched
// parentheses at either end.
func trimRun(s string) string {
	for {
		before := s
		s = strings.TrimRight(s, "+-*/^%(")
		s = strings.TrimLeft(s, "+*/^%)")
		s = dropUnmatched(s)
		if s == before {
			return s
		}
	}
}

// dropUnmatched removes a trailing ")" or leading "(" that has no partner.
func dropUnmatched(s string) string {
	depth := 0
	for _, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	switch {
	case depth < 0 && strings.HasSuffix(s, ")"):
		return s[:len(s)-1]
	case depth > 0 && strings.HasPrefix(s, "("):
		return s[1:]
	}
	return s
}

// exprParser checks the grammar
//
//	expr := unary (op unary)*      op := + - * / ^ % **
//	unary := "-"* primary          primary := number | "(" expr ")"
//
// and counts binary operators.
type exprParser struct {
	s     string
	i     int
	ops   int
	depth int
}

func (p *exprParser) parse() bool {
	return p.expr() && p.i == len(p.s) && p.ops > 0
}

func (p *exprParser) expr() bool {
	if !p.unary() {
		return false
	}
	for p.i < len(p.s) && strings.IndexByte("+-*/^%", p.s[p.i]) >= 0 {
		p.i++
		if p.s[p.i-1] == '*' && p.i < len(p.s) && p.s[p.i] == '*' {
			p.i++
		}
		p.ops++
		if !p.unary() {
			return false
		}
	}
	return true
}

func (p *exprParser) unary() bool {
	for p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	return p.primary()
}

func (p *exprParser) primary() bool {
	if p.i >= len(p.s) {
		return false
	}
	if p.s[p.i] == '(' {
		if p.depth > 32 {
			return false
		}
		p.i++
		p.depth++
		if !p.expr() || p.i >= len(p.s) || p.s[p.i] != ')' {
			return false
		}
		p.i++
		p.depth--
		return true
	}
	start := p.i
	for p.i < len(p.s) && (isDigit(rune(p.s[p.i])) || p.s[p.i] == '.') {
		p.i++
	}
	num := p.s[start:p.i]
	return num != "" && strings.Count(num, ".") <= 1 && num != "."
}
