package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/workflow"
)

// errModel marks a model error that is not worth retrying.
var errModel = errors.New("model error")

// maxToolResult bounds the tool result text handed back to a model (64 KiB).
const maxToolResult = 64 << 10

// Binding kinds: what a model-facing tool name means to an agent.
const (
	bindTool = iota
	bindHandoff
)

type binding struct {
	kind      int
	canonical string // bindTool: the canonical tool name
	target    string // bindHandoff: the node to hand over to
	approval  bool
	timeout   time.Duration
}

var reasonSchema = json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string","description":"Why, in a few words."}}}`)

// agentTools returns the tools an agent node offers its model and what each name means.
func (r *run) agentTools(ag *workflow.Agent, n *workflow.Node) ([]ToolDef, map[string]binding) {
	var defs []ToolDef
	bind := map[string]binding{}
	for _, ref := range ag.Tools {
		if r.eng.cfg.Tools == nil {
			break
		}
		info, ok := r.eng.cfg.Tools.Lookup(ref.Name)
		if !ok {
			r.eng.log.Warn("engine: agent tool not loaded", "workflow", r.wf.Name, "agent", ag.Name, "tool", ref.Name)
			continue
		}
		name := info.Tool
		if _, dup := bind[name]; dup {
			name = info.Plugin + "_" + info.Tool
		}
		defs = append(defs, ToolDef{Name: name, Description: info.Description, Parameters: info.Parameters})
		bind[name] = binding{kind: bindTool, canonical: info.Name, approval: ref.Approval == workflow.ApprovalRequired,
			timeout: ref.Timeout}
	}
	for _, e := range r.wf.Graph.Out(n.ID) {
		target := e.When.Route
		if target == "" || target == "finish" {
			continue
		}
		name := "transfer_to_" + target
		if _, dup := bind[name]; dup {
			continue
		}
		defs = append(defs, ToolDef{Name: name, Description: "Hand the conversation over to " + r.describe(target) + ".",
			Parameters: reasonSchema})
		bind[name] = binding{kind: bindHandoff, target: target}
	}
	return defs, bind
}

// describe names a node for a model: its agent's name and description.
func (r *run) describe(nodeID string) string {
	n, ok := r.wf.Graph.Node(nodeID)
	if !ok {
		return nodeID
	}
	if ag, ok := r.wf.Agent(n.Agent); ok && ag.Description != "" {
		return nodeID + " (" + ag.Description + ")"
	}
	return nodeID
}

// agentState returns node id's loop state, creating it.
func (r *run) agentState(id string) *agentState {
	r.mu.Lock()
	defer r.mu.Unlock()
	as := r.st.Agents[id]
	if as == nil {
		as = &agentState{}
		r.st.Agents[id] = as
	}
	return as
}

// runAgent runs an agent node: model turns and tool calls until the model answers without
// calling tools, hands off, or the node waits for approval.
func (r *run) runAgent(ctx context.Context, n *workflow.Node) (*nodeResult, error) {
	ag, ok := r.wf.Agent(n.Agent)
	if !ok {
		return nil, fmt.Errorf("node %s: unknown agent %q", n.ID, n.Agent)
	}
	defs, bind := r.agentTools(ag, n)
	base := event.Event{Node: n.ID, Agent: ag.Name, Path: n.ID}
	as := r.agentState(n.ID)
	for {
		if len(as.Pending) > 0 {
			if res := r.handoff(base, as, bind); res != nil {
				return res, nil
			}
			if err := r.resolveCalls(ctx, base, as, bind); err != nil {
				return nil, err
			}
			continue
		}
		tools := defs
		if as.Turns >= r.wf.Limits.MaxTurns-1 { // the last turn answers without tools
			tools = nil
			if as.Turns > 0 {
				r.mu.Lock()
				r.st.Limit = firstNonEmpty(r.st.Limit, "max_turns")
				r.mu.Unlock()
			}
		}
		req := r.modelRequest(ag, r.prompt(ag, as, ""), tools)
		msg, usage, err := r.callModel(ctx, n.ID, ag, &req, false)
		if err != nil {
			return nil, err
		}
		if tools == nil {
			msg.ToolCalls = nil
		}
		r.transition(func(st *runState) []event.Event {
			as.Messages = append(as.Messages, msg)
			as.Turns++
			for _, c := range msg.ToolCalls {
				as.Pending = append(as.Pending, pendingCall{Call: c, Tool: bind[c.Name].canonical})
			}
			return r.usageEvents(st, base, ag, req.Model, usage)
		})
		if len(msg.ToolCalls) == 0 {
			return &nodeResult{Output: msg.Content, Agent: ag.Name}, nil
		}
	}
}

