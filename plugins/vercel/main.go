// Command vercel is the first-party mapper plugin "vercel": it turns the engine's events into the
// Vercel AI SDK's UI message stream (the chunks of ai's ui-message-chunks.ts, read by useChat), sent
// as Server-Sent Events, ended by a "[DONE]" line, with the header x-vercel-ai-ui-message-stream: v1.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o vercel.wasm .
//
// A stream is one assistant message whose id is the run's id:
//
//	(first event; again after an interruption)  {"type":"start","messageId":run}
//	step.started/finished      start-step / finish-step: one UI step for the engine's steps that
//	                           overlap (a fan-out's concurrent nodes share it)
//	message.start/delta/end    text-start{id} / text-delta{id, delta} / text-end{id}
//	reasoning.start/delta/end  reasoning-start{id} / reasoning-delta{id, delta} / reasoning-end{id}
//	tool.start/args            tool-input-start{toolCallId, toolName} / tool-input-delta{toolCallId, inputTextDelta}
//	tool.end                   tool-input-available{toolCallId, toolName, input}, or, cut short,
//	                           tool-input-error{toolCallId, toolName, input, errorText}
//	tool.result                tool-output-available{toolCallId, output} or tool-output-error{toolCallId, errorText}
//	route                      data-route{data: the route}
//	usage                      data-usage{id: usage, data: the usage event's data} (one part, updated)
//	approval.requested         data-approval{id: approval id, data: the approval}
//	approval.resolved          data-approval-resolved{id: approval id, data: the decision}
//	state.snapshot             data-state{id: state, data: the state}
//	run.interrupted            data-approval for each pending approval, then finish
//	run.finished               finish
//	run.failed                 error{errorText}
//	run.cancelled              abort
//
// Open text and reasoning parts are ended before a step, the message or the stream ends. Nothing
// follows error, abort or the final finish. The chunks use only the fields of AI SDK 5's schemas
// (every chunk is a strict object there), so that both AI SDK 5 and 6 clients read them.
package main

import (
	"github.com/agentfleet/fleet/plugins/internal/mapperkit"
	"github.com/agentfleet/fleet/sdk"
)

// Phases of a stream.
const (
	idle    = 0 // no message open: before the first event, or after an interruption's finish
	running = 1 // start sent
	over    = 2 // error, abort or the final finish sent: nothing more
)

// state is the stream's state between batches.
type state struct {
	Phase int64
	// Steps counts the engine steps open; the UI step is open while it is above zero.
	Steps     int64
	Text      mapperkit.IDs // open text parts
	Reasoning mapperkit.IDs // open reasoning parts
	Inputs    mapperkit.IDs // tool calls whose input is streaming
	Calls     mapperkit.IDs // tool calls the stream showed, waiting for their output
}

// MarshalState implements sdk.StateCodec.
func (s *state) MarshalState(j *sdk.JSON) {
	j.Object("").Int("p", s.Phase).Int("n", s.Steps)
	mapperkit.WriteIDs(j, "t", s.Text)
	mapperkit.WriteIDs(j, "r", s.Reasoning)
	mapperkit.WriteIDs(j, "i", s.Inputs)
	mapperkit.WriteIDs(j, "c", s.Calls)
	j.End()
}

// UnmarshalState implements sdk.StateCodec.
func (s *state) UnmarshalState(d *sdk.Decoder) error {
	if !d.Object() {
		return d.Err()
	}
	for k, ok := d.Next(); ok; k, ok = d.Next() {
		switch k {
		case "p":
			s.Phase = d.Int()
		case "n":
			s.Steps = d.Int()
		case "t":
			s.Text = mapperkit.ReadIDs(d, s.Text)
		case "r":
			s.Reasoning = mapperkit.ReadIDs(d, s.Reasoning)
		case "i":
			s.Inputs = mapperkit.ReadIDs(d, s.Inputs)
		case "c":
			s.Calls = mapperkit.ReadIDs(d, s.Calls)
		default:
			d.Skip()
		}
	}
	return d.Err()
}

type mapFunc func(out *sdk.Frames, s *state, e *sdk.Event)

// live makes a handler that drops events after the stream is over and starts the message before
// the first event of a stream or after an interruption.
func live(fn mapFunc) sdk.Handler[state] {
	return func(out *sdk.Frames, s *state, e *sdk.Event) error {
		switch s.Phase {
		case over:
			return nil
		case idle:
			out.Frame().String("type", "start").String("messageId", e.RunID).End()
			s.Phase = running
		}
		fn(out, s, e)
		return nil
	}
}

