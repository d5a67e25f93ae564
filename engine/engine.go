// Package engine runs multi-agent workflows: it executes a compiled workflow graph against models
// and tools, emits one ordered stream of typed events per run (package event), checkpoints every
// step to a store (package store), pauses for human approval of tool calls, and resumes runs after
// an answer or a crash.
//
// The engine has no network or plugin code of its own: models ([Model]), tools ([Tools]) and
// storage ([store.Store]) are adapters given in [Config] (host/llm, host/plugin, host/store/sqlite).
//
// A run belongs to nobody who watches it: [Engine.Start] returns at once and the run goes on in
// its own goroutine and context; [Engine.Subscribe], [Engine.Cancel] and [Engine.Answer] are
// separate operations on its id.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/workflow"
)

// Errors callers act on.
var (
	// ErrUnknownWorkflow: no workflow of that name is loaded (HTTP 404).
	ErrUnknownWorkflow = errors.New("engine: unknown workflow")
	// ErrUnknownRun: no run of that id exists (HTTP 404).
	ErrUnknownRun = errors.New("engine: unknown run")
	// ErrRunExists: a run with the requested id exists already; subscribe to it instead (409).
	ErrRunExists = errors.New("engine: run exists")
	// ErrNotRunning: the run is not running (already ended), so it cannot be cancelled (409).
	ErrNotRunning = errors.New("engine: run is not running")
	// ErrNotWaiting: the run is not waiting for that approval (409).
	ErrNotWaiting = errors.New("engine: run is not waiting for that approval")
	// ErrInvalidInput: the request is malformed (400).
	ErrInvalidInput = errors.New("engine: invalid input")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("engine: closed")
	// ErrCancelled is the cause of a run's context when it is cancelled through [Engine.Cancel].
	ErrCancelled = errors.New("run cancelled")
	// ErrStore: the store refused a run's events after 4 attempts over about a second. The run
	// stops as if its process had died: subscribers get this error, and the run resumes from its
	// last stored checkpoint when the engine next starts ([Engine.Orphans], [Engine.Resume]).
	ErrStore = errors.New("engine: the store failed")
	// errShutdown is the cause of a run's context when the engine closes: the run stops without a
	// terminal event and stays resumable from its checkpoint.
	errShutdown = errors.New("engine shutting down")
)

// Workflows finds workflow definitions by name. The server's hot-reloading set implements it.
type Workflows interface {
	Workflow(name string) (*workflow.Workflow, bool)
}

// WorkflowMap is a fixed set of workflows by name.
type WorkflowMap map[string]*workflow.Workflow

// Workflow implements [Workflows].
func (m WorkflowMap) Workflow(name string) (*workflow.Workflow, bool) {
	w, ok := m[name]
	return w, ok
}

// Config configures an [Engine]. Store, Models and Workflows are required.
type Config struct {
	Store     store.Store
	Models    Models
	Workflows Workflows
	// Tools may be nil when no workflow uses tools.
	Tools Tools
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// DefaultWorkflow is used when a request names none (default "assistant").
	DefaultWorkflow string
}

// Engine runs workflows. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	store  store.Store
	log    *slog.Logger
	commit *committer

	// answerMu serialises answers and cancels of runs that are not live, which restore the run
	// from the store and append to its log.
	answerMu sync.Mutex

	mu     sync.Mutex
	runs   map[string]*run
	closed bool
	wg     sync.WaitGroup
}

// New returns an engine. Close it to stop its runs (they stay resumable) and its committer.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Models == nil || cfg.Workflows == nil {
		return nil, fmt.Errorf("%w: engine config needs Store, Models and Workflows", ErrInvalidInput)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultWorkflow == "" {
		cfg.DefaultWorkflow = "assistant"
	}
	return &Engine{cfg: cfg, store: cfg.Store, log: cfg.Logger, runs: map[string]*run{},
		commit: newCommitter(cfg.Store, cfg.Logger)}, nil
}

// StartRequest asks for a new run.
type StartRequest struct {
	// Workflow names the workflow; empty means Config.DefaultWorkflow.
	Workflow string
	// ThreadID continues a conversation; empty starts a new thread.
	ThreadID string
	// RunID is the run's id; empty means a fresh id. An existing id is ErrRunExists.
	RunID string
	// Input is the user's message.
	Input string
}

// RunInfo identifies a started run.
type RunInfo struct {
	RunID    string `json:"run_id"`
	ThreadID string `json:"thread_id"`
	Workflow string `json:"workflow"`
}

// MaxInputBytes bounds a run's input message (256 KiB).
const MaxInputBytes = 256 << 10

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// NewID returns a fresh random id with the given prefix ("run", "thr", ...).
func NewID(prefix string) string {
	return prefix + "_" + strings.ToLower(rand.Text()[:20])
}

