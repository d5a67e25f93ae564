package sdk

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Results are encoded the same way as arguments are decoded (see argdecode.go): a plan of the
// result type, built once by reflection, appends the JSON with the SDK's writer functions, byte for
// byte as encoding/json writes it with HTML escaping off. A type the plan does not cover anywhere
// in it (a MarshalJSON or MarshalText method, embedded structs, `,string` fields, an IsZero method
// with omitzero, maps without string keys, channels, functions, complex numbers) is encoded by
// encoding/json as a whole; so is a value the plan cannot write (NaN, infinities, invalid
// json.RawMessage, nesting deep enough to be a pointer cycle), so that its error is encoding/json's.
// A value held in an interface is encoded by its dynamic type, through the plan of that type when
// the type allows it and by encoding/json otherwise.

// encNode encodes values of one type.
type encNode struct {
	typ reflect.Type
	// enc appends the value at p; nil when the type is not covered.
	enc func(e *resultEncoder, n *encNode, p unsafe.Pointer)
	// size is the byte size of an integer, or of a slice or array element; length an array's.
	size   uintptr
	length int
	elem   *encNode
	fields []encField
}

// encField is one struct field: its key with quotes and colon, where it lives, when to omit it.
type encField struct {
	key  string
	off  uintptr
	node *encNode
	omit func(p unsafe.Pointer, n *encNode) bool
}

var (
	isZeroerType = reflect.TypeFor[interface{ IsZero() bool }]()
	// resultPlans caches the plans of dynamic types met in interfaces.
	resultPlans sync.Map // reflect.Type -> *encNode
)

// maxEncodeDepth is the nesting of pointers, slices, maps and interfaces past which the plan gives
// the value to encoding/json, which reports a pointer cycle or encodes it.
const maxEncodeDepth = 1000

// resultPlan returns the encoding plan of t, or nil when t or a type in it is not covered.
func resultPlan(t reflect.Type) *encNode {
	pl := encPlanner{seen: map[reflect.Type]*encNode{}}
	n := pl.node(t)
	for _, m := range pl.seen {
		if m.enc == nil {
			return nil
		}
	}
	return n
}

// dynamicPlan returns the cached plan of a type met in an interface, or nil.
func dynamicPlan(t reflect.Type) *encNode {
	if n, ok := resultPlans.Load(t); ok {
		return n.(*encNode)
	}
	n := resultPlan(t)
	resultPlans.Store(t, n)
	return n
}

type encPlanner struct {
	seen map[reflect.Type]*encNode
}

// kindEncoders are the encoding functions of the kinds whose plan is the kind alone.
var kindEncoders = map[reflect.Kind]func(*resultEncoder, *encNode, unsafe.Pointer){
	reflect.Bool: encBool, reflect.String: encString, reflect.Float64: encFloat64, reflect.Float32: encFloat32,
	reflect.Int: encInt, reflect.Int8: encInt, reflect.Int16: encInt, reflect.Int32: encInt, reflect.Int64: encInt,
	reflect.Uint: encUint, reflect.Uint8: encUint, reflect.Uint16: encUint, reflect.Uint32: encUint,
	reflect.Uint64: encUint, reflect.Uintptr: encUint,
}

func hasMarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshalerType) || pt.Implements(jsonMarshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType)
}

func (pl *encPlanner) node(t reflect.Type) *encNode {
	if n, ok := pl.seen[t]; ok {
		return n
	}
	n := &encNode{typ: t, size: t.Size()}
	pl.seen[t] = n
	switch {
	case t == rawMessageType:
		n.enc = encRaw
		return n
	case t == numberType || hasMarshaler(t):
		return n // encoding/json writes a json.Number as a bare number
	}
	if f, ok := kindEncoders[t.Kind()]; ok {
		n.enc = f
		return n
	}
	switch t.Kind() {
	case reflect.Interface:
		n.enc = encInterface
	case reflect.Pointer:
		n.enc, n.elem = encPtr, pl.node(t.Elem())
	case reflect.Slice:
		pl.sliceNode(n, t)
	case reflect.Array:
		n.enc, n.elem, n.size, n.length = encArray, pl.node(t.Elem()), t.Elem().Size(), t.Len()
	case reflect.Map:
		pl.mapNode(n, t)
	case reflect.Struct:
		pl.structNode(n, t)
	}
	return n
}

