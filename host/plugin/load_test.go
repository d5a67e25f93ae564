package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// plainModule is a valid WebAssembly module that is not a plugin: it only exports a memory.
var plainModule = []byte("\x00asm\x01\x00\x00\x00" +
	"\x05\x03\x01\x00\x01" + // memory section: one memory, min 1 page
	"\x07\x0a\x01\x06memory\x02\x00") // export section: "memory" -> memory 0

func TestLoadPing(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	wasm := pingWasm(t)
	p := load(t, h, wasm, Manifest{})
	out, err := p.Call(context.Background(), "ping", nil)
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("ping = %s, %v; want {\"ok\":true}", out, err)
	}
	d := p.Descriptor()
	if p.Name() != "ping" || d.Kind != "tool" || d.Version != "1.0.0" || len(d.Tools) != 1 || d.Tools[0].Name != "ping" {
		t.Fatalf("descriptor = %+v", d)
	}
	if string(d.Tools[0].Parameters) != `{"type":"object"}` {
		t.Fatalf("omitted parameters = %s, want {\"type\":\"object\"}", d.Tools[0].Parameters)
	}
	sum := sha256.Sum256(wasm)
	if p.SHA256() != hex.EncodeToString(sum[:]) {
		t.Fatalf("SHA256 = %s", p.SHA256())
	}
	m := p.Manifest()
	if m.MemoryLimit != DefaultMemoryLimit || m.Timeout != DefaultTimeout || m.Instances != DefaultInstances ||
		m.MaxOutput != DefaultMaxOutput || m.MaxInput != DefaultMaxInput {
		t.Fatalf("defaults not applied: %+v", m)
	}
}

func TestLoadRefuses(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ping := pingWasm(t)
	corrupt := slices.Clone(ping)
	corrupt[len(corrupt)/2] ^= 0xff
	tests := []struct {
		name string
		wasm []byte
		m    Manifest
		want error
		// abi, when set, checks the *ABIError.
		abi func(*ABIError) bool
		msg string
	}{
		{name: "corrupt bytes", wasm: corrupt, want: ErrInvalidModule},
		{name: "not wasm", wasm: []byte("hello, world"), want: ErrInvalidModule},
		{name: "empty", wasm: nil, want: ErrInvalidModule},
		{name: "hash mismatch", wasm: ping, m: Manifest{SHA256: strings.Repeat("ab", 32)}, want: ErrHashMismatch, msg: "manifest expects abab"},
		{name: "no marker", wasm: plainModule, want: ErrNotPlugin,
			abi: func(e *ABIError) bool {
				return len(e.PluginMajors) == 0 && slices.Contains(e.Missing, "export fleet_abi_v1 () -> ()")
			}},
		{name: "only ABI v2", wasm: fixture(t, "v2only"), want: ErrABIMismatch, msg: "host speaks ABI v1, plugin declares v2",
			abi: func(e *ABIError) bool {
				return slices.Equal(e.PluginMajors, []int{2}) && slices.Equal(e.HostMajors, []int{1})
			}},
		{name: "unknown majors", wasm: fixture(t, "v99"), want: ErrABIMismatch, msg: "plugin declares v2, v99",
			abi: func(e *ABIError) bool { return slices.Equal(e.PluginMajors, []int{2, 99}) }},
		{name: "missing exports", wasm: fixture(t, "noexports"), want: ErrNotPlugin, msg: "export fleet_alloc (i32) -> (i32)",
			abi: func(e *ABIError) bool { return len(e.Missing) == 2 && strings.Contains(e.Error(), "fleet_call") }},
		{name: "wrong export type", wasm: fixture(t, "badsig"), want: ErrNotPlugin,
			msg: "export fleet_call (i32, i32, i32) -> (i64)"},
		{name: "memory minimum over the limit", wasm: fixture(t, "good"), m: Manifest{MemoryLimit: 64 << 10}, want: ErrOutOfMemory},
		{name: "bad manifest limit", wasm: ping, m: Manifest{Instances: -1}, want: ErrInvalidModule, msg: "instances -1 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := h.Load(context.Background(), tt.wasm, tt.m)
			if p != nil {
				t.Fatalf("Load succeeded, want %v", tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load error = %v, want %v", err, tt.want)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
			if tt.abi != nil {
				var ae *ABIError
				if !errors.As(err, &ae) || !tt.abi(ae) {
					t.Fatalf("ABIError = %+v", ae)
				}
			}
		})
	}
}

func TestLoadMultiMajor(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "multi"), Manifest{})
	out, err := p.Call(context.Background(), "echo", []byte(`{"x":1}`))
	if err != nil || string(out) != `{"x":1}` {
		t.Fatalf("echo = %s, %v", out, err)
	}
}

