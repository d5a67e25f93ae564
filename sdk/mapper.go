package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Mapper describes a mapper plugin (ABI 1.1, docs/abi.md section 8): it turns the engine's events
// into the frames of one wire format, one stream (one client's view of one run) at a time.
//
// S is the per-stream state: the mapper's own Go type, which the SDK decodes at the start of every
// batch and encodes at its end, because the host, not the plugin instance, keeps it between
// batches (any instance may serve any batch). Keep it small: it crosses the boundary twice per
// batch. It is encoded with encoding/json unless *S implements StateCodec, which is much faster
// inside WebAssembly. A mapper without state uses struct{}, which costs nothing.
type Mapper[S any] struct {
	// Name is the plugin's identity: [a-z0-9][a-z0-9_-]{0,63}. Required.
	Name string
	// Version is free text; empty means "0.0.0".
	Version string
	// Description says what the plugin is for. Optional.
	Description string
	// Capabilities lists what the plugin asks the operator to grant (config, log...). Optional.
	Capabilities []Capability
	// Format is the wire format the frames belong to. Format.Name is required.
	Format Format
	// Handlers is the dispatch table: the handler of each event type the mapper handles, keyed by
	// type (the Event* constants, or the name of a type this SDK does not know yet). Without a
	// Default, these are the only types the host sends (the descriptor's events list).
	Handlers map[string]Handler[S]
	// Default handles events of the types not in Handlers. Nil means none: the host does not send
	// them. With a Default the mapper asks for every type (an empty events list).
	Default Handler[S]
	// Start runs once per stream, on its first batch (op start), before that batch's events: it may
	// emit opening frames and set up the state. Nil means nothing to do.
	Start func(out *Frames, state *S) error
	// End runs once per stream, on its last batch (op end), after that batch's events: it emits
	// whatever closes the stream, such as the ends of spans still open. Nil means nothing to do.
	End func(out *Frames, state *S) error
}

// Handler maps one event: it writes zero or more frames to out and updates the stream's state. An
// error it returns fails the batch as a plugin error (ABI status 1; its code with Errorf), after
// which the host ends the stream with an error frame of its own.
type Handler[S any] func(out *Frames, state *S, e *Event) error

// Format describes the frames a mapper writes: the descriptor's mapper object.
type Format struct {
	// Name is the short name clients ask for (?format=NAME): [a-z0-9][a-z0-9_-]{0,31}. Required.
	Name string
	// ContentType is the Content-Type of a stream of these frames; empty means text/event-stream.
	ContentType string
	// Framing is how a server sends each frame: FramingSSE (the default when empty) or
	// FramingNDJSON.
	Framing string
	// Done is a raw last line a server writes after the last frame (Vercel's "[DONE]"); empty
	// means none.
	Done string
	// Headers are extra response headers for a stream of these frames; nil means none.
	Headers map[string]string
}

// Framings of Format.Framing.
const (
	FramingSSE    = "sse"    // each frame is one server-sent event: data: <frame>
	FramingNDJSON = "ndjson" // one frame per line
)

// StateCodec lets a state type encode and decode itself without encoding/json. The SDK uses it
// when *S implements it. MarshalState writes exactly one JSON value; UnmarshalState reads what
// MarshalState wrote (data is never empty; the SDK handles null itself, as the zero state).
type StateCodec interface {
	MarshalState(j *JSON)
	UnmarshalState(d *Decoder) error
}

// ErrBadMessage matches errors about a malformed fleet_map request or event: ABI status 2, code
// bad_message. InvokeMap returns it for input the host would never send.
var ErrBadMessage = errors.New("sdk: bad message")

// mapRunner is what a registered mapper does for fleet_map, whatever its state type.
type mapRunner interface {
	mapBatch(ctx context.Context, in []byte, r *response)
}

// MapperPlugin is a validated mapper: what RegisterMapper installs, and what tests may call
// directly with Invoke when a process holds several mappers.
type MapperPlugin struct {
	p *plugin
}

// NewMapper validates m and returns it ready to register or to call. Errors name the rule broken.
func NewMapper[S any](m Mapper[S]) (*MapperPlugin, error) {
	p, err := newMapperPlugin(m)
	if err != nil {
		return nil, err
	}
	return &MapperPlugin{p: p}, nil
}

// RegisterMapper installs the mapper as the plugin. Call it exactly once, from an init function of
// the plugin's main package (a WebAssembly reactor never runs main.main). It panics when called
// twice, after Register, or when m breaks a rule of the descriptor, so that a broken plugin fails at
// start with the reason on stderr. It returns the installed mapper.
func RegisterMapper[S any](m Mapper[S]) *MapperPlugin {
	mp, err := NewMapper(m)
	if err != nil {
		panic("sdk: RegisterMapper: " + err.Error())
	}
	if !registered.CompareAndSwap(nil, mp.p) {
		panic("sdk: RegisterMapper: a plugin is registered already")
	}
	return mp
}

// Descriptor returns the descriptor fleet_init answers, as JSON.
func (m *MapperPlugin) Descriptor() json.RawMessage { return slices.Clone(m.p.descriptor) }

