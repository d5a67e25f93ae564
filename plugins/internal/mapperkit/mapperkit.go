// Package mapperkit holds what the first-party mapper plugins (agui, vercel, legacy) share: a
// small ordered set of ids for their stream state and writers for the engine's common payloads.
// It depends on the SDK only, so it builds for WebAssembly; the test harness is in mappertest.
package mapperkit

import "github.com/agentfleet/fleet/sdk"

// IDs is a small ordered set of ids (open messages, tool calls, steps): the few spans a stream has
// open at once, kept in a slice because a handful of string compares beat any map.
type IDs []string

// Has reports whether id is in the set.
func (s IDs) Has(id string) bool {
	for _, x := range s {
		if x == id {
			return true
		}
	}
	return false
}

// Add adds id at the end and reports whether it was absent.
func (s *IDs) Add(id string) bool {
	if s.Has(id) {
		return false
	}
	*s = append(*s, id)
	return true
}

// Remove removes id, keeping the order of the others, and reports whether it was present.
func (s *IDs) Remove(id string) bool {
	for i, x := range *s {
		if x == id {
			*s = append((*s)[:i], (*s)[i+1:]...)
			return true
		}
	}
	return false
}

// WriteIDs writes ids as an array member named key; an empty set writes nothing.
func WriteIDs(j *sdk.JSON, key string, ids IDs) {
	if len(ids) == 0 {
		return
	}
	j.Array(key)
	for _, id := range ids {
		j.String("", id)
	}
	j.End()
}

// ReadIDs reads an array of strings (or null) and appends them to dst.
func ReadIDs(d *sdk.Decoder, dst IDs) IDs {
	if d.Array() {
		for d.More() {
			dst = append(dst, d.String())
		}
	}
	return dst
}

// WriteUsage writes a usage object as the engine does: {prompt_tokens, completion_tokens,
// total_tokens, calls}, calls omitted when zero.
func WriteUsage(j *sdk.JSON, key string, u sdk.Usage) {
	j.Object(key).Int("prompt_tokens", u.PromptTokens).Int("completion_tokens", u.CompletionTokens).
		Int("total_tokens", u.TotalTokens)
	if u.Calls != 0 {
		j.Int("calls", u.Calls)
	}
	j.End()
}

// Or returns a unless it is empty, else b.
func Or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