func (pl *encPlanner) sliceNode(n *encNode, t reflect.Type) {
	if t.Elem().Kind() == reflect.Uint8 && !hasMarshaler(t.Elem()) {
		n.enc = encBytes
		return
	}
	n.enc, n.elem, n.size = encSlice, pl.node(t.Elem()), t.Elem().Size()
}

func (pl *encPlanner) mapNode(n *encNode, t reflect.Type) {
	switch {
	case t == anyMapType:
		n.enc = encAnyMap
	case t == stringMapType:
		n.enc = encStringMap
	case t.Key().Kind() == reflect.String:
		n.enc, n.elem = encMap, pl.node(t.Elem())
	}
}

// structNode plans a struct as encoding/json's typeFields resolves it when no field is embedded.
func (pl *encPlanner) structNode(n *encNode, t reflect.Type) {
	fields := make([]encField, 0, t.NumField())
	var types []reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		name, quoted, ok := fieldName(sf)
		switch {
		case sf.Anonymous || quoted:
			return
		case !ok:
			continue
		}
		for _, f := range fields {
			if f.key[1:len(f.key)-2] == name {
				return
			}
		}
		omit, ok := omitTest(sf)
		if !ok {
			return
		}
		fields = append(fields, encField{key: `"` + name + `":`, off: sf.Offset, omit: omit})
		types = append(types, sf.Type)
	}
	n.enc, n.fields = encStruct, fields
	for i := range fields {
		fields[i].node = pl.node(types[i])
	}
}

// omitTest returns the test of a field's omitempty and omitzero options (nil without either); ok
// is false for omitzero on a type with an IsZero method, which the plan leaves to encoding/json.
func omitTest(sf reflect.StructField) (omit func(unsafe.Pointer, *encNode) bool, ok bool) {
	_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
	empty, zero := hasOption(opts, "omitempty"), hasOption(opts, "omitzero")
	switch {
	case zero && (sf.Type.Implements(isZeroerType) || reflect.PointerTo(sf.Type).Implements(isZeroerType)):
		return nil, false
	case empty && zero:
		return func(p unsafe.Pointer, n *encNode) bool { return isEmpty(p, n) || isZero(p, n) }, true
	case empty:
		return isEmpty, true
	case zero:
		return isZero, true
	}
	return nil, true
}

// isEmpty is encoding/json's test for omitempty.
func isEmpty(p unsafe.Pointer, n *encNode) bool {
	switch k := n.typ.Kind(); k {
	case reflect.Array:
		return n.length == 0
	case reflect.Map:
		return reflect.NewAt(n.typ, p).Elem().Len() == 0
	case reflect.Slice:
		return (*sliceHeader)(p).len == 0
	case reflect.String:
		return len(*(*string)(p)) == 0
	case reflect.Bool:
		return !*(*bool)(p)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return loadInt(p, n.size, false) == 0 // all bits zero: -0.0 is not empty, as in encoding/json
	case reflect.Pointer, reflect.Interface:
		return *(*unsafe.Pointer)(p) == nil // an interface's first word: its type
	case reflect.Struct:
		return false
	}
	return false
}

// isZero is encoding/json's test for omitzero on a type without an IsZero method.
func isZero(p unsafe.Pointer, n *encNode) bool {
	return reflect.NewAt(n.typ, p).Elem().IsZero()
}

// resultEncoder is one encoding of a result.
type resultEncoder struct {
	b []byte
	// bail is set when the plan cannot write the value as encoding/json would.
	bail    bool
	depth   int
	scratch *bytes.Buffer
}

func (e *resultEncoder) fail() { e.bail = true }

// enter counts one level of nesting; past maxEncodeDepth the plan gives up.
func (e *resultEncoder) enter() bool {
	if e.depth++; e.depth > maxEncodeDepth {
		e.bail = true
		return false
	}
	return true
}