// mapperDescriptor is the descriptor's mapper object.
type mapperDescriptor struct {
	Format      string            `json:"format"`
	ContentType string            `json:"content_type"`
	Framing     string            `json:"framing"`
	Events      []string          `json:"events"`
	Done        string            `json:"done,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

func newMapperPlugin[S any](m Mapper[S]) (*plugin, error) {
	if !validPluginName(m.Name) {
		return nil, fmt.Errorf("plugin name %q does not match [a-z0-9][a-z0-9_-]{0,63}", m.Name)
	}
	md, err := m.Format.descriptor()
	if err != nil {
		return nil, err
	}
	run, events, err := newMapper(m)
	if err != nil {
		return nil, err
	}
	md.Events = events
	d := descriptorJSON{ABIMinor: 1, Name: m.Name, Version: m.Version, Kind: "mapper",
		Description: m.Description, Capabilities: m.Capabilities, Mapper: md}
	if d.Version == "" {
		d.Version = "0.0.0"
	}
	if d.Capabilities == nil {
		d.Capabilities = []Capability{}
	}
	desc, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encoding descriptor: %w", err)
	}
	return &plugin{name: m.Name, kind: "mapper", descriptor: desc, byName: map[string]int{}, mapper: run}, nil
}

// descriptor checks the format and fills in its defaults.
func (f Format) descriptor() (*mapperDescriptor, error) {
	md := &mapperDescriptor{Format: f.Name, ContentType: f.ContentType, Framing: f.Framing, Done: f.Done, Headers: f.Headers}
	if !validFormatName(f.Name) {
		return nil, fmt.Errorf("format name %q does not match [a-z0-9][a-z0-9_-]{0,31}", f.Name)
	}
	if md.ContentType == "" {
		md.ContentType = "text/event-stream"
	}
	if md.Framing == "" {
		md.Framing = FramingSSE
	}
	if md.Framing != FramingSSE && md.Framing != FramingNDJSON {
		return nil, fmt.Errorf("format framing %q: want %q or %q", f.Framing, FramingSSE, FramingNDJSON)
	}
	if strings.ContainsAny(f.Done, "\r\n") || strings.ContainsAny(md.ContentType, "\r\n") {
		return nil, fmt.Errorf("format %q: done and content type must be one line", f.Name)
	}
	for k, v := range f.Headers {
		if k == "" || strings.ContainsAny(k, ": \t\r\n") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("format %q: header %q: %q is not a valid header", f.Name, k, v)
		}
	}
	return md, nil
}

func validFormatName(s string) bool { return len(s) <= 32 && validPluginName(s) }

// mapper is the runtime of a Mapper[S]: the dispatch table by type id and the pooled buffers of
// the calls in progress.
type mapper[S any] struct {
	table  [numTypes]Handler[S]
	byName map[string]Handler[S]
	def    Handler[S]
	start  func(*Frames, *S) error
	end    func(*Frames, *S) error
	pool   sync.Pool
	codec  bool
	empty  bool
}

func newMapper[S any](m Mapper[S]) (*mapper[S], []string, error) {
	if len(m.Handlers) == 0 && m.Default == nil {
		return nil, nil, fmt.Errorf("mapper %q handles no event types", m.Name)
	}
	r := &mapper[S]{byName: map[string]Handler[S]{}, def: m.Default, start: m.Start, end: m.End}
	events := make([]string, 0, len(m.Handlers))
	for t, h := range m.Handlers {
		if t == "" || h == nil {
			return nil, nil, fmt.Errorf("mapper %q: handler for type %q: empty type or nil handler", m.Name, t)
		}
		events = append(events, t)
		if id, _ := intern(t); id != tUnknown {
			r.table[id] = h
		} else {
			r.byName[t] = h
		}
	}
	slices.Sort(events)
	if m.Default != nil {
		events = []string{}
	}
	var zero S
	_, r.codec = any(&zero).(StateCodec)
	r.empty = unsafe.Sizeof(zero) == 0
	r.pool.New = func() any { return new(mapCall[S]) }
	return r, events, nil
}

// Frames collects the frames of one batch. A handler starts each frame with Frame (a JSON object,
// the usual case) or writes a whole one with Raw. Frames are tied to the event being handled (the
// index the host reads); in Start and End they carry -1.
type Frames struct {
	j   JSON
	idx int
	n   int
	err error
	// prefix is the text "<idx> " that starts the frames of event pidx.
	prefix []byte
	pidx   int
}

// Frame starts a frame, a JSON object: write its members on the writer it returns and close it
// with End. Starting a frame while the previous one is open panics.
func (f *Frames) Frame() *JSON {
	if f.j.depth != 0 {
		panic("sdk: Frames.Frame while the previous frame is still open (missing End)")
	}
	f.j.buf = append(f.j.buf, f.indexPrefix()...)
	f.n++
	return f.j.Object("")
}

// indexPrefix returns "<idx> ", formatting it once per event.
func (f *Frames) indexPrefix() []byte {
	if f.pidx != f.idx || len(f.prefix) == 0 {
		f.prefix = append(strconv.AppendInt(f.prefix[:0], int64(f.idx), 10), ' ')
		f.pidx = f.idx
	}
	return f.prefix
}

// Raw adds a frame encoded already: one JSON value without raw newlines. A frame that is empty or
// holds a newline fails the batch (ABI status 1) instead of breaking the output.
func (f *Frames) Raw(frame []byte) {
	frame = trimSpace(frame)
	if len(frame) == 0 || slices.Contains(frame, '\n') || slices.Contains(frame, '\r') {
		if f.err == nil {
			f.err = fmt.Errorf("sdk: Frames.Raw: frame %q is empty or spans lines", frame)
		}
		return
	}
	f.j.buf = append(f.j.buf, f.indexPrefix()...)
	f.j.buf = append(f.j.buf, frame...)
	f.j.buf = append(f.j.buf, '\n')
	f.n++
}

// Count returns the number of frames written so far in this batch.
func (f *Frames) Count() int { return f.n }

func (f *Frames) reset() {
	if cap(f.j.buf) > keepLimit {
		f.j.buf = nil
	}
	f.j.Reset()
	f.j.line = true
	f.idx, f.n, f.err = -1, 0, nil
}
