package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// core is the state a plugin's instances and host functions share. Fields below name are set while
// the first instance is made, before the plugin is published, and only read afterwards.
type core struct {
	host     *Host
	compiled *compiled
	m        Manifest
	grants   uint32
	modCfg   wazero.ModuleConfig
	nextID   atomic.Int64
	// recycleAt is the memory size past which an instance is discarded after its call.
	recycleAt uint32
	config    map[string][]byte
	configAll []byte
	http      *httpCapability

	name string
	log  *slog.Logger
	desc *Descriptor
	kind *kindSpec
}

// initRequest is fleet_init's input.
func (c *core) initRequest(id int64) ([]byte, error) {
	type abi struct {
		Major int `json:"major"`
		Minor int `json:"minor"`
	}
	return json.Marshal(struct {
		ABI          abi      `json:"abi"`
		Host         string   `json:"host"`
		Capabilities []string `json:"capabilities"`
		Instance     int64    `json:"instance"`
	}{abi{hostMajor, hostMinor}, c.host.cfg.Host, c.m.Capabilities.names(), id})
}

// toolEntry is a tool as the host calls it.
type toolEntry struct {
	index uint32
	what  string // "fleet_call tool NAME", for errors
	args  *argsValidator
}

// Plugin is a loaded plugin: its descriptor, its manifest and a bounded pool of instances. It is safe
// for concurrent use; each call gets an instance of its own. Close it (or its Host) when done.
type Plugin struct {
	core  *core
	sum   string
	tools map[string]*toolEntry
	pool  pool

	// refs counts running calls; closingBit is set once the plugin is closing.
	refs        atomic.Int64
	releaseOnce sync.Once
	released    chan struct{}

	// failures counts consecutive crashes; until is the end of the back-off, in Unix nanoseconds.
	failures atomic.Int32
	until    atomic.Int64
}

const closingBit = 1 << 62

// newPlugin checks the compiled module, makes the first instance and builds the plugin from its
// descriptor. Its errors name the plugin by label.
func newPlugin(ctx context.Context, h *Host, comp *compiled, label string, m Manifest) (*Plugin, error) {
	if err := h.checkShape(comp.mod, m.MemoryLimit); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", label, err)
	}
	c := &core{host: h, compiled: comp, m: m, grants: m.Capabilities.mask(), name: label,
		recycleAt: uint32(min(m.MemoryLimit/2, 1<<32-1))}
	c.log = h.cfg.Logger.With("plugin", label)
	if err := c.setup(); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", label, err)
	}
	in, raw, err := newInstance(ctx, c) // its errors start with "plugin LABEL:"
	if err != nil {
		return nil, err
	}
	p, err := c.describe(raw)
	if err != nil {
		in.close()
		return nil, fmt.Errorf("plugin %s: %w", label, err)
	}
	in.entry = in.mod.ExportedFunction(c.kind.export)
	p.sum = hex.EncodeToString(comp.sum[:])
	p.pool = newPool(m.Instances)
	p.pool.add(in)
	return p, nil
}

// setup prepares the module config and capability state from the manifest.
func (c *core) setup() error {
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize")
	if c.m.Capabilities.Clock {
		cfg = cfg.WithSysWalltime().WithSysNanotime()
	}
	if c.m.Capabilities.Random {
		cfg = cfg.WithRandSource(rand.Reader)
	}
	c.modCfg = cfg
	c.config = make(map[string][]byte, len(c.m.Config))
	raw := make(map[string]json.RawMessage, len(c.m.Config))
	for k, v := range c.m.Config {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%w: manifest config %q: %w", ErrInvalidModule, k, err)
		}
		c.config[k], raw[k] = b, b
	}
	all, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("%w: manifest config: %w", ErrInvalidModule, err)
	}
	c.configAll = all
	if g := c.m.Capabilities.HTTP; g != nil {
		c.http = newHTTPCapability(*g, c.host.cfg.HTTPMaxBytes)
	}
	return nil
}

