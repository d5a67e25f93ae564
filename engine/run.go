package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/workflow"
)

// run is one live run. Its state st is guarded by mu; events go through log.
type run struct {
	eng    *Engine
	wf     *workflow.Workflow
	rec    store.Run
	log    *runLog
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu     sync.Mutex
	st     *runState
	ending bool // end has decided how the run ends: a cancel now waits for that (under mu)
}

// cancelLive cancels the run unless it is already ending (finishing, failing, pausing for
// approvals); false means the caller must wait for the run to stop and act on what it left.
func (r *run) cancelLive(cause error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ending {
		return false
	}
	r.cancel(cause)
	return true
}

// errInterrupted is returned by a node that waits for approvals.
var errInterrupted = errors.New("waiting for approval")

// errStepTimeout is the cause of a node's context when its step timeout passes.
var errStepTimeout = errors.New("step timeout")

// emit appends an event to the run's log and schedules its commit.
func (r *run) emit(e event.Event) event.Event {
	e = r.log.append(e)
	r.eng.commit.schedule(r.log)
	return e
}

// transition applies f to the state, emits the events it returns, and saves a checkpoint, all
// under the state lock, so that a checkpoint never covers an event whose state change it lacks.
func (r *run) transition(f func(st *runState) []event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commitLocked(f(r.st), nil, nil)
}

// saveWith saves a checkpoint, with the run record and thread messages when given.
func (r *run) saveWith(rec *store.Run, msgs []store.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saveLocked(rec, msgs)
}

func (r *run) saveLocked(rec *store.Run, msgs []store.Message) {
	r.commitLocked(nil, rec, msgs)
}

// commitLocked appends evs and a checkpoint of the state (with the run record and thread
// messages when given) as one unit of the log. Under r.mu.
func (r *run) commitLocked(evs []event.Event, rec *store.Run, msgs []store.Message) {
	data, err := json.Marshal(r.st)
	if err != nil { // runState holds only JSON-safe values; this is a programming error
		panic(fmt.Sprintf("engine: marshal run state: %v", err))
	}
	cp := &store.Checkpoint{RunID: r.rec.ID, WorkflowHash: r.wf.Hash, Data: data, CreatedAt: time.Now().UTC()}
	if rec != nil {
		rec.UpdatedAt = time.Now().UTC()
		rec.Usage = r.st.Usage
		r.rec = *rec
	}
	r.log.appendAttach(evs, cp, rec, msgs)
	r.eng.commit.schedule(r.log)
}

// exec runs the run to its end, an interruption, or a shutdown.
func (r *run) exec() {
	defer r.log.close()
	err := r.safeLoop()
	r.end(err)
}

