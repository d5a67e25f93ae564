package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestExpressions(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"simple", "What is 17*23?", []string{"17*23"}},
		{"spaces", "Compute 17 * 23 please.", []string{"17*23"}},
		{"several", "What is 17*23, and 2+2? Also (3 + 4) * 5.", []string{"17*23", "2+2", "(3+4)*5"}},
		{"words", "What is 6 times 7 and 10 divided by 4 and 1 plus 1 and 9 minus 3?", []string{"6*7", "10/4", "1+1", "9-3"}},
		{"multiplied by", "12 multiplied by 3", []string{"12*3"}},
		{"x between numbers", "what's 12 x 3", []string{"12*3"}},
		{"typographic", "12 × 3 and 8 ÷ 2 and 5 − 1", []string{"12*3", "8/2", "5-1"}},
		{"power", "2**10 and 2^8", []string{"2**10", "2^8"}},
		{"decimals", "1.5 + 2.25", []string{"1.5+2.25"}},
		{"thousands", "1,000 + 2,500", []string{"1000+2500"}},
		{"negative", "what is -5 + 3?", []string{"-5+3"}},
		{"parens trimmed", "(as in 2+3)", []string{"2+3"}},
		{"repeat", "2+2 or 2 + 2", []string{"2+2"}},
		{"no operator", "I have 3 apples and 4 pears", nil},
		{"single number", "the year 2024.", nil},
		{"iso date", "on 2024-01-02 we met", nil},
		{"url ignored", "see https://example.com/a/1-2 now", nil},
		{"trailing operator", "50% of people", nil},
		{"version", "version 1.2.3 + 1", nil},
		{"time of day", "at 10:30", nil},
		{"x in a word", "the box 3", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expressions(tt.text); !slices.Equal(got, tt.want) {
				t.Fatalf("Expressions(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestExpressionsCap(t *testing.T) {
	var b strings.Builder
	for i := range 20 {
		b.WriteString(strings.Repeat("1", i+1) + "+1; ")
	}
	if got := Expressions(b.String()); len(got) != MaxExpressions {
		t.Fatalf("got %d expressions, want %d", len(got), MaxExpressions)
	}
}

func FuzzExpressions(f *testing.F) {
	for _, s := range []string{"17*23", "What is 6 times 7?", "(1+2)*(3-4)/5", "1,000 + 2", "-(-(1))+2", "((((", "2024-01-02",
		"x x x 1 x 2", "12 × 3 ÷ 2", "1..2+3", "https://a.b/1+2 3+4", "multiplied by by 2 multiplied by 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Expressions(s)
		if len(got) > MaxExpressions {
			t.Fatalf("%d expressions", len(got))
		}
		seen := map[string]bool{}
		for _, e := range got {
			if e == "" || len(e) > maxExprLen || strings.Trim(e, "0123456789.+-*/^%()") != "" {
				t.Fatalf("bad expression %q from %q", e, s)
			}
			if p := (exprParser{s: e}); !p.parse() {
				t.Fatalf("expression %q from %q does not parse", e, s)
			}
			if seen[e] {
				t.Fatalf("repeated expression %q", e)
			}
			seen[e] = true
		}
	})
}
