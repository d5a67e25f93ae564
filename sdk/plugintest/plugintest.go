// Package plugintest lets a plugin author test a Fleet plugin's .wasm, run by the real host
// (host/plugin) exactly as Fleet runs it, in three lines:
//
//	p := plugintest.Load(t, "bin/calc.wasm", plugintest.Grant("log"))
//	out := p.Call("calculate", map[string]any{"expression": "17*23"})
//	err := p.CallErr("calculate", map[string]any{"expression": "1/0"})
//
// Load also takes a Go package directory, which it builds (GOOS=wasip1 GOARCH=wasm, c-shared)
// with the go command into a cache keyed by the sources, so `go test` needs no prior build step.
// Everything is closed with t.Cleanup. Capabilities are denied unless granted with the options, as
// in production; the manifest next to the file is not read.
package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/testwasm"
)

// TB is the part of testing.TB that plugintest uses; *testing.T, *testing.B and *testing.F
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// Option changes the manifest a plugin is loaded under, or its host.
type Option func(*options)

type options struct {
	m   plugin.Manifest
	kv  plugin.KV
	err error
}

// Grant grants capabilities by name: "log", "config", "clock", "random", "kv" (use AllowHTTP for
// "http"). Unknown names fail the test when the plugin is loaded.
func Grant(names ...string) Option {
	return func(o *options) {
		for _, n := range names {
			grants := map[string]*bool{"log": &o.m.Capabilities.Log, "config": &o.m.Capabilities.Config,
				"clock": &o.m.Capabilities.Clock, "random": &o.m.Capabilities.Random, "kv": &o.m.Capabilities.KV}
			if g, ok := grants[n]; ok {
				*g = true
			} else if o.err == nil {
				o.err = fmt.Errorf("Grant(%q): unknown capability (use AllowHTTP for http)", n)
			}
		}
	}
}

// AllowHTTP grants the http capability for the hosts given (allowlist entries as in the manifest:
// "example.com", "*.example.com", with an optional ":port").
func AllowHTTP(hosts ...string) Option {
	return func(o *options) {
		if o.m.Capabilities.HTTP == nil {
			o.m.Capabilities.HTTP = &plugin.HTTPGrant{}
		}
		o.m.Capabilities.HTTP.Allow = append(o.m.Capabilities.HTTP.Allow, hosts...)
	}
}

// AllowPrivate lets http requests reach loopback and private addresses, such as an
// httptest.Server's. It grants http if AllowHTTP was not given.
func AllowPrivate() Option {
	return func(o *options) {
		if o.m.Capabilities.HTTP == nil {
			o.m.Capabilities.HTTP = &plugin.HTTPGrant{}
		}
		o.m.Capabilities.HTTP.AllowPrivate = true
	}
}

// Config sets a config value served by the config capability (which it does not grant).
func Config(key string, value any) Option {
	return func(o *options) {
		if o.m.Config == nil {
			o.m.Config = map[string]any{}
		}
		o.m.Config[key] = value
	}
}

// Timeout sets the call timeout (default 10 s).
func Timeout(d time.Duration) Option { return func(o *options) { o.m.Timeout = d } }

// WithManifest replaces the whole manifest; options after it change it further.
func WithManifest(m plugin.Manifest) Option { return func(o *options) { o.m = m } }

// WithKV gives the plugin this store for the kv capability (default: a fresh in-memory one).
func WithKV(kv plugin.KV) Option { return func(o *options) { o.kv = kv } }

// Plugin is a plugin loaded for a test. Its methods fail the test on unexpected errors.
type Plugin struct {
	t    TB
	p    *plugin.Plugin
	kv   plugin.KV
	logs *logBuffer
}

// Load loads the plugin at path (a .wasm file, or a Go package directory to build) in a host of its
// own, under the manifest the options make, and closes both when the test ends.
func Load(t TB, path string, opts ...Option) *Plugin {
	t.Helper()
	o := options{kv: plugin.NewMemoryKV(0)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		t.Fatalf("plugintest: %v", o.err)
	}
	wasm, err := readModule(path)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	logs := &logBuffer{t: t}
	ctx := context.Background()
	h, err := plugin.NewHost(ctx, plugin.Config{KV: o.kv, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	p, err := h.Load(ctx, wasm, o.m)
	if err != nil {
		t.Fatalf("plugintest: loading %s: %v", path, err)
	}
	return &Plugin{t: t, p: p, kv: o.kv, logs: logs}
}

// readModule reads a .wasm file, or builds a package directory and reads the result.
func readModule(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		if path, err = testwasm.Path(path); err != nil {
			return nil, err
		}
	}
	return os.ReadFile(path)
}

// Call calls tool with args, which are sent as they are when they are []byte, json.RawMessage or
// string and encoded as JSON otherwise (nil means no arguments). It returns the JSON result and
// fails the test if the call fails.
func (p *Plugin) Call(tool string, args any) []byte {
	p.t.Helper()
	out, err := p.p.Call(context.Background(), tool, p.encode(args))
	if err != nil {
		p.t.Fatalf("plugintest: %s: %v", tool, err)
	}
	return out
}

// CallErr calls tool with args and returns its error, failing the test if the call succeeds.
// Test the error with errors.Is against the sentinels of host/plugin and errors.As with
// *plugin.ToolError for the tool's message and code.
func (p *Plugin) CallErr(tool string, args any) error {
	p.t.Helper()
	out, err := p.p.Call(context.Background(), tool, p.encode(args))
	if err == nil {
		p.t.Fatalf("plugintest: %s succeeded with %s, want an error", tool, out)
	}
	return err
}

func (p *Plugin) encode(args any) []byte {
	p.t.Helper()
	switch a := args.(type) {
	case nil:
		return nil
	case []byte:
		return a
	case json.RawMessage:
		return a
	case string:
		return []byte(a)
	}
	b, err := json.Marshal(args)
	if err != nil {
		p.t.Fatalf("plugintest: encoding arguments: %v", err)
	}
	return b
}

// Plugin returns the loaded plugin, for what the helpers do not cover (its descriptor, a call with
// a context).
func (p *Plugin) Plugin() *plugin.Plugin { return p.p }

// KV returns the plugin's kv store; its keys are under the plugin's name.
func (p *Plugin) KV() plugin.KV { return p.kv }

// Logs returns what the host logged so far: the plugin's log messages, capability denials,
// warnings. Each line is also passed to t.Logf.
func (p *Plugin) Logs() string { return p.logs.String() }

// logBuffer keeps the host's log and echoes each line to the test log.
type logBuffer struct {
	t   TB
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("plugin host: %s", strings.TrimRight(string(b), "\n"))
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
