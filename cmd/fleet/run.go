package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"strings"
	"time"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/workflow"
	"github.com/agentfleet/fleet/internal/app"
)

// appFlags are the flags of commands that open the app.
type appFlags struct {
	DataDir   string `name:"data-dir" help:"Data directory (default $FLEET_DATA_DIR or .fleet)." placeholder:"DIR"`
	Plugins   string `help:"Plugins directory (*.wasm with NAME.yaml manifests; default bin/plugins next to the binary)." placeholder:"DIR"`
	Workflows string `help:"Directory of workflow files, added to the built-in examples." placeholder:"DIR"`
}

func (f appFlags) open(ctx context.Context, e *env) (*app.App, error) {
	return app.Open(ctx, app.Options{DataDir: f.DataDir, PluginsDir: f.Plugins, WorkflowsDir: f.Workflows, Logger: e.log})
}

type runCmd struct {
	appFlags
	Message  string   `arg:"" optional:"" help:"The message to send."`
	Workflow string   `short:"w" help:"Workflow name, or a workflow YAML file (default assistant)." placeholder:"NAME|FILE"`
	Thread   string   `help:"Continue conversation ID." placeholder:"ID"`
	JSON     bool     `help:"Print the engine's events as NDJSON."`
	Format   string   `help:"Print a mapper's frames as NDJSON: agui, legacy, vercel, or a mapper plugin .wasm." placeholder:"FORMAT"`
	Resume   string   `help:"Continue run ID: after a crash, or to answer its approvals." placeholder:"RUN_ID"`
	Approve  []string `help:"Approve these pending approval IDs (with --resume)." placeholder:"ID"`
	Deny     []string `help:"Deny these pending approval IDs (with --resume)." placeholder:"ID"`
	Args     string   `help:"Edited arguments (a JSON object) for the approved call." placeholder:"JSON"`
	Reason   string   `help:"Reason given to the model with --deny."`
}

// errWaiting is returned when the run stopped to wait for approval (exit code 3).
var errWaiting = errors.New("the run waits for approval")

func (c *runCmd) Run(ctx context.Context, e *env) error {
	if err := c.check(); err != nil {
		return &exitError{code: 2, err: err}
	}
	a, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.Close(cctx)
	}()
	out, err := c.sink(ctx, a, e)
	if err != nil {
		return err
	}
	if a.UsingOffline() && !c.JSON && c.Format == "" {
		fmt.Fprintln(e.stderr, "fleet: no OPENAI_API_KEY set: using the built-in offline model")
	}
	runID, after, err := c.begin(ctx, a)
	if err != nil {
		return err
	}
	last, err := follow(ctx, a.Engine, runID, after, out)
	if err != nil {
		return err
	}
	return outcome(last)
}

func (c *runCmd) check() error {
	switch {
	case c.Resume == "" && strings.TrimSpace(c.Message) == "":
		return errors.New("run needs a MESSAGE (or --resume RUN_ID)")
	case c.Resume != "" && c.Message != "":
		return errors.New("--resume continues a run: give no MESSAGE with it")
	case c.Resume == "" && (len(c.Approve)+len(c.Deny) > 0):
		return errors.New("--approve and --deny go with --resume RUN_ID")
	case c.JSON && c.Format != "":
		return errors.New("--json and --format exclude each other")
	case c.Args != "" && !json.Valid([]byte(c.Args)):
		return errors.New("--args must be a JSON object")
	}
	return nil
}

// begin starts or resumes the run and returns its id and the seq to stream after.
func (c *runCmd) begin(ctx context.Context, a *app.App) (string, uint64, error) {
	if c.Resume != "" {
		return c.resume(ctx, a)
	}
	name, err := c.workflow(a)
	if err != nil {
		return "", 0, err
	}
	info, err := a.Engine.Start(ctx, engine.StartRequest{Workflow: name, ThreadID: c.Thread, Input: c.Message})
	if err != nil {
		return "", 0, err
	}
	return info.RunID, 0, nil
}

