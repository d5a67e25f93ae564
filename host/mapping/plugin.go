package mapping

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/plugin"
)

// MaxBatchBytes bounds the events of one fleet_map call (their JSON, 512 KiB): a longer batch is
// split into several calls, so that a call's input stays under the default max_input (1 MiB) with
// room for the stream's state.
const MaxBatchBytes = 512 << 10

// rawMapper is a mapper plugin's fleet_map export, host/plugin's Plugin.Map: one call with the
// JSON input of docs/abi.md section 8, returning the output text (state line, then
// "<index> <frame>" lines). The adapter encodes the input and parses the output itself.
type rawMapper interface {
	Map(ctx context.Context, input []byte) ([]byte, error)
}

// mapperDescriptor is the "mapper" object of a mapper plugin's descriptor.
type mapperDescriptor struct {
	Format      string            `json:"format"`
	ContentType string            `json:"content_type"`
	Framing     string            `json:"framing"`
	Events      []string          `json:"events"`
	Done        string            `json:"done"`
	Headers     map[string]string `json:"headers"`
}

// PluginMapper adapts a mapper plugin (docs/abi.md section 8) to [Mapper]. It finds the plugin by
// name in its registry at every call, so a replaced plugin serves the next batch and a removed one
// ends the streams using it with [ErrMapper].
type PluginMapper struct {
	plugins *plugin.Registry
	name    string
	format  Format
	// events is the set of event types the plugin handles; nil means all.
	events map[event.Type]bool
	// callFn, when set, replaces the plugin call (tests of the adapter against a Go guest).
	callFn func(ctx context.Context, input []byte) ([]byte, error)
}

// NewPluginMapper adapts the mapper plugin described by d, registered in plugins. Only headers
// whose names start with "x-" are kept: a plugin may not set cookies, CORS or framing headers.
func NewPluginMapper(plugins *plugin.Registry, d plugin.Descriptor) (*PluginMapper, error) {
	if d.Kind != "mapper" {
		return nil, fmt.Errorf("mapping: plugin %s is of kind %q, not mapper", d.Name, d.Kind)
	}
	var md mapperDescriptor
	if err := json.Unmarshal(d.Mapper, &md); err != nil {
		return nil, fmt.Errorf("mapping: plugin %s: mapper descriptor: %w", d.Name, err)
	}
	if !formatName.MatchString(md.Format) {
		return nil, fmt.Errorf("mapping: plugin %s: mapper format %q does not match %s", d.Name, md.Format, formatName)
	}
	f := Format{Name: md.Format, ContentType: md.ContentType, Framing: Framing(md.Framing), Done: md.Done}
	for k, v := range md.Headers {
		if strings.HasPrefix(strings.ToLower(k), "x-") {
			if f.Headers == nil {
				f.Headers = map[string]string{}
			}
			f.Headers[k] = v
		}
	}
	pm := &PluginMapper{plugins: plugins, name: d.Name, format: f.WithDefaults()}
	if len(md.Events) > 0 {
		pm.events = make(map[event.Type]bool, len(md.Events))
		for _, t := range md.Events {
			pm.events[event.Type(t)] = true
		}
	}
	return pm, nil
}

// Plugin returns the name of the plugin.
func (m *PluginMapper) Plugin() string { return m.name }

// Format implements [Mapper].
func (m *PluginMapper) Format() Format { return m.format }

// NewStream implements [Mapper].
func (m *PluginMapper) NewStream(id string) Stream {
	if id == "" {
		id = "s_" + strings.ToLower(rand.Text()[:12])
	}
	return &pluginStream{m: m, id: id, state: json.RawMessage("null")}
}

// call runs one fleet_map call; every failure but the context's wraps ErrMapper.
func (m *PluginMapper) call(ctx context.Context, input []byte) ([]byte, error) {
	out, err := m.invoke(ctx, input)
	switch {
	case err == nil || errors.Is(err, ErrMapper):
		return out, err
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	}
	return nil, fmt.Errorf("%w: plugin %s: %w", ErrMapper, m.name, err)
}

// invoke calls the plugin currently registered under the mapper's name, retrying once when that
// plugin was replaced between the lookup and the call.
func (m *PluginMapper) invoke(ctx context.Context, input []byte) ([]byte, error) {
	if m.callFn != nil {
		return m.callFn(ctx, input)
	}
	for attempt := 0; ; attempt++ {
		p, ok := m.plugins.Get(m.name)
		if !ok {
			return nil, fmt.Errorf("%w: plugin %s is not loaded", ErrMapper, m.name)
		}
		rm, ok := any(p).(rawMapper)
		if !ok {
			return nil, fmt.Errorf("%w: plugin %s: this host does not run mapper plugins yet", ErrMapper, m.name)
		}
		out, err := rm.Map(ctx, input)
		if errors.Is(err, plugin.ErrClosed) && attempt == 0 {
			continue
		}
		return out, err
	}
}

// pluginStream is one stream of a mapper plugin. The plugin's state for the stream lives here and
// goes back and forth with every batch.
type pluginStream struct {
	m       *PluginMapper
	id      string
	state   json.RawMessage
	started bool
	ended   bool
	err     error
}