func encBool(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	e.b = strconv.AppendBool(e.b, *(*bool)(p))
}

func encString(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	e.b = appendJSONString(e.b, *(*string)(p))
}

// loadInt returns the integer of size bytes at p, sign-extended when signed.
func loadInt(p unsafe.Pointer, size uintptr, signed bool) uint64 {
	switch {
	case size == 1 && signed:
		return uint64(*(*int8)(p))
	case size == 2 && signed:
		return uint64(*(*int16)(p))
	case size == 4 && signed:
		return uint64(*(*int32)(p))
	case size == 1:
		return uint64(*(*uint8)(p))
	case size == 2:
		return uint64(*(*uint16)(p))
	case size == 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func encInt(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	e.b = strconv.AppendInt(e.b, int64(loadInt(p, n.size, true)), 10)
}

func encUint(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	e.b = strconv.AppendUint(e.b, loadInt(p, n.size, false), 10)
}

func encFloat64(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	b, ok := appendJSONFloat(e.b, *(*float64)(p))
	if !ok {
		e.fail()
		return
	}
	e.b = b
}

func encFloat32(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	b, ok := appendJSONFloat32(e.b, *(*float32)(p))
	if !ok {
		e.fail()
		return
	}
	e.b = b
}

func encPtr(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	q := *(*unsafe.Pointer)(p)
	if q == nil {
		e.b = append(e.b, "null"...)
		return
	}
	if e.enter() {
		n.elem.enc(e, n.elem, q)
		e.depth--
	}
}

func encBytes(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	b := *(*[]byte)(p)
	if b == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '"')
	e.b = base64.StdEncoding.AppendEncode(e.b, b)
	e.b = append(e.b, '"')
}

func encSlice(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	h := (*sliceHeader)(p)
	if h.data == nil {
		e.b = append(e.b, "null"...)
		return
	}
	if e.enter() {
		e.list(n, h.data, h.len)
		e.depth--
	}
}

func encArray(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	e.list(n, p, n.length)
}

// list appends the count elements at p as an array.
func (e *resultEncoder) list(n *encNode, p unsafe.Pointer, count int) {
	e.b = append(e.b, '[')
	for i := range count {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		n.elem.enc(e, n.elem, unsafe.Add(p, uintptr(i)*n.size))
	}
	e.b = append(e.b, ']')
}

func encStruct(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	start := len(e.b)
	e.b = append(e.b, '{')
	for i := range n.fields {
		f := &n.fields[i]
		q := unsafe.Add(p, f.off)
		if f.omit != nil && f.omit(q, f.node) {
			continue
		}
		if len(e.b) > start+1 {
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, f.key...)
		f.node.enc(e, f.node, q)
	}
	e.b = append(e.b, '}')
}

// sortedKeys returns the keys of a map with string keys, sorted as encoding/json sorts them.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func encStringMap(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	m := *(*map[string]string)(p)
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = appendJSONString(e.b, k)
		e.b = append(e.b, ':')
		e.b = appendJSONString(e.b, m[k])
	}
	e.b = append(e.b, '}')
}

func encAnyMap(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	e.anyMap(*(*map[string]any)(p))
}

func (e *resultEncoder) anyMap(m map[string]any) {
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	if !e.enter() {
		return
	}
	e.b = append(e.b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = appendJSONString(e.b, k)
		e.b = append(e.b, ':')
		e.dynamic(m[k])
	}
	e.b = append(e.b, '}')
	e.depth--
}

