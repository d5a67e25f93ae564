package sdk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"
	"unicode/utf8"
)

// host_call statuses (ABI section 4).
const (
	hostOK          uint32 = 0
	hostFailed      uint32 = 1
	hostDenied      uint32 = 2
	hostUnsupported uint32 = 3
	hostNotFound    uint32 = 4
)

// Granted reports whether the host granted capability c to this plugin at init. Outside WebAssembly
// it reports the stand-in host's grants (see SetLocalHost). Before init, and for a capability this SDK
// does not know, it reports false.
func Granted(c Capability) bool {
	bit := capBit(c)
	return bit != 0 && grants()&bit != 0
}

// capCall performs host_call and maps a non-zero status to an error matching ErrDenied,
// ErrUnsupported or ErrNotFound (a *ToolError carrying the host's message and code).
func capCall(c Capability, op uint32, what string, in []byte) ([]byte, error) {
	status, out := hostCall(capIDs[c], op, in)
	if status == hostOK {
		return out, nil
	}
	return nil, hostError(status, what, out)
}

func hostError(status uint32, what string, out []byte) error {
	var body errorBody
	_ = json.Unmarshal(out, &body) // an empty or malformed body leaves the message empty
	te := &ToolError{Code: body.Code}
	switch status {
	case hostDenied:
		te.kind, te.Code = ErrDenied, orDefault(body.Code, CodeDenied)
	case hostUnsupported:
		te.kind, te.Code = ErrUnsupported, orDefault(body.Code, CodeUnsupported)
	case hostNotFound:
		te.kind, te.Code = ErrNotFound, orDefault(body.Code, CodeNotFound)
	case hostFailed:
	default:
		body.Message = fmt.Sprintf("unknown host_call status %d", status)
	}
	msg := body.Message
	if msg == "" && te.kind != nil {
		msg = te.kind.Error()
	}
	te.Message = what + ": " + msg
	return te
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Level is a log level, the op of the log capability.
type Level uint32

// Log levels.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

var levelNames = [...]string{"debug", "info", "warn", "error"}

// String returns "debug", "info", "warn" or "error".
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// Log sends msg to the host's logger at the given level, tagged with the plugin's name. Without the
// log capability the message goes to stderr instead, which the host keeps (its last 4 KiB per
// instance) and shows with a trap. Log never fails: a message the host refuses is dropped.
func Log(level Level, msg string) {
	if !Granted(CapLog) {
		fmt.Fprintf(os.Stderr, "%s: %s\n", level, msg)
		return
	}
	hostCall(capIDs[CapLog], uint32(level), stringBytes(msg))
}

// Logf formats its arguments as by fmt.Sprintf and logs the message, as Log.
func Logf(level Level, format string, args ...any) {
	Log(level, fmt.Sprintf(format, args...))
}

// Config returns the manifest's config value for key as raw JSON. ok is false when the key is absent.
// err matches ErrDenied without the config capability.
func Config(key string) (value json.RawMessage, ok bool, err error) {
	status, out := hostCall(capIDs[CapConfig], 1, stringBytes(key))
	switch status {
	case hostOK:
		return out, true, nil
	case hostNotFound:
		return nil, false, nil
	}
	return nil, false, hostError(status, "config get "+key, out)
}

// ConfigString returns the config value for key, which must be a JSON string, or def when the key is
// absent. On an error (capability denied, value not a string) it returns def and the error.
func ConfigString(key, def string) (string, error) {
	raw, ok, err := Config(key)
	if err != nil || !ok {
		return def, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return def, fmt.Errorf("sdk: config %s is not a string: %w", key, err)
	}
	return s, nil
}

// ConfigAll returns all of the manifest's config values; err matches ErrDenied without the config
// capability.
func ConfigAll() (map[string]json.RawMessage, error) {
	out, err := capCall(CapConfig, 2, "config all", nil)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(out, &all); err != nil {
		return nil, fmt.Errorf("sdk: config all: malformed response: %w", err)
	}
	return all, nil
}

type kvRequest struct {
	Key    string  `json:"key,omitempty"`
	Value  *string `json:"value,omitempty"`
	Prefix *string `json:"prefix,omitempty"`
}

func kvCall(op uint32, what string, req kvRequest) (uint32, []byte, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return 0, nil, fmt.Errorf("sdk: %s: %w", what, err)
	}
	status, out := hostCall(capIDs[CapKV], op, in)
	return status, out, nil
}

// KVGet returns the value stored under key in the plugin's kv store; ok is false when there is none.
// err matches ErrDenied without the kv capability.
func KVGet(key string) (value string, ok bool, err error) {
	status, out, err := kvCall(1, "kv get", kvRequest{Key: key})
	switch {
	case err != nil:
		return "", false, err
	case status == hostOK:
		return string(out), true, nil
	case status == hostNotFound:
		return "", false, nil
	}
	return "", false, hostError(status, "kv get "+key, out)
}

// KVSet stores value under key, replacing any previous value.
func KVSet(key, value string) error {
	return kvDo(2, "kv set "+key, kvRequest{Key: key, Value: &value})
}

