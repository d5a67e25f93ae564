package sdk

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Typed arguments are decoded without encoding/json when their type allows it. Inside WebAssembly,
// with a host that can stop its guests (wazero's WithCloseOnContextDone), every loop iteration of
// guest code costs a round trip through the host's Go code (about 50 ns), and Go's wasm backend
// makes a loop iteration of every function entry and of most taken branches: encoding/json, which
// calls a state function per input byte, spent about 600 such iterations on {"expression":"..."}.
//
// NewTool therefore builds a decoding plan of its argument type once, by reflection: per struct,
// the fields as encoding/json resolves them (names, offsets), and per value a decoding function for
// its kind that reads the SDK's word-at-a-time scanner and writes through unsafe pointers. The plan
// reproduces encoding/json exactly or not at all: whenever the input holds something it does not
// decide the same way for certain (an unknown or case-folded key, a duplicate key, a type mismatch,
// a number out of range, invalid UTF-8, trailing data), the value is zeroed and encoding/json
// decodes the whole input instead, so results and error messages are encoding/json's. Types the
// plan does not cover (embedded structs, `,string` fields, types with their own UnmarshalJSON or
// UnmarshalText, arrays, []byte, maps without string keys, non-empty interfaces) are decoded by
// encoding/json, strictly, from their part of the input.

// decNode decodes values of one type.
type decNode struct {
	typ reflect.Type
	// dec decodes the next JSON value into the value at p (a zero value of typ).
	dec func(d *argDecoder, n *decNode, p unsafe.Pointer)
	// size is the byte size of an integer, or of a slice element.
	size   uintptr
	elem   *decNode
	fields []decField
	// fallback is set, on the root of a plan, when encoding/json decodes the whole value.
	fallback bool
}

// decField is one struct field: its JSON name, as words for matching, and where it lives.
type decField struct {
	name string
	// w0 is the name's first 8 bytes (padded like shortWord): a key matches when its length and
	// first word are equal and the rest, if any, is equal.
	w0   uint64
	off  uintptr
	node *decNode
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
	anyMapType          = reflect.TypeFor[map[string]any]()
	stringMapType       = reflect.TypeFor[map[string]string]()
)

// maxFields bounds the fields of a struct the plan decodes itself (duplicate keys are found with a
// 64-bit mask); a larger struct is left to encoding/json.
const maxFields = 64

// argPlan returns the decoding plan of t.
func argPlan(t reflect.Type) *decNode {
	pl := decPlanner{seen: map[reflect.Type]*decNode{}}
	n := pl.node(t)
	n.fallback = reflect.ValueOf(n.dec).Pointer() == reflect.ValueOf(decFallback).Pointer()
	return n
}

type decPlanner struct {
	seen map[reflect.Type]*decNode
}

// kindDecoders are the decoding functions of the kinds whose plan is the kind alone.
var kindDecoders = map[reflect.Kind]func(*argDecoder, *decNode, unsafe.Pointer){
	reflect.Bool: decBool, reflect.String: decString, reflect.Float64: decFloat64, reflect.Float32: decFloat32,
	reflect.Int: decInt, reflect.Int8: decInt, reflect.Int16: decInt, reflect.Int32: decInt, reflect.Int64: decInt,
	reflect.Uint: decUint, reflect.Uint8: decUint, reflect.Uint16: decUint, reflect.Uint32: decUint,
	reflect.Uint64: decUint, reflect.Uintptr: decUint,
}

func (pl *decPlanner) node(t reflect.Type) *decNode {
	if n, ok := pl.seen[t]; ok {
		return n
	}
	n := &decNode{typ: t, dec: decFallback, size: t.Size()}
	pl.seen[t] = n
	pt := reflect.PointerTo(t)
	switch {
	case t == rawMessageType:
		n.dec = decRaw
		return n
	case t == numberType || pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType):
		return n // json.Number is a string that encoding/json checks and reads numbers into
	}
	if f, ok := kindDecoders[t.Kind()]; ok {
		n.dec = f
		return n
	}
	switch t.Kind() {
	case reflect.Pointer:
		n.dec, n.elem = decPtr, pl.node(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Uint8 { // []byte is base64 text, or an array of numbers
			n.dec, n.elem, n.size = decSlice, pl.node(t.Elem()), t.Elem().Size()
		}
	case reflect.Map:
		pl.mapNode(n, t)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			n.dec = decAny
		}
	case reflect.Struct:
		pl.structNode(n, t)
	}
	return n
}

func (pl *decPlanner) mapNode(n *decNode, t reflect.Type) {
	k := t.Key()
	switch {
	case t == anyMapType:
		n.dec = decAnyMap
	case t == stringMapType:
		n.dec = decStringMap
	case k.Kind() == reflect.String && !reflect.PointerTo(k).Implements(textUnmarshalerType):
		n.dec, n.elem = decMap, pl.node(t.Elem())
	}
}