// handoff ends the node when the last turn called a transfer tool: the other calls of that turn
// are not run, and the node's decision is the target.
func (r *run) handoff(base event.Event, as *agentState, bind map[string]binding) *nodeResult {
	target, reason, callID := "", "", ""
	for _, pc := range as.Pending {
		if b, ok := bind[pc.Call.Name]; ok && b.kind == bindHandoff {
			target, callID = b.target, pc.Call.ID
			var args struct {
				Reason string `json:"reason"`
			}
			_ = json.Unmarshal([]byte(pc.Call.Arguments), &args)
			reason = args.Reason
			break
		}
	}
	if target == "" {
		return nil
	}
	var content string
	r.transition(func(st *runState) []event.Event {
		var evs []event.Event
		for _, pc := range as.Pending {
			text := `{"skipped":"control was handed off"}`
			if pc.Call.ID == callID {
				text = fmt.Sprintf(`{"transferred_to":%q}`, target)
				e := base
				e.Data = event.ToolResultData{CallID: pc.Call.ID, Tool: pc.Call.Name, MessageID: NewID("msg"), Result: json.RawMessage(text)}
				evs = append(evs, e)
			}
			as.Messages = append(as.Messages, Message{Role: RoleTool, ToolCallID: pc.Call.ID, Content: text})
		}
		as.Pending = nil
		if n := len(as.Messages); n > 0 {
			for i := n - 1; i >= 0; i-- {
				if as.Messages[i].Role == RoleAssistant {
					content = as.Messages[i].Content
					break
				}
			}
		}
		e := base
		e.Data = event.RouteData{Kind: "handoff", From: base.Node, To: []string{target}, Reason: reason}
		return append(evs, e)
	})
	return &nodeResult{Output: content, Decision: target, Agent: base.Agent}
}

// resolveCalls settles the pending calls of the last turn: it asks for approvals where needed,
// runs what may run (concurrently, up to the tool concurrency limit), and when every call has a
// result appends the tool messages. It returns errInterrupted while approvals are outstanding.
func (r *run) resolveCalls(ctx context.Context, base event.Event, as *agentState, bind map[string]binding) error {
	var runnable []int
	waiting := false
	r.transition(func(st *runState) []event.Event {
		var evs []event.Event
		runnable, waiting, evs = r.triage(st, base, as, bind)
		return evs
	})
	if err := r.runCalls(ctx, base, as, bind, runnable); err != nil {
		return err
	}
	if waiting {
		return errInterrupted
	}
	r.transition(func(st *runState) []event.Event {
		for _, pc := range as.Pending {
			as.Messages = append(as.Messages, Message{Role: RoleTool, ToolCallID: pc.Call.ID, Content: pc.Result})
			if pc.ApprovalID != "" {
				st.dropApproval(pc.ApprovalID)
			}
		}
		as.Pending = nil
		return nil
	})
	return nil
}

