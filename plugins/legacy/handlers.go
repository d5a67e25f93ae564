package main

import (
	"strconv"
	"strings"

	"github.com/agentfleet/fleet/sdk"
)

// maxText bounds the text kept for one open message; beyond it the text is cut (agent.message then
// says truncated). The state crosses the boundary with every batch and shares max_input with the
// events: eight long messages open at once keep it near 256 KiB.
const maxText = 32 << 10

// openText is a message still open and its text so far.
type openText struct {
	ID   string
	Text []byte
	Cut  bool
}

// state is the stream's state between batches.
type state struct {
	Done bool
	Open []openText
}

// MarshalState implements sdk.StateCodec: {"d":true,"m":[{"i":id,"t":text,"c":true}]}.
func (s *state) MarshalState(j *sdk.JSON) {
	j.Object("")
	if s.Done {
		j.Bool("d", true)
	}
	if len(s.Open) > 0 {
		j.Array("m")
		for _, o := range s.Open {
			j.Object("").String("i", o.ID).StringBytes("t", o.Text)
			if o.Cut {
				j.Bool("c", true)
			}
			j.End()
		}
		j.End()
	}
	j.End()
}

// UnmarshalState implements sdk.StateCodec.
func (s *state) UnmarshalState(d *sdk.Decoder) error {
	if !d.Object() {
		return d.Err()
	}
	for k, ok := d.Next(); ok; k, ok = d.Next() {
		switch k {
		case "d":
			s.Done = d.Bool()
		case "m":
			if d.Array() {
				for d.More() {
					s.Open = append(s.Open, readOpen(d))
				}
			}
		default:
			d.Skip()
		}
	}
	return d.Err()
}

func readOpen(d *sdk.Decoder) (o openText) {
	if !d.Object() {
		return o
	}
	for k, ok := d.Next(); ok; k, ok = d.Next() {
		switch k {
		case "i":
			o.ID = d.String()
		case "t":
			o.Text = append([]byte(nil), d.String()...)
		case "c":
			o.Cut = d.Bool()
		default:
			d.Skip()
		}
	}
	return o
}

// open returns the open message id, opening it if needed.
func (s *state) open(id string) *openText {
	for i := range s.Open {
		if s.Open[i].ID == id {
			return &s.Open[i]
		}
	}
	s.Open = append(s.Open, openText{ID: id})
	return &s.Open[len(s.Open)-1]
}

// close removes the open message id and returns it.
func (s *state) close(id string) openText {
	for i, o := range s.Open {
		if o.ID == id {
			s.Open = append(s.Open[:i], s.Open[i+1:]...)
			return o
		}
	}
	return openText{ID: id}
}

func messageID(id string) func(j *sdk.JSON) {
	return func(j *sdk.JSON) { j.String("message_id", id) }
}

func runStarted(w *writer, _ *state, e *sdk.Event) {
	f := thought
	f.kind, f.message, f.data = "progress", "Started workflow "+e.RunStarted().Workflow, e.Data
	w.write(f)
}

func runResumed(w *writer, _ *state, e *sdk.Event) {
	f := thought
	f.kind, f.message, f.data = "progress", "Resumed the run ("+e.RunResumed().Reason+")", e.Data
	w.write(f)
}

func stepStarted(w *writer, _ *state, e *sdk.Event) {
	f := w.agent(agentStart)
	f.kind, f.message, f.data = e.StepStarted().Kind, f.author+" started", e.Data
	w.write(f)
}

func stepFinished(w *writer, _ *state, e *sdk.Event) {
	d := e.StepFinished()
	f := w.agent(agentDone)
	f.kind, f.message, f.data = d.Kind, f.author+" finished", e.Data
	if d.Status != "ok" && d.Status != "" {
		f.message = f.author + " stopped: " + d.Status
	}
	w.write(f)
}

func messageStart(_ *writer, s *state, e *sdk.Event) {
	s.open(e.MessageStart().MessageID)
}

func messageDelta(w *writer, s *state, e *sdk.Event) {
	d := e.MessageDelta()
	if o := s.open(d.MessageID); !o.Cut && len(o.Text)+len(d.Delta) <= maxText {
		o.Text = append(o.Text, d.Delta...)
	} else {
		o.Cut = true
	}
	f := w.agent(respDelta)
	f.delta, f.role, f.dataFn = d.Delta, "assistant", messageID(d.MessageID)
	w.write(f)
}