func (s *pluginStream) Map(ctx context.Context, evs []event.Event) ([]Frame, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.ended {
		return nil, fmt.Errorf("%w: stream %s already ended", ErrMapper, s.id)
	}
	kept, encoded, err := s.m.encode(evs)
	if err != nil {
		s.err = err
		return nil, err
	}
	var out []Frame
	for len(kept) > 0 {
		n := batchLen(encoded)
		frames, err := s.do(ctx, s.nextOp(), kept[:n], encoded[:n])
		if err != nil {
			s.err = err
			return nil, err
		}
		out = append(out, frames...)
		kept, encoded = kept[n:], encoded[n:]
	}
	return out, nil
}

func (s *pluginStream) End(ctx context.Context) ([]Frame, error) {
	if s.err != nil || s.ended {
		return nil, s.err
	}
	s.ended = true
	if !s.started {
		return nil, nil
	}
	frames, err := s.do(ctx, "end", nil, nil)
	if err != nil {
		s.err = err
	}
	return frames, err
}

func (s *pluginStream) nextOp() string {
	if s.started {
		return "events"
	}
	s.started = true
	return "start"
}

// encode keeps the events the plugin handles and encodes each.
func (m *PluginMapper) encode(evs []event.Event) ([]event.Event, [][]byte, error) {
	kept := make([]event.Event, 0, len(evs))
	encoded := make([][]byte, 0, len(evs))
	for _, e := range evs {
		if m.events != nil && !m.events[e.Type] {
			continue
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: encode seq %d: %w", ErrMapper, e.Seq, err)
		}
		kept = append(kept, e)
		encoded = append(encoded, b)
	}
	return kept, encoded, nil
}

// batchLen returns how many of the encoded events fit in one call: at least one, and as many more
// as stay within MaxBatchBytes.
func batchLen(encoded [][]byte) int {
	size := len(encoded[0])
	n := 1
	for n < len(encoded) && size+len(encoded[n])+1 <= MaxBatchBytes {
		size += len(encoded[n]) + 1
		n++
	}
	return n
}

// do sends one batch and turns the output into frames.
func (s *pluginStream) do(ctx context.Context, op string, evs []event.Event, encoded [][]byte) ([]Frame, error) {
	input := s.request(op, encoded)
	out, err := s.m.call(ctx, input)
	if err != nil {
		return nil, err
	}
	state, frames, err := ParseOutput(out, evs)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %s: fleet_map %s: %w", ErrMapper, s.m.name, op, err)
	}
	s.state = state
	return frames, nil
}

// request builds fleet_map's input from already encoded events.
func (s *pluginStream) request(op string, encoded [][]byte) []byte {
	var b bytes.Buffer
	id, _ := json.Marshal(s.id)
	b.WriteString(`{"stream":`)
	b.Write(id)
	b.WriteString(`,"op":"` + op + `","state":`)
	b.Write(s.state)
	b.WriteString(`,"events":[`)
	for i, e := range encoded {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// ParseOutput reads a fleet_map output (docs/abi.md section 8): the stream's new state on the first
// line, then one "<index> <frame>" line per frame, where index is -1 or the position of the frame's
// event in evs (non-decreasing) and frame is a JSON value. A frame gets its event's seq (0 for -1).
// A trailing newline is allowed; anything else malformed is an error naming the line.
func ParseOutput(out []byte, evs []event.Event) (json.RawMessage, []Frame, error) {
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	state := bytes.TrimSpace(lines[0])
	if len(state) == 0 || !json.Valid(state) {
		return nil, nil, fmt.Errorf("line 1: the state is not a JSON value")
	}
	frames := make([]Frame, 0, len(lines)-1)
	lastIndex := -1
	for i, line := range lines[1:] {
		idx, frame, err := parseFrameLine(line, len(evs))
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", i+2, err)
		}
		var seq uint64
		if idx >= 0 {
			if idx < lastIndex {
				return nil, nil, fmt.Errorf("line %d: event index %d after %d: frames out of order", i+2, idx, lastIndex)
			}
			lastIndex = idx
			seq = evs[idx].Seq
		}
		frames = append(frames, Frame{Seq: seq, Data: frame})
	}
	return append(json.RawMessage(nil), state...), frames, nil
}

func parseFrameLine(line []byte, n int) (int, []byte, error) {
	idxText, frame, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return 0, nil, fmt.Errorf("want \"<index> <frame>\"")
	}
	idx, err := strconv.Atoi(string(idxText))
	if err != nil || idx < -1 || idx >= n {
		return 0, nil, fmt.Errorf("event index %q is not -1 or in [0, %d)", idxText, n)
	}
	frame = bytes.TrimSpace(frame)
	if !json.Valid(frame) {
		return 0, nil, fmt.Errorf("the frame is not a JSON value")
	}
	return idx, append([]byte(nil), frame...), nil
}

var _ rawMapper = (*plugin.Plugin)(nil)
