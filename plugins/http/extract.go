package main

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped are elements whose content is not readable text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Nav: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Iframe: true, atom.Object: true, atom.Canvas: true, atom.Head: true, atom.Title: true,
}

// blocks are elements that start and end a line of text.
var blocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Br: true,
	atom.Dd: true, atom.Details: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true,
	atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true,
	atom.Hr: true, atom.Li: true, atom.Main: true, atom.Ol: true, atom.P: true, atom.Pre: true,
	atom.Section: true, atom.Summary: true, atom.Table: true, atom.Td: true, atom.Th: true, atom.Tr: true,
	atom.Ul: true, atom.Body: true,
}

// extractor accumulates readable text: words separated by single spaces, blocks by single newlines.
type extractor struct {
	b            strings.Builder
	pendingSpace bool
	pendingBreak bool
}

func (e *extractor) text(s string) {
	words := strings.Fields(s)
	if len(words) == 0 {
		if s != "" {
			e.pendingSpace = true
		}
		return
	}
	if strings.TrimLeftFunc(s, unicode.IsSpace) != s {
		e.pendingSpace = true
	}
	for _, w := range words {
		switch {
		case e.b.Len() == 0:
		case e.pendingBreak:
			e.b.WriteByte('\n')
		case e.pendingSpace:
			e.b.WriteByte(' ')
		}
		e.pendingBreak, e.pendingSpace = false, true
		e.b.WriteString(w)
	}
	e.pendingSpace = strings.TrimRightFunc(s, unicode.IsSpace) != s
}

func (e *extractor) block() { e.pendingBreak = true }

// extractHTML returns the title and the readable text of an HTML document. It walks the tree
// without recursion, so deeply nested markup costs no stack.
func extractHTML(body string) (title, text string) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil { // nested deeper than html.Parse allows (512 elements)
		return extractTokens(body)
	}
	title = findTitle(doc)
	e := &extractor{}
	n := doc
	for n != nil {
		enter := e.visit(n)
		if enter && n.FirstChild != nil {
			n = n.FirstChild
			continue
		}
		for n != nil && n.NextSibling == nil {
			n = n.Parent
			e.leave(n)
		}
		if n != nil {
			n = n.NextSibling
		}
	}
	return title, e.b.String()
}

// visit handles a node on the way down and reports whether to descend into it.
func (e *extractor) visit(n *html.Node) bool {
	switch n.Type {
	case html.TextNode:
		e.text(n.Data)
		return false
	case html.ElementNode:
		if skipped[n.DataAtom] {
			return false
		}
		if blocks[n.DataAtom] {
			e.block()
		}
		e.leaveIfEmpty(n)
	}
	return true
}

// leaveIfEmpty ends a block that has no children (leave is not reached for it).
func (e *extractor) leaveIfEmpty(n *html.Node) {
	if n.FirstChild == nil {
		e.leave(n)
	}
}

func (e *extractor) leave(n *html.Node) {
	if n != nil && n.Type == html.ElementNode && blocks[n.DataAtom] {
		e.block()
	}
}

// findTitle returns the text of the first <title>, whitespace collapsed.
func findTitle(n *html.Node) string {
	stack := []*html.Node{n}
	for len(stack) > 0 {
		n, stack = stack[len(stack)-1], stack[:len(stack)-1]
		if n.Type == html.ElementNode && n.DataAtom == atom.Title {
			var b strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.TextNode {
					b.WriteString(c.Data)
				}
			}
			return strings.Join(strings.Fields(b.String()), " ")
		}
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, c)
		}
	}
	return ""
}

// extractTokens is the fallback for markup too deeply nested for html.Parse: it reads the token stream
// instead of a tree, skipping the content of skipped elements until their end tag.
func extractTokens(body string) (title, text string) {
	z := html.NewTokenizer(strings.NewReader(body))
	t := &tokenExtractor{}
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		t.token(tt, z.Token())
	}
	return t.title, t.b.String()
}

// tokenExtractor is the state of extractTokens.
type tokenExtractor struct {
	extractor
	title    string
	skipping atom.Atom // the skipped element being read through, or 0
}

func (t *tokenExtractor) token(tt html.TokenType, tok html.Token) {
	if t.skipping != 0 {
		t.skipped(tt, tok)
		return
	}
	switch tt {
	case html.TextToken:
		t.text(tok.Data)
	case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
		if tt == html.StartTagToken && skipped[tok.DataAtom] && tok.DataAtom != atom.Head { // head holds the title
			t.skipping = tok.DataAtom
		} else if blocks[tok.DataAtom] {
			t.block()
		}
	}
}

// skipped reads a token inside a skipped element, keeping the first title.
func (t *tokenExtractor) skipped(tt html.TokenType, tok html.Token) {
	switch {
	case tt == html.EndTagToken && tok.DataAtom == t.skipping:
		t.skipping = 0
	case tt == html.TextToken && t.skipping == atom.Title && t.title == "":
		t.title = strings.Join(strings.Fields(tok.Data), " ")
	}
}