func main() {}

func init() {
	sdk.RegisterMapper(sdk.Mapper[state]{
		Name:        "vercel",
		Version:     "1.0.0",
		Description: "Maps engine events to the Vercel AI SDK UI message stream (Server-Sent Events).",
		Format: sdk.Format{Name: "vercel", ContentType: "text/event-stream", Framing: sdk.FramingSSE, Done: "[DONE]",
			Headers: map[string]string{"x-vercel-ai-ui-message-stream": "v1"}},
		Handlers: handlers,
		End:      end,
	})
}

var handlers = map[string]sdk.Handler[state]{
	sdk.EventRunStarted:        live(func(*sdk.Frames, *state, *sdk.Event) {}),
	sdk.EventRunResumed:        live(func(*sdk.Frames, *state, *sdk.Event) {}),
	sdk.EventRunFinished:       live(runFinished),
	sdk.EventRunInterrupted:    live(runInterrupted),
	sdk.EventRunFailed:         live(runFailed),
	sdk.EventRunCancelled:      live(runCancelled),
	sdk.EventStepStarted:       live(stepStarted),
	sdk.EventStepFinished:      live(stepFinished),
	sdk.EventMessageStart:      live(messageStart),
	sdk.EventMessageDelta:      live(messageDelta),
	sdk.EventMessageEnd:        live(messageEnd),
	sdk.EventReasoningStart:    live(reasoningStart),
	sdk.EventReasoningDelta:    live(reasoningDelta),
	sdk.EventReasoningEnd:      live(reasoningEnd),
	sdk.EventToolStart:         live(toolStart),
	sdk.EventToolArgs:          live(toolArgs),
	sdk.EventToolEnd:           live(toolEnd),
	sdk.EventToolResult:        live(toolResult),
	sdk.EventRoute:             live(data("data-route", "")),
	sdk.EventUsage:             live(data("data-usage", "usage")),
	sdk.EventApprovalRequested: live(approvalRequested),
	sdk.EventApprovalResolved:  live(approvalResolved),
	sdk.EventStateSnapshot:     live(stateSnapshot),
}

// end closes what the stream left open; the message itself stays unfinished (the run goes on).
func end(out *sdk.Frames, s *state) error {
	if s.Phase == running {
		closeStep(out, s)
	}
	return nil
}

// closeParts ends the open text and reasoning parts.
func closeParts(out *sdk.Frames, s *state) {
	for _, id := range s.Text {
		out.Frame().String("type", "text-end").String("id", id).End()
	}
	for _, id := range s.Reasoning {
		out.Frame().String("type", "reasoning-end").String("id", id).End()
	}
	s.Text, s.Reasoning = nil, nil
}

// closeStep ends the open parts and the UI step, if one is open.
func closeStep(out *sdk.Frames, s *state) {
	closeParts(out, s)
	if s.Steps > 0 {
		out.Frame().String("type", "finish-step").End()
		s.Steps = 0
	}
}

func runFinished(out *sdk.Frames, s *state, _ *sdk.Event) {
	closeStep(out, s)
	out.Frame().String("type", "finish").End()
	s.Phase = over
}

func runInterrupted(out *sdk.Frames, s *state, e *sdk.Event) {
	closeStep(out, s)
	for _, a := range e.RunInterrupted().Approvals {
		out.Frame().String("type", "data-approval").String("id", a.ID).Raw("data", a.Raw).End()
	}
	out.Frame().String("type", "finish").End()
	s.Phase = idle
}

func runFailed(out *sdk.Frames, s *state, e *sdk.Event) {
	closeStep(out, s)
	d := e.RunFailed()
	out.Frame().String("type", "error").String("errorText", mapperkit.Or(d.Error.Message, "the run failed")).End()
	s.Phase = over
}

func runCancelled(out *sdk.Frames, s *state, _ *sdk.Event) {
	closeStep(out, s)
	out.Frame().String("type", "abort").End()
	s.Phase = over
}

func stepStarted(out *sdk.Frames, s *state, _ *sdk.Event) {
	if s.Steps == 0 {
		out.Frame().String("type", "start-step").End()
	}
	s.Steps++
}

func stepFinished(out *sdk.Frames, s *state, _ *sdk.Event) {
	if s.Steps == 1 {
		closeStep(out, s)
	} else if s.Steps > 1 {
		s.Steps--
	}
}