// Start begins a run and returns at once; the run continues on its own context until it ends,
// is cancelled, waits for an approval, or the engine closes. ctx bounds only the start itself.
func (e *Engine) Start(ctx context.Context, req StartRequest) (RunInfo, error) {
	if req.Workflow == "" {
		req.Workflow = e.cfg.DefaultWorkflow
	}
	wf, ok := e.cfg.Workflows.Workflow(req.Workflow)
	if !ok {
		return RunInfo{}, fmt.Errorf("%w: %q", ErrUnknownWorkflow, req.Workflow)
	}
	if err := checkStart(&req); err != nil {
		return RunInfo{}, err
	}
	history, err := e.ensureThread(ctx, req.ThreadID, req.Input)
	if err != nil {
		return RunInfo{}, err
	}
	now := time.Now().UTC()
	rec := store.Run{ID: req.RunID, ThreadID: req.ThreadID, Workflow: wf.Name, WorkflowHash: wf.Hash,
		Status: store.StatusRunning, Input: req.Input, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateRun(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return RunInfo{}, fmt.Errorf("%w: %s", ErrRunExists, req.RunID)
		}
		return RunInfo{}, fmt.Errorf("engine: create run: %w", err)
	}
	st := newRunState()
	st.WorkflowHash, st.Workflow, st.Input, st.History = wf.Hash, wf.Name, req.Input, history
	st.Wave = append([]string(nil), wf.Graph.Start...)
	r := e.newRun(wf, rec, st, newRunLog(rec.ID, rec.ThreadID, 0))
	userMsg := store.Message{ThreadID: rec.ThreadID, RunID: rec.ID, Role: RoleUser, Content: req.Input, CreatedAt: now}
	r.mu.Lock()
	r.commitLocked([]event.Event{{Data: event.RunStartedData{Workflow: wf.Name, Input: req.Input}}}, &rec, []store.Message{userMsg})
	r.mu.Unlock()
	if err := e.launch(r, nil); err != nil {
		return RunInfo{}, err
	}
	return RunInfo{RunID: rec.ID, ThreadID: rec.ThreadID, Workflow: wf.Name}, nil
}

func checkStart(req *StartRequest) error {
	if strings.TrimSpace(req.Input) == "" {
		return fmt.Errorf("%w: empty message", ErrInvalidInput)
	}
	if len(req.Input) > MaxInputBytes {
		return fmt.Errorf("%w: message is %d bytes, the limit is %d", ErrInvalidInput, len(req.Input), MaxInputBytes)
	}
	if req.RunID == "" {
		req.RunID = NewID("run")
	} else if !idPattern.MatchString(req.RunID) {
		return fmt.Errorf("%w: run id %q (want 1-128 of A-Za-z0-9_.:-)", ErrInvalidInput, req.RunID)
	}
	if req.ThreadID == "" {
		req.ThreadID = NewID("thr")
	} else if !idPattern.MatchString(req.ThreadID) {
		return fmt.Errorf("%w: thread id %q (want 1-128 of A-Za-z0-9_.:-)", ErrInvalidInput, req.ThreadID)
	}
	return nil
}

// ensureThread creates the thread if needed and returns its conversation so far.
func (e *Engine) ensureThread(ctx context.Context, id, input string) ([]Message, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: thread id required", ErrInvalidInput)
	}
	_, err := e.store.Thread(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		now := time.Now().UTC()
		title := input
		if len(title) > 80 {
			title = title[:80]
		}
		err = e.store.CreateThread(ctx, store.Thread{ID: id, Title: strings.TrimSpace(title), CreatedAt: now, UpdatedAt: now})
		if errors.Is(err, store.ErrConflict) { // created concurrently
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("engine: create thread: %w", err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: read thread: %w", err)
	}
	msgs, err := e.store.Messages(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("engine: read thread messages: %w", err)
	}
	history := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		history = append(history, Message{Role: m.Role, Content: m.Content, Name: m.Agent})
	}
	return history, nil
}

func (e *Engine) newRun(wf *workflow.Workflow, rec store.Run, st *runState, lg *runLog) *run {
	return &run{eng: e, wf: wf, rec: rec, st: st, log: lg}
}

// launch registers r as live and starts its goroutine. pre, when set, runs first in it.
func (e *Engine) launch(r *run, pre func()) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if _, live := e.runs[r.rec.ID]; live {
		e.mu.Unlock()
		return fmt.Errorf("%w: %s is live", ErrRunExists, r.rec.ID)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	if t := r.wf.Limits.Timeout; t > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeoutCause(ctx, t, errRunTimeout)
		prev := cancel
		cancel = func(cause error) { prev(cause); c2() }
	}
	r.ctx, r.cancel = ctx, cancel
	r.log.setOnFail(func(err error) { cancel(err) })
	r.done = make(chan struct{})
	e.runs[r.rec.ID] = r
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		defer e.forget(r)
		if pre != nil {
			pre()
		}
		r.exec()
	}()
	return nil
}