func (r *run) safeLoop() (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.eng.log.Error("engine: run panicked", "run", r.rec.ID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return r.loop()
}

// loop runs supersteps: every node of the wave concurrently, then the next wave from the edges.
func (r *run) loop() error {
	for {
		if err := r.ctx.Err(); err != nil {
			return context.Cause(r.ctx)
		}
		r.mu.Lock()
		wave, finishing := append([]string(nil), r.st.Wave...), r.st.Finishing
		overSteps := r.st.Steps >= r.wf.Limits.MaxSteps && len(wave) > 0 && len(r.st.Started) == 0
		r.mu.Unlock()
		if finishing || overSteps {
			return r.finishAtLimit(firstNonEmpty(r.limitName(), "max_steps"))
		}
		if len(wave) == 0 {
			return nil
		}
		if err := r.runWave(wave); err != nil {
			return err
		}
		r.transition(func(st *runState) []event.Event { r.advance(st); return nil })
	}
}

// runWave runs the wave's unfinished nodes concurrently. A node's hard error cancels the others;
// nodes that wait for approval let the others finish first.
func (r *run) runWave(wave []string) error {
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		paused   bool
	)
	for _, id := range wave {
		r.mu.Lock()
		_, finished := r.st.Done[id]
		r.mu.Unlock()
		if finished {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.runNode(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case errors.Is(err, errInterrupted):
				paused = true
			case firstErr == nil:
				firstErr = err
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		if cause := context.Cause(r.ctx); cause != nil {
			return cause
		}
		return firstErr
	}
	if paused {
		return errInterrupted
	}
	return nil
}

// nodeRunner executes one node kind.
type nodeRunner func(r *run, ctx context.Context, n *workflow.Node) (*nodeResult, error)

var nodeRunners = map[string]nodeRunner{
	workflow.KindAgent:  (*run).runAgent,
	workflow.KindRouter: (*run).runRouter,
	workflow.KindTool:   (*run).runToolNode,
	workflow.KindJoin:   (*run).runJoin,
}

// runNode executes one node of the wave as a step: step events around it, its step timeout, and
// its result recorded in the state.
func (r *run) runNode(ctx context.Context, id string) error {
	n, ok := r.wf.Graph.Node(id)
	if !ok {
		return fmt.Errorf("workflow %s: unknown node %q", r.wf.Name, id)
	}
	exec, ok := nodeRunners[n.Kind]
	if !ok {
		return fmt.Errorf("workflow %s: node %q has unknown kind %q", r.wf.Name, id, n.Kind)
	}
	step, over := r.startStep(n)
	base := event.Event{Node: n.ID, Agent: n.Agent, Path: n.ID}
	if over { // the run stops scheduling and ends with a best-effort answer (loop: Finishing)
		r.transition(func(st *runState) []event.Event {
			st.Done[n.ID] = &nodeResult{Decision: skipped}
			st.Limit = firstNonEmpty(st.Limit, "max_visits")
			st.Finishing = true
			return nil
		})
		return nil
	}
	start := base
	start.Data = event.StepStartedData{Kind: n.Kind, Step: step}
	r.emit(start)
	if t := r.wf.Limits.StepTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, t, errStepTimeout)
		defer cancel()
	}
	res, err := exec(r, ctx, n)
	status := stepStatus(err)
	if err != nil && status != "interrupted" {
		r.closeSpansOf(n.ID, status)
	}
	r.transition(func(st *runState) []event.Event {
		if err == nil {
			st.Done[n.ID] = res
			delete(st.Agents, n.ID)
		}
		fin := base
		fin.Data = event.StepFinishedData{Kind: n.Kind, Step: step, Status: status}
		return []event.Event{fin}
	})
	if err != nil && errors.Is(context.Cause(ctx), errStepTimeout) && !errors.Is(err, errInterrupted) {
		return fmt.Errorf("node %s: %w after %s", n.ID, errStepTimeout, r.wf.Limits.StepTimeout)
	}
	return err
}

// skipped is the decision of a node that did not run because it reached its max_visits.
const skipped = "\x00skipped"

// startStep counts the node's execution; a node resumed after an interruption keeps its step
// number. over reports that the node reached its max_visits.
func (r *run) startStep(n *workflow.Node) (step int, over bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.st.Started[n.ID]; ok {
		return s, false
	}
	if n.MaxVisits > 0 && r.st.Visits[n.ID] >= n.MaxVisits {
		return 0, true
	}
	r.st.Steps++
	r.st.Visits[n.ID]++
	r.st.Started[n.ID] = r.st.Steps
	return r.st.Steps, false
}

func stepStatus(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errInterrupted):
		return "interrupted"
	case errors.Is(err, ErrCancelled), errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}

// closeSpansOf closes whatever node id left open (a message cut by an error or cancel).
func (r *run) closeSpansOf(id, status string) {
	r.log.mu.Lock()
	spans := r.log.open.filter(func(e event.Event) bool { return e.Node == id && e.Type != event.StepStarted })
	r.log.mu.Unlock()
	for _, c := range spans.closers(status) {
		r.emit(c)
	}
}

