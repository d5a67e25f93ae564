// Command agui is the first-party mapper plugin "agui": it turns the engine's events into the
// events of the AG-UI protocol (github.com/ag-ui-protocol/ag-ui, @ag-ui/core), Fleet's default
// wire format, sent as Server-Sent Events.
//
// This Go package is the reference mapping. What `make plugins` ships is the same mapping written
// in C (c/agui.c), about 20 times faster as WebAssembly under the host's termination checks
// (RATIONALE.md); the golden files of testdata and FuzzCMatchesGo hold the C build to this code
// byte for byte. A change to the mapping is made here first, then in C.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o agui.wasm .
//
// Mapping (docs/events.md -> @ag-ui/core events.ts):
//
//	run.started                RUN_STARTED{threadId, runId}
//	(first event of a stream that starts later, e.g. with run.resumed, or after an interruption)
//	                           RUN_STARTED{threadId, runId} first
//	step.started/finished      STEP_STARTED/STEP_FINISHED{stepName: node}
//	message.start/delta/end    TEXT_MESSAGE_START{messageId, role: assistant, name?: agent}
//	                           TEXT_MESSAGE_CONTENT{messageId, delta}, TEXT_MESSAGE_END{messageId}
//	reasoning.start            REASONING_START{messageId}, REASONING_MESSAGE_START{messageId, role: reasoning}
//	reasoning.delta            REASONING_MESSAGE_CONTENT{messageId, delta}
//	reasoning.end              REASONING_MESSAGE_END{messageId}, REASONING_END{messageId}
//	tool.start/args/end        TOOL_CALL_START{toolCallId, toolCallName, parentMessageId?}
//	                           TOOL_CALL_ARGS{toolCallId, delta}, TOOL_CALL_END{toolCallId}
//	tool.result                TOOL_CALL_RESULT{messageId, toolCallId, content, role: tool}: content
//	                           is the result's JSON text, or {"error":{"code","message"}} as text
//	route                      CUSTOM{name: fleet.route, value: the route}
//	usage                      CUSTOM{name: fleet.usage, value: the usage event's data}
//	approval.requested         CUSTOM{name: fleet.approval_requested, value: the approval}
//	approval.resolved          CUSTOM{name: fleet.approval_resolved, value: the decision}
//	state.snapshot             STATE_SNAPSHOT{snapshot}
//	run.finished               RUN_FINISHED{threadId, runId, result: {output, usage, limit?},
//	                           outcome: {type: success}}
//	run.interrupted            RUN_FINISHED{threadId, runId, result: {usage}, outcome: {type:
//	                           interrupt, interrupts: [{id: approval id, reason: tool_call, message,
//	                           toolCallId, responseSchema, metadata: {approval}}]}}
//	run.failed                 RUN_ERROR{message, code}
//	run.cancelled              RUN_ERROR{message, code: cancelled}
//
// The stream's state tracks the messages, reasoning, tool calls and steps still open; they are
// closed (innermost first) before RUN_FINISHED and RUN_ERROR and when the stream ends. Nothing
// follows RUN_ERROR or a run's final RUN_FINISHED. A delta of a message the stream never saw start
// (a stream that begins mid-message) opens it first; the end of a tool call the stream never saw
// start sends the whole call. Optional fields are omitted, never null. These are the rules
// @ag-ui/client's verifyEvents checks.
package main

import (
	"github.com/agentfleet/fleet/plugins/internal/mapperkit"
	"github.com/agentfleet/fleet/sdk"
)

// Phases of a stream.
const (
	idle    = 0 // no run open on the stream: before the first event, or after an interruption
	running = 1 // RUN_STARTED sent
	over    = 2 // RUN_ERROR or the final RUN_FINISHED sent: nothing more
)

// state is the stream's state between batches.
type state struct {
	Phase     int64
	Steps     mapperkit.IDs // open steps, by node
	Messages  mapperkit.IDs // open text messages
	Reasoning mapperkit.IDs // open reasoning messages
	Tools     mapperkit.IDs // open tool calls
}

// MarshalState implements sdk.StateCodec: {"p":1,"s":[...],"m":[...],"r":[...],"t":[...]}.
func (s *state) MarshalState(j *sdk.JSON) {
	j.Object("").Int("p", s.Phase)
	mapperkit.WriteIDs(j, "s", s.Steps)
	mapperkit.WriteIDs(j, "m", s.Messages)
	mapperkit.WriteIDs(j, "r", s.Reasoning)
	mapperkit.WriteIDs(j, "t", s.Tools)
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
		case "s":
			s.Steps = mapperkit.ReadIDs(d, s.Steps)
		case "m":
			s.Messages = mapperkit.ReadIDs(d, s.Messages)
		case "r":
			s.Reasoning = mapperkit.ReadIDs(d, s.Reasoning)
		case "t":
			s.Tools = mapperkit.ReadIDs(d, s.Tools)
		default:
			d.Skip()
		}
	}
	return d.Err()
}

// mapFunc maps one event of a live stream; live wraps it into a handler.
type mapFunc func(out *sdk.Frames, s *state, e *sdk.Event)

