package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/agentfleet/fleet/engine/event"
)

// renderer prints a run's events for people: who speaks, tool calls with arguments and results,
// the answer as it streams, routing decisions, approvals, and usage at the end.
type renderer struct {
	w io.Writer
	// midLine is true while a streamed message has not ended its line.
	midLine bool
	// speaker is the agent whose message is streaming.
	speaker string
}

type renderFunc func(r *renderer, e event.Event)

var renderers = map[event.Type]renderFunc{
	event.RunStarted:        (*renderer).runStarted,
	event.RunResumed:        (*renderer).runResumed,
	event.RunFinished:       (*renderer).runFinished,
	event.RunFailed:         (*renderer).runFailed,
	event.RunCancelled:      (*renderer).runCancelled,
	event.RunInterrupted:    (*renderer).runInterrupted,
	event.MessageStart:      (*renderer).messageStart,
	event.MessageDelta:      (*renderer).messageDelta,
	event.MessageEnd:        (*renderer).messageEnd,
	event.ReasoningDelta:    (*renderer).reasoningDelta,
	event.ToolEnd:           (*renderer).toolEnd,
	event.ToolResult:        (*renderer).toolResult,
	event.Route:             (*renderer).route,
	event.ApprovalRequested: (*renderer).approvalRequested,
	event.ApprovalResolved:  (*renderer).approvalResolved,
}

func (r *renderer) render(e event.Event) {
	if f, ok := renderers[e.Type]; ok {
		f(r, e)
	}
}

func (r *renderer) line(format string, a ...any) {
	if r.midLine {
		fmt.Fprintln(r.w)
		r.midLine = false
	}
	fmt.Fprintf(r.w, format+"\n", a...)
}

func (r *renderer) runStarted(e event.Event) {
	d := e.Data.(event.RunStartedData)
	r.line("▶ run %s · workflow %s · thread %s", e.RunID, d.Workflow, e.ThreadID)
}

func (r *renderer) runResumed(e event.Event) {
	d := e.Data.(event.RunResumedData)
	r.line("▶ run %s resumed (%s) from its checkpoint at event %d", e.RunID, d.Reason, d.Checkpoint)
}

func (r *renderer) messageStart(e event.Event) {
	d := e.Data.(event.MessageStartData)
	r.line("")
	fmt.Fprintf(r.w, "%s: ", firstNonEmpty(d.Name, e.Agent, "assistant"))
	r.midLine, r.speaker = true, d.Name
}

func (r *renderer) messageDelta(e event.Event) {
	fmt.Fprint(r.w, e.Data.(event.MessageDeltaData).Delta)
	r.midLine = true
}

func (r *renderer) messageEnd(e event.Event) {
	if e.Data.(event.MessageEndData).Aborted {
		fmt.Fprint(r.w, " [cut off]")
	}
	fmt.Fprintln(r.w)
	r.midLine = false
}

func (r *renderer) reasoningDelta(e event.Event) {
	if !r.midLine {
		fmt.Fprintf(r.w, "  (thinking) ")
	}
	fmt.Fprint(r.w, e.Data.(event.ReasoningDeltaData).Delta)
	r.midLine = true
}

func (r *renderer) toolEnd(e event.Event) {
	d := e.Data.(event.ToolEndData)
	if d.Aborted {
		return
	}
	r.line("  ⚙ %s %s %s", firstNonEmpty(e.Agent, "agent"), d.Tool, compact(d.Arguments, 300))
}

func (r *renderer) toolResult(e event.Event) {
	d := e.Data.(event.ToolResultData)
	if d.Error != nil {
		r.line("  ✗ %s failed (%s): %s", d.Tool, d.Error.Code, d.Error.Message)
		return
	}
	r.line("  ✓ %s → %s", d.Tool, compact(d.Result, 300))
}

func (r *renderer) route(e event.Event) {
	d := e.Data.(event.RouteData)
	to := strings.Join(d.To, ", ")
	if d.Kind == "finish" {
		to = "finish"
	}
	reason := ""
	if d.Reason != "" {
		reason = " (" + d.Reason + ")"
	}
	r.line("  → %s %s: %s%s", d.Kind, d.From, to, reason)
}

func (r *renderer) approvalRequested(e event.Event) {
	a := e.Data.(event.ApprovalRequestedData).Approval
	r.line("  ⏸ %s wants to call %s %s (approval %s)", firstNonEmpty(a.Agent, "agent"), a.Tool, compact(a.Arguments, 300), a.ID)
}

func (r *renderer) approvalResolved(e event.Event) {
	d := e.Data.(event.ApprovalResolvedData)
	r.line("  ✔ approval %s %s", d.ApprovalID, d.Decision)
}

func (r *renderer) runFinished(e event.Event) {
	d := e.Data.(event.RunFinishedData)
	limit := ""
	if d.Limit != "" {
		limit = " · stopped at " + d.Limit
	}
	r.line("")
	r.line("✓ done%s · %s", limit, usageLine(d.Usage))
}

func (r *renderer) runFailed(e event.Event) {
	d := e.Data.(event.RunFailedData)
	r.line("✗ failed (%s): %s", d.Error.Code, d.Error.Message)
}

func (r *renderer) runCancelled(e event.Event) {
	r.line("■ cancelled: %s", e.Data.(event.RunCancelledData).Reason)
}

func (r *renderer) runInterrupted(e event.Event) {
	d := e.Data.(event.RunInterruptedData)
	r.line("⏸ waiting for approval · %s", usageLine(d.Usage))
	for _, a := range d.Approvals {
		r.line("  fleet run --resume %s --approve %s   (or --deny %s)", e.RunID, a.ID, a.ID)
	}
}

func usageLine(u event.Usage) string {
	return fmt.Sprintf("%d model calls · %d tokens (%d prompt, %d completion)", u.Calls, u.TotalTokens, u.PromptTokens, u.CompletionTokens)
}

// compact prints JSON on one line, cut to n bytes.
func compact(raw json.RawMessage, n int) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