// advance moves the state to the next wave: transcript entries for what the wave said, then the
// edges taken from each finished node. Called under r.mu.
func (r *run) advance(st *runState) {
	var next []string
	add := func(id string) {
		for _, x := range next {
			if x == id {
				return
			}
		}
		next = append(next, id)
	}
	for _, id := range st.Wave {
		res := st.Done[id]
		if res == nil || res.Decision == skipped {
			continue
		}
		if res.Output != "" {
			st.Transcript = append(st.Transcript, entry{Node: id, Agent: res.Agent, Content: res.Output})
			st.Output = res.Output
		}
		if res.Agent != "" {
			st.LastNode, st.LastAgent = id, res.Agent
		}
		for _, to := range r.targets(id, res) {
			if to == workflow.End {
				continue
			}
			if r.joinReady(st, id, to) {
				add(to)
			}
		}
	}
	if len(next) == 0 { // nothing else can run: a waiting join runs with what it has
		for _, n := range r.wf.Graph.Nodes {
			if len(st.Joins[n.ID]) > 0 {
				add(n.ID)
			}
		}
	}
	for _, id := range next {
		delete(st.Joins, id)
	}
	st.Wave, st.Done, st.Agents, st.Started = next, map[string]*nodeResult{}, map[string]*agentState{}, map[string]int{}
}

// joinReady records that from delivered to node to, and reports whether to may run now.
func (r *run) joinReady(st *runState, from, to string) bool {
	n, ok := r.wf.Graph.Node(to)
	if !ok || n.Wait != workflow.WaitAll {
		return true
	}
	got := st.Joins[to]
	for _, g := range got {
		if g == from {
			return false
		}
	}
	st.Joins[to] = append(got, from)
	return len(st.Joins[to]) >= len(r.wf.Graph.In(to))
}

// targets evaluates the edges leaving id for its result: every edge whose condition holds; the
// default edges only when no conditional edge held.
func (r *run) targets(id string, res *nodeResult) []string {
	var out, defaults []string
	condHeld := false
	for _, e := range r.wf.Graph.Out(id) {
		switch {
		case e.When.Default:
			defaults = append(defaults, e.To)
		case e.When == (workflow.Condition{}):
			out = append(out, e.To)
		case holds(e.When, res):
			condHeld = true
			out = append(out, e.To)
		}
	}
	if !condHeld {
		out = append(out, defaults...)
	}
	return out
}

var regexCache sync.Map // pattern -> *regexp.Regexp

func holds(c workflow.Condition, res *nodeResult) bool {
	switch {
	case c.Route != "":
		return res.Decision == c.Route
	case c.Contains != "":
		return strings.Contains(res.Output, c.Contains)
	case c.NotContains != "":
		return !strings.Contains(res.Output, c.NotContains)
	case c.Matches != "":
		re, ok := regexCache.Load(c.Matches)
		if !ok {
			compiled, err := regexp.Compile(c.Matches)
			if err != nil { // validated at load; a bad pattern never holds
				return false
			}
			re, _ = regexCache.LoadOrStore(c.Matches, compiled)
		}
		return re.(*regexp.Regexp).MatchString(res.Output)
	}
	return false
}

// finishAtLimit ends a run that reached a limit with a best-effort answer: one more call of the
// last agent, without tools, asked to answer with what it has.
func (r *run) finishAtLimit(limit string) error {
	r.mu.Lock()
	r.st.Limit = firstNonEmpty(r.st.Limit, limit)
	r.st.Finishing = true
	nodeID, agentName := r.st.LastNode, r.st.LastAgent
	r.mu.Unlock()
	if agentName == "" {
		agentName = firstAgent(r.wf)
		nodeID = agentName
	}
	ag, ok := r.wf.Agent(agentName)
	if !ok {
		r.transition(func(st *runState) []event.Event { st.Wave = nil; return nil })
		return nil
	}
	base := event.Event{Node: nodeID, Agent: agentName, Path: nodeID}
	r.mu.Lock()
	r.st.Steps++
	step := r.st.Steps
	r.mu.Unlock()
	start := base
	start.Data = event.StepStartedData{Kind: workflow.KindAgent, Step: step}
	r.emit(start)
	note := fmt.Sprintf("The run reached its limit (%s). Do not call tools. Give your best final answer now from what is known.", limit)
	msgs := r.prompt(ag, nil, note)
	req := r.modelRequest(ag, msgs, nil)
	out, usage, err := r.callModel(r.ctx, nodeID, ag, &req, false)
	status := stepStatus(err)
	r.transition(func(st *runState) []event.Event {
		evs := r.usageEvents(st, base, ag, req.Model, usage)
		if err == nil {
			st.Output, st.Wave, st.Finishing = out.Content, nil, false
		}
		fin := base
		fin.Data = event.StepFinishedData{Kind: workflow.KindAgent, Step: step, Status: status}
		return append(evs, fin)
	})
	return err
}