// live makes a handler that drops events after the stream is over and opens the run (RUN_STARTED)
// before the first event of a stream or of a stretch after an interruption.
func live(fn mapFunc) sdk.Handler[state] {
	return func(out *sdk.Frames, s *state, e *sdk.Event) error {
		switch s.Phase {
		case over:
			return nil
		case idle:
			out.Frame().String("type", "RUN_STARTED").String("threadId", e.ThreadID).String("runId", e.RunID).End()
			s.Phase = running
		}
		fn(out, s, e)
		return nil
	}
}

func main() {}

func init() {
	sdk.RegisterMapper(sdk.Mapper[state]{
		Name:        "agui",
		Version:     "1.0.0",
		Description: "Maps engine events to AG-UI protocol events (Server-Sent Events).",
		Format:      sdk.Format{Name: "agui", ContentType: "text/event-stream", Framing: sdk.FramingSSE},
		Handlers:    handlers,
		End:         end,
	})
}

// handlers is the dispatch table.
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
	sdk.EventRoute:             live(custom("fleet.route")),
	sdk.EventUsage:             live(custom("fleet.usage")),
	sdk.EventApprovalRequested: live(approvalRequested),
	sdk.EventApprovalResolved:  live(custom("fleet.approval_resolved")),
	sdk.EventStateSnapshot:     live(stateSnapshot),
}

// end closes what the stream left open.
func end(out *sdk.Frames, s *state) error {
	if s.Phase == running {
		closeAll(out, s)
	}
	return nil
}

// closeAll ends every open span, innermost first: tool calls, messages, reasoning, steps.
func closeAll(out *sdk.Frames, s *state) {
	for _, id := range s.Tools {
		out.Frame().String("type", "TOOL_CALL_END").String("toolCallId", id).End()
	}
	for _, id := range s.Messages {
		out.Frame().String("type", "TEXT_MESSAGE_END").String("messageId", id).End()
	}
	for _, id := range s.Reasoning {
		closeReasoning(out, id)
	}
	for i := len(s.Steps) - 1; i >= 0; i-- {
		out.Frame().String("type", "STEP_FINISHED").String("stepName", s.Steps[i]).End()
	}
	s.Tools, s.Messages, s.Reasoning, s.Steps = nil, nil, nil, nil
}

func runFinished(out *sdk.Frames, s *state, e *sdk.Event) {
	closeAll(out, s)
	f := out.Frame().String("type", "RUN_FINISHED").String("threadId", e.ThreadID).String("runId", e.RunID)
	f.OptRaw("result", e.Data)
	f.Object("outcome").String("type", "success").End()
	f.End()
	s.Phase = over
}

// approvalSchema is the response an interrupt asks for: AG-UI's approve-with-edits pattern, which
// the engine's approval answers (approved or denied, optionally edited arguments) follow.
var approvalSchema = []byte(`{"type":"object","properties":{"approved":{"type":"boolean"},"editedArgs":{"type":"object","description":"Full replacement of the tool's arguments."}},"required":["approved"]}`)

func runInterrupted(out *sdk.Frames, s *state, e *sdk.Event) {
	closeAll(out, s)
	d := e.RunInterrupted()
	f := out.Frame().String("type", "RUN_FINISHED").String("threadId", e.ThreadID).String("runId", e.RunID)
	mapperkit.WriteUsage(f.Object("result"), "usage", d.Usage)
	f.End()
	if len(d.Approvals) > 0 {
		f.Object("outcome").String("type", "interrupt").Array("interrupts")
		for _, a := range d.Approvals {
			f.Object("").String("id", a.ID).String("reason", "tool_call").
				String("message", "Approve the call of tool "+a.Tool+"?").OptString("toolCallId", a.CallID).
				Raw("responseSchema", approvalSchema).
				Object("metadata").Raw("approval", a.Raw).End().
				End()
		}
		f.End().End()
	}
	f.End()
	s.Phase = idle
}

func runFailed(out *sdk.Frames, s *state, e *sdk.Event) {
	closeAll(out, s)
	d := e.RunFailed()
	out.Frame().String("type", "RUN_ERROR").String("message", mapperkit.Or(d.Error.Message, "the run failed")).
		OptString("code", d.Error.Code).End()
	s.Phase = over
}

func runCancelled(out *sdk.Frames, s *state, e *sdk.Event) {
	closeAll(out, s)
	msg := "the run was cancelled"
	if d := e.RunCancelled(); d.Reason != "" {
		msg += ": " + d.Reason
	}
	out.Frame().String("type", "RUN_ERROR").String("message", msg).String("code", "cancelled").End()
	s.Phase = over
}

// stepName is the step's name in AG-UI: the node.
func stepName(e *sdk.Event) string { return mapperkit.Or(e.Node, mapperkit.Or(e.Path, "run")) }

func stepStarted(out *sdk.Frames, s *state, e *sdk.Event) {
	if name := stepName(e); s.Steps.Add(name) {
		out.Frame().String("type", "STEP_STARTED").String("stepName", name).End()
	}
}

func stepFinished(out *sdk.Frames, s *state, e *sdk.Event) {
	if name := stepName(e); s.Steps.Remove(name) {
		out.Frame().String("type", "STEP_FINISHED").String("stepName", name).End()
	}
}

