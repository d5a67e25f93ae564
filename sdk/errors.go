package sdk

import (
	"errors"
	"fmt"
)

// Sentinel errors. Capability functions and Invoke return errors that match them with errors.Is; the
// concrete error is a *ToolError carrying the host's message and code.
var (
	// ErrDenied: the capability is not granted to this plugin in its manifest (host_call status 2),
	// or the host refused the request (an http fetch outside the allowlist).
	ErrDenied = errors.New("sdk: capability denied")
	// ErrNotFound: the key is absent (host_call status 4) where absence is not an ordinary answer.
	ErrNotFound = errors.New("sdk: not found")
	// ErrUnsupported: the host does not know the capability or operation (host_call status 3).
	ErrUnsupported = errors.New("sdk: unsupported by this host")
	// ErrUnknownTool: Invoke or the host named a tool this plugin does not have.
	ErrUnknownTool = errors.New("sdk: unknown tool")
	// ErrInvalidArguments: the arguments could not be decoded into the tool's argument type. A tool
	// may also return an error wrapping it to reject arguments it finds invalid; the host then
	// reports an invalid-arguments error (ABI status 2) instead of a tool error.
	ErrInvalidArguments = errors.New("sdk: invalid arguments")
)

// Codes of bad-request results (ABI status 2) and of capability errors.
const (
	CodeUnknownTool      = "unknown_tool"      // no tool with that index or name
	CodeInvalidArguments = "invalid_arguments" // arguments not decodable, or rejected by the tool
	CodeUnsupported      = "unsupported"       // a request this plugin does not support
	CodeBadMessage       = "bad_message"       // a malformed init request or input region
	CodeDenied           = "denied"            // capability not granted
	CodeNotFound         = "not_found"         // key absent
)

// ToolError is an error with an optional machine-readable code. A tool that returns one (or an error
// wrapping one) fails with status 1 and the error JSON {"message": ..., "code": ...}; any other error
// fails the same way with no code. Invoke and the capability functions also return *ToolError, whose
// Unwrap gives the matching sentinel (ErrDenied, ErrInvalidArguments...) when there is one.
type ToolError struct {
	// Code is a short identifier such as "division_by_zero"; empty means none.
	Code string
	// Message is the human-readable text the caller sees.
	Message string

	kind error
}

// Error returns the message.
func (e *ToolError) Error() string { return e.Message }

// Unwrap returns the sentinel error this error belongs to, or nil.
func (e *ToolError) Unwrap() error { return e.kind }

// Errorf returns a *ToolError with the given code and a message formatted as by fmt.Sprintf.
func Errorf(code, format string, args ...any) error {
	return &ToolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// kindByStatus maps the codes of a failed result, per status, to their sentinels: a tool error keeps
// the sentinel of a capability error it passed on; a bad request names what was wrong with the call.
var kindByStatus = map[byte]map[string]error{
	statusToolError: {
		CodeUnsupported: ErrUnsupported,
		CodeDenied:      ErrDenied,
		CodeNotFound:    ErrNotFound,
	},
	statusBadRequest: {
		CodeUnknownTool:      ErrUnknownTool,
		CodeInvalidArguments: ErrInvalidArguments,
		CodeUnsupported:      ErrUnsupported,
		CodeBadMessage:       ErrBadMessage,
	},
}

// classify turns a tool's error into an ABI status, code and message.
func classify(err error) (status byte, code, msg string) {
	switch {
	case errors.Is(err, ErrInvalidArguments):
		return statusBadRequest, CodeInvalidArguments, err.Error()
	case errors.Is(err, ErrUnknownTool):
		return statusBadRequest, CodeUnknownTool, err.Error()
	}
	var te *ToolError
	if errors.As(err, &te) {
		return statusToolError, te.Code, err.Error()
	}
	return statusToolError, "", err.Error()
}
