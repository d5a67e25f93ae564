// Command legacy is the first-party mapper plugin "legacy": it turns the engine's events into the
// frames of Fleet's predecessor, agentic-fleet (its StreamEvent.to_sse_dict), so that clients
// written for it keep working. Frames are Server-Sent Events.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o legacy.wasm .
//
// Every frame has type and timestamp (the event's time), the fields below when they have a value,
// workflow_id (the run's id), and the category and ui_hint {component, priority, collapsible,
// icon_hint?} of its type and kind in the UI routing table (routing.go; config key ui_routing).
// Fields come in the predecessor's order: type, message, delta, reasoning, agent_id, author, role,
// kind, error, data, category, ui_hint, workflow_id, timestamp.
//
//	run.started        orchestrator.thought  kind progress, message, data {workflow, input}
//	run.resumed        orchestrator.thought  kind progress, message, data {reason, checkpoint}
//	step.started       agent.start           agent_id (node), author (agent), kind (step kind), message
//	step.finished      agent.complete        agent_id, author, kind, message, data {kind, step, status}
//	message.delta      response.delta        delta, agent_id, author, role assistant, data {message_id}
//	message.end        agent.message         message (the whole text), agent_id, author, role, data {message_id, aborted?}
//	reasoning.delta    reasoning.delta       reasoning, agent_id, author, data {message_id}
//	reasoning.end      reasoning.completed   agent_id, author, data {message_id}
//	tool.end           orchestrator.thought  kind tool_call, message, agent_id, author, data (the event's)
//	tool.result        orchestrator.thought  kind tool_result, message, error?, agent_id, author, data (the event's)
//	route              orchestrator.message  kind routing (route, speaker), handoff or finish, message, agent_id (from), data
//	approval.requested orchestrator.message  kind approval_request, message, data {request_id, approval}
//	approval.resolved  orchestrator.message  kind approval_resolved, message, data (the event's)
//	run.interrupted    orchestrator.message  kind waiting, message, data (the event's)
//	run.finished       response.completed    message (the output), data {output, usage, limit?}; then done
//	run.failed         error                 error, message, kind (the error code), data; then done
//	run.cancelled      cancelled             message; then done
//
// The stream's state holds the text of the messages still open (up to 32 KiB each), for
// agent.message. Nothing follows done.
package main

import (
	"github.com/agentfleet/fleet/sdk"
)

func main() {}

func init() {
	sdk.RegisterMapper(sdk.Mapper[state]{
		Name:         "legacy",
		Version:      "1.0.0",
		Description:  "Maps engine events to the frames of Fleet's predecessor, agentic-fleet (Server-Sent Events).",
		Capabilities: []sdk.Capability{sdk.CapConfig},
		Format:       sdk.Format{Name: "legacy", ContentType: "text/event-stream", Framing: sdk.FramingSSE},
		Handlers:     handlers,
	})
}

var handlers = map[string]sdk.Handler[state]{
	sdk.EventRunStarted:        live(runStarted),
	sdk.EventRunResumed:        live(runResumed),
	sdk.EventRunFinished:       live(runFinished),
	sdk.EventRunInterrupted:    live(runInterrupted),
	sdk.EventRunFailed:         live(runFailed),
	sdk.EventRunCancelled:      live(runCancelled),
	sdk.EventStepStarted:       live(stepStarted),
	sdk.EventStepFinished:      live(stepFinished),
	sdk.EventMessageStart:      live(messageStart),
	sdk.EventMessageDelta:      live(messageDelta),
	sdk.EventMessageEnd:        live(messageEnd),
	sdk.EventReasoningDelta:    live(reasoningDelta),
	sdk.EventReasoningEnd:      live(reasoningEnd),
	sdk.EventToolEnd:           live(toolEnd),
	sdk.EventToolResult:        live(toolResult),
	sdk.EventRoute:             live(route),
	sdk.EventApprovalRequested: live(approvalRequested),
	sdk.EventApprovalResolved:  live(approvalResolved),
}

// mapFunc maps one event of a live stream with the routing table w.
type mapFunc func(w *writer, s *state, e *sdk.Event)

// live makes a handler that drops events after done and gives fn a writer bound to the table.
func live(fn mapFunc) sdk.Handler[state] {
	return func(out *sdk.Frames, s *state, e *sdk.Event) error {
		if s.Done {
			return nil
		}
		r, err := currentRouting()
		if err != nil {
			return sdk.Errorf("config", "legacy: %v", err)
		}
		fn(&writer{out: out, r: r, e: e}, s, e)
		return nil
	}
}

// frame is one legacy frame's fields; empty ones are left out.
type frame struct {
	typ, key                                         string // type, and its routing key (underscores)
	message, delta, reasoning, agentID, author, role string
	kind, err                                        string
	data                                             []byte
	dataFn                                           func(j *sdk.JSON)
}

// writer writes frames for one event.
type writer struct {
	out *sdk.Frames
	r   *routing
	e   *sdk.Event
}

func (w *writer) write(f frame) {
	j := w.out.Frame().String("type", f.typ).OptString("message", f.message).OptString("delta", f.delta).
		OptString("reasoning", f.reasoning).OptString("agent_id", f.agentID).OptString("author", f.author).
		OptString("role", f.role).OptString("kind", f.kind).OptString("error", f.err)
	switch {
	case f.dataFn != nil:
		f.dataFn(j.Object("data"))
		j.End()
	default:
		j.OptRaw("data", f.data)
	}
	h := w.r.lookup(f.key, f.kind)
	j.String("category", h.Category).Object("ui_hint").String("component", h.Component).String("priority", h.Priority).
		Bool("collapsible", *h.Collapsible).OptString("icon_hint", h.IconHint).End()
	j.OptString("workflow_id", w.e.RunID).OptString("timestamp", w.e.Time).End()
}

// agent fills in the frame's agent fields from the event.
func (w *writer) agent(f frame) frame {
	f.agentID, f.author = w.e.Node, w.e.Agent
	if f.author == "" {
		f.author = f.agentID
	}
	return f
}

// Frame types and their routing keys.
var (
	thought     = frame{typ: "orchestrator.thought", key: "orchestrator_thought"}
	orchMessage = frame{typ: "orchestrator.message", key: "orchestrator_message"}
	agentStart  = frame{typ: "agent.start", key: "agent_start"}
	agentDone   = frame{typ: "agent.complete", key: "agent_complete"}
	agentMsg    = frame{typ: "agent.message", key: "agent_message"}
	respDelta   = frame{typ: "response.delta", key: "response_delta"}
	respDone    = frame{typ: "response.completed", key: "response_completed"}
	reasonDelta = frame{typ: "reasoning.delta", key: "reasoning_delta"}
	reasonDone  = frame{typ: "reasoning.completed", key: "reasoning_completed"}
	errorFrame  = frame{typ: "error", key: "error"}
	cancelled   = frame{typ: "cancelled", key: "cancelled"}
	doneFrame   = frame{typ: "done", key: "done"}
)