// TestDescriptorRules drives the shape fixture, whose fleet_init answer comes from its config.
func TestDescriptorRules(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	wasm := fixture(t, "shape")
	desc := func(tools string) string {
		return `{"abi_minor":0,"name":"shape","version":"1","kind":"tool","tools":` + tools + `}`
	}
	tests := []struct {
		name   string
		config map[string]any
		want   error
		msg    string
	}{
		{"not JSON", map[string]any{"descriptor": "{nope"}, ErrInvalidModule, "descriptor is not a JSON object"},
		{"missing kind", map[string]any{"descriptor": `{"name":"x","tools":[]}`}, ErrInvalidModule, "field kind is missing"},
		{"bad name", map[string]any{"descriptor": `{"name":"Bad Name","kind":"tool","tools":[{"name":"a"}]}`}, ErrInvalidModule, "field name"},
		{"no tools", map[string]any{"descriptor": desc(`[]`)}, ErrInvalidModule, "field tools: a tool plugin has at least one tool"},
		{"bad tool name", map[string]any{"descriptor": desc(`[{"name":"a b"}]`)}, ErrInvalidModule, "field tools[0].name"},
		{"duplicate tool", map[string]any{"descriptor": desc(`[{"name":"a"},{"name":"a"}]`)}, ErrInvalidModule, `field tools[1].name: "a" is used twice`},
		{"bad schema", map[string]any{"descriptor": desc(`[{"name":"a","parameters":{"type":"nonsense"}}]`)}, ErrInvalidModule, "field tools[0].parameters"},
		{"remote schema ref", map[string]any{"descriptor": desc(`[{"name":"a","parameters":{"$ref":"file:///etc/passwd"}}]`)}, ErrInvalidModule, "field tools[0].parameters"},
		{"newer minor", map[string]any{"descriptor": `{"abi_minor":7,"name":"shape","kind":"tool","tools":[{"name":"a"}]}`}, ErrABIMismatch, "host speaks ABI v1.1, plugin needs 1.7"},
		{"unknown kind", map[string]any{"descriptor": `{"name":"shape","kind":"weird","tools":[{"name":"a"}]}`}, ErrABIMismatch, `kind "weird"`},
		{"init status 1", map[string]any{"init_status": "1", "descriptor": `{"message":"cannot start"}`}, ErrInvalidModule, "fleet_init answered status 1: cannot start"},
		{"init status 9", map[string]any{"init_status": "9"}, ErrProtocol, "unknown status byte 9"},
		{"init panics", map[string]any{"init_panic": true}, ErrTrap, "fleet_init panics on purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Load(context.Background(), wasm, Manifest{Capabilities: Capabilities{Config: true}, Config: tt.config})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Load error = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
	// Without config the fixture is a valid plugin: the failures above came from the descriptors.
	p := load(t, h, wasm, Manifest{})
	if _, err := p.Call(context.Background(), "echo", nil); err != nil {
		t.Fatal(err)
	}
}

// TestLaterInstanceMustMatch: an instance made after the first must describe the same plugin.
func TestLaterInstanceMustMatch(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "shape"), Manifest{Capabilities: Capabilities{Config: true},
		Config: map[string]any{"descriptor_later": `{"name":"shape","kind":"tool","tools":[{"name":"other"}]}`}})
	ctx := context.Background()
	if _, err := p.Call(ctx, "crash", nil); !errors.Is(err, ErrTrap) {
		t.Fatalf("crash = %v, want ErrTrap", err)
	}
	if _, err := p.Call(ctx, "echo", nil); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "another name, kind or tool list") {
		t.Fatalf("call on a mismatched later instance = %v, want ErrProtocol", err)
	}
}

func TestSharedCompilation(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	wasm := fixture(t, "good")
	ctx := context.Background()
	a := load(t, h, wasm, Manifest{})
	b := load(t, h, wasm, Manifest{Instances: 1})
	h.mu.Lock()
	n, refs := len(h.modules), h.modules[sha256.Sum256(wasm)].refs
	h.mu.Unlock()
	if n != 1 || refs != 2 {
		t.Fatalf("modules = %d with %d refs, want one shared by 2", n, refs)
	}
	for _, p := range []*Plugin{a, b} {
		if _, err := p.Call(ctx, "noop", nil); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h.mu.Lock()
	n = len(h.modules)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d compiled modules left after closing every plugin", n)
	}
	if _, err := a.Call(ctx, "noop", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close = %v, want ErrClosed", err)
	}
}