func messageEnd(w *writer, s *state, e *sdk.Event) {
	d := e.MessageEnd()
	o := s.close(d.MessageID)
	f := w.agent(agentMsg)
	f.message, f.role = string(o.Text), "assistant"
	f.dataFn = func(j *sdk.JSON) {
		j.String("message_id", d.MessageID)
		if d.Aborted {
			j.Bool("aborted", true)
		}
		if o.Cut {
			j.Bool("truncated", true)
		}
	}
	w.write(f)
}

func reasoningDelta(w *writer, _ *state, e *sdk.Event) {
	d := e.Reasoning()
	f := w.agent(reasonDelta)
	f.reasoning, f.dataFn = d.Delta, messageID(d.MessageID)
	w.write(f)
}

func reasoningEnd(w *writer, _ *state, e *sdk.Event) {
	f := w.agent(reasonDone)
	f.dataFn = messageID(e.Reasoning().MessageID)
	w.write(f)
}

func toolEnd(w *writer, _ *state, e *sdk.Event) {
	d := e.ToolEnd()
	f := w.agent(thought)
	f.kind, f.message, f.data = "tool_call", "Calling "+d.Tool, e.Data
	if d.Aborted {
		f.message = "The call of " + d.Tool + " was cut short"
	}
	w.write(f)
}

func toolResult(w *writer, _ *state, e *sdk.Event) {
	d := e.ToolResult()
	f := w.agent(thought)
	f.kind, f.message, f.data = "tool_result", d.Tool+" returned a result", e.Data
	if d.HasError {
		f.err = d.Error.Message
		f.message = d.Tool + " failed: " + d.Error.Message
	}
	w.write(f)
}

// routeKinds maps a route's kind to the frame's kind in the routing table.
var routeKinds = map[string]string{"route": "routing", "speaker": "routing", "handoff": "handoff", "finish": "finish"}

func route(w *writer, _ *state, e *sdk.Event) {
	d := e.Route()
	f := orchMessage
	f.kind, f.agentID, f.data = routeKinds[d.Kind], d.From, e.Data
	if f.kind == "" {
		f.kind = d.Kind
	}
	f.message = d.From + " → " + strings.Join(d.To, ", ")
	if d.Kind == "finish" {
		f.message = d.From + " finished the conversation"
	}
	if d.Reason != "" {
		f.message += ": " + d.Reason
	}
	w.write(f)
}

func approvalRequested(w *writer, _ *state, e *sdk.Event) {
	a := e.ApprovalRequested().Approval
	f := w.agent(orchMessage)
	f.kind, f.message = "approval_request", "Approval needed to call "+a.Tool
	f.dataFn = func(j *sdk.JSON) { j.String("request_id", a.ID).Raw("approval", a.Raw) }
	w.write(f)
}

func approvalResolved(w *writer, _ *state, e *sdk.Event) {
	d := e.ApprovalResolved()
	f := orchMessage
	f.kind, f.message, f.data = "approval_resolved", "Approval "+d.ApprovalID+" "+d.Decision, e.Data
	w.write(f)
}

func runInterrupted(w *writer, _ *state, e *sdk.Event) {
	n := len(e.RunInterrupted().Approvals)
	f := orchMessage
	f.kind, f.data = "waiting", e.Data
	f.message = "Waiting for " + strconv.Itoa(n) + " approval"
	if n != 1 {
		f.message += "s"
	}
	w.write(f)
}

// done ends the stream: nothing follows.
func done(w *writer, s *state) {
	w.write(doneFrame)
	s.Done, s.Open = true, nil
}

func runFinished(w *writer, s *state, e *sdk.Event) {
	f := respDone
	f.message, f.data = e.RunFinished().Output, e.Data
	w.write(f)
	done(w, s)
}

func runFailed(w *writer, s *state, e *sdk.Event) {
	d := e.RunFailed()
	msg := d.Error.Message
	if msg == "" {
		msg = "the run failed"
	}
	f := errorFrame
	f.message, f.err, f.kind, f.data = msg, msg, d.Error.Code, e.Data
	w.write(f)
	done(w, s)
}

func runCancelled(w *writer, s *state, e *sdk.Event) {
	f := cancelled
	f.message = "The run was cancelled"
	if r := e.RunCancelled().Reason; r != "" {
		f.message += ": " + r
	}
	w.write(f)
	done(w, s)
}