func messageStart(out *sdk.Frames, s *state, e *sdk.Event) {
	if id := e.MessageStart().MessageID; s.Text.Add(id) {
		out.Frame().String("type", "text-start").String("id", id).End()
	}
}

func messageDelta(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.MessageDelta()
	if s.Text.Add(d.MessageID) {
		out.Frame().String("type", "text-start").String("id", d.MessageID).End()
	}
	out.Frame().String("type", "text-delta").String("id", d.MessageID).String("delta", d.Delta).End()
}

func messageEnd(out *sdk.Frames, s *state, e *sdk.Event) {
	if id := e.MessageEnd().MessageID; s.Text.Remove(id) {
		out.Frame().String("type", "text-end").String("id", id).End()
	}
}

func reasoningStart(out *sdk.Frames, s *state, e *sdk.Event) {
	if id := e.Reasoning().MessageID; s.Reasoning.Add(id) {
		out.Frame().String("type", "reasoning-start").String("id", id).End()
	}
}

func reasoningDelta(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.Reasoning()
	if s.Reasoning.Add(d.MessageID) {
		out.Frame().String("type", "reasoning-start").String("id", d.MessageID).End()
	}
	out.Frame().String("type", "reasoning-delta").String("id", d.MessageID).String("delta", d.Delta).End()
}

func reasoningEnd(out *sdk.Frames, s *state, e *sdk.Event) {
	if id := e.Reasoning().MessageID; s.Reasoning.Remove(id) {
		out.Frame().String("type", "reasoning-end").String("id", id).End()
	}
}

func toolStart(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.ToolStart()
	if s.Inputs.Add(d.CallID) {
		out.Frame().String("type", "tool-input-start").String("toolCallId", d.CallID).String("toolName", d.Tool).End()
	}
}

// toolArgs passes on the argument deltas of calls the stream saw start; the input of a call it did
// not comes whole with its end.
func toolArgs(out *sdk.Frames, s *state, e *sdk.Event) {
	if d := e.ToolArgs(); d.Delta != "" && s.Inputs.Has(d.CallID) {
		out.Frame().String("type", "tool-input-delta").String("toolCallId", d.CallID).String("inputTextDelta", d.Delta).End()
	}
}

func toolEnd(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.ToolEnd()
	s.Inputs.Remove(d.CallID)
	f := out.Frame()
	if d.Aborted {
		f.String("type", "tool-input-error").String("toolCallId", d.CallID).String("toolName", d.Tool).Raw("input", d.Arguments).
			String("errorText", "the tool call was cut short").End()
		return
	}
	f.String("type", "tool-input-available").String("toolCallId", d.CallID).String("toolName", d.Tool).Raw("input", d.Arguments).End()
	s.Calls.Add(d.CallID)
}

func toolResult(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.ToolResult()
	if !s.Calls.Remove(d.CallID) {
		// The stream did not show the call (it began later): a tool part must exist for its output.
		out.Frame().String("type", "tool-input-available").String("toolCallId", d.CallID).String("toolName", d.Tool).
			Null("input").End()
	}
	if d.HasError {
		out.Frame().String("type", "tool-output-error").String("toolCallId", d.CallID).
			String("errorText", mapperkit.Or(d.Error.Message, d.Error.Code)).End()
		return
	}
	out.Frame().String("type", "tool-output-available").String("toolCallId", d.CallID).Raw("output", d.Result).End()
}

// data makes a mapping to a data part of the given type holding the event's data; a non-empty id
// makes every such part update the same one.
func data(typ, id string) mapFunc {
	return func(out *sdk.Frames, _ *state, e *sdk.Event) {
		out.Frame().String("type", typ).OptString("id", id).Raw("data", e.Data).End()
	}
}

func approvalRequested(out *sdk.Frames, _ *state, e *sdk.Event) {
	a := e.ApprovalRequested().Approval
	out.Frame().String("type", "data-approval").String("id", a.ID).Raw("data", a.Raw).End()
}

func approvalResolved(out *sdk.Frames, _ *state, e *sdk.Event) {
	out.Frame().String("type", "data-approval-resolved").String("id", e.ApprovalResolved().ApprovalID).Raw("data", e.Data).End()
}

func stateSnapshot(out *sdk.Frames, _ *state, e *sdk.Event) {
	out.Frame().String("type", "data-state").String("id", "state").Raw("data", e.StateSnapshot().State).End()
}
