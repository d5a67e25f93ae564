package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ErrExists is returned by Registry.Add for a plugin name already registered: use Replace to swap it.
var ErrExists = errors.New("plugin already registered")

// Registry is a named set of loaded plugins, keyed by descriptor name: the tools the engine and the
// server list and call. It owns the plugins added to it: a replaced or removed plugin stops taking
// new calls, finishes those already running on it, and is then closed. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	closed  bool
	plugins map[string]*Plugin
	// owners maps a bare tool name to the names of the plugins that have it, sorted.
	owners map[string][]string
}

// ToolRef is a tool as a Registry lists it.
type ToolRef struct {
	// Plugin is the plugin's name; Tool the tool as its descriptor gives it.
	Plugin string
	Tool   Tool
	// Qualified is "plugin.tool", which Call always accepts.
	Qualified string
	// Unique reports whether no other plugin has a tool of the same name, so that Call also
	// accepts the bare name.
	Unique bool
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{plugins: map[string]*Plugin{}, owners: map[string][]string{}}
}

// Add registers p under its name; it fails with ErrExists when the name is taken and ErrClosed after
// Close.
func (r *Registry) Add(p *Plugin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("registry: %w", ErrClosed)
	}
	if _, ok := r.plugins[p.Name()]; ok {
		return fmt.Errorf("registry: %w: %s", ErrExists, p.Name())
	}
	r.plugins[p.Name()] = p
	r.reindex()
	return nil
}

// Replace registers p under its name, replacing any plugin of that name, which finishes its running
// calls and is then closed. It returns whether one was replaced. After Close it closes p and fails
// with ErrClosed.
func (r *Registry) Replace(p *Plugin) (bool, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.retire()
		return false, fmt.Errorf("registry: %w", ErrClosed)
	}
	old, ok := r.plugins[p.Name()]
	r.plugins[p.Name()] = p
	r.reindex()
	r.mu.Unlock()
	if ok && old != p {
		old.retire()
	}
	return ok, nil
}

// Remove unregisters the plugin called name, which finishes its running calls and is then closed.
// It returns whether there was one.
func (r *Registry) Remove(name string) bool {
	r.mu.Lock()
	p, ok := r.plugins[name]
	delete(r.plugins, name)
	r.reindex()
	r.mu.Unlock()
	if ok {
		p.retire()
	}
	return ok
}

// Get returns the plugin called name.
func (r *Registry) Get(name string) (*Plugin, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.plugins[name]
	return p, ok
}

// Plugins returns the registered plugins, sorted by name.
func (r *Registry) Plugins() []*Plugin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Plugin, 0, len(r.plugins))
	for _, p := range r.plugins {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Tools lists the tools of every registered plugin, sorted by qualified name.
func (r *Registry) Tools() []ToolRef {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ToolRef
	for name, p := range r.plugins {
		for _, t := range p.Descriptor().Tools {
			out = append(out, ToolRef{Plugin: name, Tool: t, Qualified: name + "." + t.Name, Unique: len(r.owners[t.Name]) == 1})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Qualified < out[j].Qualified })
	return out
}

// Call calls the tool named name: "plugin.tool", or a bare tool name that only one plugin has (an
// ambiguous bare name fails with ErrToolNotFound naming the qualified choices). A plugin replaced
// or removed during the call finishes it.
func (r *Registry) Call(ctx context.Context, name string, args []byte) ([]byte, error) {
	r.mu.RLock()
	p, tool, err := r.resolve(name)
	if err == nil && !p.enter() {
		err = fmt.Errorf("registry: plugin %s: %w", p.Name(), ErrClosed)
	}
	r.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	defer p.exit()
	return p.call(ctx, tool, args)
}

// resolve finds the plugin and tool a name means. Called with r.mu held.
func (r *Registry) resolve(name string) (*Plugin, string, error) {
	if r.closed {
		return nil, "", fmt.Errorf("registry: %w", ErrClosed)
	}
	if pname, tool, ok := strings.Cut(name, "."); ok {
		if p := r.plugins[pname]; p != nil {
			return p, tool, nil
		}
		return nil, "", fmt.Errorf("registry: %w: %q (no plugin %s)", ErrToolNotFound, name, pname)
	}
	owners := r.owners[name]
	switch len(owners) {
	case 0:
		return nil, "", fmt.Errorf("registry: %w: %q", ErrToolNotFound, name)
	case 1:
		return r.plugins[owners[0]], name, nil
	}
	choices := make([]string, len(owners))
	for i, o := range owners {
		choices[i] = o + "." + name
	}
	return nil, "", fmt.Errorf("registry: %w: %q is ambiguous, use one of %s", ErrToolNotFound, name, strings.Join(choices, ", "))
}

// reindex rebuilds owners. Called with r.mu held for writing.
func (r *Registry) reindex() {
	r.owners = map[string][]string{}
	for name, p := range r.plugins {
		for t := range p.tools {
			r.owners[t] = append(r.owners[t], name)
		}
	}
	for _, o := range r.owners {
		sort.Strings(o)
	}
}

// Close unregisters and closes every plugin, waiting until ctx is done for running calls to finish.
// Later calls fail with ErrClosed.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	plugins := r.plugins
	r.plugins, r.owners = map[string]*Plugin{}, map[string][]string{}
	r.mu.Unlock()
	var errs []error
	for _, p := range plugins {
		errs = append(errs, p.Close(ctx))
	}
	return errors.Join(errs...)
}
