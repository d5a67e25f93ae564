package llm

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	openai "github.com/sashabaranov/go-openai"
)

// stream adapts a go-openai stream to [engine.ModelStream].
type stream struct {
	ctx   context.Context
	c     *Client
	s     *openai.ChatCompletionStream
	names map[string]string
	idx   *indexer

	sawFinish bool
	err       error // sticky: every Recv after the first error returns it
	closed    bool
}

// Recv returns the next chunk with content, reasoning, tool call pieces, a finish reason or
// usage; io.EOF after the last.
func (s *stream) Recv() (engine.Chunk, error) {
	for s.err == nil {
		if s.ctx.Err() != nil {
			s.err = s.c.ctxError(s.ctx)
			break
		}
		resp, err := s.s.Recv()
		if err != nil {
			s.err = s.endError(err)
			break
		}
		if ch, ok := s.convert(resp); ok {
			return ch, nil
		}
	}
	return engine.Chunk{}, s.err
}

// endError turns the error that ended the stream into what Recv returns.
func (s *stream) endError(err error) error {
	if !errors.Is(err, io.EOF) || s.ctx.Err() != nil {
		return s.c.classify(s.ctx, err, true)
	}
	if s.sawFinish {
		return io.EOF
	}
	return s.c.newError(class{transient: true, detail: "stream broken: it ended before a finish reason"},
		fmt.Errorf("%w: stream ended before a finish reason", io.ErrUnexpectedEOF))
}

// Close closes the response body. It is safe to call more than once.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.s.Close()
}

// convert turns a go-openai chunk into an engine chunk; false when it carries nothing.
func (s *stream) convert(resp openai.ChatCompletionStreamResponse) (engine.Chunk, bool) {
	var ch engine.Chunk
	if u := resp.Usage; u != nil {
		ch.Usage = &event.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	}
	for _, choice := range resp.Choices { // empty on the usage chunk
		if choice.Index != 0 {
			continue // only one choice is asked for
		}
		ch.Content += choice.Delta.Content
		ch.Reasoning += choice.Delta.ReasoningContent
		for _, tc := range choice.Delta.ToolCalls {
			ch.ToolCalls = append(ch.ToolCalls, engine.ToolCallDelta{
				Index: s.idx.index(tc), ID: tc.ID, Name: s.engineName(tc.Function.Name), Arguments: tc.Function.Arguments})
		}
		if choice.FinishReason != "" {
			ch.FinishReason = string(choice.FinishReason)
			s.sawFinish = true
		}
	}
	ok := ch.Content != "" || ch.Reasoning != "" || len(ch.ToolCalls) > 0 || ch.FinishReason != "" || ch.Usage != nil
	return ch, ok
}

// engineName maps a wire tool name back to the engine's.
func (s *stream) engineName(name string) string {
	if n, ok := s.names[name]; ok {
		return n
	}
	return name
}

// indexer gives streamed tool call pieces dense indexes 0, 1, ... in order of first
// appearance. With a server index, a piece continues that index's call unless it brings a new
// id (some servers reuse index 0 for every call). Without one, a piece with a new id starts the
// next call and any other piece continues the last call.
type indexer struct {
	byServer map[int]int    // server index -> our index
	idAt     map[int]string // server index -> id of the call there
	byID     map[string]int
	last     int
	next     int
}

func newIndexer() *indexer {
	return &indexer{byServer: map[int]int{}, idAt: map[int]string{}, byID: map[string]int{}, last: -1}
}

func (x *indexer) index(tc openai.ToolCall) int {
	if tc.Index != nil {
		return x.explicit(*tc.Index, tc.ID)
	}
	return x.inferred(tc.ID)
}

func (x *indexer) explicit(si int, id string) int {
	out, seen := x.byServer[si]
	if !seen || (id != "" && x.idAt[si] != "" && id != x.idAt[si]) {
		out = x.alloc(id)
		x.byServer[si] = out
	}
	if id != "" {
		x.idAt[si] = id
	}
	x.last = out
	return out
}

func (x *indexer) inferred(id string) int {
	if id == "" && x.last >= 0 {
		return x.last
	}
	if i, ok := x.byID[id]; ok && id != "" {
		x.last = i
		return i
	}
	x.last = x.alloc(id)
	return x.last
}

func (x *indexer) alloc(id string) int {
	i := x.next
	x.next++
	if id != "" {
		x.byID[id] = i
	}
	return i
}
