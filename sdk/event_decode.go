package sdk

// Payload decoders, one per event type: each reads the members it knows from the event's member
// table (built when the batch was parsed) and ignores the others, as receivers must.

// RunStarted decodes the payload of a run.started event.
func (e *Event) RunStarted() (d RunStartedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "workflow":
			d.Workflow = e.str(m)
		case "input":
			d.Input = e.str(m)
		}
	}
	return d
}

// RunFinished decodes the payload of a run.finished event.
func (e *Event) RunFinished() (d RunFinishedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "output":
			d.Output = e.str(m)
		case "usage":
			d.Usage = e.usage(m)
		case "limit":
			d.Limit = e.str(m)
		}
	}
	return d
}

// RunFailed decodes the payload of a run.failed event.
func (e *Event) RunFailed() (d RunFailedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "error":
			d.Error, _ = e.errorObject(m)
		case "usage":
			d.Usage = e.usage(m)
		}
	}
	return d
}

// RunCancelled decodes the payload of a run.cancelled event.
func (e *Event) RunCancelled() (d RunCancelledData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "reason":
			d.Reason = e.str(m)
		case "usage":
			d.Usage = e.usage(m)
		}
	}
	return d
}

// RunInterrupted decodes the payload of a run.interrupted event.
func (e *Event) RunInterrupted() (d RunInterruptedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "approvals":
			d.Approvals = e.approvals(m)
		case "usage":
			d.Usage = e.usage(m)
		}
	}
	return d
}

// RunResumed decodes the payload of a run.resumed event.
func (e *Event) RunResumed() (d RunResumedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "reason":
			d.Reason = e.str(m)
		case "checkpoint":
			d.Checkpoint = e.uint(m)
		}
	}
	return d
}

// StepStarted decodes the payload of a step.started event.
func (e *Event) StepStarted() StepStartedData {
	f := e.StepFinished()
	return StepStartedData{Kind: f.Kind, Step: f.Step}
}

// StepFinished decodes the payload of a step.finished event (and of step.started, without Status).
func (e *Event) StepFinished() (d StepFinishedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "kind":
			d.Kind = e.str(m)
		case "step":
			d.Step = e.int(m)
		case "status":
			d.Status = e.str(m)
		}
	}
	return d
}

// MessageStart decodes the payload of a message.start event.
func (e *Event) MessageStart() (d MessageStartData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "message_id":
			d.MessageID = e.str(m)
		case "role":
			d.Role = e.str(m)
		case "name":
			d.Name = e.str(m)
		}
	}
	return d
}

// MessageDelta decodes the payload of a message.delta event.
func (e *Event) MessageDelta() MessageDeltaData {
	return MessageDeltaData(e.Reasoning())
}

// MessageEnd decodes the payload of a message.end event.
func (e *Event) MessageEnd() (d MessageEndData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "message_id":
			d.MessageID = e.str(m)
		case "aborted":
			d.Aborted = e.bool(m)
		}
	}
	return d
}

// Reasoning decodes the payload of a reasoning.start, reasoning.delta or reasoning.end event (and
// of message.delta, whose members are the same).
func (e *Event) Reasoning() (d ReasoningData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "message_id":
			d.MessageID = e.str(m)
		case "delta":
			d.Delta = e.str(m)
		}
	}
	return d
}

// ToolStart decodes the payload of a tool.start event.
func (e *Event) ToolStart() (d ToolStartData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "call_id":
			d.CallID = e.str(m)
		case "tool":
			d.Tool = e.str(m)
		case "message_id":
			d.MessageID = e.str(m)
		}
	}
	return d
}

// ToolArgs decodes the payload of a tool.args event.
func (e *Event) ToolArgs() (d ToolArgsData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "call_id":
			d.CallID = e.str(m)
		case "delta":
			d.Delta = e.str(m)
		}
	}
	return d
}

// ToolEnd decodes the payload of a tool.end event.
func (e *Event) ToolEnd() (d ToolEndData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "call_id":
			d.CallID = e.str(m)
		case "tool":
			d.Tool = e.str(m)
		case "arguments":
			d.Arguments = e.raw(m)
		case "aborted":
			d.Aborted = e.bool(m)
		}
	}
	return d
}

