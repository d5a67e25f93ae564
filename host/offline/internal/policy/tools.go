package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// need is a tool-use rule: when the offered tools include one matching tool (by name suffix) and
// the request matches, call it once per argument object match returns.
type need struct {
	tool string
	// exclusive stops the later needs when this one matched.
	exclusive bool
	match     func(text string) []string
}

// needs are tried in order; the calls of all matching needs are made in parallel.
var needs = []need{
	{tool: "word_count", exclusive: true, match: wordCountArgs},
	{tool: "http_fetch", match: fetchArgs},
	{tool: "calculate", match: calculateArgs},
	{tool: "now", match: nowArgs},
}

// maxCalls caps the tool calls of one reply.
const maxCalls = 8

// toolNeedRule calls the offered tools the last user message plainly needs, unless tool results
// already followed it.
func toolNeedRule(c *conv) (Reply, bool) {
	if c.lastUser < 0 || len(c.tools) == 0 || c.workResultsSinceUser() {
		return Reply{}, false
	}
	var calls []Call
	for _, n := range needs {
		t, ok := c.tool(n.tool)
		if !ok {
			continue
		}
		args := n.match(c.request)
		for _, a := range args {
			calls = append(calls, Call{Name: t.Name, Arguments: a})
		}
		if len(args) > 0 && n.exclusive {
			break
		}
	}
	if len(calls) == 0 {
		return Reply{}, false
	}
	if len(calls) > maxCalls {
		calls = calls[:maxCalls]
	}
	return Reply{Calls: calls}, true
}

func calculateArgs(text string) []string {
	var out []string
	for _, e := range Expressions(text) {
		out = append(out, jsonObject("expression", e))
	}
	return out
}

