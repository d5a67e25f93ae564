package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/host/mapping"
)

// Error codes of the API (docs/api.md, "Errors").
const (
	codeBadRequest      = "bad_request"
	codeTooLarge        = "too_large"
	codeUnauthorized    = "unauthorized"
	codeForbiddenOrigin = "forbidden_origin"
	codeNotFound        = "not_found"
	codeUnknownThread   = "unknown_thread"
	codeThreadBusy      = "thread_busy"
	codeTooManyRuns     = "too_many_runs"
	codeUpgradeRequired = "upgrade_required"
	codeUnavailable     = "unavailable"
	codeInternal        = "internal"
)

// apiError is an error with the status and code a client gets.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codeBadRequest, format, args...)
}

// sentinels maps the errors of the engine and the mappers to statuses and codes, in the order
// they are tested.
var sentinels = []struct {
	err    error
	status int
	code   string
}{
	{engine.ErrUnknownWorkflow, http.StatusNotFound, "unknown_workflow"},
	{engine.ErrUnknownRun, http.StatusNotFound, "unknown_run"},
	{engine.ErrRunExists, http.StatusConflict, "run_exists"},
	{engine.ErrNotRunning, http.StatusConflict, "not_running"},
	{engine.ErrNotWaiting, http.StatusConflict, "not_waiting"},
	{engine.ErrInvalidInput, http.StatusBadRequest, codeBadRequest},
	{engine.ErrClosed, http.StatusServiceUnavailable, codeUnavailable},
	{mapping.ErrUnknownFormat, http.StatusBadRequest, codeBadRequest},
	{mapping.ErrBadPosition, http.StatusBadRequest, codeBadRequest},
}

// fiberCodes names the statuses Fiber itself answers with (unknown routes, body limit, ...).
var fiberCodes = map[int]string{
	http.StatusBadRequest:            codeBadRequest,
	http.StatusNotFound:              codeNotFound,
	http.StatusMethodNotAllowed:      codeNotFound,
	http.StatusRequestEntityTooLarge: codeTooLarge,
	http.StatusUpgradeRequired:       codeUpgradeRequired,
	http.StatusServiceUnavailable:    codeUnavailable,
}

// toAPIError classifies err. Errors of no known kind are internal: their text is logged, not sent.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return &apiError{status: s.status, code: s.code, message: err.Error()}, true
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if code, ok := fiberCodes[fe.Code]; ok {
			return &apiError{status: fe.Code, code: code, message: fe.Message}, true
		}
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "internal error"}, false
}

// errorBody is the JSON form of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func bodyOf(ae *apiError) errorBody {
	var b errorBody
	b.Error.Code, b.Error.Message = ae.code, ae.message
	return b
}

// handleError is Fiber's error handler: every error becomes {"error":{"code","message"}}.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	ae, known := toAPIError(err)
	if !known {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	if ae.status == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="fleet"`)
	}
	return c.Status(ae.status).JSON(bodyOf(ae))
}