// structNode plans a struct as encoding/json's typeFields resolves it when no field is embedded.
// Embedded fields, `,string` fields and duplicate names leave the struct to encoding/json.
func (pl *decPlanner) structNode(n *decNode, t reflect.Type) {
	fields := make([]decField, 0, t.NumField())
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
			if f.name == name {
				return
			}
		}
		fields = append(fields, decField{name: name, w0: keyWord(name), off: sf.Offset})
		types = append(types, sf.Type)
	}
	if len(fields) > maxFields {
		return
	}
	n.dec, n.fields = decStruct, fields
	for i := range fields {
		fields[i].node = pl.node(types[i])
	}
}

// fieldName returns the JSON name of a struct field as encoding/json resolves it, whether its tag
// asks for quoting (`,string` on a string, number or bool, or a pointer to one), and false for a
// field encoding/json ignores.
func fieldName(sf reflect.StructField) (name string, quoted, ok bool) {
	if !sf.Anonymous && !sf.IsExported() {
		return "", false, false
	}
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if !isValidTag(name) {
		name = ""
	}
	if name == "" {
		name = sf.Name
	}
	ft := sf.Type
	if ft.Name() == "" && ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	return name, hasOption(opts, "string") && quotable[ft.Kind()], true
}

// quotable are the kinds a `,string` option applies to.
var quotable = map[reflect.Kind]bool{
	reflect.Bool: true, reflect.String: true, reflect.Float32: true, reflect.Float64: true,
	reflect.Int: true, reflect.Int8: true, reflect.Int16: true, reflect.Int32: true, reflect.Int64: true,
	reflect.Uint: true, reflect.Uint8: true, reflect.Uint16: true, reflect.Uint32: true, reflect.Uint64: true,
	reflect.Uintptr: true,
}

// hasOption reports whether the comma-separated tag options contain opt.
func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

// isValidTag is encoding/json's rule for a usable tag name.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// keyWord returns the first 8 bytes of s as a little-endian word, padded as shortWord pads.
func keyWord(s string) uint64 {
	if len(s) >= 8 {
		return load64(stringBytes(s), 0)
	}
	return shortWord(s)
}

// argDecoder is one decoding of typed arguments.
type argDecoder struct {
	s scanner
	// bail is set when the plan cannot decide as encoding/json would: encoding/json decodes instead.
	bail  bool
	depth int
}

// decodeArgs decodes the arguments in into *args, with d, through plan when it decides, else (and
// for empty input or {}, which give the zero value) as decodeStrict does.
func decodeArgs[A any](d *argDecoder, plan *decNode, in []byte, args *A) error {
	switch {
	case len(in) == 0 || len(in) == 2 && in[0] == '{' && in[1] == '}':
		return nil
	case plan.fallback:
		return decodeStrict(in, args)
	}
	*d = argDecoder{s: scanner{b: in}}
	plan.dec(d, plan, unsafe.Pointer(args))
	ok := !d.bail && d.s.err == nil
	if ok {
		d.s.end()
		ok = d.s.err == nil
	}
	*d = argDecoder{} // holds no input between calls
	if ok {
		return nil
	}
	var zero A
	*args = zero
	return decodeStrict(in, args)
}

// fail gives up on the plan.
func (d *argDecoder) fail() {
	d.bail = true
	d.s.i = len(d.s.b)
}

// enter counts one level of nesting; past encoding/json's limit the plan gives up.
func (d *argDecoder) enter() bool {
	if d.depth++; d.depth > maxDepth {
		d.fail()
		return false
	}
	return true
}

// str reads a string and returns a copy of it, as encoding/json decodes it; ok is false (with the
// plan given up) for anything but a string, and for invalid UTF-8, which encoding/json replaces.
func (d *argDecoder) str() (string, bool) {
	s := &d.s
	b := s.b
	start := s.i + 1
	if j := asciiRun(viewString(b), start); j < len(b) && b[j] == '"' {
		s.i = j + 1
		return string(b[start:j]), true
	}
	v := s.str()
	if s.err != nil || !utf8.ValidString(v) {
		d.fail()
		return "", false
	}
	if inside(v, b) {
		v = strings.Clone(v)
	}
	return v, true
}

// inside reports whether the bytes of s lie in b.
func inside(s string, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p < lo+uintptr(len(b))
}

func decString(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	switch d.s.peek() {
	case '"':
		if v, ok := d.str(); ok {
			*(*string)(p) = v
		}
	case 'n':
		d.s.null()
	default:
		d.fail()
	}
}

func decBool(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	switch d.s.peek() {
	case 't', 'f', 'n':
		*(*bool)(p) = d.s.bool()
	default:
		d.fail()
	}
}

