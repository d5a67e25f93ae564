package sdk

import (
	"context"
	"io"
	"sync"
	"unsafe"
)

// LocalHost configures the stand-in host that serves capabilities when the SDK runs outside
// WebAssembly (a plain `go test` of a plugin's package). Inside a WebAssembly build the Fleet host
// serves them and these settings have no effect.
type LocalHost struct {
	// Grants lists the granted capabilities. Nil means the default: log, config, kv, clock and random,
	// plus http when Fetch is set. A non-nil empty slice grants nothing.
	Grants []Capability
	// Config holds the values Config, ConfigString and ConfigAll return, each encoded as JSON. Nil
	// means no values (every key absent).
	Config map[string]any
	// Fetch answers http fetches. Nil means every fetch is denied (ErrDenied): the stand-in has no
	// allowlist and makes no network requests of its own. A Fetch error matching ErrDenied is
	// reported as a denial, any other as a failed operation.
	Fetch func(ctx context.Context, req HTTPRequest) (*HTTPResponse, error)
	// LogOutput receives log messages as "LEVEL: message" lines. Nil means os.Stderr.
	LogOutput io.Writer
}

// localState is the stand-in host: its settings and its kv store.
type localState struct {
	mu   sync.Mutex
	host LocalHost
	kv   map[string]string
}

var local = localState{kv: map[string]string{}}

// SetLocalHost replaces the stand-in host's settings and empties its kv store, and returns a
// function that restores the previous settings and store. Typical use in a test:
//
//	defer sdk.SetLocalHost(sdk.LocalHost{Config: map[string]any{"greeting": "Hi"}})()
//
// It has no effect on a plugin running in WebAssembly. It must not be called while tools run.
func SetLocalHost(h LocalHost) (restore func()) {
	local.mu.Lock()
	defer local.mu.Unlock()
	prevHost, prevKV := local.host, local.kv
	local.host, local.kv = h, map[string]string{}
	return func() {
		local.mu.Lock()
		defer local.mu.Unlock()
		local.host, local.kv = prevHost, prevKV
	}
}

// stringBytes views s as bytes without copying; the host only reads them.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