var errRunTimeout = errors.New("run timeout")

func (e *Engine) forget(r *run) {
	e.mu.Lock()
	if e.runs[r.rec.ID] == r {
		delete(e.runs, r.rec.ID)
	}
	e.mu.Unlock()
	r.cancel(nil)
	close(r.done)
}

// settle waits for a live run that is already ending (its pause or end may be visible to
// subscribers while its goroutine finishes) and reports whether runID is still live and running.
// A client that answers the moment it sees a pause is not told the run is running.
func (e *Engine) settle(ctx context.Context, runID string) (bool, error) {
	r := e.live(runID)
	if r == nil {
		return false, nil
	}
	r.mu.Lock()
	ending := r.ending
	r.mu.Unlock()
	if !ending {
		return true, nil
	}
	select {
	case <-r.done:
		return false, nil
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
}

// Live reports whether a goroutine of this engine runs runID now. A run recorded as running that
// is not live is an orphan (see [Engine.Orphans]).
func (e *Engine) Live(runID string) bool { return e.live(runID) != nil }

func (e *Engine) live(id string) *run {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs[id]
}

func (e *Engine) liveLog(id string) *runLog {
	if r := e.live(id); r != nil {
		return r.log
	}
	return nil
}

// Subscribe returns a subscription to a run's events with seq > after: stored ones first, then
// live ones. Each watcher has its own; many may watch one run.
func (e *Engine) Subscribe(ctx context.Context, runID string, after uint64) (*Subscription, error) {
	live := e.liveLog(runID)
	if live == nil {
		if _, err := e.store.Run(ctx, runID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("%w: %s", ErrUnknownRun, runID)
			}
			return nil, fmt.Errorf("engine: subscribe: %w", err)
		}
	}
	return &Subscription{eng: e, runID: runID, cursor: after, live: live}, nil
}

// Run returns a run's record.
func (e *Engine) Run(ctx context.Context, runID string) (store.Run, error) {
	rec, err := e.store.Run(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return rec, fmt.Errorf("%w: %s", ErrUnknownRun, runID)
	}
	return rec, err
}

// Store returns the engine's store.
func (e *Engine) Store() store.Store { return e.store }