// number reads a number; ok is false for null (consumed) and, with the plan given up, for anything
// else that is not a number.
func (d *argDecoder) number() (num []byte, integer, ok bool) {
	switch c := d.s.peek(); {
	case c == '-' || c >= '0' && c <= '9':
		num, integer = d.s.number()
		return num, integer, d.s.err == nil
	case c == 'n':
		d.s.null()
	default:
		d.fail()
	}
	return nil, false, false
}

// parseDigits returns the value of an optionally signed integer of at most 18 digits; ok is false
// for a longer one.
func parseDigits(num []byte) (v int64, ok bool) {
	neg := len(num) > 0 && num[0] == '-'
	if neg {
		num = num[1:]
	}
	if len(num) > 18 {
		return 0, false
	}
	for _, c := range num {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

func decInt(d *argDecoder, n *decNode, p unsafe.Pointer) {
	num, integer, ok := d.number()
	if !ok {
		return
	}
	if !integer {
		d.fail()
		return
	}
	v, fast := parseDigits(num)
	if !fast {
		var err error
		v, err = strconv.ParseInt(viewString(num), 10, 64)
		fast = err == nil
	}
	if bits := 8 * n.size; !fast || bits < 64 && (v < -1<<(bits-1) || v >= 1<<(bits-1)) {
		d.fail()
		return
	}
	storeInt(p, n.size, uint64(v))
}

func decUint(d *argDecoder, n *decNode, p unsafe.Pointer) {
	num, integer, ok := d.number()
	if !ok {
		return
	}
	if !integer || num[0] == '-' {
		d.fail()
		return
	}
	v, err := strconv.ParseUint(viewString(num), 10, 64)
	if bits := 8 * n.size; err != nil || bits < 64 && v >= 1<<bits {
		d.fail()
		return
	}
	storeInt(p, n.size, v)
}

// storeInt writes the low size bytes of v at p.
func storeInt(p unsafe.Pointer, size uintptr, v uint64) {
	switch size {
	case 1:
		*(*uint8)(p) = uint8(v)
	case 2:
		*(*uint16)(p) = uint16(v)
	case 4:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses a JSON number as strconv.ParseFloat(s, 64) does. A number without exponent and
// with at most 15 digits is a quotient of two exactly represented values, which IEEE division rounds
// correctly: the same result without strconv's slower general path.
func parseFloat(num []byte) (float64, bool) {
	neg := num[0] == '-'
	digits := num
	if neg {
		digits = num[1:]
	}
	var m uint64
	frac, n := -1, 0
	for i, c := range digits {
		if c == '.' {
			frac = i
			continue
		}
		if c < '0' || c > '9' || n == 15 {
			return parseFloatSlow(num)
		}
		m, n = m*10+uint64(c-'0'), n+1
	}
	f := float64(m)
	if frac >= 0 {
		f /= pow10[len(digits)-1-frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

func parseFloatSlow(num []byte) (float64, bool) {
	f, err := strconv.ParseFloat(viewString(num), 64)
	return f, err == nil
}

func decFloat64(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	if num, _, ok := d.number(); ok {
		f, ok := parseFloat(num)
		if !ok {
			d.fail()
			return
		}
		*(*float64)(p) = f
	}
}

func decFloat32(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	if num, _, ok := d.number(); ok {
		f, err := strconv.ParseFloat(viewString(num), 32)
		if err != nil {
			d.fail()
			return
		}
		*(*float32)(p) = float32(f)
	}
}

func decPtr(d *argDecoder, n *decNode, p unsafe.Pointer) {
	if d.s.null() {
		return
	}
	if d.s.err != nil {
		d.fail()
		return
	}
	q := *(*unsafe.Pointer)(p)
	if q == nil {
		q = reflect.New(n.elem.typ).UnsafePointer()
		*(*unsafe.Pointer)(p) = q
	}
	n.elem.dec(d, n.elem, q)
}

// open enters an object or array (c is '{' or '['): false for null (consumed) and, with the plan
// given up, for anything else.
func (d *argDecoder) open(c byte) bool {
	switch d.s.peek() {
	case c:
		d.s.i++
		return d.enter()
	case 'n':
		d.s.null()
	default:
		d.fail()
	}
	return false
}

func decStruct(d *argDecoder, n *decNode, p unsafe.Pointer) {
	if !d.open('{') {
		return
	}
	var seen uint64
	for count := 0; ; {
		key, ok := d.s.member(&count)
		if !ok {
			break
		}
		i := n.field(key)
		if i < 0 || seen&(1<<i) != 0 {
			d.fail() // unknown (or case-folded) key, or a duplicate: encoding/json decides
			return
		}
		seen |= 1 << i
		f := &n.fields[i]
		f.node.dec(d, f.node, unsafe.Add(p, f.off))
	}
	d.depth--
}

// field returns the index of the field named exactly key, or -1.
func (n *decNode) field(key string) int {
	w := keyWord(key)
	for i := range n.fields {
		f := &n.fields[i]
		if f.w0 == w && len(f.name) == len(key) && (len(key) <= 8 || f.name[8:] == key[8:]) {
			return i
		}
	}
	return -1
}

// sliceHeader is the layout of a slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

func decSlice(d *argDecoder, n *decNode, p unsafe.Pointer) {
	if !d.open('[') {
		return
	}
	h := (*sliceHeader)(p)
	i := 0
	for count := 0; d.s.element(&count); i++ {
		if i == h.cap {
			v := reflect.NewAt(n.typ, p).Elem()
			grown := reflect.MakeSlice(n.typ, i, max(4, 2*i))
			reflect.Copy(grown, v)
			v.Set(grown)
		}
		h.len = i + 1
		n.elem.dec(d, n.elem, unsafe.Add(h.data, uintptr(i)*n.size))
	}
	if i == 0 {
		reflect.NewAt(n.typ, p).Elem().Set(reflect.MakeSlice(n.typ, 0, 0))
	}
	d.depth--
}

// key reads an object member's key for a map: a copy, or false at the end of the object (consumed)
// or with the plan given up.
func (d *argDecoder) key(count *int) (string, bool) {
	k, ok := d.s.member(count)
	switch {
	case !ok:
		return "", false
	case !utf8.ValidString(k):
		d.fail()
		return "", false
	case inside(k, d.s.b):
		k = strings.Clone(k)
	}
	return k, true
}

func decMap(d *argDecoder, n *decNode, p unsafe.Pointer) {
	if !d.open('{') {
		return
	}
	m := reflect.NewAt(n.typ, p).Elem()
	if m.IsNil() {
		m.Set(reflect.MakeMap(n.typ))
	}
	kt := n.typ.Key()
	for count := 0; ; {
		k, ok := d.key(&count)
		if !ok {
			break
		}
		v := reflect.New(n.elem.typ)
		n.elem.dec(d, n.elem, v.UnsafePointer())
		if d.bail {
			return
		}
		m.SetMapIndex(reflect.ValueOf(k).Convert(kt), v.Elem())
	}
	d.depth--
}

func decStringMap(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	if !d.open('{') {
		return
	}
	m := (*map[string]string)(p)
	if *m == nil {
		*m = map[string]string{}
	}
	for count := 0; ; {
		k, ok := d.key(&count)
		if !ok {
			break
		}
		var v string
		decString(d, nil, unsafe.Pointer(&v))
		(*m)[k] = v
	}
	d.depth--
}

func decAnyMap(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	m := (*map[string]any)(p)
	if d.s.peek() != '{' {
		d.open('{') // null or a mismatch
		return
	}
	if *m == nil {
		*m = map[string]any{}
	}
	d.objectInto(*m)
}

func decAny(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	*(*any)(p) = d.anyValue()
}

// anyValue reads any value as encoding/json decodes it into an empty interface: map[string]any,
// []any, string, float64, bool or nil.
func (d *argDecoder) anyValue() any {
	switch c := d.s.peek(); {
	case c == '"':
		v, _ := d.str()
		return v
	case c == '{':
		m := map[string]any{}
		d.objectInto(m)
		return m
	case c == '[':
		return d.arrayValue()
	case c == 't' || c == 'f':
		return d.s.bool()
	case c == 'n':
		d.s.null()
	default:
		if num, _, ok := d.number(); ok {
			f, ok := parseFloat(num)
			if !ok {
				d.fail()
			}
			return f
		}
	}
	return nil
}

// objectInto reads an object (the next byte is '{') into m.
func (d *argDecoder) objectInto(m map[string]any) {
	d.s.i++
	if !d.enter() {
		return
	}
	for count := 0; ; {
		k, ok := d.key(&count)
		if !ok {
			break
		}
		m[k] = d.anyValue()
	}
	d.depth--
}

func (d *argDecoder) arrayValue() []any {
	d.s.i++
	if !d.enter() {
		return nil
	}
	a := []any{}
	for count := 0; d.s.element(&count); {
		a = append(a, d.anyValue())
	}
	d.depth--
	return a
}

func decRaw(d *argDecoder, _ *decNode, p unsafe.Pointer) {
	raw := d.s.raw()
	if d.s.err != nil {
		d.fail()
		return
	}
	*(*json.RawMessage)(p) = bytes.Clone(raw)
}

// decFallback decodes a value of a type the plan does not cover with encoding/json, strictly, from
// its text.
func decFallback(d *argDecoder, n *decNode, p unsafe.Pointer) {
	raw := d.s.raw()
	if d.s.err != nil {
		d.fail()
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.NewAt(n.typ, p).Interface()); err != nil {
		d.fail()
	}
}
