package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/agentfleet/fleet/engine/store"
)

// listThreads is GET /v1/threads[?limit=N]: most recently updated first.
func (s *Server) listThreads(c *fiber.Ctx) error {
	limit := 0
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("query limit: %q is not a number from 1 to 1000", l)
		}
		limit = n
	}
	threads, err := s.cfg.Store.Threads(s.ctx, limit)
	if err != nil {
		return err
	}
	if threads == nil {
		threads = []store.Thread{}
	}
	return c.JSON(fiber.Map{"threads": threads})
}

// getThread is GET /v1/threads/{id}: the thread and its messages.
func (s *Server) getThread(c *fiber.Ctx) error {
	id := c.Params("id")
	t, err := s.cfg.Store.Thread(s.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return newError(http.StatusNotFound, codeUnknownThread, "no thread %q", id)
	}
	if err != nil {
		return err
	}
	msgs, err := s.cfg.Store.Messages(s.ctx, id)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []store.Message{}
	}
	return c.JSON(struct {
		Thread   store.Thread    `json:"thread"`
		Messages []store.Message `json:"messages"`
	}{t, msgs})
}

// deleteThread is DELETE /v1/threads/{id}: 204; 409 thread_busy while one of its runs is running.
func (s *Server) deleteThread(c *fiber.Ctx) error {
	id := c.Params("id")
	running, err := s.cfg.Store.Runs(s.ctx, store.RunFilter{ThreadID: id, Status: store.StatusRunning, Limit: 1})
	if err != nil {
		return err
	}
	if len(running) > 0 {
		return newError(http.StatusConflict, codeThreadBusy, "run %s of thread %s is running; cancel it first", running[0].ID, id)
	}
	err = s.cfg.Store.DeleteThread(s.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return newError(http.StatusNotFound, codeUnknownThread, "no thread %q", id)
	}
	if err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

type workflowInfo struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Pattern     string      `json:"pattern"`
	Agents      []agentInfo `json:"agents"`
}

type agentInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tools       []string `json:"tools"`
}

// listWorkflows is GET /v1/workflows.
func (s *Server) listWorkflows(c *fiber.Ctx) error {
	out := []workflowInfo{}
	if s.cfg.Workflows != nil {
		for _, wf := range s.cfg.Workflows.List() {
			wi := workflowInfo{Name: wf.Name, Description: wf.Description, Pattern: wf.Pattern, Agents: []agentInfo{}}
			for _, a := range wf.Agents {
				ai := agentInfo{Name: a.Name, Description: a.Description, Tools: []string{}}
				for _, t := range a.Tools {
					ai.Tools = append(ai.Tools, t.Name)
				}
				wi.Agents = append(wi.Agents, ai)
			}
			out = append(out, wi)
		}
	}
	return c.JSON(fiber.Map{"workflows": out})
}

// listPlugins is GET /v1/plugins: loaded plugins and files that failed to load. It shows no
// manifest config values (they may hold secrets).
func (s *Server) listPlugins(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"plugins": s.plugins.list()})
}