// Cancel stops a running run: its model stream, running tools and pending branches stop, open
// messages and steps are closed, and the run ends with a run.cancelled event. A run waiting for
// approvals, or one whose process died while it ran (see [Engine.Orphans]), is cancelled at once. Cancel returns once the request is recorded, not when the run
// has stopped; watch its events for that.
func (e *Engine) Cancel(ctx context.Context, runID, reason string) error {
	if reason == "" {
		reason = "cancelled by request"
	}
	e.answerMu.Lock()
	defer e.answerMu.Unlock()
	if r := e.live(runID); r != nil {
		if r.cancelLive(fmt.Errorf("%w: %s", ErrCancelled, reason)) {
			return nil
		}
		// The run is ending: once it has, cancel it if it paused, or say it is over.
		select {
		case <-r.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	rec, err := e.Run(ctx, runID)
	if err != nil {
		return err
	}
	// A paused run, or an orphan (recorded as running, run by no goroutine here: its process died).
	if rec.Status != store.StatusInterrupted && rec.Status != store.StatusRunning {
		return fmt.Errorf("%w: %s is %s", ErrNotRunning, runID, rec.Status)
	}
	r, err := e.restore(ctx, rec)
	if err != nil {
		return err
	}
	for _, c := range r.log.open.closers("aborted") { // what a dead process left open
		r.emit(c)
	}
	return e.launch(r, func() {
		r.cancel(fmt.Errorf("%w: %s", ErrCancelled, reason))
	})
}

// Answer is a person's decision on an approval request.
type Answer struct {
	ApprovalID string `json:"approval_id"`
	// Approve runs the tool; false denies it (the model is told).
	Approve bool `json:"approve"`
	// Arguments, when set, replace the call's arguments (a JSON object).
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// Reason is shown to the model on a denial.
	Reason string `json:"reason,omitempty"`
}

// Answer records a decision on a pending approval. When every approval the run waits for is
// answered, the run resumes (emitting run.resumed) on its own goroutine. Works across restarts.
func (e *Engine) Answer(ctx context.Context, runID string, a Answer) error {
	if len(a.Arguments) > 0 && !json.Valid(a.Arguments) {
		return fmt.Errorf("%w: edited arguments are not valid JSON", ErrInvalidInput)
	}
	e.answerMu.Lock()
	defer e.answerMu.Unlock()
	running, err := e.settle(ctx, runID)
	if err != nil {
		return err
	}
	if running {
		return fmt.Errorf("%w: %s is running", ErrNotWaiting, runID)
	}
	rec, err := e.Run(ctx, runID)
	if err != nil {
		return err
	}
	if rec.Status != store.StatusInterrupted {
		return fmt.Errorf("%w: %s is %s", ErrNotWaiting, runID, rec.Status)
	}
	r, err := e.restore(ctx, rec)
	if err != nil {
		return err
	}
	if !r.st.waitsFor(a.ApprovalID) {
		return fmt.Errorf("%w: %s has no pending approval %q", ErrNotWaiting, runID, a.ApprovalID)
	}
	return e.answerAndResume(ctx, r, a)
}

func (e *Engine) answerAndResume(ctx context.Context, r *run, a Answer) error {
	r.st.Answers[a.ApprovalID] = a
	decision := "denied"
	if a.Approve {
		decision = "approved"
	}
	r.emit(event.Event{Data: event.ApprovalResolvedData{ApprovalID: a.ApprovalID, Decision: decision,
		Arguments: a.Arguments, Reason: a.Reason}})
	if !r.st.allAnswered() {
		r.saveWith(nil, nil)
		if err := r.log.waitDurable(ctx); err != nil {
			return err
		}
		r.log.close()
		return nil
	}
	cp := r.st.checkpointSeq
	r.emit(event.Event{Data: event.RunResumedData{Reason: "approval", Checkpoint: cp}})
	rec := r.rec
	rec.Status = store.StatusRunning
	r.saveWith(&rec, nil)
	return e.launch(r, nil)
}

// Resume continues a run whose process died while it was running: it closes whatever the dead
// process left open, emits run.resumed, and continues from the last checkpoint — finished steps
// and finished model calls are not done again.
func (e *Engine) Resume(ctx context.Context, runID string) error {
	e.answerMu.Lock()
	defer e.answerMu.Unlock()
	if e.live(runID) != nil {
		return fmt.Errorf("%w: %s is live", ErrRunExists, runID)
	}
	rec, err := e.Run(ctx, runID)
	if err != nil {
		return err
	}
	if rec.Status != store.StatusRunning {
		return fmt.Errorf("%w: %s is %s, not an interrupted running run", ErrNotRunning, runID, rec.Status)
	}
	r, err := e.restore(ctx, rec)
	if err != nil {
		return err
	}
	for _, c := range r.log.open.closers("aborted") {
		r.emit(c)
	}
	r.emit(event.Event{Data: event.RunResumedData{Reason: "restart", Checkpoint: r.st.checkpointSeq}})
	return e.launch(r, nil)
}

// Orphans lists runs recorded as running that no goroutine of this engine runs: runs of a
// process that died. Resume them with [Engine.Resume].
func (e *Engine) Orphans(ctx context.Context) ([]store.Run, error) {
	runs, err := e.store.Runs(ctx, store.RunFilter{Status: store.StatusRunning, Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := runs[:0]
	for _, r := range runs {
		if e.live(r.ID) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// restore rebuilds a run that is not live from its record, checkpoint and event log.
func (e *Engine) restore(ctx context.Context, rec store.Run) (*run, error) {
	wf, ok := e.cfg.Workflows.Workflow(rec.Workflow)
	if !ok {
		return nil, fmt.Errorf("%w: %q (run %s)", ErrUnknownWorkflow, rec.Workflow, rec.ID)
	}
	cp, err := e.store.Checkpoint(ctx, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("engine: checkpoint of %s: %w", rec.ID, err)
	}
	st, err := decodeState(cp.Data, wf.Hash)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", rec.ID, err)
	}
	st.checkpointSeq = cp.Seq
	evs, err := e.store.Events(ctx, rec.ID, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: events of %s: %w", rec.ID, err)
	}
	lg := newRunLog(rec.ID, rec.ThreadID, uint64(len(evs)))
	for _, ev := range evs {
		lg.open.track(ev)
	}
	if n := len(evs); n > 0 && evs[n-1].Seq != uint64(n) {
		return nil, fmt.Errorf("%w: run %s event log has gaps", ErrCheckpoint, rec.ID)
	}
	return e.newRun(wf, rec, st, lg), nil
}

// Close stops every live run without ending it (each stays resumable from its last checkpoint),
// waits for their goroutines and the last commits, and stops the engine. It does not close the store.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	runs := make([]*run, 0, len(e.runs))
	for _, r := range e.runs {
		runs = append(runs, r)
	}
	e.mu.Unlock()
	for _, r := range runs {
		r.cancel(errShutdown)
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("engine: close: %w", context.Cause(ctx))
	}
	e.commit.close()
	return nil
}
