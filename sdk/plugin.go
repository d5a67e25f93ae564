package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
)

// Capability names a host capability (ABI section 6). A plugin lists those it asks for in
// Plugin.Capabilities; the operator grants some, all or none of them, and Granted reports which.
type Capability string

// The capabilities of ABI 1.x.
const (
	CapLog    Capability = "log"    // Log: messages to the host's logger
	CapConfig Capability = "config" // Config: the manifest's config values
	CapClock  Capability = "clock"  // real WASI clocks (denied: wall clock fixed at 2020-01-01T00:00:00Z)
	CapRandom Capability = "random" // real WASI random_get (denied: a fixed deterministic sequence)
	CapHTTP   Capability = "http"   // Fetch: outbound HTTP to the manifest's allowlist
	CapKV     Capability = "kv"     // KVGet, KVSet, KVDelete, KVList: a store private to the plugin
)

// capIDs are the capability ids host_call takes.
var capIDs = map[Capability]uint32{
	CapLog: 1, CapConfig: 2, CapClock: 3, CapRandom: 4, CapHTTP: 5, CapKV: 6,
}

// capBit returns the grant-mask bit of a capability, or 0 for one this SDK does not know.
func capBit(c Capability) uint32 {
	if id, ok := capIDs[c]; ok {
		return 1 << id
	}
	return 0
}

// Plugin describes a tool plugin: what the host shows in its descriptor (ABI section 3).
type Plugin struct {
	// Name is the plugin's identity for config, kv scope and logs: [a-z0-9][a-z0-9_-]{0,63}. Required.
	Name string
	// Version is free text, semantic version advised. Empty means "0.0.0".
	Version string
	// Description says what the plugin is for. Optional.
	Description string
	// Capabilities lists what the plugin asks the operator to grant. Empty means none.
	Capabilities []Capability
	// Tools are the plugin's tools, in descriptor order (the host calls them by index). At least one;
	// names [a-zA-Z0-9_-]{1,64}, unique.
	Tools []Tool
}

// plugin is a validated registration: the descriptor, encoded once, and the dispatch tables.
type plugin struct {
	name       string
	kind       string
	descriptor []byte
	tools      []Tool
	byName     map[string]int
	// mapper serves fleet_map; nil for a tool plugin.
	mapper mapRunner
}

// registered is the plugin Register installed; nil before.
var registered atomic.Pointer[plugin]

// Register installs the plugin. Call it exactly once, from an init function of the plugin's main
// package: a WebAssembly reactor runs package initialisers but never main.main. Register panics when
// called twice or when p breaks a rule of the descriptor (bad name, no tools, duplicate tool names),
// so that a broken plugin fails at start with the reason on stderr.
func Register(p Plugin) {
	reg, err := newPlugin(p)
	if err != nil {
		panic("sdk: Register: " + err.Error())
	}
	if !registered.CompareAndSwap(nil, reg) {
		panic("sdk: Register called twice")
	}
}

// descriptorTool and descriptorJSON are the descriptor's wire form.
type descriptorTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

type descriptorJSON struct {
	ABIMinor     int               `json:"abi_minor"`
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Kind         string            `json:"kind"`
	Description  string            `json:"description,omitempty"`
	Capabilities []Capability      `json:"capabilities"`
	Tools        []descriptorTool  `json:"tools,omitempty"`
	Mapper       *mapperDescriptor `json:"mapper,omitempty"`
}

func newPlugin(p Plugin) (*plugin, error) {
	if !validPluginName(p.Name) {
		return nil, fmt.Errorf("plugin name %q does not match [a-z0-9][a-z0-9_-]{0,63}", p.Name)
	}
	if len(p.Tools) == 0 {
		return nil, fmt.Errorf("plugin %q has no tools", p.Name)
	}
	d := descriptorJSON{ABIMinor: 0, Name: p.Name, Version: p.Version, Kind: "tool",
		Description: p.Description, Capabilities: p.Capabilities}
	if d.Version == "" {
		d.Version = "0.0.0"
	}
	if d.Capabilities == nil {
		d.Capabilities = []Capability{}
	}
	reg := &plugin{name: p.Name, kind: "tool", tools: p.Tools, byName: make(map[string]int, len(p.Tools))}
	for i, t := range p.Tools {
		if t.handle == nil {
			return nil, fmt.Errorf("tool %d was not made with NewTool or NewRawTool", i)
		}
		if !validToolName(t.name) {
			return nil, fmt.Errorf("tool name %q does not match [a-zA-Z0-9_-]{1,64}", t.name)
		}
		if _, dup := reg.byName[t.name]; dup {
			return nil, fmt.Errorf("tool name %q used twice", t.name)
		}
		reg.byName[t.name] = i
		d.Tools = append(d.Tools, descriptorTool{Name: t.name, Description: t.description, Parameters: t.params})
	}
	desc, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encoding descriptor: %w", err)
	}
	reg.descriptor = desc
	return reg, nil
}

