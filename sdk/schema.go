package sdk

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// schemaNode is the subset of JSON Schema (draft 2020-12) that NewTool derives from Go types.
type schemaNode struct {
	Type                 string      `json:"type,omitempty"`
	Description          string      `json:"description,omitempty"`
	Format               string      `json:"format,omitempty"`
	ContentEncoding      string      `json:"contentEncoding,omitempty"`
	Enum                 []any       `json:"enum,omitempty"`
	Minimum              *int        `json:"minimum,omitempty"`
	MinItems             *int        `json:"minItems,omitempty"`
	MaxItems             *int        `json:"maxItems,omitempty"`
	Items                *schemaNode `json:"items,omitempty"`
	Properties           properties  `json:"properties,omitempty"`
	Required             []string    `json:"required,omitempty"`
	AdditionalProperties any         `json:"additionalProperties,omitempty"`
}

// property is one named property; properties keep the struct's field order in the encoded schema.
type property struct {
	name string
	node *schemaNode
}

type properties []property

// MarshalJSON encodes the properties as an object in field order.
func (ps properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(p.name)
		b.Write(name)
		b.WriteByte(':')
		node, err := json.Marshal(p.node)
		if err != nil {
			return nil, err
		}
		b.Write(node)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

var (
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// parametersOf returns the parameters schema of an arguments type: it must describe a JSON object.
func parametersOf(t reflect.Type) (json.RawMessage, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType || t.Kind() == reflect.Interface:
		return json.RawMessage(`{"type":"object"}`), nil
	case t.Kind() != reflect.Struct && t.Kind() != reflect.Map:
		return nil, fmt.Errorf("arguments type %s is not a struct or map: tool arguments are a JSON object", t)
	}
	g := schemaGen{active: map[reflect.Type]bool{}}
	node, err := g.of(t, t.String())
	if err != nil {
		return nil, err
	}
	if node.Type != "object" {
		return nil, fmt.Errorf("arguments type %s does not encode as a JSON object", t)
	}
	return json.Marshal(node)
}

// schemaGen walks a type; active holds the struct types being described, to stop recursion.
type schemaGen struct {
	active map[reflect.Type]bool
}

var uintMinimum = 0

// kindSchemas describes the kinds whose schema depends on nothing but the kind.
var kindSchemas = map[reflect.Kind]func() *schemaNode{
	reflect.Bool:    func() *schemaNode { return &schemaNode{Type: "boolean"} },
	reflect.String:  func() *schemaNode { return &schemaNode{Type: "string"} },
	reflect.Float32: func() *schemaNode { return &schemaNode{Type: "number"} },
	reflect.Float64: func() *schemaNode { return &schemaNode{Type: "number"} },
	reflect.Int:     intSchema, reflect.Int8: intSchema, reflect.Int16: intSchema,
	reflect.Int32: intSchema, reflect.Int64: intSchema,
	reflect.Uint: uintSchema, reflect.Uint8: uintSchema, reflect.Uint16: uintSchema,
	reflect.Uint32: uintSchema, reflect.Uint64: uintSchema, reflect.Uintptr: uintSchema,
	reflect.Interface: func() *schemaNode { return &schemaNode{} },
}

func intSchema() *schemaNode  { return &schemaNode{Type: "integer"} }
func uintSchema() *schemaNode { return &schemaNode{Type: "integer", Minimum: &uintMinimum} }

// of returns the schema of t; path names the place in the arguments type, for errors.
func (g schemaGen) of(t reflect.Type, path string) (*schemaNode, error) {
	switch {
	case t == rawMessageType:
		return &schemaNode{}, nil
	case t == timeType:
		return &schemaNode{Type: "string", Format: "date-time"}, nil
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		return &schemaNode{}, nil // its own encoding: shape unknown
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		return &schemaNode{Type: "string"}, nil
	}
	if f, ok := kindSchemas[t.Kind()]; ok {
		return f(), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem(), path)
	case reflect.Slice, reflect.Array:
		return g.list(t, path)
	case reflect.Map:
		return g.mapOf(t, path)
	case reflect.Struct:
		return g.structOf(t, path)
	}
	return nil, fmt.Errorf("%s: type %s cannot be described in JSON Schema", path, t)
}

func (g schemaGen) list(t reflect.Type, path string) (*schemaNode, error) {
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
		return &schemaNode{Type: "string", ContentEncoding: "base64"}, nil
	}
	items, err := g.of(t.Elem(), path+"[]")
	if err != nil {
		return nil, err
	}
	n := &schemaNode{Type: "array", Items: items}
	if t.Kind() == reflect.Array {
		size := t.Len()
		n.MinItems, n.MaxItems = &size, &size
	}
	return n, nil
}

func (g schemaGen) mapOf(t reflect.Type, path string) (*schemaNode, error) {
	switch t.Key().Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !reflect.PointerTo(t.Key()).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
			return nil, fmt.Errorf("%s: map key type %s is not a string, integer or text type", path, t.Key())
		}
	}
	elem, err := g.of(t.Elem(), path+"[key]")
	if err != nil {
		return nil, err
	}
	n := &schemaNode{Type: "object"}
	if !isEmptySchema(elem) {
		n.AdditionalProperties = elem
	}
	return n, nil
}

