package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/agentfleet/fleet/host/plugin"
)

// DefaultFormat is the format of a stream that asks for none: AG-UI.
const DefaultFormat = "agui"

var formatName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Registry finds mappers by format name: native Go mappers registered with [Registry.Register]
// (the engine's own events, [Fleet], are there from the start), then the mapper plugins of a plugin
// registry, looked up at each call so that plugins loaded, replaced or removed at run time are seen
// at once. A native mapper wins over a plugin of the same format. It is safe for concurrent use.
type Registry struct {
	plugins *plugin.Registry

	mu     sync.RWMutex
	native map[string]Mapper
	def    string
}

// NewRegistry returns a registry with the [Fleet] mapper, the mapper plugins of plugins (which may
// be nil), and [DefaultFormat] as its default.
func NewRegistry(plugins *plugin.Registry) *Registry {
	return &Registry{plugins: plugins, native: map[string]Mapper{FormatFleet: Fleet{}}, def: DefaultFormat}
}

// Register adds a native mapper under its format's name, replacing one of that name.
func (r *Registry) Register(m Mapper) error {
	name := m.Format().Name
	if !formatName.MatchString(name) {
		return fmt.Errorf("mapping: format name %q does not match %s", name, formatName)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.native[name] = m
	return nil
}

// SetDefault changes the format used when a stream asks for none (default [DefaultFormat]).
func (r *Registry) SetDefault(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.def = name
}

// Default returns the format used when a stream asks for none.
func (r *Registry) Default() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.def
}

// Lookup returns the mapper of format name ("" means the default). It fails with
// [ErrUnknownFormat], naming the formats there are, when there is none.
func (r *Registry) Lookup(name string) (Mapper, error) {
	if name == "" {
		name = r.Default()
	}
	r.mu.RLock()
	m, ok := r.native[name]
	r.mu.RUnlock()
	if ok {
		return m, nil
	}
	for _, pm := range r.pluginMappers() {
		if pm.format.Name == name {
			return pm, nil
		}
	}
	return nil, fmt.Errorf("%w %q (available: %s)", ErrUnknownFormat, name, strings.Join(r.Formats(), ", "))
}

// Formats lists the formats there are, sorted.
func (r *Registry) Formats() []string {
	seen := map[string]bool{}
	r.mu.RLock()
	for name := range r.native {
		seen[name] = true
	}
	r.mu.RUnlock()
	for _, pm := range r.pluginMappers() {
		seen[pm.format.Name] = true
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// pluginMappers adapts every loaded mapper plugin with a usable descriptor, in plugin name order.
func (r *Registry) pluginMappers() []*PluginMapper {
	if r.plugins == nil {
		return nil
	}
	var out []*PluginMapper
	for _, p := range r.plugins.Plugins() {
		d := p.Descriptor()
		if d.Kind != "mapper" {
			continue
		}
		if pm, err := NewPluginMapper(r.plugins, d); err == nil {
			out = append(out, pm)
		}
	}
	return out
}