func openMessage(out *sdk.Frames, s *state, id, name string) {
	if s.Messages.Add(id) {
		out.Frame().String("type", "TEXT_MESSAGE_START").String("messageId", id).String("role", "assistant").
			OptString("name", name).End()
	}
}

func messageStart(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.MessageStart()
	openMessage(out, s, d.MessageID, mapperkit.Or(d.Name, e.Agent))
}

func messageDelta(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.MessageDelta()
	if d.Delta == "" {
		return
	}
	if !s.Messages.Has(d.MessageID) {
		openMessage(out, s, d.MessageID, e.Agent)
	}
	out.Frame().String("type", "TEXT_MESSAGE_CONTENT").String("messageId", d.MessageID).String("delta", d.Delta).End()
}

func messageEnd(out *sdk.Frames, s *state, e *sdk.Event) {
	if d := e.MessageEnd(); s.Messages.Remove(d.MessageID) {
		out.Frame().String("type", "TEXT_MESSAGE_END").String("messageId", d.MessageID).End()
	}
}

func openReasoning(out *sdk.Frames, s *state, id string) {
	if s.Reasoning.Add(id) {
		out.Frame().String("type", "REASONING_START").String("messageId", id).End()
		out.Frame().String("type", "REASONING_MESSAGE_START").String("messageId", id).String("role", "reasoning").End()
	}
}

func closeReasoning(out *sdk.Frames, id string) {
	out.Frame().String("type", "REASONING_MESSAGE_END").String("messageId", id).End()
	out.Frame().String("type", "REASONING_END").String("messageId", id).End()
}

func reasoningStart(out *sdk.Frames, s *state, e *sdk.Event) {
	openReasoning(out, s, e.Reasoning().MessageID)
}

func reasoningDelta(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.Reasoning()
	if d.Delta == "" {
		return
	}
	openReasoning(out, s, d.MessageID)
	out.Frame().String("type", "REASONING_MESSAGE_CONTENT").String("messageId", d.MessageID).String("delta", d.Delta).End()
}

func reasoningEnd(out *sdk.Frames, s *state, e *sdk.Event) {
	if id := e.Reasoning().MessageID; s.Reasoning.Remove(id) {
		closeReasoning(out, id)
	}
}

func openTool(out *sdk.Frames, s *state, id, tool, parent string) bool {
	if !s.Tools.Add(id) {
		return false
	}
	out.Frame().String("type", "TOOL_CALL_START").String("toolCallId", id).String("toolCallName", tool).
		OptString("parentMessageId", parent).End()
	return true
}

func toolStart(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.ToolStart()
	openTool(out, s, d.CallID, d.Tool, d.MessageID)
}

// toolArgs passes on argument deltas of calls the stream saw start; those of a call it did not are
// sent whole with its end.
func toolArgs(out *sdk.Frames, s *state, e *sdk.Event) {
	if d := e.ToolArgs(); d.Delta != "" && s.Tools.Has(d.CallID) {
		out.Frame().String("type", "TOOL_CALL_ARGS").String("toolCallId", d.CallID).String("delta", d.Delta).End()
	}
}

func toolEnd(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.ToolEnd()
	if openTool(out, s, d.CallID, d.Tool, "") && len(d.Arguments) > 0 && string(d.Arguments) != "null" {
		out.Frame().String("type", "TOOL_CALL_ARGS").String("toolCallId", d.CallID).StringBytes("delta", d.Arguments).End()
	}
	s.Tools.Remove(d.CallID)
	out.Frame().String("type", "TOOL_CALL_END").String("toolCallId", d.CallID).End()
}

func toolResult(out *sdk.Frames, s *state, e *sdk.Event) {
	d := e.ToolResult()
	f := out.Frame().String("type", "TOOL_CALL_RESULT").String("messageId", mapperkit.Or(d.MessageID, "result_"+d.CallID)).
		String("toolCallId", d.CallID)
	switch {
	case d.HasError:
		var content sdk.JSON
		content.Object("").Object("error").OptString("code", d.Error.Code).String("message", d.Error.Message).End().End()
		f.StringBytes("content", content.Bytes())
	case len(d.Result) > 0:
		f.StringBytes("content", d.Result)
	default:
		f.String("content", "null")
	}
	f.String("role", "tool").End()
}

// custom makes a mapping to CUSTOM{name, value: the event's data}.
func custom(name string) mapFunc {
	return func(out *sdk.Frames, _ *state, e *sdk.Event) {
		out.Frame().String("type", "CUSTOM").String("name", name).Raw("value", e.Data).End()
	}
}

func approvalRequested(out *sdk.Frames, _ *state, e *sdk.Event) {
	d := e.ApprovalRequested()
	out.Frame().String("type", "CUSTOM").String("name", "fleet.approval_requested").Raw("value", d.Approval.Raw).End()
}

func stateSnapshot(out *sdk.Frames, _ *state, e *sdk.Event) {
	out.Frame().String("type", "STATE_SNAPSHOT").Raw("snapshot", e.StateSnapshot().State).End()
}