func (r *run) limitName() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Limit
}

func firstAgent(wf *workflow.Workflow) string {
	if len(wf.Agents) > 0 {
		return wf.Agents[0].Name
	}
	return ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// end writes the run's last events and record according to how the loop ended.
func (r *run) end(err error) {
	// Decided under mu, against cancelLive: a cancel either comes before (and wins over a pause)
	// or finds the run ending and waits for it: then it cancels the paused run, or finds it over.
	r.mu.Lock()
	cause := context.Cause(r.ctx)
	r.ending = true
	r.mu.Unlock()
	switch {
	case err == nil:
		r.finish()
	case errors.Is(err, errShutdown) || errors.Is(cause, errShutdown):
		// Stopped by Close: no terminal event; the run stays resumable from its checkpoint.
		r.saveWith(nil, nil)
	case errors.Is(cause, ErrStore):
		// The store refused the run's events: nothing more can be written, so the run stops
		// where its last commit left it, resumable like a run whose process died.
		return
	case errors.Is(err, errInterrupted) && !errors.Is(cause, ErrCancelled):
		r.interrupt()
	case errors.Is(cause, ErrCancelled):
		r.terminate(store.StatusCancelled, "cancelled", func(u event.Usage) event.Payload {
			return event.RunCancelledData{Reason: strings.TrimPrefix(cause.Error(), ErrCancelled.Error()+": "), Usage: u}
		})
	default:
		code, msg := classify(err, cause)
		r.terminate(store.StatusFailed, "error", func(u event.Usage) event.Payload {
			return event.RunFailedData{Error: event.Error{Code: code, Message: msg}, Usage: u}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if werr := r.log.waitDurable(ctx); werr != nil {
		r.eng.log.Error("engine: run's last events not stored", "run", r.rec.ID, "err", werr)
	}
}

func classify(err, cause error) (code, msg string) {
	switch {
	case errors.Is(cause, errRunTimeout):
		return "timeout", "the run exceeded its time limit"
	case errors.Is(err, errStepTimeout):
		return "step_timeout", err.Error()
	case errors.Is(err, ErrTransient):
		return "model_unavailable", err.Error()
	case errors.Is(err, errModel):
		return "model_error", err.Error()
	case errors.Is(err, ErrCheckpoint):
		return "checkpoint", err.Error()
	}
	return "internal", err.Error()
}

func (r *run) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	fin := event.Event{Data: event.RunFinishedData{Output: st.Output, Usage: st.Usage, Limit: st.Limit}}
	rec := r.rec
	rec.Status, rec.Output = store.StatusSucceeded, st.Output
	msg := store.Message{ThreadID: rec.ThreadID, RunID: rec.ID, Role: RoleAssistant, Agent: st.LastAgent,
		Content: st.Output, CreatedAt: time.Now().UTC()}
	r.commitLocked([]event.Event{fin}, &rec, []store.Message{msg})
}

func (r *run) interrupt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.log.openClosers("interrupted")
	evs = append(evs, event.Event{Data: event.RunInterruptedData{Approvals: r.st.Approvals, Usage: r.st.Usage}})
	rec := r.rec
	rec.Status = store.StatusInterrupted
	r.commitLocked(evs, &rec, nil)
}

func (r *run) terminate(status, spanStatus string, payload func(event.Usage) event.Payload) {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.log.openClosers(spanStatus)
	p := payload(r.st.Usage)
	evs = append(evs, event.Event{Data: p})
	rec := r.rec
	rec.Status = status
	if f, ok := p.(event.RunFailedData); ok {
		rec.Error = f.Error.Message
	}
	r.commitLocked(evs, &rec, nil)
}

// openClosers returns events closing every span still open in the log.
func (l *runLog) openClosers(status string) []event.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open.closers(status)
}