// ToolResult decodes the payload of a tool.result event.
func (e *Event) ToolResult() (d ToolResultData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "call_id":
			d.CallID = e.str(m)
		case "tool":
			d.Tool = e.str(m)
		case "message_id":
			d.MessageID = e.str(m)
		case "result":
			d.Result = e.raw(m)
		case "error":
			d.Error, d.HasError = e.errorObject(m)
		case "duration_ms":
			d.DurationMS = e.int(m)
		}
	}
	return d
}

// Route decodes the payload of a route event.
func (e *Event) Route() (d RouteData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "kind":
			d.Kind = e.str(m)
		case "from":
			d.From = e.str(m)
		case "to":
			d.To = e.strings(m)
		case "reason":
			d.Reason = e.str(m)
		}
	}
	return d
}

// ApprovalRequested decodes the payload of an approval.requested event.
func (e *Event) ApprovalRequested() (d ApprovalRequestedData) {
	for i := range e.table() {
		if m := &e.members[i]; m.key == "approval" {
			d.Approval = e.approval(m)
		}
	}
	return d
}

// ApprovalResolved decodes the payload of an approval.resolved event.
func (e *Event) ApprovalResolved() (d ApprovalResolvedData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "approval_id":
			d.ApprovalID = e.str(m)
		case "decision":
			d.Decision = e.str(m)
		case "arguments":
			d.Arguments = e.raw(m)
		case "reason":
			d.Reason = e.str(m)
		}
	}
	return d
}

// Usage decodes the payload of a usage event.
func (e *Event) Usage() (d UsageData) {
	for i := range e.table() {
		switch m := &e.members[i]; m.key {
		case "model":
			d.Model = e.str(m)
		case "call":
			d.Call = e.usage(m)
		case "agent_total":
			d.AgentTotal = e.usage(m)
		case "run_total":
			d.RunTotal = e.usage(m)
		}
	}
	return d
}

// StateSnapshot decodes the payload of a state.snapshot event.
func (e *Event) StateSnapshot() (d StateSnapshotData) {
	for i := range e.table() {
		if m := &e.members[i]; m.key == "state" {
			d.State = e.raw(m)
		}
	}
	return d
}

// usage reads a usage object (null reads as zero).
func (s *scanner) usage() (u Usage) {
	if !s.object("usage") {
		return u
	}
	for n := 0; ; {
		k, ok := s.member(&n)
		if !ok {
			return u
		}
		switch k {
		case "prompt_tokens":
			u.PromptTokens = s.int()
		case "completion_tokens":
			u.CompletionTokens = s.int()
		case "total_tokens":
			u.TotalTokens = s.int()
		case "calls":
			u.Calls = s.int()
		default:
			s.skip()
		}
	}
}

// errorObject reads an error object; set is false for null.
func (s *scanner) errorObject() (e Error, set bool) {
	if !s.object("error") {
		return e, false
	}
	for n := 0; ; {
		k, ok := s.member(&n)
		if !ok {
			return e, s.err == nil
		}
		switch k {
		case "code":
			e.Code = s.str()
		case "message":
			e.Message = s.str()
		default:
			s.skip()
		}
	}
}

// approval reads an approval object, keeping its raw text too.
func (s *scanner) approval() (a Approval) {
	s.ws()
	start := s.i
	if !s.object("approval") {
		return a
	}
	for n := 0; ; {
		k, ok := s.member(&n)
		if !ok {
			break
		}
		switch k {
		case "id":
			a.ID = s.str()
		case "call_id":
			a.CallID = s.str()
		case "tool":
			a.Tool = s.str()
		case "arguments":
			a.Arguments = s.raw()
		case "agent":
			a.Agent = s.str()
		case "node":
			a.Node = s.str()
		default:
			s.skip()
		}
	}
	if s.err == nil {
		a.Raw = s.b[start:s.i]
	}
	return a
}
