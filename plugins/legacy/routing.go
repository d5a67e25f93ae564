package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/agentfleet/fleet/sdk"
)

// The UI routing table: for each frame type and kind, the category and UI hint a legacy client uses
// to pick a component. It has the shape of the predecessor's ui_routing section: frame types as keys
// (dots or underscores: "response.delta" or "response_delta"), each a map from kind to an entry,
// with "_default" for any other kind, and a top-level "_fallback" for types without an entry.
//
//	{"orchestrator_thought": {"routing": {"category": "planning", "component": "ChatStep",
//	   "priority": "high", "collapsible": true, "icon_hint": "routing"}, "_default": {...}},
//	 "_fallback": {"category": "status", "component": "ChatStep", "priority": "low", "collapsible": true}}
//
// The plugin reads it from its config value ui_routing (capability config); entries there replace
// the built-in entries of the same type and kind, so a config names only what it changes. Without
// the capability or the key the built-in table applies. A missing field of an entry takes the
// fallback's value (component ChatStep, priority low, collapsible true, category status); a field of
// the wrong type or an unknown category or priority is an error that fails the stream, naming it.

// hint is one entry of the table.
type hint struct {
	Category    string `json:"category"`
	Component   string `json:"component"`
	Priority    string `json:"priority"`
	Collapsible *bool  `json:"collapsible"`
	IconHint    string `json:"icon_hint"`
}

// routing is a table, by frame type key (underscores) and kind.
type routing struct {
	types    map[string]map[string]hint
	fallback hint
}

var (
	categories = []string{"step", "thought", "reasoning", "planning", "output", "response", "status", "error"}
	priorities = []string{"low", "medium", "high"}
	yes, no    = true, false
)

func entry(category, component, priority string, collapsible bool, icon string) hint {
	c := &yes
	if !collapsible {
		c = &no
	}
	return hint{Category: category, Component: component, Priority: priority, Collapsible: c, IconHint: icon}
}

// defaultRouting is the built-in table: the predecessor's, plus the kinds Fleet adds (tool calls
// and results, route decisions, approvals).
func defaultRouting() *routing {
	step := func(icon string) map[string]hint {
		return map[string]hint{"_default": entry("step", "ChatStep", "low", true, icon)}
	}
	only := func(h hint) map[string]hint { return map[string]hint{"_default": h} }
	return &routing{
		fallback: entry("status", "ChatStep", "low", true, ""),
		types: map[string]map[string]hint{
			"orchestrator_thought": {
				"routing":     entry("planning", "ChatStep", "high", true, "routing"),
				"analysis":    entry("thought", "ChatStep", "medium", true, "analysis"),
				"quality":     entry("output", "ChatStep", "medium", true, "quality"),
				"progress":    entry("status", "ChatStep", "low", true, "progress"),
				"handoff":     entry("planning", "ChatStep", "high", false, "handoff"),
				"tool_call":   entry("thought", "ChatStep", "medium", true, "tool"),
				"tool_result": entry("thought", "ChatStep", "medium", true, "tool"),
				"_default":    entry("thought", "ChatStep", "medium", true, ""),
			},
			"orchestrator_message": {
				"routing":           entry("planning", "ChatStep", "high", true, "routing"),
				"handoff":           entry("planning", "ChatStep", "high", false, "handoff"),
				"approval_request":  entry("status", "ChatStep", "high", false, "approval"),
				"approval_resolved": entry("status", "ChatStep", "medium", true, "approval"),
				"waiting":           entry("status", "ChatStep", "high", false, "approval"),
				"_default":          entry("status", "ChatStep", "low", true, ""),
			},
			"agent_start":         step("agent_start"),
			"agent_complete":      step("agent_complete"),
			"agent_message":       only(entry("output", "MessageBubble", "medium", false, "")),
			"agent_output":        only(entry("output", "MessageBubble", "high", false, "")),
			"reasoning_delta":     only(entry("reasoning", "Reasoning", "medium", true, "")),
			"reasoning_completed": only(entry("reasoning", "Reasoning", "medium", true, "")),
			"response_delta":      only(entry("response", "MessageBubble", "high", false, "")),
			"response_completed":  only(entry("response", "MessageBubble", "high", false, "")),
			"error":               only(entry("error", "ErrorStep", "high", false, "")),
			"cancelled":           only(entry("status", "ChatStep", "medium", false, "cancelled")),
			"connected":           only(entry("status", "ChatStep", "low", false, "connected")),
			"heartbeat":           only(entry("status", "ChatStep", "low", true, "heartbeat")),
			"done":                only(entry("status", "ChatStep", "low", true, "")),
		},
	}
}