// describe validates the first instance's descriptor and builds the plugin around it.
func (c *core) describe(raw []byte) (*Plugin, error) {
	d, err := parseDescriptor(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	if err := c.checkKind(d); err != nil {
		return nil, err
	}
	p := &Plugin{core: c, released: make(chan struct{}), tools: make(map[string]*toolEntry, len(d.Tools))}
	for i, t := range d.Tools {
		v, err := compileSchema(t.Name, t.Parameters)
		if err != nil {
			return nil, fmt.Errorf("%w: descriptor: field tools[%d].parameters: %w", ErrInvalidModule, i, err)
		}
		p.tools[t.Name] = &toolEntry{index: uint32(i), what: "fleet_call tool " + t.Name, args: v}
	}
	c.desc, c.name = d, d.Name
	c.log = c.host.cfg.Logger.With("plugin", d.Name)
	c.warnCapabilities(d)
	return p, nil
}

// checkKind checks the descriptor's ABI minor and kind against what the host runs.
func (c *core) checkKind(d *Descriptor) error {
	if d.ABIMinor > hostMinor {
		return &ABIError{Err: ErrABIMismatch, HostMajors: []int{hostMajor}, PluginMajors: []int{hostMajor}, HostMinor: hostMinor, PluginMinor: d.ABIMinor}
	}
	k, ok := kinds[d.Kind]
	switch {
	case !ok:
		return &ABIError{Err: ErrABIMismatch, HostMajors: []int{hostMajor}, PluginMajors: []int{hostMajor},
			Missing: []string{fmt.Sprintf("kind %q (unknown to ABI 1.%d)", d.Kind, hostMinor)}}
	case !k.supported:
		return &ABIError{Err: ErrABIMismatch, HostMajors: []int{hostMajor}, PluginMajors: []int{hostMajor},
			Missing: []string{fmt.Sprintf("kind %q (not run by this host yet)", d.Kind)}}
	}
	if _, ok := c.compiled.mod.ExportedFunctions()[k.export]; !ok {
		return &ABIError{Err: ErrNotPlugin, HostMajors: []int{hostMajor}, PluginMajors: []int{hostMajor},
			Missing: []string{fmt.Sprintf("export %s %s for kind %s", k.export, k.signature(), d.Kind)}}
	}
	if err := k.validate(d); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	c.kind = k
	return nil
}

// warnCapabilities logs what the plugin asks for but is not granted, and names it does not know.
func (c *core) warnCapabilities(d *Descriptor) {
	granted := c.m.Capabilities.names()
	for _, name := range d.Capabilities {
		if _, known := capabilityNames[name]; !known {
			c.log.Warn("plugin asks for an unknown capability; ignored", "capability", name)
		} else if !slices.Contains(granted, name) {
			c.log.Info("plugin asks for a capability its manifest does not grant", "capability", name)
		}
	}
}

// newInstance makes a later instance and checks it describes itself as the first did.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	c := p.core
	in, raw, err := newInstance(ctx, c)
	if err != nil {
		return nil, err
	}
	d, err := parseDescriptor(raw)
	if err == nil && !c.desc.sameShape(d) {
		err = errors.New("a later instance answered a descriptor with another name, kind or tool list")
	}
	if err != nil {
		in.close()
		return nil, fmt.Errorf("plugin %s: fleet_init: %w: %w", c.name, ErrProtocol, err)
	}
	in.entry = in.mod.ExportedFunction(c.kind.export)
	return in, nil
}

// Name returns the plugin's name, from its descriptor.
func (p *Plugin) Name() string { return p.core.name }

// SHA256 returns the hex SHA-256 of the plugin's module.
func (p *Plugin) SHA256() string { return p.sum }

// Descriptor returns a copy of the plugin's descriptor.
func (p *Plugin) Descriptor() Descriptor { return p.core.desc.clone() }

// Manifest returns the manifest the plugin runs under, with defaults filled in. Its Config map is a
// shallow copy: do not change the values in it.
func (p *Plugin) Manifest() Manifest {
	m := p.core.m
	m.Config = maps.Clone(m.Config)
	if m.Capabilities.HTTP != nil {
		g := *m.Capabilities.HTTP
		g.Allow = slices.Clone(g.Allow)
		m.Capabilities.HTTP = &g
	}
	return m
}