// writePlugin writes wasm and, when manifest is not empty, its manifest into dir as NAME.wasm and
// NAME.yaml, returning the module's path.
func writePlugin(t *testing.T, dir, name string, wasm []byte, manifest string) string {
	t.Helper()
	path := filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestLoadFile(t *testing.T) {
	h, logs := newTestHost(t, Config{})
	dir := t.TempDir()
	good := fixture(t, "good")
	sum := sha256.Sum256(good)
	path := writePlugin(t, dir, "good", good, `# the good fixture
sha256: `+hex.EncodeToString(sum[:])+`
timeout: 5s
memory_limit: 96MiB
max_output: 64KiB
instances: 3
capabilities:
  config: true
  telepathy: true
config:
  greeting: hello
`)
	p, err := h.LoadFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Manifest()
	if m.MemoryLimit != 96<<20 || m.MaxOutput != 64<<10 || m.Instances != 3 || m.Timeout.Seconds() != 5 || !m.Capabilities.Config || m.Capabilities.Log {
		t.Fatalf("manifest = %+v", m)
	}
	out, err := p.Call(context.Background(), "hostcall", []byte(`{"cap":2,"op":1,"input":"greeting"}`))
	if err != nil || string(out) != `{"response":"\"hello\"","status":0}` {
		t.Fatalf("config get = %s, %v", out, err)
	}
	if !strings.Contains(logs.String(), `good.yaml:9:3: unknown capability \"telepathy\" ignored`) {
		t.Fatalf("no warning for the unknown capability in the log:\n%s", logs)
	}

	bad := writePlugin(t, dir, "bad", pingWasm(t), "timeout: 5s\ninstances: 2\ncapabilities:\n  http:\n    alow: [example.com]\n")
	if _, err := h.LoadFile(context.Background(), bad); !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), "bad.yaml:5:5: unknown field \"alow\"") {
		t.Fatalf("LoadFile with a bad manifest = %v, want ErrInvalidModule naming bad.yaml:5:5", err)
	}
	bare := writePlugin(t, dir, "bare", pingWasm(t), "")
	p, err = h.LoadFile(context.Background(), bare)
	if err != nil || len(p.Manifest().Capabilities.names()) != 0 {
		t.Fatalf("LoadFile without a manifest = %v, want defaults and no capability", err)
	}
}

func TestLoadAll(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	dir := t.TempDir()
	paths := []string{
		writePlugin(t, dir, "good", fixture(t, "good"), ""),
		writePlugin(t, dir, "broken", []byte("not wasm"), ""),
		writePlugin(t, dir, "ping", pingWasm(t), ""),
		writePlugin(t, dir, "v2", fixture(t, "v2only"), ""),
	}
	plugins, err := h.LoadAll(context.Background(), paths)
	if len(plugins) != 2 || plugins[0].Name() != "good" || plugins[1].Name() != "ping" {
		t.Fatalf("loaded %d plugins, want good and ping", len(plugins))
	}
	if !errors.Is(err, ErrInvalidModule) || !errors.Is(err, ErrABIMismatch) ||
		!strings.Contains(err.Error(), "broken.wasm") || !strings.Contains(err.Error(), "v2.wasm") {
		t.Fatalf("LoadAll error = %v, want one naming broken.wasm and one naming v2.wasm", err)
	}
}

// TestInspect inspects modules without loading them: the good fixture, a module of ABI major 2
// only, a mapper and junk; none leaves a compiled module behind.
func TestInspect(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	checkInspectGood(t, h)
	info, err := h.Inspect(ctx, fixture(t, "v2only"))
	if !errors.Is(err, ErrABIMismatch) || !slices.Equal(info.Majors, []int{2}) || info.Descriptor != nil || len(info.Exports) == 0 {
		t.Fatalf("Inspect(v2only) = %+v, %v", info, err)
	}
	info, err = h.Inspect(ctx, fixture(t, "mapper"))
	if err != nil || info.Descriptor == nil || info.Descriptor.Kind != "mapper" || !strings.Contains(string(info.Descriptor.Mapper), `"format":"agui"`) {
		t.Fatalf("Inspect(mapper) = %+v, %v; want the mapper descriptor", info, err)
	}
	if _, err := h.Inspect(ctx, []byte("junk")); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("Inspect(junk) = %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.modules) != 0 {
		t.Fatalf("Inspect left %d compiled modules", len(h.modules))
	}
}

// checkInspectGood inspects the good fixture: ABI major 1, its descriptor, the fleet_call export
// and host_call import with their signatures, its size and SHA-256.
func checkInspectGood(t *testing.T, h *Host) {
	t.Helper()
	info, err := h.Inspect(context.Background(), fixture(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Majors, []int{1}) || info.Descriptor == nil || info.Descriptor.Name != "good" ||
		!slices.Contains(info.Exports, "fleet_call (i32, i32, i32) -> (i64)") ||
		!slices.Contains(info.Imports, "fleet_v1.host_call (i32, i32, i32, i32) -> (i64)") || info.Size == 0 || len(info.SHA256) != 64 {
		t.Fatalf("Inspect(good) = %+v", info)
	}
}