// lookup returns the entry of a frame type (dotted) and kind.
func (r *routing) lookup(key, kind string) hint {
	if kinds, ok := r.types[key]; ok {
		if h, ok := kinds[kind]; ok && kind != "" {
			return h
		}
		if h, ok := kinds["_default"]; ok {
			return h
		}
	}
	return r.fallback
}

// withConfig returns the default table with the entries of a ui_routing config value over it.
func withConfig(raw []byte) (*routing, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("ui_routing: want an object of frame types: %w", err)
	}
	r := defaultRouting()
	if v, ok := cfg["_fallback"]; ok { // first: the other entries' missing fields take its values
		h, err := parseHint(v, "ui_routing._fallback", r.fallback)
		if err != nil {
			return nil, err
		}
		r.fallback = h
	}
	for typ, v := range cfg {
		if typ == "_fallback" {
			continue
		}
		if err := r.mergeType(strings.ReplaceAll(typ, ".", "_"), "ui_routing."+typ, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *routing) mergeType(key, where string, v json.RawMessage) error {
	var kinds map[string]json.RawMessage
	if err := json.Unmarshal(v, &kinds); err != nil {
		return fmt.Errorf("%s: want an object of kinds: %w", where, err)
	}
	if r.types[key] == nil {
		r.types[key] = map[string]hint{}
	}
	for kind, kv := range kinds {
		h, err := parseHint(kv, where+"."+kind, r.fallback)
		if err != nil {
			return err
		}
		r.types[key][kind] = h
	}
	return nil
}

// parseHint reads one entry; missing fields take def's.
func parseHint(v json.RawMessage, where string, def hint) (hint, error) {
	var h hint
	if err := json.Unmarshal(v, &h); err != nil {
		return hint{}, fmt.Errorf("%s: %w", where, err)
	}
	for _, f := range []struct {
		val     *string
		def     string
		allowed []string
		name    string
	}{{&h.Category, def.Category, categories, "category"}, {&h.Priority, def.Priority, priorities, "priority"},
		{&h.Component, def.Component, nil, "component"}} {
		if *f.val == "" {
			*f.val = f.def
		}
		if f.allowed != nil && !slices.Contains(f.allowed, *f.val) {
			return hint{}, fmt.Errorf("%s.%s: %q is not one of %s", where, f.name, *f.val, strings.Join(f.allowed, ", "))
		}
	}
	if h.Collapsible == nil {
		h.Collapsible = def.Collapsible
	}
	return h, nil
}

// table is the routing table of this instance, read from the config on first use.
var table atomic.Pointer[routing]

// currentRouting returns the instance's table, reading the config the first time.
func currentRouting() (*routing, error) {
	if r := table.Load(); r != nil {
		return r, nil
	}
	r := defaultRouting()
	raw, ok, err := sdk.Config("ui_routing")
	switch {
	case errors.Is(err, sdk.ErrDenied):
		// without the config capability the built-in table applies
	case err != nil:
		return nil, fmt.Errorf("reading config ui_routing: %w", err)
	case ok:
		if r, err = withConfig(raw); err != nil {
			return nil, err
		}
	}
	table.Store(r)
	return r, nil
}