// URLs returns the http(s) URLs in text, in order, without repeats and without trailing
// punctuation (at most 8).
func URLs(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range urlPattern.FindAllString(text, -1) {
		u = trimURL(u)
		if len(u) > len("https://") && !seen[u] && len(out) < maxCalls {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// trimURL drops sentence punctuation after a URL, and a ")" that closes nothing inside it.
func trimURL(u string) string {
	for {
		t := strings.TrimRight(u, ".,;:!?]}*")
		if strings.HasSuffix(t, ")") && strings.Count(t, "(") < strings.Count(t, ")") {
			t = t[:len(t)-1]
		}
		if t == u {
			return u
		}
		u = t
	}
}

func fetchArgs(text string) []string {
	var out []string
	for _, u := range URLs(text) {
		out = append(out, jsonObject("url", u))
	}
	return out
}

// wordCountPhrases ask for a word count.
var wordCountPhrases = []string{"count the words", "count words", "word count", "how many words", "number of words"}

var quoted = regexp.MustCompile(`"([^"]+)"|“([^”]+)”`)

// wordCountArgs asks word_count about the quoted text, else the text after the first colon,
// else the whole message.
func wordCountArgs(text string) []string {
	lower := strings.ToLower(text)
	found := false
	for _, p := range wordCountPhrases {
		found = found || strings.Contains(lower, p)
	}
	if !found {
		return nil
	}
	subject := text
	if m := quoted.FindStringSubmatch(text); m != nil {
		subject = m[1] + m[2]
	} else if i := strings.IndexByte(text, ':'); i >= 0 && strings.TrimSpace(text[i+1:]) != "" {
		subject = strings.TrimSpace(text[i+1:])
	}
	return []string{jsonObject("text", subject)}
}

// timePhrases make a message a question about the time or date (matched in lowercase, with
// typographic apostrophes straightened); "today", "tomorrow" and "yesterday" match as words.
var timePhrases = []string{"what time", "what's the time", "whats the time", "current time", "time is it",
	"time now", "time in ", "local time", "what date", "what's the date", "whats the date", "today's date",
	"current date", "date today", "what day", "which day", "day of the week", "what year", "current year"}

var timeWords = []string{"today", "tomorrow", "yesterday"}

// cityZones maps well-known cities to IANA time zones.
var cityZones = []struct{ city, zone string }{
	{"tokyo", "Asia/Tokyo"}, {"osaka", "Asia/Tokyo"}, {"seoul", "Asia/Seoul"}, {"beijing", "Asia/Shanghai"},
	{"shanghai", "Asia/Shanghai"}, {"hong kong", "Asia/Hong_Kong"}, {"singapore", "Asia/Singapore"},
	{"mumbai", "Asia/Kolkata"}, {"delhi", "Asia/Kolkata"}, {"new delhi", "Asia/Kolkata"}, {"dubai", "Asia/Dubai"},
	{"moscow", "Europe/Moscow"}, {"istanbul", "Europe/Istanbul"}, {"london", "Europe/London"},
	{"paris", "Europe/Paris"}, {"berlin", "Europe/Berlin"}, {"madrid", "Europe/Madrid"}, {"rome", "Europe/Rome"},
	{"amsterdam", "Europe/Amsterdam"}, {"new york", "America/New_York"}, {"toronto", "America/Toronto"},
	{"chicago", "America/Chicago"}, {"denver", "America/Denver"}, {"los angeles", "America/Los_Angeles"},
	{"san francisco", "America/Los_Angeles"}, {"seattle", "America/Los_Angeles"},
	{"mexico city", "America/Mexico_City"}, {"sao paulo", "America/Sao_Paulo"}, {"são paulo", "America/Sao_Paulo"},
	{"buenos aires", "America/Argentina/Buenos_Aires"}, {"sydney", "Australia/Sydney"},
	{"melbourne", "Australia/Melbourne"}, {"auckland", "Pacific/Auckland"}, {"cairo", "Africa/Cairo"},
	{"johannesburg", "Africa/Johannesburg"}, {"lagos", "Africa/Lagos"},
}

var ianaZone = regexp.MustCompile(`\b(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)/[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)?|\bUTC\b|\bGMT\b`)

// IsTimeQuestion reports whether text asks about the time or date.
func IsTimeQuestion(text string) bool {
	lower := strings.ToLower(strings.ReplaceAll(text, "’", "'"))
	for _, p := range timePhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	for _, w := range timeWords {
		if wordIndex(lower, w) >= 0 {
			return true
		}
	}
	return false
}

// TimeZone returns the IANA zone named in text, or of the first well-known city named in it
// (whichever comes first), or "".
func TimeZone(text string) string {
	zone, pos := "", -1
	if loc := ianaZone.FindStringIndex(text); loc != nil {
		zone, pos = text[loc[0]:loc[1]], loc[0]
	}
	norm := normalizeName(text) // same byte offsets as text
	for _, cz := range cityZones {
		if i := normalizedIndex(norm, cz.city); i >= 0 && (pos < 0 || i < pos) {
			zone, pos = cz.zone, i
		}
	}
	return zone
}

func nowArgs(text string) []string {
	if !IsTimeQuestion(text) {
		return nil
	}
	if z := TimeZone(text); z != "" {
		return []string{jsonObject("timezone", z)}
	}
	return []string{"{}"}
}

// toolResultsRule answers from the results that follow the last assistant message with tool
// calls, when no user or assistant message came after them and the calls were not only
// routing or handoff calls.
func toolResultsRule(c *conv) (Reply, bool) {
	msgs := c.req.Messages
	a := len(msgs) - 1
	for a >= 0 && !(msgs[a].Role == RoleAssistant && len(msgs[a].ToolCalls) > 0) {
		a--
	}
	if a < 0 {
		return Reply{}, false
	}
	byID := map[string]Call{}
	for _, tc := range msgs[a].ToolCalls {
		byID[tc.ID] = tc
	}
	var parts []string
	for _, m := range c.since(a) {
		if m.Role == RoleUser || m.Role == RoleAssistant {
			return Reply{}, false
		}
		call, ok := byID[m.ToolCallID]
		if m.Role == RoleTool && ok && !isControl(call.Name) {
			parts = append(parts, describeResult(call, m.Content))
		}
	}
	if len(parts) == 0 {
		return Reply{}, false
	}
	return Reply{Content: strings.Join(parts, " ")}, true
}

// resultFormat phrases a successful result of one kind of tool; ok false falls back to the
// generic phrasing.
type resultFormat struct {
	tool   string
	format func(call Call, fields map[string]json.RawMessage, raw json.RawMessage) (string, bool)
}

var resultFormats = []resultFormat{
	{"calculate", formatCalculate},
	{"now", formatNow},
	{"http_fetch", formatFetch},
	{"word_count", formatWordCount},
}

// describeResult turns one tool result into a sentence.
func describeResult(call Call, content string) string {
	if msg, failed := toolError(content); failed {
		return fmt.Sprintf("The %s tool failed: %s.", call.Name, strings.TrimRight(msg, ". "))
	}
	raw := json.RawMessage(strings.TrimSpace(content))
	var fields map[string]json.RawMessage
	if !json.Valid(raw) {
		return fmt.Sprintf("%s returned: %s.", call.Name, strings.TrimRight(excerpt(content, 160), ". "))
	}
	_ = json.Unmarshal(raw, &fields) // not an object: fields stays nil
	for _, f := range resultFormats {
		if hasToolSuffix(call.Name, f.tool) {
			if s, ok := f.format(call, fields, raw); ok {
				return s
			}
		}
	}
	return fmt.Sprintf("%s returned %s.", call.Name, excerpt(compact(raw), 160))
}

// toolError reports whether a tool result is an error, and its message: a JSON object with a
// non-empty "error" (a string, or an object with "message"), or text starting with "error".
func toolError(content string) (string, bool) {
	trimmed := strings.TrimSpace(content)
	if !json.Valid([]byte(trimmed)) {
		if strings.HasPrefix(strings.ToLower(trimmed), "error") {
			msg := strings.TrimSpace(strings.TrimLeft(trimmed[len("error"):], ":"))
			return excerpt(msg, 200), true
		}
		return "", false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(trimmed), &obj) != nil || len(obj["error"]) == 0 {
		return "", false
	}
	e := obj["error"]
	if s := str(e); s != "" {
		return excerpt(s, 200), true
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(e, &inner) == nil && str(inner["message"]) != "" {
		return excerpt(str(inner["message"]), 200), true
	}
	if t := string(e); t == "null" || t == "false" || t == `""` {
		return "", false
	}
	return excerpt(compact(e), 200), true
}

// str decodes a JSON string, or returns "".
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// scalar renders a JSON string as its text and any other value as compact JSON; "" when absent.
func scalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	if s := str(raw); s != "" {
		return s
	}
	return compact(raw)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// first returns the first of keys present in fields.
func first(fields map[string]json.RawMessage, keys ...string) json.RawMessage {
	for _, k := range keys {
		if v, ok := fields[k]; ok && string(v) != "null" {
			return v
		}
	}
	return nil
}

// argument returns a string argument of a call.
func argument(call Call, key string) string {
	var args map[string]json.RawMessage
	if json.Unmarshal([]byte(call.Arguments), &args) != nil {
		return ""
	}
	return str(args[key])
}

// formatCalculate: {"expression":"17*23","result":391} or a bare 391 -> "17*23 = 391."
func formatCalculate(call Call, fields map[string]json.RawMessage, raw json.RawMessage) (string, bool) {
	expr, result := argument(call, "expression"), ""
	if fields != nil {
		result = scalar(first(fields, "result", "value"))
		if e := str(fields["expression"]); e != "" {
			expr = e
		}
	} else {
		result = scalar(raw)
	}
	if expr == "" || result == "" {
		return "", false
	}
	return fmt.Sprintf("%s = %s.", expr, result), true
}

// formatNow: {"time": "...", "timezone": "...", "weekday": "..."} (the clock plugin's shape)
// or a bare string -> "It is WEEKDAY, TIME in ZONE."
func formatNow(_ Call, fields map[string]json.RawMessage, raw json.RawMessage) (string, bool) {
	t, zone := str(raw), ""
	if fields != nil {
		t = scalar(first(fields, "time", "now", "datetime", "iso", "rfc3339", "local", "date"))
		zone = scalar(first(fields, "timezone", "tz", "zone", "location"))
		if day := str(fields["weekday"]); day != "" && t != "" {
			t = day + ", " + t
		}
	}
	if t == "" {
		return "", false
	}
	if zone != "" {
		return fmt.Sprintf("It is %s in %s.", t, zone), true
	}
	return fmt.Sprintf("It is %s.", t), true
}

// formatFetch: {"url":..., "status":200, "title":..., "text":...} (the http plugin's shape) ->
// `Fetched URL (status 200), "TITLE": "TEXT...".`
func formatFetch(call Call, fields map[string]json.RawMessage, _ json.RawMessage) (string, bool) {
	if fields == nil {
		return "", false
	}
	u := or(scalar(first(fields, "url")), argument(call, "url"))
	status := scalar(first(fields, "status", "status_code"))
	body := scalar(first(fields, "text", "body", "content"))
	if status == "" && body == "" {
		return "", false
	}
	s := "Fetched " + u
	if status != "" {
		s += " (status " + status + ")"
	}
	if title := str(fields["title"]); title != "" {
		s += fmt.Sprintf(", %q", excerpt(title, 60))
	}
	if body != "" {
		return fmt.Sprintf("%s: %q.", s, excerpt(body, 120)), true
	}
	return s + ".", true
}

// or returns the first non-empty string.
func or(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// formatWordCount: {"count": 9} or a bare 9 -> "The text has 9 words."
func formatWordCount(_ Call, fields map[string]json.RawMessage, raw json.RawMessage) (string, bool) {
	n := scalar(raw)
	if fields != nil {
		n = scalar(first(fields, "count", "words", "word_count"))
	}
	if n == "" || strings.ContainsAny(n, "{[") {
		return "", false
	}
	return fmt.Sprintf("The text has %s words.", n), true
}