// triage decides, under the state lock, what each pending call needs.
func (r *run) triage(st *runState, base event.Event, as *agentState, bind map[string]binding) (runnable []int, waiting bool, evs []event.Event) {
	for i := range as.Pending {
		pc := &as.Pending[i]
		if pc.Done {
			continue
		}
		b, known := bind[pc.Call.Name]
		switch {
		case !known || b.kind != bindTool:
			evs = append(evs, r.settle(base, pc, "", &event.Error{Code: "unknown_tool",
				Message: fmt.Sprintf("no tool named %q is available", pc.Call.Name)}, 0))
		case b.approval && pc.ApprovalID == "":
			pc.ApprovalID = NewID("apr")
			a := event.Approval{ID: pc.ApprovalID, CallID: pc.Call.ID, Tool: pc.Call.Name,
				Arguments: jsonOrEmpty(pc.Call.Arguments), Agent: base.Agent, Node: base.Node}
			st.Approvals = append(st.Approvals, a)
			e := base
			e.Data = event.ApprovalRequestedData{Approval: a}
			evs = append(evs, e)
			waiting = true
		case pc.ApprovalID != "":
			ans, answered := st.Answers[pc.ApprovalID]
			switch {
			case !answered:
				waiting = true
			case !ans.Approve:
				msg := "the user denied this tool call"
				if ans.Reason != "" {
					msg += ": " + ans.Reason
				}
				evs = append(evs, r.settle(base, pc, "", &event.Error{Code: "denied", Message: msg}, 0))
			default:
				if len(ans.Arguments) > 0 {
					pc.Call.Arguments = string(ans.Arguments)
				}
				runnable = append(runnable, i)
			}
		default:
			runnable = append(runnable, i)
		}
	}
	return runnable, waiting, evs
}

// settle records a call's outcome (under the state lock) and returns its tool.result event.
func (r *run) settle(base event.Event, pc *pendingCall, result string, e *event.Error, d time.Duration) event.Event {
	ev := base
	data := event.ToolResultData{CallID: pc.Call.ID, Tool: pc.Call.Name, MessageID: NewID("msg"),
		Error: e, DurationMS: d.Milliseconds()}
	if e != nil {
		b, _ := json.Marshal(map[string]string{"error": e.Message})
		result = string(b)
	} else {
		data.Result = jsonOrEmpty(result)
	}
	if len(result) > maxToolResult {
		result = result[:maxToolResult] + "…(truncated)"
	}
	pc.Done, pc.Result = true, result
	ev.Data = data
	return ev
}