// encMap encodes other maps with string keys through reflection.
func encMap(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	m := reflect.NewAt(n.typ, p).Elem()
	if m.IsNil() {
		e.b = append(e.b, "null"...)
		return
	}
	if !e.enter() {
		return
	}
	type entry struct {
		k string
		v reflect.Value
	}
	entries := make([]entry, 0, m.Len())
	for it := m.MapRange(); it.Next(); {
		entries = append(entries, entry{it.Key().String(), it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	v := reflect.New(n.elem.typ)
	e.b = append(e.b, '{')
	for i, en := range entries {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = appendJSONString(e.b, en.k)
		e.b = append(e.b, ':')
		v.Elem().Set(en.v)
		n.elem.enc(e, n.elem, v.UnsafePointer())
	}
	e.b = append(e.b, '}')
	e.depth--
}

func encInterface(e *resultEncoder, n *encNode, p unsafe.Pointer) {
	if n.typ.NumMethod() == 0 {
		e.dynamic(*(*any)(p))
		return
	}
	v := reflect.NewAt(n.typ, p).Elem()
	if v.IsNil() {
		e.b = append(e.b, "null"...)
		return
	}
	e.dynamic(v.Elem().Interface())
}

// dynamic appends the value held in an interface, by its dynamic type.
func (e *resultEncoder) dynamic(x any) {
	switch v := x.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case string:
		e.b = appendJSONString(e.b, v)
	case bool:
		e.b = strconv.AppendBool(e.b, v)
	case float64:
		encFloat64(e, nil, unsafe.Pointer(&v))
	case int:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case int64:
		e.b = strconv.AppendInt(e.b, v, 10)
	case map[string]any:
		e.anyMap(v)
	case []any:
		e.anySlice(v)
	default:
		e.reflected(x)
	}
}

func (e *resultEncoder) anySlice(a []any) {
	if a == nil {
		e.b = append(e.b, "null"...)
		return
	}
	if !e.enter() {
		return
	}
	e.b = append(e.b, '[')
	for i, v := range a {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.dynamic(v)
	}
	e.b = append(e.b, ']')
	e.depth--
}

// reflected appends a value of a type dynamic does not switch on: through its plan, or with
// encoding/json when its type is not covered.
func (e *resultEncoder) reflected(x any) {
	t := reflect.TypeOf(x)
	n := dynamicPlan(t)
	if n == nil {
		e.fallback(x)
		return
	}
	v := reflect.ValueOf(x)
	if t.Kind() == reflect.Pointer {
		q := v.UnsafePointer()
		n.enc(e, n, unsafe.Pointer(&q))
		return
	}
	c := reflect.New(t)
	c.Elem().Set(v)
	n.enc(e, n, c.UnsafePointer())
}

// fallback appends x encoded by encoding/json, as it encodes a value held in an interface.
func (e *resultEncoder) fallback(x any) {
	if e.scratch == nil {
		e.scratch = new(bytes.Buffer)
	}
	e.scratch.Reset()
	enc := json.NewEncoder(e.scratch)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		e.fail()
		return
	}
	e.b = append(e.b, bytes.TrimSuffix(e.scratch.Bytes(), []byte{'\n'})...)
}

// encRaw appends a json.RawMessage as encoding/json does: null when nil, else its text validated
// and without insignificant whitespace.
func encRaw(e *resultEncoder, _ *encNode, p unsafe.Pointer) {
	m := *(*json.RawMessage)(p)
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	if !hasJSONSpace(m) && validJSON(m) {
		e.b = append(e.b, m...)
		return
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		e.fail()
		return
	}
	e.b = append(e.b, buf.Bytes()...)
}

// hasJSONSpace reports whether b holds a space, tab, newline or carriage return.
func hasJSONSpace(b []byte) bool {
	n, i := len(b), 0
	for ; i+8 <= n; i += 8 {
		if spaceIn(load64(b, i)) {
			return true
		}
	}
	if n >= 8 {
		return spaceIn(load64(b, n-8))
	}
	return spaceIn(shortWord(viewString(b)))
}

// spaceIn reports whether a byte of x is ' ', '\t', '\n' or '\r' (exactly, with no false alarm: a
// byte flagged by a borrow is always preceded by a true match).
func spaceIn(x uint64) bool {
	has := func(c uint64) uint64 { y := x ^ (lsb * c); return (y - lsb) &^ y & msb }
	return has(' ')|has('\t')|has('\n')|has('\r') != 0
}

// appendJSONFloat32 formats f as encoding/json formats a float32.
func appendJSONFloat32(b []byte, f float32) ([]byte, bool) {
	f64 := float64(f)
	if math.IsInf(f64, 0) || math.IsNaN(f64) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f64); abs != 0 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f64, format, -1, 32)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
