package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRegistry adds the good, multi and ping fixtures to a registry and checks its tool list,
// calls by qualified and by unique bare name (unknown and ambiguous names fail), removing a plugin
// (which frees a bare name) and closing the registry, which closes its plugins.
func TestRegistry(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	r := NewRegistry()
	defer r.Close(ctx)
	good := load(t, h, fixture(t, "good"), Manifest{})
	multi := load(t, h, fixture(t, "multi"), Manifest{})
	ping := load(t, h, pingWasm(t), Manifest{})
	for _, p := range []*Plugin{good, multi, ping} {
		if err := r.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add(ping); !errors.Is(err, ErrExists) {
		t.Fatalf("adding ping twice = %v, want ErrExists", err)
	}
	checkRegistryTools(t, r, good)
	checkRegistryCalls(t, r)
	checkRegistryRemove(t, r, multi)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Call(ctx, "ping", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Call after Close = %v", err)
	}
	if _, err := good.Call(ctx, "noop", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("a plugin of a closed registry still answers: %v", err)
	}
}

// checkRegistryTools checks TestRegistry's tool list: every tool of good, multi's echo and ping's
// ping, with a tool unique when no other plugin has one of its name.
func checkRegistryTools(t *testing.T, r *Registry, good *Plugin) {
	t.Helper()
	tools := r.Tools()
	byName := map[string]ToolRef{}
	for _, tr := range tools {
		byName[tr.Qualified] = tr
	}
	if len(tools) != len(good.Descriptor().Tools)+2 || !byName["ping.ping"].Unique || byName["good.echo"].Unique || byName["multi.echo"].Unique || !byName["good.noop"].Unique {
		t.Fatalf("Tools() = %+v", tools)
	}
}

// checkRegistryCalls calls TestRegistry's tools by qualified and bare names.
func checkRegistryCalls(t *testing.T, r *Registry) {
	t.Helper()
	ctx := context.Background()
	calls := []struct {
		name, args, want string
		err              error
	}{
		{"ping", "", `{"ok":true}`, nil},
		{"ping.ping", "", `{"ok":true}`, nil},
		{"good.echo", `{"a":1}`, `{"a":1}`, nil},
		{"multi.echo", `{"b":2}`, `{"b":2}`, nil},
		{"noop", "", `{}`, nil},
		{"echo", "", "", ErrToolNotFound},
		{"nope", "", "", ErrToolNotFound},
		{"nope.echo", "", "", ErrToolNotFound},
		{"good.nope", "", "", ErrToolNotFound},
		{"good.fail", "", "", ErrPlugin},
	}
	for _, c := range calls {
		out, err := r.Call(ctx, c.name, []byte(c.args))
		if !errors.Is(err, c.err) || (c.err == nil && string(out) != c.want) {
			t.Errorf("Call(%s) = %s, %v; want %s, %v", c.name, out, err, c.want, c.err)
		}
	}
	if _, err := r.Call(ctx, "echo", nil); !strings.Contains(err.Error(), "good.echo, multi.echo") {
		t.Errorf("ambiguous call error %q does not list the choices", err)
	}
}

// checkRegistryRemove removes multi from TestRegistry's registry: it closes at once, and echo
// becomes a unique bare name.
func checkRegistryRemove(t *testing.T, r *Registry, multi *Plugin) {
	t.Helper()
	ctx := context.Background()
	if !r.Remove("multi") || r.Remove("multi") {
		t.Fatal("Remove reported wrongly")
	}
	<-multi.released // not running anything: closed at once
	if out, err := r.Call(ctx, "echo", []byte(`{"c":3}`)); err != nil || string(out) != `{"c":3}` {
		t.Fatalf("bare echo after removing multi = %s, %v", out, err)
	}
	if ps := r.Plugins(); len(ps) != 2 || ps[0].Name() != "good" || ps[1].Name() != "ping" {
		t.Fatalf("Plugins() = %v", ps)
	}
}

// TestRegistryReplaceWhileRunning: a replaced plugin finishes the call running on it, then closes;
// new calls go to its replacement.
func TestRegistryReplaceWhileRunning(t *testing.T) {
	logs := &logBuffer{}
	logger, on := newSignalLogger(logs)
	h, _ := newTestHost(t, Config{Logger: logger})
	ctx := context.Background()
	wasm := fixture(t, "good")
	old := load(t, h, wasm, Manifest{Capabilities: Capabilities{Log: true, Clock: true}})
	r := NewRegistry()
	defer r.Close(ctx)
	if err := r.Add(old); err != nil {
		t.Fatal(err)
	}
	type result struct {
		out []byte
		err error
	}
	running := make(chan result)
	go func() {
		out, err := r.Call(ctx, "good.sleep", []byte(`{"ms":300}`))
		running <- result{out, err}
	}()
	<-on("sleeping")
	replacement := load(t, h, wasm, Manifest{Config: map[string]any{"version": 2}, Capabilities: Capabilities{Config: true}})
	if replaced, err := r.Replace(replacement); !replaced || err != nil {
		t.Fatalf("Replace = %v, %v", replaced, err)
	}
	status, resp := hostcall(t, replacement, 2, 1, "version")
	if out, err := r.Call(ctx, "good.hostcall", []byte(`{"cap":2,"op":1,"input":"version"}`)); err != nil || !strings.Contains(string(out), `"response":"2"`) || status != 0 || resp != "2" {
		t.Fatalf("call after Replace went elsewhere: %s, %v", out, err)
	}
	select {
	case <-old.released:
		t.Fatal("the replaced plugin closed while a call was running on it")
	default:
	}
	if _, err := old.Call(ctx, "noop", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("new call on the replaced plugin = %v, want ErrClosed", err)
	}
	res := <-running
	if res.err != nil || !strings.Contains(string(res.out), "slept_ms") {
		t.Fatalf("the running call = %s, %v; want it to finish", res.out, res.err)
	}
	<-old.released
}
