package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/sdk"
)

func invoke(t *testing.T, tool string, args any) (string, error) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sdk.Invoke(context.Background(), tool, b)
	return string(out), err
}

func TestWordCount(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"", `{"words":0,"characters":0,"lines":0,"sentences":0}`},
		{"Hello world.", `{"words":2,"characters":12,"lines":1,"sentences":1}`},
		{"One. Two! Three? Four", `{"words":4,"characters":21,"lines":1,"sentences":4}`},
		{"Pi is 3.14 today. e.g. this", `{"words":6,"characters":27,"lines":1,"sentences":3}`},
		{"line one\nline two\n", `{"words":4,"characters":18,"lines":2,"sentences":1}`},
		{"a\n\nb", `{"words":2,"characters":4,"lines":3,"sentences":1}`},
		{"Wait... what?!  ", `{"words":2,"characters":16,"lines":1,"sentences":2}`},
		{"日本語の文。二つ目。", `{"words":1,"characters":10,"lines":1,"sentences":1}`},
		{"  ...  !!! ", `{"words":2,"characters":11,"lines":1,"sentences":0}`},
		{"héllo wörld", `{"words":2,"characters":11,"lines":1,"sentences":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := invoke(t, "word_count", countArgs{Text: tt.text})
			if err != nil || got != tt.want {
				t.Errorf("word_count(%q) = %s, %v; want %s", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestTextReplace(t *testing.T) {
	tests := []struct {
		name string
		args replaceArgs
		want string
	}{
		{"literal", replaceArgs{Text: "a.b.c", Find: ".", Replace: "-"}, `{"text":"a-b-c","replacements":2}`},
		{"literal keeps $", replaceArgs{Text: "cost: X", Find: "X", Replace: "$1"}, `{"text":"cost: $1","replacements":1}`},
		{"no match", replaceArgs{Text: "abc", Find: "z", Replace: "y"}, `{"text":"abc","replacements":0}`},
		{"regex with groups", replaceArgs{Text: "2024-05-01", Find: `(\d+)-(\d+)-(\d+)`, Replace: "$3/$2/$1", Regex: true}, `{"text":"01/05/2024","replacements":1}`},
		{"regex named group", replaceArgs{Text: "John Smith", Find: `(?P<first>\w+) (?P<last>\w+)`, Replace: "${last}, ${first}", Regex: true}, `{"text":"Smith, John","replacements":1}`},
		{"regex case-insensitive", replaceArgs{Text: "Cat cat CAT", Find: `(?i)cat`, Replace: "dog", Regex: true}, `{"text":"dog dog dog","replacements":3}`},
		{"regex empty matches", replaceArgs{Text: "abc", Find: `x*`, Replace: "-", Regex: true}, `{"text":"-a-b-c-","replacements":4}`},
		{"unicode", replaceArgs{Text: "naïve café", Find: "é", Replace: "e"}, `{"text":"naïve cafe","replacements":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := invoke(t, "text_replace", tt.args)
			if err != nil || got != tt.want {
				t.Errorf("text_replace(%+v) = %s, %v; want %s", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestRegexMatch(t *testing.T) {
	tests := []struct {
		name string
		args matchArgs
		want string
	}{
		{"first", matchArgs{Text: "a1 b22 c333", Pattern: `[a-z](\d+)`}, `{"matched":true,"matches":[{"match":"a1","index":0,"groups":["1"]}]}`},
		{"all", matchArgs{Text: "a1 b22 c333", Pattern: `[a-z](\d+)`, All: true}, `{"matched":true,"matches":[{"match":"a1","index":0,"groups":["1"]},{"match":"b22","index":3,"groups":["22"]},{"match":"c333","index":7,"groups":["333"]}]}`},
		{"character index", matchArgs{Text: "ééé x ééé y", Pattern: `[a-z]`, All: true}, `{"matched":true,"matches":[{"match":"x","index":4},{"match":"y","index":10}]}`},
		{"named and unmatched groups", matchArgs{Text: "key=val", Pattern: `(?P<k>\w+)=(?P<v>\w+)(;)?`}, `{"matched":true,"matches":[{"match":"key=val","index":0,"groups":["key","val",""],"named":{"k":"key","v":"val"}}]}`},
		{"no match", matchArgs{Text: "abc", Pattern: `\d`}, `{"matched":false,"matches":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := invoke(t, "regex_match", tt.args)
			if err != nil || got != tt.want {
				t.Errorf("regex_match(%+v) = %s, %v; want %s", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestRegexMatchTruncates(t *testing.T) {
	got, err := invoke(t, "regex_match", matchArgs{Text: strings.Repeat("a", 5000), Pattern: "a", All: true})
	var m matches
	if err != nil || json.Unmarshal([]byte(got), &m) != nil || len(m.Matches) != maxMatches || !m.Truncated || m.Matches[999].Index != 999 {
		t.Errorf("regex_match of 5000 matches: %d matches, truncated %v, err %v", len(m.Matches), m.Truncated, err)
	}
}

func TestErrors(t *testing.T) {
	big := strings.Repeat("x", maxText+1)
	tests := []struct {
		name, tool string
		args       any
		code       string
	}{
		{"bad pattern", "regex_match", matchArgs{Text: "a", Pattern: "("}, "bad_pattern"},
		{"bad regex find", "text_replace", replaceArgs{Text: "a", Find: "[", Regex: true}, "bad_pattern"},
		{"repetition too large", "regex_match", matchArgs{Text: "a", Pattern: "a{2000}"}, "bad_pattern"},
		{"empty find", "text_replace", replaceArgs{Text: "a"}, "bad_pattern"},
		{"long pattern", "regex_match", matchArgs{Text: "a", Pattern: strings.Repeat("a", maxPattern+1)}, "too_long"},
		{"long text", "word_count", countArgs{Text: big}, "too_long"},
		{"long text to match", "regex_match", matchArgs{Text: big, Pattern: "a"}, "too_long"},
		{"long text to replace", "text_replace", replaceArgs{Text: big, Find: "a"}, "too_long"},
		{"output too long", "text_replace", replaceArgs{Text: strings.Repeat("a", 5000), Find: "a", Replace: strings.Repeat("b", 1000)}, "too_long"},
		{"unknown field", "word_count", map[string]string{"txt": "a"}, "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invoke(t, tt.tool, tt.args)
			var te *sdk.ToolError
			if !errors.As(err, &te) || te.Code != tt.code {
				t.Errorf("%s: err = %v, want code %s", tt.tool, err, tt.code)
			}
		})
	}
}

// FuzzRegexMatch checks that any pattern and text answer valid JSON or a tool error, with indexes in range.
func FuzzRegexMatch(f *testing.F) {
	for _, s := range [][2]string{{"a1 b22", `[a-z](\d+)`}, {"ééé x", `(?P<n>x)?`}, {"", `^$`}, {"abc", "("}} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, text, pattern string, all bool) {
		got, err := invoke(t, "regex_match", matchArgs{Text: text, Pattern: pattern, All: all})
		var te *sdk.ToolError
		if err != nil {
			if !errors.As(err, &te) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		var m matches
		if err := json.Unmarshal([]byte(got), &m); err != nil {
			t.Fatalf("result %s: %v", got, err)
		}
		for _, x := range m.Matches {
			if x.Index < 0 || x.Index > len([]rune(strings.ToValidUTF8(text, "\uFFFD")))+len(text) {
				t.Fatalf("index %d out of range for %q", x.Index, text)
			}
		}
	})
}
