package policy

import (
	"regexp"
	"strings"
	"unicode"
)

// urlPattern finds http and https URLs.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"'\x60]+`)

// excerpt collapses whitespace in s and cuts it to at most n runes, marking a cut with "...".
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "..."
}

// normalizeName lowercases ASCII letters and turns "_" and "-" into spaces, so "tech_support"
// matches "Tech support" in text. It keeps byte offsets: other bytes are unchanged.
func normalizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '_' || c == '-':
			b[i] = ' '
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// wordIndex returns the byte offset of the first occurrence of phrase in text as whole words
// (case-insensitive, "_" and "-" count as spaces), or -1.
func wordIndex(text, phrase string) int {
	return normalizedIndex(normalizeName(text), phrase)
}

// normalizedIndex is wordIndex on a text already passed through normalizeName.
func normalizedIndex(text, phrase string) int {
	phrase = strings.TrimSpace(normalizeName(phrase))
	if phrase == "" {
		return -1
	}
	for from := 0; from <= len(text); {
		i := strings.Index(text[from:], phrase)
		if i < 0 {
			return -1
		}
		i += from
		if wordBoundary(text, i-1) && wordBoundary(text, i+len(phrase)) {
			return i
		}
		from = i + 1
	}
	return -1
}

// wordBoundary reports whether the byte at i is outside text or not a letter or digit.
func wordBoundary(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return true
	}
	c := text[i]
	return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80)
}

// stopWords are ignored when matching a request against a tool description: common English
// words and words every handoff description shares.
var stopWords = setOf(`about above after again against agent agents also another answer answers any
are asks because been before being below between both call calls can cannot could does doing done
down during each else every from further handle handles handling handoff hand have having help
helps here into just know like make more most need needs only other over please question questions
request requests same should some such take tell than that their them then there these they this
those through transfer transfers under until user users very want what when where which while will
with would your yours conversation control`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// significantWords returns the stems of the words of s that are at least 4 letters long and not
// stop words, in order, without repeats.
func significantWords(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(w)) < 4 || stopWords[w] {
			continue
		}
		st := stem(w)
		if !seen[st] {
			seen[st] = true
			out = append(out, st)
		}
	}
	return out
}

// stem strips a plural ending: "refunds" -> "refund", "queries" -> "query"; "address" stays.
func stem(w string) string {
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && len(w) > 4:
		return w[:len(w)-1]
	}
	return w
}

// hasToolSuffix reports whether the offered tool name is key or ends with key after a
// separator ("calculate", "calc.calculate", "calc_calculate", "calc-calculate" all match
// "calculate"; "recalculate" does not).
func hasToolSuffix(name, key string) bool {
	if name == key {
		return true
	}
	if !strings.HasSuffix(name, key) {
		return false
	}
	sep := name[len(name)-len(key)-1]
	return sep == '.' || sep == '_' || sep == '-'
}

// rolePrefixes introduce an agent's role in the first sentence of its instructions.
var rolePrefixes = []string{"you are ", "you're ", "act as ", "acting as "}

// roleOf returns the role named in the first sentence of the system prompt ("You are the
// writer." -> "the writer"), or "the assistant".
func roleOf(system string) string {
	first := firstSentence(system)
	lower := strings.ToLower(first)
	for _, p := range rolePrefixes {
		if strings.HasPrefix(lower, p) {
			if role := strings.TrimSpace(first[len(p):]); role != "" {
				return excerpt(role, 60)
			}
		}
	}
	return "the assistant"
}

// firstSentence returns s up to its first ".", "!", "?" or newline, trimmed.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, ".!?\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