func isEmptySchema(n *schemaNode) bool {
	b, _ := json.Marshal(n)
	return string(b) == "{}"
}

func (g schemaGen) structOf(t reflect.Type, path string) (*schemaNode, error) {
	if g.active[t] {
		return &schemaNode{Type: "object"}, nil
	}
	g.active[t] = true
	defer delete(g.active, t)
	n := &schemaNode{Type: "object", AdditionalProperties: false}
	if err := g.addFields(n, t, path, directNames(t)); err != nil {
		return nil, err
	}
	return n, nil
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name     string
	optional bool
	asString bool
	inline   bool // an untagged embedded struct: its fields are promoted
}

func parseField(f reflect.StructField) (jsonField, bool) {
	tag, hasTag := f.Tag.Lookup("json")
	if tag == "-" {
		return jsonField{}, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	ft := f.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
		return jsonField{inline: true}, true
	}
	if !f.IsExported() {
		return jsonField{}, false
	}
	if !hasTag || name == "" {
		name = f.Name
	}
	jf := jsonField{name: name}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "omitempty", "omitzero":
			jf.optional = true
		case "string":
			jf.asString = true
		}
	}
	return jf, true
}

// directNames are the JSON names of t's own (not promoted) fields: they win over promoted ones.
func directNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		if jf, ok := parseField(t.Field(i)); ok && !jf.inline {
			names[jf.name] = true
		}
	}
	return names
}

func (g schemaGen) addFields(n *schemaNode, t reflect.Type, path string, taken map[string]bool) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		jf, ok := parseField(f)
		if !ok {
			continue
		}
		if jf.inline {
			if err := g.addInline(n, f, path, taken); err != nil {
				return err
			}
			continue
		}
		if hasProperty(n, jf.name) {
			continue // two fields with one JSON name: the first one counts
		}
		prop, err := g.fieldSchema(f, jf, path+"."+jf.name)
		if err != nil {
			return err
		}
		n.Properties = append(n.Properties, property{name: jf.name, node: prop})
		if !jf.optional {
			n.Required = append(n.Required, jf.name)
		}
	}
	return nil
}

// addInline adds the promoted fields of an embedded struct, except names the outer struct has.
func (g schemaGen) addInline(n *schemaNode, f reflect.StructField, path string, taken map[string]bool) error {
	et := f.Type
	if et.Kind() == reflect.Pointer {
		et = et.Elem()
	}
	if g.active[et] {
		return nil
	}
	g.active[et] = true
	defer delete(g.active, et)
	sub := &schemaNode{}
	if err := g.addFields(sub, et, path, directNames(et)); err != nil {
		return err
	}
	req := map[string]bool{}
	for _, r := range sub.Required {
		req[r] = true
	}
	for _, p := range sub.Properties {
		if taken[p.name] || hasProperty(n, p.name) {
			continue
		}
		n.Properties = append(n.Properties, p)
		if req[p.name] {
			n.Required = append(n.Required, p.name)
		}
	}
	return nil
}

func hasProperty(n *schemaNode, name string) bool {
	for _, p := range n.Properties {
		if p.name == name {
			return true
		}
	}
	return false
}

// fieldSchema describes one field, applying its desc and enum tags.
func (g schemaGen) fieldSchema(f reflect.StructField, jf jsonField, path string) (*schemaNode, error) {
	var node *schemaNode
	if jf.asString && isScalar(f.Type) {
		node = &schemaNode{Type: "string"}
	} else {
		var err error
		if node, err = g.of(f.Type, path); err != nil {
			return nil, err
		}
	}
	node.Description = f.Tag.Get("desc")
	if enum, ok := f.Tag.Lookup("enum"); ok {
		if err := applyEnum(node, f.Type, enum, path); err != nil {
			return nil, err
		}
	}
	return node, nil
}

func isScalar(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// applyEnum sets the allowed values of node (of its items for a slice or array), parsed per kind.
func applyEnum(node *schemaNode, t reflect.Type, enum, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && node.Items != nil {
		return applyEnum(node.Items, t.Elem(), enum, path+"[]")
	}
	parse, ok := enumParsers[node.Type]
	if !ok {
		return fmt.Errorf("%s: enum tag on a field of schema type %q", path, node.Type)
	}
	for _, s := range strings.Split(enum, ",") {
		v, err := parse(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%s: enum value %q: %w", path, s, err)
		}
		node.Enum = append(node.Enum, v)
	}
	return nil
}

var enumParsers = map[string]func(string) (any, error){
	"string":  func(s string) (any, error) { return s, nil },
	"integer": func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) },
	"number":  func(s string) (any, error) { return strconv.ParseFloat(s, 64) },
	"boolean": func(s string) (any, error) { return strconv.ParseBool(s) },
}
