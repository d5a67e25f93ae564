package offline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentfleet/fleet/host/offline/internal/policy"
)

// pieceKind says what a streamed piece carries.
type pieceKind int

const (
	pieceReasoning pieceKind = iota
	pieceContent
	pieceToolStart // a tool call's id and name, with empty arguments
	pieceToolArgs  // a piece of a tool call's arguments
)

// piece is one streamed delta; each counts as one completion token.
type piece struct {
	kind  pieceKind
	text  string
	index int
	id    string
	name  string
}

// plan is a reply cut into the pieces the server streams.
type plan struct {
	id     string
	pieces []piece
	// finish is "stop", "tool_calls" or "length".
	finish string
	usage  usage
}

// maxWordPiece caps a streamed word piece, in runes.
const maxWordPiece = 8

// argPiece is the size of a tool call's argument pieces, in bytes (cut on rune boundaries).
const argPiece = 8

// newPlan cuts reply into pieces, applying the request's token cap.
func newPlan(req *chatRequest, reply policy.Reply, seed uint64) plan {
	conv, _ := json.Marshal(req.policyRequest()) // plain strings and slices always encode
	p := plan{id: "chatcmpl-" + digest(seed, conv, -1), finish: "stop"}
	for _, w := range wordPieces(reply.Reasoning) {
		p.pieces = append(p.pieces, piece{kind: pieceReasoning, text: w})
	}
	for _, w := range wordPieces(reply.Content) {
		p.pieces = append(p.pieces, piece{kind: pieceContent, text: w})
	}
	for i, c := range reply.Calls {
		p.pieces = append(p.pieces, piece{kind: pieceToolStart, index: i, id: "call_" + digest(seed, conv, i), name: c.Name})
		for _, a := range argPieces(c.Arguments) {
			p.pieces = append(p.pieces, piece{kind: pieceToolArgs, index: i, text: a})
		}
	}
	if len(reply.Calls) > 0 {
		p.finish = "tool_calls"
	}
	if limit := req.maxTokens(); limit > 0 && len(p.pieces) > limit {
		p.pieces, p.finish = p.pieces[:limit], "length"
	}
	prompt := req.promptTokens()
	p.usage = usage{PromptTokens: prompt, CompletionTokens: len(p.pieces), TotalTokens: prompt + len(p.pieces)}
	return p
}

// digest derives a deterministic id from the seed, the request's conversation and an index.
func digest(seed uint64, conv []byte, index int) string {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(int64(index)))
	h.Write(b[:])
	h.Write(conv)
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// wordPieces cuts text into word pieces: each word with the whitespace before it, words longer
// than maxWordPiece runes cut further. Joining the pieces gives text back.
func wordPieces(text string) []string {
	var out []string
	for len(text) > 0 {
		n := 0
		for n < len(text) {
			r, size := utf8.DecodeRuneInString(text[n:])
			if !unicode.IsSpace(r) {
				break
			}
			n += size
		}
		for runes := 0; n < len(text) && runes < maxWordPiece; runes++ {
			r, size := utf8.DecodeRuneInString(text[n:])
			if unicode.IsSpace(r) {
				break
			}
			n += size
		}
		out = append(out, text[:n])
		text = text[n:]
	}
	return out
}

// argPieces cuts a call's arguments into at least two pieces of about argPiece bytes, on rune
// boundaries.
func argPieces(args string) []string {
	size := argPiece
	if len(args) <= 2*argPiece {
		size = max(1, (len(args)+1)/2)
	}
	var out []string
	for len(args) > 0 {
		n := min(size, len(args))
		for n < len(args) && !utf8.RuneStart(args[n]) {
			n++
		}
		out = append(out, args[:n])
		args = args[n:]
	}
	return out
}

// message assembles the plan's pieces into a whole assistant message.
func (p plan) message() completionMessage {
	m := completionMessage{Role: "assistant"}
	var content, reasoning strings.Builder
	for _, pc := range p.pieces {
		switch pc.kind {
		case pieceReasoning:
			reasoning.WriteString(pc.text)
		case pieceContent:
			content.WriteString(pc.text)
		case pieceToolStart:
			m.ToolCalls = append(m.ToolCalls, wireToolCall{ID: pc.id, Type: "function", Function: wireFunction{Name: pc.name}})
		case pieceToolArgs:
			m.ToolCalls[pc.index].Function.Arguments += pc.text
		}
	}
	m.ReasoningContent = reasoning.String()
	if content.Len() > 0 || len(m.ToolCalls) == 0 {
		s := content.String()
		m.Content = &s
	}
	return m
}

// delta is the streamed form of one piece.
func (pc piece) delta() chunkDelta {
	switch pc.kind {
	case pieceReasoning:
		return chunkDelta{ReasoningContent: pc.text}
	case pieceContent:
		s := pc.text
		return chunkDelta{Content: &s}
	case pieceToolStart:
		return chunkDelta{ToolCalls: []toolCallDelta{{Index: pc.index, ID: pc.id, Type: "function",
			Function: functionDelta{Name: pc.name}}}}
	default:
		return chunkDelta{ToolCalls: []toolCallDelta{{Index: pc.index, Function: functionDelta{Arguments: pc.text}}}}
	}
}
