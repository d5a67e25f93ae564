package workflow

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Bounds on one document, so that hostile input (deep nesting, alias bombs) ends with an error
// rather than exhausting the stack or memory.
const (
	maxDepth = 64
	maxNodes = 100_000
)

// decoder turns a YAML AST into the definition structs below, strictly: every unknown key, wrong
// type and missing required key is a problem, and all of them are collected. It records the
// position of every value it visits by path, for the checks that run after decoding.
type decoder struct {
	probs   *problems
	at      map[string]pos // path -> position of the value
	keyAt   map[string]pos // path -> position of its key
	anchors map[string]ast.Node
	nodes   int
	depth   int
	stopped bool
}

// nodeDecoder is implemented by definition types with more than one YAML shape (a tool given as a
// bare name or as a mapping, ...).
type nodeDecoder interface {
	decodeNode(d *decoder, path string, n ast.Node)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	anyType      = reflect.TypeFor[any]()
)

func newDecoder(probs *problems) *decoder {
	return &decoder{probs: probs, at: map[string]pos{}, keyAt: map[string]pos{}, anchors: map[string]ast.Node{}}
}

// collectAnchors records every anchor of the document so that aliases resolve wherever they are.
func (d *decoder) collectAnchors(body ast.Node) {
	ast.Walk(anchorVisitor(d.anchors), body)
}

type anchorVisitor map[string]ast.Node

func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		v[a.Name.GetToken().Value] = a.Value
	}
	return v
}

func (d *decoder) errorf(path string, n ast.Node, format string, args ...any) {
	d.probs.add(nodePos(n), path, format, args...)
}

// decode decodes n into v (addressable), recording positions under path.
func (d *decoder) decode(path string, n ast.Node, v reflect.Value) {
	if d.stopped {
		return
	}
	d.nodes++
	if d.nodes > maxNodes || d.depth > maxDepth {
		d.stopped = true
		d.errorf(path, n, "document too large or too deeply nested (at most %d values, %d levels)", maxNodes, maxDepth)
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	d.at[path] = nodePos(n)
	n = d.resolve(path, n)
	if n == nil {
		return
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, path, n)
		return
	}
	d.decodeValue(path, n, v)
}

// decodeValue decodes by Go type, without looking for a nodeDecoder.
func (d *decoder) decodeValue(path string, n ast.Node, v reflect.Value) {
	if v.Type() == durationType {
		d.duration(path, n, v)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(path, n, v)
	case reflect.Slice:
		d.decodeSlice(path, n, v)
	case reflect.Pointer:
		if _, null := n.(*ast.NullNode); null {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decodeValue(path, n, p.Elem())
		v.Set(p)
	case reflect.String:
		if s, ok := d.str(path, n); ok {
			v.SetString(s)
		}
	case reflect.Int:
		d.integer(path, n, v)
	case reflect.Float32, reflect.Float64:
		d.float(path, n, v)
	case reflect.Interface:
		if x := d.anyValue(path, n); x != nil && v.Type() == anyType {
			v.Set(reflect.ValueOf(x))
		}
	}
}

// resolve strips anchors and tags and follows aliases. It returns nil after reporting a problem.
func (d *decoder) resolve(path string, n ast.Node) ast.Node {
	for range maxDepth {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.AliasNode:
			name := t.Value.GetToken().Value
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(path, t, "unknown alias *%s", name)
				return nil
			}
			n = target
		case *ast.TagNode:
			if t.Start != nil && t.Start.Value == "!!str" {
				if tk := t.Value.GetToken(); tk != nil {
					return ast.String(tk)
				}
			}
			n = t.Value
		default:
			return n
		}
	}
	d.errorf(path, n, "aliases nested too deeply")
	return nil
}

// field is one decodable struct field.
type field struct {
	index    int
	required bool
}

// structFields maps the YAML key of each field (yaml tag, else json tag) to the field, and lists the
// keys in declaration order for messages.
func structFields(t reflect.Type) (map[string]field, []string) {
	fields := map[string]field{}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok {
			tag, ok = f.Tag.Lookup("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !ok || name == "-" || name == "" || !f.IsExported() {
			continue
		}
		fields[name] = field{index: i, required: strings.Contains(opts, "required")}
		keys = append(keys, name)
	}
	return fields, keys
}

