package mapping

import "encoding/json"

// Error codes the server puts in error frames.
const (
	// CodeMapper: the stream's mapper failed.
	CodeMapper = "mapper_error"
	// CodeShutdown: the server is shutting down; the run goes on (or resumes after a restart) and
	// the client may resume the stream.
	CodeShutdown = "shutdown"
	// CodeInternal: reading the run's events failed.
	CodeInternal = "internal"
)

// errorFrames builds an error frame per format: each client must be told in its own vocabulary.
var errorFrames = map[string]func(code, message string) any{
	"agui": func(code, message string) any {
		return struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Code    string `json:"code,omitempty"`
		}{"RUN_ERROR", message, code}
	},
	"vercel": func(_, message string) any {
		return struct {
			Type      string `json:"type"`
			ErrorText string `json:"errorText"`
		}{"error", message}
	},
	"legacy": func(code, message string) any {
		return struct {
			Type     string `json:"type"`
			Error    string `json:"error"`
			Message  string `json:"message"`
			Code     string `json:"code,omitempty"`
			Category string `json:"category"`
		}{"error", message, message, code, "error"}
	},
}

// ErrorFrame returns the frame that tells a client of format an error: AG-UI RUN_ERROR{message,
// code}, Vercel {"type":"error","errorText"}, legacy {"type":"error","error","message","code"},
// and {"type":"error","code","message"} for fleet and any other format.
func ErrorFrame(format, code, message string) []byte {
	var v any = struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"error", code, message}
	if f := errorFrames[format]; f != nil {
		v = f(code, message)
	}
	b, _ := json.Marshal(v) // plain structs of strings always encode
	return b
}