// Call runs tool with the JSON arguments args (nil or empty means {}) and returns its JSON result.
// The arguments are checked against the tool's parameters schema first. The call stops at the
// manifest's timeout or when ctx ends, whatever the guest is doing. Errors match the sentinels of
// this package (ErrToolNotFound, ErrInvalidArguments, ErrPlugin, ErrTrap, ErrTimeout, ...), or
// context.Canceled when ctx was cancelled.
func (p *Plugin) Call(ctx context.Context, tool string, args []byte) ([]byte, error) {
	if !p.enter() {
		return nil, fmt.Errorf("plugin %s: %w", p.core.name, ErrClosed)
	}
	defer p.exit()
	return p.call(ctx, tool, args)
}

// call is Call for a caller that already counted the call with enter.
func (p *Plugin) call(ctx context.Context, tool string, args []byte) ([]byte, error) {
	t := p.tools[tool]
	if t == nil {
		return nil, fmt.Errorf("plugin %s: %w: %q (tools: %s)", p.core.name, ErrToolNotFound, tool, strings.Join(p.toolNames(), ", "))
	}
	if int64(len(args)) > p.core.m.MaxInput {
		return nil, fmt.Errorf("plugin %s: tool %s: %w: %d bytes, max_input is %d", p.core.name, tool, ErrInvalidArguments, len(args), p.core.m.MaxInput)
	}
	if err := t.args.check(args); err != nil {
		return nil, fmt.Errorf("plugin %s: tool %s: %w: %w", p.core.name, tool, ErrInvalidArguments, err)
	}
	if isEmpty(args) {
		args = nil // (0, 0): the guest reads it as {}
	}
	r := p.do(ctx, t.what, 1, t.index, args)
	err := r.err
	if err == nil && r.gerr != nil {
		err = p.toolError(tool, r.gerr)
	}
	if err != nil && len(r.denied) > 0 {
		err = &deniedError{err: err, denied: r.denied}
	}
	return r.out, err
}

// Map runs one fleet_map call of a mapper plugin (docs/abi.md section 8): input is the batch's
// JSON, the result the output text (the stream's state line, then "<index> <frame>" lines), which
// the caller parses. It stops at the manifest's timeout or when ctx ends. A status 1 or 2 answer is
// a *ToolError (ErrPlugin, or ErrProtocol for a bad request); other failures match this package's
// sentinels as for Call.
func (p *Plugin) Map(ctx context.Context, input []byte) ([]byte, error) {
	if !p.enter() {
		return nil, fmt.Errorf("plugin %s: %w", p.core.name, ErrClosed)
	}
	defer p.exit()
	if p.core.desc.Kind != "mapper" {
		return nil, fmt.Errorf("plugin %s: %w: kind %q has no fleet_map", p.core.name, ErrProtocol, p.core.desc.Kind)
	}
	if int64(len(input)) > p.core.m.MaxInput {
		return nil, fmt.Errorf("plugin %s: fleet_map: %w: %d bytes, max_input is %d", p.core.name, ErrInvalidArguments, len(input), p.core.m.MaxInput)
	}
	r := p.do(ctx, "fleet_map", 0, 0, input)
	err := r.err
	if err == nil && r.gerr != nil {
		te := &ToolError{Plugin: p.core.name, Tool: "fleet_map", Message: r.gerr.message, Code: r.gerr.code, Err: ErrPlugin}
		if r.gerr.status == 2 {
			te.Err = ErrProtocol
		}
		err = te
	}
	return r.out, err
}

// toolError maps a guest's error status to the error Call returns.
func (p *Plugin) toolError(tool string, g *guestError) error {
	te := &ToolError{Plugin: p.core.name, Tool: tool, Message: g.message, Code: g.code, Err: ErrPlugin}
	if g.status == 2 {
		te.Err = badRequestErrors[g.code]
		if te.Err == nil {
			te.Err = ErrProtocol
		}
	}
	return te
}

