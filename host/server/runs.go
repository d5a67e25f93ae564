package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/mapping"
)

// postRun is POST /v1/workflows/{workflow}/runs: a RunAgentInput starts a run (or answers its
// approvals, with resume) and the run streams back as SSE.
func (s *Server) postRun(c *fiber.Ctx) error {
	if s.closing.Load() {
		return newError(http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down")
	}
	m, err := s.cfg.Mappers.Lookup(c.Query("format"))
	if err != nil {
		return err
	}
	req, err := parseRunInput(c.Body())
	if err != nil {
		return err
	}
	var p *pump
	if len(req.Answers) > 0 {
		p, err = s.continueRun(s.ctx, c.Params("workflow"), req, clientKey(c), m)
	} else {
		p, err = s.startRun(s.ctx, engine.StartRequest{Workflow: c.Params("workflow"), ThreadID: req.ThreadID,
			RunID: req.RunID, Input: req.Input}, clientKey(c), m)
	}
	if err != nil {
		return err
	}
	return s.streamSSE(c, p)
}

// startRun starts a run for client (within its run limit), tracks it, and returns a pump of its
// stream from the start.
func (s *Server) startRun(ctx context.Context, sr engine.StartRequest, client string, m mapping.Mapper) (*pump, error) {
	release, err := s.limits.acquire(client, false)
	if err != nil {
		return nil, err
	}
	info, err := s.eng.Start(ctx, sr)
	if err != nil {
		release()
		return nil, err
	}
	s.metrics.runsStarted.Inc()
	s.track(info.RunID, 0, release)
	return s.openPump(ctx, info.RunID, m, mapping.Position{})
}

// continueRun answers a run's approvals and returns a pump of its stream after the point where it
// paused: the continuation.
func (s *Server) continueRun(ctx context.Context, wf string, req runRequest, client string, m mapping.Mapper) (*pump, error) {
	rec, err := s.eng.Run(ctx, req.RunID)
	if errors.Is(err, engine.ErrUnknownRun) && req.ThreadID != "" {
		// AG-UI clients may resume with a fresh runId: the run is the thread's one that waits
		// for the interrupt.
		rec, err = s.waitingRun(ctx, req.ThreadID, req.Answers[0].ApprovalID)
	}
	if err != nil {
		return nil, err
	}
	if wf != "" && rec.Workflow != wf {
		return nil, badRequest("field runId: run %s belongs to workflow %s, not %s", rec.ID, rec.Workflow, wf)
	}
	after, err := s.answer(ctx, rec, client, req.Answers...)
	if err != nil {
		return nil, err
	}
	return s.openPump(ctx, rec.ID, m, mapping.Position{Seq: after})
}

// waitingRun finds the run of a thread that waits for an approval.
func (s *Server) waitingRun(ctx context.Context, threadID, approvalID string) (store.Run, error) {
	runs, err := s.cfg.Store.Runs(ctx, store.RunFilter{ThreadID: threadID, Status: store.StatusInterrupted})
	if err != nil {
		return store.Run{}, err
	}
	for _, r := range runs {
		evs, err := s.cfg.Store.Events(ctx, r.ID, r.LastSeq-min(r.LastSeq, maxLookBack), 0)
		if err != nil {
			return store.Run{}, err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if d, ok := evs[i].Data.(event.RunInterruptedData); ok {
				if slices.ContainsFunc(d.Approvals, func(a event.Approval) bool { return a.ID == approvalID }) {
					return r, nil
				}
				break
			}
		}
	}
	return store.Run{}, newError(http.StatusNotFound, "unknown_run", "no run of thread %s waits for interrupt %q", threadID, approvalID)
}

// maxLookBack bounds the events read back to find a paused run's approvals.
const maxLookBack = 256

// answer records answers to a paused run's approvals and tracks what follows (the run resumes
// once all are answered). It returns the seq the run had paused at.
func (s *Server) answer(ctx context.Context, rec store.Run, client string, answers ...engine.Answer) (uint64, error) {
	if rec.Status != store.StatusInterrupted {
		return 0, newError(http.StatusConflict, "not_waiting", "run %s is %s, not waiting for approvals", rec.ID, rec.Status)
	}
	after := rec.LastSeq
	for _, a := range answers {
		if err := s.eng.Answer(ctx, rec.ID, a); err != nil {
			return 0, err
		}
	}
	release, _ := s.limits.acquire(client, true)
	s.track(rec.ID, after, release)
	return after, nil
}

// getEvents is GET /v1/runs/{id}/events: a run's stream from the start or after Last-Event-ID /
// ?after=, then live until the run pauses or ends. A client at the end of a run that is not running
// gets 204, which stops a browser's EventSource from reconnecting.
func (s *Server) getEvents(c *fiber.Ctx) error {
	if s.closing.Load() {
		return newError(http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down")
	}
	runID := c.Params("id")
	m, err := s.cfg.Mappers.Lookup(c.Query("format"))
	if err != nil {
		return err
	}
	from, err := startPosition(c, runID)
	if err != nil {
		return err
	}
	rec, err := s.eng.Run(s.ctx, runID)
	if err != nil {
		return err
	}
	// At the end of a run that nothing runs (ended, paused, or orphaned by a dead process): 204,
	// which stops a browser's EventSource from reconnecting in a loop.
	over := rec.Status != store.StatusRunning || !s.eng.Live(runID)
	if over && from.Part == 0 && from.Seq >= rec.LastSeq {
		return c.SendStatus(http.StatusNoContent)
	}
	p, err := s.openPump(s.ctx, runID, m, from)
	if err != nil {
		return err
	}
	return s.streamSSE(c, p)
}

// startPosition reads where a stream starts: Last-Event-ID, else ?after=<seq>, else the start.
func startPosition(c *fiber.Ctx, runID string) (mapping.Position, error) {
	if id := c.Get("Last-Event-ID"); id != "" {
		return mapping.ParseID(runID, id)
	}
	after := c.Query("after")
	if after == "" {
		return mapping.Position{}, nil
	}
	seq, err := strconv.ParseUint(after, 10, 64)
	if err != nil {
		return mapping.Position{}, badRequest("query after: %q is not a seq (a non-negative integer)", after)
	}
	return mapping.Position{Seq: seq}, nil
}

// getRun is GET /v1/runs/{id}.
func (s *Server) getRun(c *fiber.Ctx) error {
	rec, err := s.eng.Run(s.ctx, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

type cancelBody struct {
	Reason string `json:"reason"`
}

// cancelRun is POST /v1/runs/{id}/cancel: 202 with the run's record.
func (s *Server) cancelRun(c *fiber.Ctx) error {
	var b cancelBody
	if len(c.Body()) > 0 {
		if err := decodeStrict(c.Body(), &b, ""); err != nil {
			return err
		}
	}
	id := c.Params("id")
	if err := s.eng.Cancel(s.ctx, id, b.Reason); err != nil {
		return err
	}
	rec, err := s.eng.Run(s.ctx, id)
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(rec)
}

// answerApproval is POST /v1/runs/{id}/approvals/{approvalId}: 202 with the run's record.
func (s *Server) answerApproval(c *fiber.Ctx) error {
	a, err := parseAnswer(c.Body(), c.Params("approval"))
	if err != nil {
		return err
	}
	rec, err := s.eng.Run(s.ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if _, err := s.answer(s.ctx, rec, clientKey(c), a); err != nil {
		return err
	}
	if rec, err = s.eng.Run(s.ctx, rec.ID); err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(rec)
}