func (d *decoder) decodeStruct(path string, n ast.Node, v reflect.Value) {
	fields, keys := structFields(v.Type())
	seen := map[string]bool{}
	switch m := n.(type) {
	case *ast.NullNode:
	case *ast.MappingNode:
		for _, mv := range d.entries(path, m, 0) {
			key := keyText(mv.Key)
			p := join(path, key)
			f, ok := fields[key]
			if !ok {
				d.errorf(p, mv.Key, "unknown key %q (want one of %s)", key, strings.Join(keys, ", "))
				continue
			}
			seen[key] = true
			d.keyAt[p] = nodePos(mv.Key)
			d.decode(p, mv.Value, v.Field(f.index))
		}
	default:
		d.errorf(path, n, "want a mapping, got %s", kindOf(n))
		return
	}
	for _, key := range keys {
		if fields[key].required && !seen[key] {
			d.missing(join(path, key))
		}
	}
}

// missing reports a required key that is absent, at the position of its parent.
func (d *decoder) missing(path string) {
	d.probs.add(d.posOf(parent(path)), path, "missing required key")
}

// posOf is the position of path's key, else its value, else its nearest known ancestor's.
func (d *decoder) posOf(path string) pos {
	for {
		if p, ok := d.keyAt[path]; ok {
			return p
		}
		if p, ok := d.at[path]; ok {
			return p
		}
		if path == "" {
			return pos{1, 1}
		}
		path = parent(path)
	}
}

// entries lists a mapping's entries with merge keys (<<) expanded; explicit keys win over merged
// ones and earlier merged mappings over later ones, as YAML specifies.
func (d *decoder) entries(path string, m *ast.MappingNode, depth int) []*ast.MappingValueNode {
	var merged, own []*ast.MappingValueNode
	for _, mv := range m.Values {
		if mv.Key == nil || !mv.Key.IsMergeKey() {
			own = append(own, mv)
			continue
		}
		if depth >= maxDepth {
			d.errorf(path, mv.Key, "merge keys nested too deeply")
			continue
		}
		merged = append(merged, d.mergeSources(path, mv.Value, depth)...)
	}
	taken := map[string]bool{}
	for _, mv := range own {
		taken[keyText(mv.Key)] = true
	}
	out := make([]*ast.MappingValueNode, 0, len(merged)+len(own))
	for _, mv := range merged {
		if k := keyText(mv.Key); !taken[k] {
			taken[k] = true
			out = append(out, mv)
		}
	}
	return append(out, own...)
}

func (d *decoder) mergeSources(path string, n ast.Node, depth int) []*ast.MappingValueNode {
	n = d.resolve(path, n)
	switch t := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		return d.entries(path, t, depth+1)
	case *ast.SequenceNode:
		var out []*ast.MappingValueNode
		for _, item := range t.Values {
			if m, ok := d.resolve(path, item).(*ast.MappingNode); ok {
				out = append(out, d.entries(path, m, depth+1)...)
			} else {
				d.errorf(path, item, "merge key (<<) wants a mapping or a list of mappings")
			}
		}
		return out
	}
	d.errorf(path, n, "merge key (<<) wants a mapping or a list of mappings")
	return nil
}

func (d *decoder) decodeSlice(path string, n ast.Node, v reflect.Value) {
	switch s := n.(type) {
	case *ast.NullNode:
	case *ast.SequenceNode:
		out := reflect.MakeSlice(v.Type(), len(s.Values), len(s.Values))
		for i, item := range s.Values {
			d.decode(path+"["+strconv.Itoa(i)+"]", item, out.Index(i))
		}
		v.Set(out)
	default:
		d.errorf(path, n, "want a list, got %s", kindOf(n))
	}
}

// str decodes a string scalar (plain, quoted or block).
func (d *decoder) str(path string, n ast.Node) (string, bool) {
	switch s := n.(type) {
	case *ast.StringNode:
		return s.Value, true
	case *ast.LiteralNode:
		return s.Value.Value, true
	}
	d.errorf(path, n, "want a string, got %s", kindOf(n))
	return "", false
}

