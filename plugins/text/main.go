// Command text is the first-party Fleet plugin "text": counting ("word_count"), find and replace,
// literal or regular expression ("text_replace"), and regular expression matching ("regex_match").
// Regular expressions are Go's RE2 syntax, which runs in time linear in the input. It needs no
// capabilities. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o text.wasm .
package main

import (
	"context"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentfleet/fleet/sdk"
)

// Limits on inputs and outputs.
const (
	maxText    = 1 << 20 // bytes of text
	maxPattern = 1000    // bytes of a pattern or of find
	maxOutput  = 2 << 20 // bytes of replaced text
	maxMatches = 1000    // matches listed by regex_match
)

type countArgs struct {
	Text string `json:"text" desc:"The text to count."`
}

type counts struct {
	Words      int `json:"words"`
	Characters int `json:"characters"`
	Lines      int `json:"lines"`
	Sentences  int `json:"sentences"`
}

type replaceArgs struct {
	Text    string `json:"text" desc:"The text to change."`
	Find    string `json:"find" desc:"What to find: literal text, or a regular expression (RE2 syntax) when regex is true."`
	Replace string `json:"replace" desc:"The replacement; with regex, $1 or ${name} insert groups."`
	Regex   bool   `json:"regex,omitempty" desc:"Treat find as a regular expression; default false."`
}

type replaced struct {
	Text         string `json:"text"`
	Replacements int    `json:"replacements"`
}

type matchArgs struct {
	Text    string `json:"text" desc:"The text to search."`
	Pattern string `json:"pattern" desc:"Regular expression, RE2 syntax, such as (?i)hello (\\w+)."`
	All     bool   `json:"all,omitempty" desc:"Return every match instead of the first; default false."`
}

type match struct {
	Match  string            `json:"match"`
	Index  int               `json:"index"`
	Groups []string          `json:"groups,omitempty"`
	Named  map[string]string `json:"named,omitempty"`
}

type matches struct {
	Matched   bool    `json:"matched"`
	Matches   []match `json:"matches"`
	Truncated bool    `json:"truncated,omitempty"`
}

func checkText(s string) error {
	if len(s) > maxText {
		return sdk.Errorf("too_long", "text longer than %d bytes", maxText)
	}
	return nil
}

func compile(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > maxPattern {
		return nil, sdk.Errorf("too_long", "pattern longer than %d bytes", maxPattern)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, sdk.Errorf("bad_pattern", "%v", err)
	}
	return re, nil
}

func wordCount(_ context.Context, a countArgs) (counts, error) {
	if err := checkText(a.Text); err != nil {
		return counts{}, err
	}
	c := counts{Words: len(strings.Fields(a.Text)), Characters: utf8.RuneCountInString(a.Text), Sentences: sentences(a.Text)}
	if a.Text != "" {
		c.Lines = strings.Count(a.Text, "\n") + 1
		if strings.HasSuffix(a.Text, "\n") {
			c.Lines--
		}
	}
	return c, nil
}

// sentences counts stretches of text holding a letter or digit, ended by . ! ? … or their CJK forms
// followed by a space or the end of the text (so 3.14 and e.g. inside a word do not end one).
func sentences(s string) int {
	n, inSentence, afterStop := 0, false, false
	for _, r := range s {
		switch {
		case strings.ContainsRune(".!?…。！？", r):
			afterStop = inSentence
		case unicode.IsSpace(r) && afterStop:
			n++
			inSentence, afterStop = false, false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			inSentence, afterStop = true, false
		default:
			afterStop = false
		}
	}
	if inSentence {
		n++
	}
	return n
}

func textReplace(_ context.Context, a replaceArgs) (replaced, error) {
	if err := checkText(a.Text); err != nil {
		return replaced{}, err
	}
	if a.Find == "" {
		return replaced{}, sdk.Errorf("bad_pattern", "find is empty")
	}
	pattern := a.Find
	if !a.Regex {
		pattern = regexp.QuoteMeta(a.Find)
	}
	re, err := compile(pattern)
	if err != nil {
		return replaced{}, err
	}
	var out []byte
	count, last := 0, 0
	for _, m := range re.FindAllStringSubmatchIndex(a.Text, -1) {
		out = append(out, a.Text[last:m[0]]...)
		if a.Regex {
			out = re.ExpandString(out, a.Replace, a.Text, m)
		} else {
			out = append(out, a.Replace...)
		}
		last = m[1]
		count++
		if len(out) > maxOutput {
			return replaced{}, sdk.Errorf("too_long", "the result would be longer than %d bytes", maxOutput)
		}
	}
	out = append(out, a.Text[last:]...)
	if len(out) > maxOutput {
		return replaced{}, sdk.Errorf("too_long", "the result would be longer than %d bytes", maxOutput)
	}
	return replaced{Text: string(out), Replacements: count}, nil
}

func regexMatch(_ context.Context, a matchArgs) (matches, error) {
	if err := checkText(a.Text); err != nil {
		return matches{}, err
	}
	re, err := compile(a.Pattern)
	if err != nil {
		return matches{}, err
	}
	limit := 1
	if a.All {
		limit = maxMatches + 1
	}
	found := re.FindAllStringSubmatchIndex(a.Text, limit)
	res := matches{Matched: len(found) > 0, Matches: []match{}}
	if len(found) > maxMatches {
		found, res.Truncated = found[:maxMatches], true
	}
	names := re.SubexpNames()
	runes, byteAt := 0, 0 // character offset of byte offset byteAt
	for _, m := range found {
		runes += utf8.RuneCountInString(a.Text[byteAt:m[0]])
		byteAt = m[0]
		res.Matches = append(res.Matches, describe(a.Text, m, names, runes))
	}
	return res, nil
}

// describe turns one submatch index slice into a match, its index counted in characters.
func describe(text string, m []int, names []string, index int) match {
	out := match{Match: text[m[0]:m[1]], Index: index}
	for g := 1; g < len(m)/2; g++ {
		var s string
		if m[2*g] >= 0 {
			s = text[m[2*g]:m[2*g+1]]
		}
		out.Groups = append(out.Groups, s)
		if names[g] != "" {
			if out.Named == nil {
				out.Named = map[string]string{}
			}
			out.Named[names[g]] = s
		}
	}
	return out
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "text",
		Version:     "1.0.0",
		Description: "Counting, find and replace, and regular expression matching on text.",
		Tools: []sdk.Tool{
			sdk.NewTool("word_count", "Count the words, characters, lines and sentences of a text.", wordCount),
			sdk.NewTool("text_replace", "Replace every occurrence of a literal string or regular expression in a text.", textReplace),
			sdk.NewTool("regex_match", "Find the first (or every) match of a regular expression in a text, with its groups.", regexMatch),
		},
	})
}

func main() {}