// workflow resolves --workflow: a loaded name, or a YAML file loaded now.
func (c *runCmd) workflow(a *app.App) (string, error) {
	w := c.Workflow
	if w == "" || !(strings.HasSuffix(w, ".yaml") || strings.HasSuffix(w, ".yml")) {
		if w != "" {
			if _, ok := a.Workflows.Workflow(w); !ok {
				return "", fmt.Errorf("%w: %q (see `fleet workflows list`)", engine.ErrUnknownWorkflow, w)
			}
		}
		return w, nil
	}
	wf, err := workflow.Load(w)
	if err == nil {
		err = wf.CheckTools(a.ToolExists)
	}
	if err != nil {
		return "", err
	}
	a.Workflows.Add(wf)
	return wf.Name, nil
}

func (c *runCmd) resume(ctx context.Context, a *app.App) (string, uint64, error) {
	rec, err := a.Engine.Run(ctx, c.Resume)
	if err != nil {
		return "", 0, err
	}
	switch rec.Status {
	case store.StatusInterrupted:
		if len(c.Approve)+len(c.Deny) == 0 {
			return "", 0, fmt.Errorf("run %s waits for approval: pass --approve ID or --deny ID", rec.ID)
		}
		if err := c.answer(ctx, a.Engine, rec.ID); err != nil {
			return "", 0, err
		}
	case store.StatusRunning:
		if err := a.Engine.Resume(ctx, rec.ID); err != nil {
			return "", 0, err
		}
	default:
		return "", 0, fmt.Errorf("run %s is %s: there is nothing to resume", rec.ID, rec.Status)
	}
	return rec.ID, rec.LastSeq, nil
}

func (c *runCmd) answer(ctx context.Context, eng *engine.Engine, runID string) error {
	for _, id := range c.Approve {
		if err := eng.Answer(ctx, runID, engine.Answer{ApprovalID: id, Approve: true, Arguments: json.RawMessage(c.Args)}); err != nil {
			return err
		}
	}
	for _, id := range c.Deny {
		if err := eng.Answer(ctx, runID, engine.Answer{ApprovalID: id, Reason: c.Reason}); err != nil {
			return err
		}
	}
	return nil
}

// sink receives a run's events for output.
type sink interface {
	events(evs []event.Event) error
	end() error
}

func (c *runCmd) sink(ctx context.Context, a *app.App, e *env) (sink, error) {
	switch {
	case c.JSON:
		return &jsonSink{enc: json.NewEncoder(e.stdout)}, nil
	case c.Format != "":
		return newFrameSink(ctx, a, c.Format, e.stdout)
	}
	return &humanSink{r: &renderer{w: e.stdout}}, nil
}

type humanSink struct{ r *renderer }

func (h *humanSink) events(evs []event.Event) error {
	for _, ev := range evs {
		h.r.render(ev)
	}
	return nil
}

func (h *humanSink) end() error { return nil }

type jsonSink struct{ enc *json.Encoder }

func (j *jsonSink) events(evs []event.Event) error {
	for _, ev := range evs {
		if err := j.enc.Encode(ev); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonSink) end() error { return nil }

// follow streams a run's events after seq into out until the stream ends or pauses; on ctx's end
// (Ctrl-C) it cancels the run and keeps reading its last events. It returns the last event.
func follow(ctx context.Context, eng *engine.Engine, runID string, after uint64, out sink) (event.Event, error) {
	var last event.Event
	sub, err := eng.Subscribe(context.Background(), runID, after)
	if err != nil {
		return last, err
	}
	readCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		_ = eng.Cancel(context.Background(), runID, "interrupted by the user (Ctrl-C)")
	})
	defer stop()
	for {
		evs, err := sub.Next(readCtx)
		if errors.Is(err, io.EOF) {
			return last, out.end()
		}
		if err != nil {
			return last, err
		}
		if err := out.events(evs); err != nil {
			return last, err
		}
		last = evs[len(evs)-1]
	}
}

// outcome turns a run's last event into the command's result.
func outcome(last event.Event) error {
	switch d := last.Data.(type) {
	case event.RunFinishedData:
		return nil
	case event.RunInterruptedData:
		return &exitError{code: 3, err: fmt.Errorf("%w: run %s", errWaiting, last.RunID)}
	case event.RunFailedData:
		return fmt.Errorf("run %s failed (%s): %s", last.RunID, d.Error.Code, d.Error.Message)
	case event.RunCancelledData:
		return fmt.Errorf("run %s cancelled: %s", last.RunID, d.Reason)
	}
	return fmt.Errorf("run %s stopped without an outcome (last event %s)", last.RunID, last.Type)
}