func validPluginName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validToolName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// initRequest is the input of fleet_init.
type initRequest struct {
	ABI struct {
		Major int `json:"major"`
		Minor int `json:"minor"`
	} `json:"abi"`
	Host         string       `json:"host"`
	Capabilities []Capability `json:"capabilities"`
	Instance     int64        `json:"instance"`
}

// init answers fleet_init: it decodes the init request and writes the descriptor. It returns the
// grant mask of the request (0 when the request is malformed).
func (p *plugin) init(in []byte, r *response) uint32 {
	var req initRequest
	if err := json.Unmarshal(in, &req); err != nil {
		r.fail(statusBadRequest, CodeBadMessage, "sdk: decoding init request: "+err.Error())
		return 0
	}
	var mask uint32
	for _, c := range req.Capabilities {
		mask |= capBit(c)
	}
	r.raw(statusOK, p.descriptor)
	return mask
}

// call runs tool index idx on args and writes its result: the dispatch shared by fleet_call and Invoke.
func (p *plugin) call(ctx context.Context, idx int, args []byte, r *response) {
	if idx < 0 || idx >= len(p.tools) {
		r.fail(statusBadRequest, CodeUnknownTool, fmt.Sprintf("sdk: no tool at index %d (plugin %q has %d)", idx, p.name, len(p.tools)))
		return
	}
	p.tools[idx].handle(ctx, args, r)
}

// mapBatch answers fleet_map: the registered mapper's batch, or status 2 for a tool plugin.
func (p *plugin) mapBatch(ctx context.Context, in []byte, r *response) {
	if p.mapper == nil {
		r.fail(statusBadRequest, CodeUnsupported, fmt.Sprintf("sdk: plugin %q is a tool plugin; it has no mapper", p.name))
		return
	}
	p.mapper.mapBatch(ctx, in, r)
}

// Invoke runs the registered tool named tool on the JSON arguments args, in-process, through exactly
// the dispatch code fleet_call uses, and returns its JSON result. A failed call returns a *ToolError:
// for a tool error its code and message (matching ErrDenied, ErrNotFound or ErrUnsupported when the
// tool passed on such a capability error); for a bad request (ABI status 2) one that also matches
// ErrUnknownTool or ErrInvalidArguments. It is meant for tests run natively with `go test`, where
// capabilities are served by the stand-in host (see SetLocalHost), and is safe for concurrent use.
func Invoke(ctx context.Context, tool string, args []byte) ([]byte, error) {
	p := registered.Load()
	if p == nil {
		return nil, &ToolError{Code: CodeUnknownTool, Message: "sdk: no plugin registered (call sdk.Register in an init function)", kind: ErrUnknownTool}
	}
	r := newResponse()
	idx, ok := p.byName[tool]
	if !ok {
		r.fail(statusBadRequest, CodeUnknownTool, fmt.Sprintf("sdk: no tool named %q", tool))
	} else {
		p.call(ctx, idx, args, r)
	}
	return decodeResult(r.bytes())
}

// decodeResult turns a result region back into a payload or a *ToolError.
func decodeResult(region []byte) ([]byte, error) {
	if len(region) == 0 {
		return nil, &ToolError{Code: CodeBadMessage, Message: "sdk: empty result region"}
	}
	status, payload := region[0], region[1:]
	if status == statusOK {
		return payload, nil
	}
	var body errorBody
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, &ToolError{Code: CodeBadMessage, Message: fmt.Sprintf("sdk: status %d with malformed error JSON: %v", status, err)}
	}
	return nil, &ToolError{Code: body.Code, Message: body.Message, kind: kindByStatus[status][body.Code]}
}