func (d *decoder) integer(path string, n ast.Node, v reflect.Value) {
	i, ok := n.(*ast.IntegerNode)
	if !ok {
		d.errorf(path, n, "want an integer, got %s", kindOf(n))
		return
	}
	switch x := i.Value.(type) {
	case int64:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			v.SetInt(x)
			return
		}
	case uint64:
		if x <= math.MaxInt32 {
			v.SetInt(int64(x))
			return
		}
	}
	d.errorf(path, n, "integer %s out of range", i.GetToken().Value)
}

func (d *decoder) float(path string, n ast.Node, v reflect.Value) {
	switch f := n.(type) {
	case *ast.FloatNode:
		v.SetFloat(f.Value)
	case *ast.IntegerNode:
		switch x := f.Value.(type) {
		case int64:
			v.SetFloat(float64(x))
		case uint64:
			v.SetFloat(float64(x))
		}
	default:
		d.errorf(path, n, "want a number, got %s", kindOf(n))
	}
}

func (d *decoder) duration(path string, n ast.Node, v reflect.Value) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		d.errorf(path, n, "want a duration such as 30s, 5m or 1h30m, got %s", kindOf(n))
		return
	}
	t, err := time.ParseDuration(s.Value)
	if err != nil {
		d.errorf(path, n, "bad duration %q: want a number and a unit (ms, s, m, h) such as 30s, 5m or 1h30m", s.Value)
		return
	}
	v.SetInt(int64(t))
}

// anyValue decodes free-form data (tool arguments) into JSON-compatible Go values.
func (d *decoder) anyValue(path string, n ast.Node) any {
	switch t := n.(type) {
	case *ast.MappingNode:
		m := map[string]any{}
		for _, mv := range d.entries(path, t, 0) {
			key := keyText(mv.Key)
			var val any
			d.decode(join(path, key), mv.Value, reflect.ValueOf(&val).Elem())
			m[key] = val
		}
		return m
	case *ast.SequenceNode:
		list := make([]any, len(t.Values))
		for i, item := range t.Values {
			d.decode(path+"["+strconv.Itoa(i)+"]", item, reflect.ValueOf(&list[i]).Elem())
		}
		return list
	case *ast.StringNode, *ast.LiteralNode:
		s, _ := d.str(path, n)
		return s
	case *ast.IntegerNode:
		return t.Value
	case *ast.FloatNode:
		return t.Value
	case *ast.BoolNode:
		return t.Value
	case *ast.NullNode:
		return nil
	}
	d.errorf(path, n, "want a JSON value, got %s", kindOf(n))
	return nil
}

// keyText is the text of a mapping key.
func keyText(k ast.MapKeyNode) string {
	switch t := k.(type) {
	case *ast.StringNode:
		return t.Value
	case *ast.MappingKeyNode:
		if s, ok := t.Value.(*ast.StringNode); ok {
			return s.Value
		}
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// kindOf names a node's kind for messages.
func kindOf(n ast.Node) string {
	if n == nil {
		return "nothing"
	}
	name, ok := kindNames[n.Type()]
	if !ok {
		return strings.ToLower(n.Type().String())
	}
	return name
}

var kindNames = map[ast.NodeType]string{
	ast.MappingType:  "a mapping",
	ast.SequenceType: "a list",
	ast.StringType:   "a string",
	ast.LiteralType:  "a string",
	ast.IntegerType:  "an integer",
	ast.FloatType:    "a number",
	ast.InfinityType: "infinity",
	ast.NanType:      "NaN",
	ast.BoolType:     "a boolean",
	ast.NullType:     "null",
}

// nodePos is where a node starts: the first key of a block mapping, else the node's token.
func nodePos(n ast.Node) pos {
	if n == nil {
		return pos{}
	}
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0].Key != nil {
		return nodePos(m.Values[0].Key)
	}
	return tokenPos(n.GetToken())
}

func tokenPos(tk *token.Token) pos {
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// join appends a key to a path.
func join(path, key string) string {
	if key == "" {
		return path
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent strips the last key or index of a path.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
