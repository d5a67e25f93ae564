package llm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/agentfleet/fleet/engine"
	openai "github.com/sashabaranov/go-openai"
)

// Sentinel errors callers act on.
var (
	// ErrConfig marks an invalid provider configuration; fix the configuration.
	ErrConfig = errors.New("invalid model provider configuration")
	// ErrUnknownProvider is returned by [Providers.Model] for a name that is not configured.
	ErrUnknownProvider = errors.New("unknown model provider")
)

// Error is a failed model call. errors.Is(err, engine.ErrTransient) reports whether retrying may
// help (HTTP 408, 409, 429, 5xx, a refused or dropped connection, a stream broken mid-way, too
// many empty stream messages); errors.As reaches the underlying error, for example a
// *openai.APIError. Its message names the provider and the HTTP status and never holds the API
// key. A cancelled or expired context is not an Error: the call returns the context's error,
// wrapped.
type Error struct {
	// Provider is the provider's configured name.
	Provider string
	// Status is the HTTP status the provider answered with; 0 when there was none (a network
	// error, a broken stream).
	Status int
	// Transient is true when a retry may succeed.
	Transient bool

	msg string
	err error
}

// Error implements error.
func (e *Error) Error() string { return e.msg }

// Unwrap returns engine.ErrTransient (when transient) and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Transient {
		return []error{engine.ErrTransient, e.err}
	}
	return []error{e.err}
}

// class is an error's classification.
type class struct {
	status    int
	transient bool
	detail    string
}

// classifier classifies err if it knows its kind. midStream is true for errors after the
// response started.
type classifier func(err error, midStream bool) (class, bool)

// classifiers are tried in order; the first that knows the error wins.
var classifiers = []classifier{
	apiErrorClass,
	requestErrorClass,
	streamClass,
	tlsClass,
	dnsClass,
	networkClass,
	decodeClass,
}

// classify turns a go-openai or transport error into an *Error, or into the context's error
// when ctx is done.
func (c *Client) classify(ctx context.Context, err error, midStream bool) error {
	if ctx.Err() != nil {
		return c.ctxError(ctx)
	}
	cl := class{transient: midStream, detail: err.Error()}
	if midStream {
		cl.detail = "stream broken: " + cl.detail
	}
	for _, f := range classifiers {
		if got, ok := f(err, midStream); ok {
			cl = got
			break
		}
	}
	return c.newError(cl, err)
}

func (c *Client) newError(cl class, err error) *Error {
	var b strings.Builder
	fmt.Fprintf(&b, "llm %s: ", c.cfg.Name)
	if cl.status > 0 {
		fmt.Fprintf(&b, "HTTP %d: ", cl.status)
	}
	b.WriteString(cl.detail)
	if cl.transient {
		b.WriteString(" (transient)")
	}
	return &Error{Provider: c.cfg.Name, Status: cl.status, Transient: cl.transient, msg: c.redact(b.String()), err: err}
}

// redact removes the API key from a message.
func (c *Client) redact(s string) string {
	if len(c.cfg.APIKey) < 4 {
		return s
	}
	return strings.ReplaceAll(s, c.cfg.APIKey, "[redacted]")
}

// ctxError wraps the context's error and, when different, its cause.
func (c *Client) ctxError(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause != nil && cause != err {
		return fmt.Errorf("llm %s: %w: %w", c.cfg.Name, err, cause)
	}
	return fmt.Errorf("llm %s: %w", c.cfg.Name, err)
}

// transientStatus reports whether an HTTP status is worth a retry.
func transientStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusConflict ||
		status == http.StatusTooManyRequests || status >= 500
}

// transientAPITypes are error types and codes of in-stream error events worth a retry.
var transientAPITypes = map[string]bool{
	"server_error": true, "rate_limit_error": true, "rate_limit_exceeded": true, "overloaded_error": true,
	"timeout": true, "requests": true, "tokens": true,
}

func apiErrorClass(err error, _ bool) (class, bool) {
	var ae *openai.APIError
	if !errors.As(err, &ae) {
		return class{}, false
	}
	code, _ := ae.Code.(string)
	detail := or(ae.Message, ae.Type, "error without a message")
	if ae.HTTPStatusCode == 0 {
		// An error event inside a stream.
		return class{transient: transientAPITypes[ae.Type] || transientAPITypes[code], detail: "stream error: " + detail}, true
	}
	// 429 insufficient_quota is a billing problem: waiting does not help.
	transient := transientStatus(ae.HTTPStatusCode) && code != "insufficient_quota" && ae.Type != "insufficient_quota"
	return class{status: ae.HTTPStatusCode, transient: transient, detail: detail}, true
}

func requestErrorClass(err error, _ bool) (class, bool) {
	var re *openai.RequestError
	if !errors.As(err, &re) {
		return class{}, false
	}
	detail := http.StatusText(re.HTTPStatusCode)
	if body := strings.Join(strings.Fields(string(re.Body)), " "); body != "" {
		detail += ": " + truncate(body, 200)
	}
	return class{status: re.HTTPStatusCode, transient: transientStatus(re.HTTPStatusCode), detail: detail}, true
}

func streamClass(err error, _ bool) (class, bool) {
	switch {
	case errors.Is(err, openai.ErrTooManyEmptyStreamMessages):
		return class{transient: true, detail: "stream broken: too many empty stream messages"}, true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return class{transient: true, detail: "stream broken: unexpected EOF"}, true
	}
	return class{}, false
}

// tlsClass: certificate problems do not heal on retry.
func tlsClass(err error, _ bool) (class, bool) {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
	)
	if errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) ||
		errors.As(err, &verify) || errors.As(err, &record) {
		return class{detail: "TLS: " + err.Error()}, true
	}
	return class{}, false
}

// dnsClass: an unknown host is a configuration error; other DNS failures may pass.
func dnsClass(err error, _ bool) (class, bool) {
	var de *net.DNSError
	if !errors.As(err, &de) {
		return class{}, false
	}
	return class{transient: !de.IsNotFound, detail: "DNS: " + de.Error()}, true
}

// networkClass: refused, reset and dropped connections, timeouts, and a connection closed
// before the response (io.EOF from the transport).
func networkClass(err error, _ bool) (class, bool) {
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &op), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.As(err, &ne) && ne.Timeout():
		return class{transient: true, detail: "connection: " + err.Error()}, true
	}
	return class{}, false
}

// decodeClass: a chunk that is not JSON means a broken stream.
func decodeClass(err error, _ bool) (class, bool) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return class{transient: true, detail: "stream broken: malformed chunk: " + err.Error()}, true
	}
	return class{}, false
}

// truncate cuts s to n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