// runCalls runs the runnable calls concurrently, at most ToolConcurrency at a time.
func (r *run) runCalls(ctx context.Context, base event.Event, as *agentState, bind map[string]binding, idx []int) error {
	limit := max(r.wf.Limits.ToolConcurrency, 1)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, i := range idx {
		pc := as.Pending[i]
		b := bind[pc.Call.Name]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			result, evErr, d := r.callTool(ctx, b, pc.Call)
			if ctx.Err() != nil {
				return // the node is being cancelled: the call has no result
			}
			r.transition(func(st *runState) []event.Event {
				return []event.Event{r.settle(base, &as.Pending[i], result, evErr, d)}
			})
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// callTool runs one tool call with its timeout.
func (r *run) callTool(ctx context.Context, b binding, call ToolCall) (string, *event.Error, time.Duration) {
	args := strings.TrimSpace(call.Arguments)
	if args == "" {
		args = "{}"
	}
	if !json.Valid([]byte(args)) {
		return "", &event.Error{Code: "invalid_arguments", Message: "the arguments are not valid JSON"}, 0
	}
	timeout := r.wf.Limits.ToolTimeout
	if b.timeout > 0 {
		timeout = b.timeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	out, err := r.eng.cfg.Tools.Call(tctx, b.canonical, json.RawMessage(args))
	d := time.Since(start)
	if err != nil {
		code := "tool_error"
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			code = "timeout"
		}
		return "", &event.Error{Code: code, Message: err.Error()}, d
	}
	return string(out), nil, d
}

func jsonOrEmpty(s string) json.RawMessage {
	if s = strings.TrimSpace(s); s == "" || !json.Valid([]byte(s)) {
		b, _ := json.Marshal(s)
		if s == "" {
			return json.RawMessage("{}")
		}
		return b
	}
	return json.RawMessage(s)
}

// dropApproval forgets a settled approval.
func (st *runState) dropApproval(id string) {
	for i, a := range st.Approvals {
		if a.ID == id {
			st.Approvals = append(st.Approvals[:i], st.Approvals[i+1:]...)
			break
		}
	}
	delete(st.Answers, id)
}

// prompt builds the messages an agent sees: its instructions, the thread's history, the run's
// input and transcript, then its own turns.
func (r *run) prompt(ag *workflow.Agent, as *agentState, note string) []Message {
	sys := ag.Instructions
	if strings.TrimSpace(sys) == "" {
		sys = "You are " + ag.Name + ". " + ag.Description
	}
	if note != "" {
		sys += "\n\n" + note
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs := make([]Message, 0, 2+len(r.st.History)+len(r.st.Transcript))
	msgs = append(msgs, Message{Role: RoleSystem, Content: sys})
	msgs = append(msgs, r.st.History...)
	msgs = append(msgs, Message{Role: RoleUser, Content: r.st.Input})
	for _, e := range r.st.Transcript {
		msgs = append(msgs, Message{Role: RoleAssistant, Name: e.Agent, Content: e.Content})
	}
	if as != nil {
		msgs = append(msgs, as.Messages...)
	}
	return msgs
}

func (r *run) modelRequest(ag *workflow.Agent, msgs []Message, tools []ToolDef) ModelRequest {
	req := ModelRequest{Model: ag.Model.Name, Messages: msgs, Tools: tools, Temperature: ag.Model.Temperature,
		MaxTokens: ag.Model.MaxTokens, ReasoningEffort: ag.Model.ReasoningEffort}
	if len(tools) > 0 {
		req.ToolChoice = ToolChoiceAuto
	}
	return req
}

// usageEvents adds a model call's usage to the totals and returns its usage event. Under r.mu.
func (r *run) usageEvents(st *runState, base event.Event, ag *workflow.Agent, model string, u *event.Usage) []event.Event {
	call := event.Usage{Calls: 1}
	if u != nil {
		call = *u
		call.Calls = 1
	}
	st.Usage = st.Usage.Add(call)
	st.AgentUsage[ag.Name] = st.AgentUsage[ag.Name].Add(call)
	e := base
	e.Data = event.UsageData{Model: model, Call: call, AgentTotal: st.AgentUsage[ag.Name], RunTotal: st.Usage}
	return []event.Event{e}
}

// callModel streams one model call, emitting its events, and retries transient errors with
// exponential backoff. silentTools suppresses tool events (router decisions).
// callModel fills in req.Model with the provider's default when the agent names none.
func (r *run) callModel(ctx context.Context, nodeID string, ag *workflow.Agent, req *ModelRequest, silentTools bool) (Message, *event.Usage, error) {
	model, defName, err := r.eng.cfg.Models.Model(ag.Model.Provider)
	if err != nil {
		return Message{}, nil, fmt.Errorf("%w: agent %s: %w", errModel, ag.Name, err)
	}
	if req.Model == "" {
		req.Model = defName
	}
	base := event.Event{Node: nodeID, Agent: ag.Name, Path: nodeID}
	backoff := r.wf.Limits.RetryBackoff
	for attempt := 0; ; attempt++ {
		msg, usage, err := r.streamOnce(ctx, base, model, *req, silentTools)
		if err == nil {
			msg.Name = ag.Name
			return msg, usage, nil
		}
		if ctx.Err() != nil {
			return Message{}, nil, context.Cause(ctx)
		}
		if !errors.Is(err, ErrTransient) || attempt >= r.wf.Limits.Retries {
			if !errors.Is(err, ErrTransient) {
				err = fmt.Errorf("%w: %w", errModel, err)
			}
			return Message{}, nil, fmt.Errorf("agent %s: %w", ag.Name, err)
		}
		r.eng.log.Warn("engine: model call failed, retrying", "run", r.rec.ID, "agent", ag.Name,
			"attempt", attempt+1, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return Message{}, nil, context.Cause(ctx)
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// turn accumulates one streamed response and emits its events as they come.
type turn struct {
	r          *run
	base       event.Event
	silent     bool
	msgID      string
	rsnID      string
	text       strings.Builder
	msgOpen    bool
	rsnOpen    bool
	calls      []*callAcc
	usage      *event.Usage
	finishSeen bool
}

type callAcc struct {
	index   int
	id      string
	name    string
	args    strings.Builder
	started bool
}

func (r *run) streamOnce(ctx context.Context, base event.Event, model Model, req ModelRequest, silent bool) (Message, *event.Usage, error) {
	s, err := model.Stream(ctx, req)
	if err != nil {
		return Message{}, nil, err
	}
	defer s.Close()
	t := &turn{r: r, base: base, silent: silent, msgID: NewID("msg")}
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.abort()
			return Message{}, nil, err
		}
		t.chunk(ch)
	}
	return t.finish(), t.usage, nil
}

func (t *turn) emit(p event.Payload) {
	e := t.base
	e.Data = p
	t.r.emit(e)
}

func (t *turn) chunk(ch Chunk) {
	if ch.Reasoning != "" {
		if !t.rsnOpen {
			t.rsnID, t.rsnOpen = NewID("rsn"), true
			t.emit(event.ReasoningStartData{MessageID: t.rsnID})
		}
		t.emit(event.ReasoningDeltaData{MessageID: t.rsnID, Delta: ch.Reasoning})
	}
	if ch.Content != "" {
		t.closeReasoning()
		if !t.msgOpen {
			t.msgOpen = true
			t.emit(event.MessageStartData{MessageID: t.msgID, Role: RoleAssistant, Name: t.base.Agent})
		}
		t.text.WriteString(ch.Content)
		t.emit(event.MessageDeltaData{MessageID: t.msgID, Delta: ch.Content})
	}
	for _, d := range ch.ToolCalls {
		t.toolDelta(d)
	}
	if ch.Usage != nil {
		u := *ch.Usage
		t.usage = &u
	}
}

func (t *turn) closeReasoning() {
	if t.rsnOpen {
		t.rsnOpen = false
		t.emit(event.ReasoningEndData{MessageID: t.rsnID})
	}
}

func (t *turn) toolDelta(d ToolCallDelta) {
	var c *callAcc
	for _, x := range t.calls {
		if x.index == d.Index {
			c = x
		}
	}
	if c == nil {
		c = &callAcc{index: d.Index}
		t.calls = append(t.calls, c)
	}
	if d.ID != "" && c.id == "" {
		c.id = d.ID
	}
	if d.Name != "" && c.name == "" {
		c.name = d.Name
	}
	c.args.WriteString(d.Arguments)
	if t.silent {
		return
	}
	if !c.started && c.name != "" {
		t.closeReasoning()
		if c.id == "" {
			c.id = NewID("call")
		}
		c.started = true
		t.emit(event.ToolStartData{CallID: c.id, Tool: c.name, MessageID: t.msgID})
		if c.args.Len() > 0 {
			t.emit(event.ToolArgsData{CallID: c.id, Delta: c.args.String()})
		}
		return
	}
	if c.started && d.Arguments != "" {
		t.emit(event.ToolArgsData{CallID: c.id, Delta: d.Arguments})
	}
}

// finish closes the turn's spans and returns the assistant message.
func (t *turn) finish() Message {
	t.closeReasoning()
	if t.msgOpen {
		t.msgOpen = false
		t.emit(event.MessageEndData{MessageID: t.msgID})
	}
	msg := Message{Role: RoleAssistant, Content: t.text.String()}
	for _, c := range t.calls {
		if c.name == "" {
			continue
		}
		if c.id == "" {
			c.id = NewID("call")
		}
		args := c.args.String()
		if !t.silent {
			if !c.started {
				c.started = true
				t.emit(event.ToolStartData{CallID: c.id, Tool: c.name, MessageID: t.msgID})
			}
			t.emit(event.ToolEndData{CallID: c.id, Tool: c.name, Arguments: jsonOrEmpty(args)})
		}
		msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: c.id, Name: c.name, Arguments: args})
	}
	return msg
}

// abort closes what a failed stream left open.
func (t *turn) abort() {
	t.closeReasoning()
	if t.msgOpen {
		t.msgOpen = false
		t.emit(event.MessageEndData{MessageID: t.msgID, Aborted: true})
	}
	for _, c := range t.calls {
		if c.started {
			t.emit(event.ToolEndData{CallID: c.id, Tool: c.name, Arguments: json.RawMessage("{}"), Aborted: true})
		}
	}
}
