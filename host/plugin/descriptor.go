package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

// Descriptor is what a plugin says about itself in answer to fleet_init (docs/abi.md section 3).
type Descriptor struct {
	// ABIMinor is the lowest ABI 1.x minor the plugin needs.
	ABIMinor int `json:"abi_minor"`
	// Name is the plugin's identity for config, kv scope, logs and the Registry.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Kind is "tool" or "mapper".
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
	// Capabilities are those the plugin asks for (the manifest decides what it gets).
	Capabilities []string `json:"capabilities,omitempty"`
	// Tools are a tool plugin's tools, in the order fleet_call indexes them.
	Tools []Tool `json:"tools,omitempty"`
	// Mapper is a mapper plugin's mapper object (docs/abi.md section 8), as sent.
	Mapper json.RawMessage `json:"mapper,omitempty"`
}

// Tool is one tool in a descriptor.
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema (draft 2020-12) of the arguments object; {"type":"object"}
	// when the plugin left it out.
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

var (
	pluginNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	toolNameRE   = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	objectSchema = json.RawMessage(`{"type":"object"}`)
)

// parseDescriptor decodes a descriptor and checks the rules every kind shares. Unknown fields are
// ignored, as the ABI asks of receivers.
func parseDescriptor(b []byte) (*Descriptor, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("descriptor is not a JSON object: %w", err)
	}
	for _, field := range []string{"name", "kind"} {
		if _, ok := raw[field]; !ok {
			return nil, fmt.Errorf("descriptor: field %s is missing", field)
		}
	}
	var d Descriptor
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	switch {
	case d.ABIMinor < 0:
		return nil, fmt.Errorf("descriptor: field abi_minor: %d is negative", d.ABIMinor)
	case !pluginNameRE.MatchString(d.Name):
		return nil, fmt.Errorf("descriptor: field name: %q does not match %s", d.Name, pluginNameRE)
	}
	for i, t := range d.Tools {
		if len(t.Parameters) == 0 || bytes.Equal(t.Parameters, []byte("null")) {
			d.Tools[i].Parameters = objectSchema
		}
	}
	return &d, nil
}

// validateTools checks a tool plugin's tools: at least one, names well-formed and unique.
func validateTools(d *Descriptor) error {
	if len(d.Tools) == 0 {
		return fmt.Errorf("descriptor: field tools: a tool plugin has at least one tool")
	}
	seen := map[string]bool{}
	for i, t := range d.Tools {
		if !toolNameRE.MatchString(t.Name) {
			return fmt.Errorf("descriptor: field tools[%d].name: %q does not match %s", i, t.Name, toolNameRE)
		}
		if seen[t.Name] {
			return fmt.Errorf("descriptor: field tools[%d].name: %q is used twice", i, t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// sameShape reports whether a later instance's descriptor matches the first one's in name, kind and
// tool list, as the ABI requires.
func (d *Descriptor) sameShape(o *Descriptor) bool {
	return d.Name == o.Name && d.Kind == o.Kind && slices.EqualFunc(d.Tools, o.Tools, func(a, b Tool) bool {
		return a.Name == b.Name && bytes.Equal(a.Parameters, b.Parameters)
	})
}

// clone returns a deep copy, so callers cannot change the plugin's descriptor.
func (d *Descriptor) clone() Descriptor {
	c := *d
	c.Capabilities = slices.Clone(d.Capabilities)
	c.Tools = slices.Clone(d.Tools)
	for i := range c.Tools {
		c.Tools[i].Parameters = slices.Clone(c.Tools[i].Parameters)
	}
	c.Mapper = slices.Clone(d.Mapper)
	return c
}
