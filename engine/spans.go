package engine

import "github.com/agentfleet/fleet/engine/event"

// openSpans tracks what a run's events opened and have not closed yet (steps, messages, reasoning,
// tool calls), so that a run that stops early — cancelled, failed, interrupted, or resumed after its
// process died — closes every one of them before its last event. Clients that verify the stream
// (AG-UI's verifier) then never see a dangling START.
type openSpans struct {
	order []spanKey
	spans map[spanKey]event.Event
}

type spanKey struct {
	kind string
	id   string
}

func newOpenSpans() *openSpans { return &openSpans{spans: map[spanKey]event.Event{}} }

// spanOf says which span an event opens (open=true) or closes.
func spanOf(e event.Event) (k spanKey, open, ok bool) {
	switch d := e.Data.(type) {
	case event.StepStartedData:
		return spanKey{"step", e.Node}, true, true
	case event.StepFinishedData:
		return spanKey{"step", e.Node}, false, true
	case event.MessageStartData:
		return spanKey{"message", d.MessageID}, true, true
	case event.MessageEndData:
		return spanKey{"message", d.MessageID}, false, true
	case event.ReasoningStartData:
		return spanKey{"reasoning", d.MessageID}, true, true
	case event.ReasoningEndData:
		return spanKey{"reasoning", d.MessageID}, false, true
	case event.ToolStartData:
		return spanKey{"tool", d.CallID}, true, true
	case event.ToolEndData:
		return spanKey{"tool", d.CallID}, false, true
	}
	return k, false, false
}

func (o *openSpans) track(e event.Event) {
	k, open, ok := spanOf(e)
	if !ok {
		return
	}
	if open {
		if _, dup := o.spans[k]; !dup {
			o.order = append(o.order, k)
		}
		o.spans[k] = e
		return
	}
	delete(o.spans, k)
	for i, x := range o.order {
		if x == k {
			o.order = append(o.order[:i], o.order[i+1:]...)
			break
		}
	}
}

// len is the number of open spans.
func (o *openSpans) len() int { return len(o.order) }

// closers returns events that close every open span, innermost (latest opened) first. status is
// the StepFinished status to use ("cancelled", "error", "interrupted", "aborted").
func (o *openSpans) closers(status string) []event.Event {
	out := make([]event.Event, 0, len(o.order))
	for i := len(o.order) - 1; i >= 0; i-- {
		start := o.spans[o.order[i]]
		c := event.Event{Node: start.Node, Agent: start.Agent, Path: start.Path}
		switch d := start.Data.(type) {
		case event.StepStartedData:
			c.Data = event.StepFinishedData{Kind: d.Kind, Step: d.Step, Status: status}
		case event.MessageStartData:
			c.Data = event.MessageEndData{MessageID: d.MessageID, Aborted: true}
		case event.ReasoningStartData:
			c.Data = event.ReasoningEndData{MessageID: d.MessageID}
		case event.ToolStartData:
			c.Data = event.ToolEndData{CallID: d.CallID, Tool: d.Tool, Arguments: []byte("{}"), Aborted: true}
		}
		out = append(out, c)
	}
	return out
}

// filter keeps only the spans for which keep returns true.
func (o *openSpans) filter(keep func(event.Event) bool) *openSpans {
	n := newOpenSpans()
	for _, k := range o.order {
		if e := o.spans[k]; keep(e) {
			n.order = append(n.order, k)
			n.spans[k] = e
		}
	}
	return n
}