// badRequestErrors maps the codes of status 2 to sentinels.
var badRequestErrors = map[string]error{"unknown_tool": ErrToolNotFound, "invalid_arguments": ErrInvalidArguments}

// outcome is the result of one export call: the payload, or the guest's error status, or the
// failure, and the capability denials seen during the call.
type outcome struct {
	out    []byte
	gerr   *guestError
	err    error
	denied []string
}

// do runs one export call on a pooled instance: the kind-neutral part of every call. It applies the
// back-off and records crashes; the caller turns the outcome into its kind's errors.
func (p *Plugin) do(ctx context.Context, what string, nlead int, lead uint32, input []byte) outcome {
	if err := p.available(); err != nil {
		return outcome{err: err}
	}
	if err := ctx.Err(); err != nil {
		return outcome{err: ctxError("plugin "+p.core.name+": "+what, err)}
	}
	in, err := p.pool.get(ctx, p.newInstance)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{err: ctxError("plugin "+p.core.name+": "+what+": waiting for an instance", ctx.Err())}
		}
		p.record(true)
		return outcome{err: err}
	}
	var r outcome
	r.out, r.gerr, r.err = in.invoke(ctx, in.entry, what, nlead, lead, input)
	if len(in.denied) > 0 {
		r.denied = slices.Clone(in.denied)
	}
	crashed := in.crashed
	p.pool.put(in)
	p.record(crashed)
	return r
}

// available fails fast while the plugin is backed off.
func (p *Plugin) available() error {
	u := p.until.Load()
	if u == 0 {
		return nil
	}
	if now := p.core.host.now().UnixNano(); now < u {
		return fmt.Errorf("plugin %s: %w: %d consecutive crashes, retry in %v", p.core.name, ErrUnavailable,
			p.failures.Load(), time.Duration(u-now).Round(time.Millisecond))
	}
	return nil
}

// record counts a crash (starting or extending the back-off) or resets the count after a call that
// did not crash.
func (p *Plugin) record(crashed bool) {
	if !crashed {
		if p.failures.Load() != 0 {
			p.failures.Store(0)
			p.until.Store(0)
		}
		return
	}
	n := p.failures.Add(1)
	if n < backoffAfter {
		return
	}
	d := p.core.host.cfg.Backoff << min(n-backoffAfter, 20)
	d = min(d, maxBackoff)
	p.until.Store(p.core.host.now().Add(d).UnixNano())
	p.core.log.Warn("plugin backed off after repeated crashes", "crashes", n, "for", d)
}

func (p *Plugin) toolNames() []string {
	names := make([]string, 0, len(p.tools))
	for n := range p.tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// enter counts a starting call; it fails once the plugin is closing.
func (p *Plugin) enter() bool {
	if p.refs.Add(1)&closingBit != 0 {
		p.exit()
		return false
	}
	return true
}

// exit counts a finished call and frees the plugin after the last call of a closing plugin.
func (p *Plugin) exit() {
	if p.refs.Add(-1) == closingBit {
		p.releaseOnce.Do(p.free)
	}
}

// retire stops new calls and frees the plugin once the running ones are done, without waiting.
func (p *Plugin) retire() {
	if old := p.refs.Or(closingBit); old == 0 {
		p.releaseOnce.Do(p.free)
	}
}

func (p *Plugin) free() {
	p.pool.closeAll()
	if p.core.http != nil {
		p.core.http.close()
	}
	p.core.host.release(p.core.compiled)
	p.core.host.forget(p)
	close(p.released)
}

// Close stops new calls (they fail with ErrClosed), waits until the running ones finish or ctx is
// done, and releases the plugin's instances. Running calls complete normally; if ctx ends first,
// Close returns its error and the plugin is released when they finish.
func (p *Plugin) Close(ctx context.Context) error {
	p.retire()
	select {
	case <-p.released:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("plugin %s: close: %w", p.core.name, ctx.Err())
	}
}