// KVDelete removes key; deleting an absent key is not an error unless the host reports ErrNotFound.
func KVDelete(key string) error {
	return kvDo(3, "kv delete "+key, kvRequest{Key: key})
}

func kvDo(op uint32, what string, req kvRequest) error {
	status, out, err := kvCall(op, what, req)
	if err != nil || status == hostOK {
		return err
	}
	return hostError(status, what, out)
}

// KVList returns the keys that start with prefix ("" lists all), in the host's order.
func KVList(prefix string) ([]string, error) {
	status, out, err := kvCall(4, "kv list", kvRequest{Prefix: &prefix})
	if err != nil {
		return nil, err
	}
	if status != hostOK {
		return nil, hostError(status, "kv list", out)
	}
	var keys []string
	if err := json.Unmarshal(out, &keys); err != nil {
		return nil, fmt.Errorf("sdk: kv list: malformed response: %w", err)
	}
	return keys, nil
}

// HTTPRequest is an outbound HTTP request made through the http capability.
type HTTPRequest struct {
	// Method defaults to GET.
	Method string
	// URL is required; http or https, on the manifest's allowlist.
	URL string
	// Headers are sent as given. Optional.
	Headers map[string]string
	// Body is sent as the request body. Optional.
	Body string
	// Timeout bounds the request; zero means the context's deadline if it has one, else the host's
	// default.
	Timeout time.Duration
	// MaxBytes caps the response body; zero means the host's default (1 MiB), which is also the ceiling.
	MaxBytes int
}

// HTTPResponse is the host's answer to an HTTPRequest, also for HTTP 4xx and 5xx statuses.
type HTTPResponse struct {
	// Status is the HTTP status code.
	Status int
	// URL is the final URL, after redirects.
	URL string
	// Headers holds the response headers, one value each.
	Headers map[string]string
	// Body is the response body, at most MaxBytes of it.
	Body []byte
	// Truncated reports that the body was cut at MaxBytes.
	Truncated bool
}

// httpWireRequest and httpWireResponse are the ABI's JSON forms.
type httpWireRequest struct {
	Method    string            `json:"method,omitempty"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	TimeoutMS int64             `json:"timeout_ms,omitempty"`
	MaxBytes  int               `json:"max_bytes,omitempty"`
}

type httpWireResponse struct {
	Status     int               `json:"status"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       *string           `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
	Truncated  bool              `json:"truncated"`
}

// Fetch performs an HTTP request through the host (the http capability). An HTTP error status is a
// response, not an error. err matches ErrDenied when the capability is not granted or the host refused
// the URL (not on the allowlist, a private address, too many redirects), with the host's reason. The
// host cannot be interrupted from inside the guest: ctx only sets the timeout (from its deadline) and
// is checked before the request.
func Fetch(ctx context.Context, req HTTPRequest) (*HTTPResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sdk: http fetch: %w", err)
	}
	wire := httpWireRequest{Method: req.Method, URL: req.URL, Headers: req.Headers, Body: req.Body,
		TimeoutMS: req.Timeout.Milliseconds(), MaxBytes: req.MaxBytes}
	if deadline, ok := ctx.Deadline(); ok && req.Timeout == 0 {
		wire.TimeoutMS = max(1, time.Until(deadline).Milliseconds())
	}
	in, err := json.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("sdk: http fetch: %w", err)
	}
	out, err := capCall(CapHTTP, 1, "http fetch "+req.URL, in)
	if err != nil {
		return nil, err
	}
	return decodeHTTPResponse(out)
}

func decodeHTTPResponse(out []byte) (*HTTPResponse, error) {
	var w httpWireResponse
	if err := json.Unmarshal(out, &w); err != nil {
		return nil, fmt.Errorf("sdk: http fetch: malformed response: %w", err)
	}
	resp := &HTTPResponse{Status: w.Status, URL: w.URL, Headers: w.Headers, Truncated: w.Truncated}
	switch {
	case w.Body != nil:
		resp.Body = []byte(*w.Body)
	case w.BodyBase64 != "":
		body, err := base64.StdEncoding.DecodeString(w.BodyBase64)
		if err != nil {
			return nil, fmt.Errorf("sdk: http fetch: malformed body_base64: %w", err)
		}
		resp.Body = body
	}
	return resp, nil
}

// encodeHTTPResponse is decodeHTTPResponse's inverse, for the stand-in host.
func encodeHTTPResponse(resp *HTTPResponse) ([]byte, error) {
	w := httpWireResponse{Status: resp.Status, URL: resp.URL, Headers: resp.Headers, Truncated: resp.Truncated}
	if utf8.Valid(resp.Body) {
		s := string(resp.Body)
		w.Body = &s
	} else {
		w.BodyBase64 = base64.StdEncoding.EncodeToString(resp.Body)
	}
	return json.Marshal(w)
}

// Get fetches url with GET, as Fetch.
func Get(ctx context.Context, url string) (*HTTPResponse, error) {
	return Fetch(ctx, HTTPRequest{URL: url})
}
