package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The plans must decide exactly as encoding/json does: these types cover every kind the plans handle
// themselves and every reason to leave a value to encoding/json.

type planKey string

// planText has its own text forms, so the plans leave it to encoding/json.
type planText string

func (t *planText) UnmarshalText(b []byte) error {
	if string(b) == "bad" {
		return errors.New("bad text")
	}
	*t = planText("T:" + string(b))
	return nil
}

func (t planText) MarshalText() ([]byte, error) { return []byte("<" + string(t) + ">"), nil }

type planInner struct {
	N    int        `json:"n"`
	S    string     `json:"s,omitempty"`
	Next *planInner `json:"next,omitempty"`
}

// planEmbedded and planQuoted are left to encoding/json as a whole.
type planEmbedded struct {
	planInner
	X int `json:"x"`
}

type planQuoted struct {
	N int `json:"n,string"`
}

type planArgs struct {
	S      string            `json:"s"`
	B      bool              `json:"b"`
	I      int               `json:"i"`
	I8     int8              `json:"i8"`
	I16    int16             // no tag: named I16
	I32    int32             `json:"i32,omitempty"`
	I64    int64             `json:"i64"`
	U      uint              `json:"u"`
	U8     uint8             `json:"u8"`
	U16    uint16            `json:"u16"`
	U32    uint32            `json:"u32"`
	U64    uint64            `json:"u64"`
	F32    float32           `json:"f32"`
	F64    float64           `json:"f64"`
	P      *int              `json:"p"`
	PS     *planInner        `json:"ps"`
	L      []string          `json:"l"`
	LI     []planInner       `json:"li"`
	M      map[string]int    `json:"m"`
	MS     map[string]string `json:"ms"`
	MA     map[string]any    `json:"ma"`
	MK     map[planKey]*int  `json:"mk"`
	Num    json.Number       `json:"num"`
	A      any               `json:"a"`
	R      json.RawMessage   `json:"r"`
	In     planInner         `json:"in"`
	T      time.Time         `json:"t"`
	Arr    [2]int            `json:"arr"`
	By     []byte            `json:"by"`
	Tx     planText          `json:"tx"`
	E      error             `json:"e"`
	Emb    planEmbedded      `json:"emb"`
	Q      planQuoted        `json:"q"`
	Skip   int               `json:"-"`
	Dash   int               `json:"-,"`
	Odd    int               `json:"a\\b"` // not a valid tag name: the field's name is used
	hidden int
}

// checkDecode decodes in into an A with the plan and with encoding/json and fails on any difference
// of value or error.
func checkDecode[A any](t *testing.T, in []byte) {
	t.Helper()
	var got, want A
	var d argDecoder
	gerr := decodeArgs(&d, argPlan(reflect.TypeFor[A]()), in, &got)
	werr := decodeStrict(in, &want)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%T from %q: error %v; encoding/json: %v", got, in, gerr, werr)
	}
	if gerr != nil {
		return
	}
	gotJSON, _ := json.Marshal(got) // tells -0 from 0, which DeepEqual does not
	wantJSON, _ := json.Marshal(want)
	if !reflect.DeepEqual(got, want) || !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("%T from %q:\n got %#v\nwant %#v", got, in, got, want)
	}
}

func checkDecodeAll(t *testing.T, in []byte) {
	t.Helper()
	checkDecode[planArgs](t, in)
	checkDecode[*planArgs](t, in)
	checkDecode[map[string]any](t, in)
	checkDecode[map[planKey]planInner](t, in)
	checkDecode[map[string]string](t, in)
	checkDecode[any](t, in)
	checkDecode[json.RawMessage](t, in)
	checkDecode[planEmbedded](t, in)
	checkDecode[planInner](t, in)
	checkDecode[addArgs](t, in)
}

var decodeSeeds = []string{
	``, `{}`, ` { } `, `null`, `[]`, `"s"`, `1`, `{"s":"x"}`, `{"S":"x"}`, `{"s":"x","s":"y"}`, `{"zz":1}`,
	`{"s":"caf\u00e9 \ud83d\ude00 \ud800 \n","b":true,"i":-12,"i8":127,"I16":-300,"i32":7,"i64":-9007199254740993}`,
	`{"i8":128}`, `{"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,"u":3}`, `{"u8":256}`, `{"u":-1}`,
	`{"i":1.5}`, `{"i":1e2}`, `{"i":"1"}`, `{"f32":3.4e39}`, `{"f32":1.1,"f64":-0}`, `{"f64":0.1}`, `{"f64":123456789012345.6}`,
	`{"f64":1e400}`, `{"f64":1.7976931348623157e308}`, `{"f64":5e-324}`, `{"p":null,"ps":{"n":1,"next":{"n":2}}}`, `{"p":3}`,
	`{"l":["a","b"],"li":[{"n":1},{"n":2,"s":"t"}]}`, `{"l":[]}`, `{"l":null}`, `{"l":[1]}`, `{"m":{"a":1,"b":2,"a":3}}`,
	`{"ms":{"k":"v","\u00e9":"w"},"ma":{"x":[1,"two",{"three":null}],"y":true}}`, `{"mk":{"k":null,"j":5}}`,
	`{"a":{"deep":[[[{}]]]}}`, `{"a":1e999}`, `{"r":{"raw" : [1, 2]}}`, `{"r":null}`, `{"in":{"n":1,"extra":2}}`,
	`{"t":"2024-05-01T14:30:00Z"}`, `{"t":"yesterday"}`, `{"arr":[1,2,3]}`, `{"by":"aGk="}`, `{"by":[104,105]}`,
	`{"tx":"hello"}`, `{"tx":"bad"}`, `{"e":null}`, `{"e":{}}`, `{"emb":{"n":1,"x":2}}`, `{"q":{"n":"5"}}`, `{"q":{"n":5}}`,
	`{"Skip":1}`, `{"-":1}`, `{"Odd":1}`, `{"a\\b":1}`, `{"hidden":1}`, `{"s":"x"} `, `{"s":"x"} {}`, `{"s":"x"}]`,
	`{"s":"\xff"}`, `{"\xff":1}`, `{"s":"a` + "\x01" + `"}`, `{"s":tru}`, `{"b":nul}`, `{"a":1,"b":2}`, `{"A":1,"B":2}`,
	`{"n":1,"next":null,"s":""}`, `{"num":12.5e3}`, `{"num":"7"}`, `{"num":"x"}`, `{"x":{"n":1}}`, `{"k":{"n":1,"next":{"n":2,"next":null}}}`, `{"s":"x",}`, `{"s" "x"}`,
}

func TestDecodeArgsMatchesEncodingJSON(t *testing.T) {
	for _, in := range decodeSeeds {
		checkDecodeAll(t, []byte(in))
	}
}

// FuzzDecodeArgs checks the argument plans against encoding/json's strict decoding (values and error
// messages) on arbitrary input.
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkDecodeAll(t, in) })
}

type planResult struct {
	S      string              `json:"s"`
	SO     string              `json:"so,omitempty"`
	B      bool                `json:"b,omitempty"`
	I      int                 `json:"i"`
	I8     int8                `json:"i8,omitempty"`
	U16    uint16              `json:"u16"`
	F      float64             `json:"f"`
	FO     float64             `json:"fo,omitempty"`
	F32    float32             `json:"f32"`
	P      *bool               `json:"p"`
	PO     *planInner          `json:"po,omitempty"`
	L      []string            `json:"l"`
	LO     []int               `json:"lo,omitempty"`
	LZ     []int               `json:"lz,omitzero"`
	M      map[string]int      `json:"m"`
	MS     map[string]string   `json:"ms,omitempty"`
	MA     map[string]any      `json:"ma"`
	MK     map[planKey]float64 `json:"mk"`
	A      any                 `json:"a"`
	AO     any                 `json:"ao,omitempty"`
	E      error               `json:"e"`
	R      json.RawMessage     `json:"r"`
	RO     json.RawMessage     `json:"ro,omitempty"`
	By     []byte              `json:"by"`
	Arr    [2]int8             `json:"arr"`
	In     planInner           `json:"in"`
	InZ    planInner           `json:"inz,omitzero"`
	Odd    int                 `json:"a\\b"`
	Skip   int                 `json:"-"`
	hidden int
}

// referenceRegion is the result region the SDK wrote before it had plans: a valid json.RawMessage
// as it is, anything else as encoding/json encodes it with HTML escaping off.
func referenceRegion(t *testing.T, v any) []byte {
	if raw, ok := v.(json.RawMessage); ok && len(raw) > 0 && json.Valid(raw) {
		return append([]byte{statusOK}, raw...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		r := newResponse()
		r.fail(statusToolError, "", "sdk: encoding result: "+err.Error())
		return r.bytes()
	}
	return append([]byte{statusOK}, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

// checkResult returns v from a tool and compares the region with the reference.
func checkResult[R any](t *testing.T, v R) {
	t.Helper()
	tool := NewTool("r", "", func(context.Context, struct{}) (R, error) { return v, nil })
	r := newResponse()
	tool.handle(context.Background(), nil, r)
	if want := referenceRegion(t, v); !bytes.Equal(r.bytes(), want) {
		t.Fatalf("result %T %#v:\n got %q\nwant %q", v, v, r.bytes(), want)
	}
}

// dynamicValue picks a value for an interface field.
func dynamicValue(sel uint8, s string, f float64, i int64, raw []byte) any {
	cycle := &planInner{N: 1}
	cycle.Next = cycle
	values := []any{nil, s, f, i, int32(i), uint8(i), true, map[string]any{s: f, "k": []any{s, nil, i}},
		[]any{}, []any{f, map[string]any{}}, planInner{N: int(i), S: s}, &planInner{N: 2, Next: &planInner{}},
		(*planInner)(nil), time.Unix(i%1e10, 0).UTC(), planText(s), json.RawMessage(raw), map[string]int{s: 1},
		map[planKey][]string{"a": {s}}, []byte(s), struct{}{}, float32(f), errors.New(s), [1]string{s}, cycle,
		map[int]string{1: s}, planEmbedded{X: 3}, &planQuoted{N: 4}, json.Number("12"), ptrTo(raw)}
	return values[int(sel)%len(values)]
}

func ptrTo[T any](v T) *T { return &v }

func resultValue(s string, f float64, i int64, raw []byte, sel uint8) planResult {
	b := sel&1 != 0
	v := planResult{S: s, SO: s[:len(s)/2], B: b, I: int(i), I8: int8(i), U16: uint16(i), F: f, F32: float32(f),
		L: strings.Fields(s), M: map[string]int{s: int(i)}, MS: map[string]string{s: s, "k": "v"},
		MA: map[string]any{s: f, "x": []any{s, i}}, MK: map[planKey]float64{planKey(s): f, "z": 1},
		A: dynamicValue(sel, s, f, i, raw), AO: dynamicValue(sel>>3, s, f, i, raw), R: raw, RO: raw,
		By: []byte(s), Arr: [2]int8{int8(i), 1}, In: planInner{N: int(i), S: s}, Odd: 7, Skip: 8, hidden: 9}
	if sel&2 != 0 {
		v.FO, v.P, v.PO, v.LO, v.LZ = f, &b, &planInner{S: s}, []int{}, []int{}
		v.E, v.InZ, v.M, v.R = errors.New(s), planInner{N: 1}, nil, nil
	}
	return v
}

func checkResultAll(t *testing.T, s string, f float64, i int64, raw []byte, sel uint8) {
	t.Helper()
	v := resultValue(s, f, i, raw, sel)
	checkResult(t, v)
	checkResult(t, &v)
	checkResult(t, s)
	checkResult(t, f)
	checkResult(t, float32(f))
	checkResult(t, json.RawMessage(raw))
	checkResult(t, dynamicValue(sel, s, f, i, raw))
	checkResult(t, []any{dynamicValue(sel, s, f, i, raw), v.MA})
	checkResult(t, map[string]planInner{s: v.In})
	checkResult(t, planEmbedded{X: int(i)})
	checkResult(t, struct{}{})
}

var resultSeeds = []struct {
	s   string
	f   float64
	i   int64
	raw string
}{
	{"plain", 1, 2, `{"a":1}`},
	{"\"quote\" \\ \n <&> \u2028 é \xff", -0.0, -1, ` [1, 2] `},
	{"", 1e21, math.MaxInt64, ``},
	{"x", 1e-7, math.MinInt64, `{"a":`},
	{"y", 123456.789, 300, `"s"`},
	{"z", math.Inf(1), 5, `null`},
	{"w", 0.1, 65536, "{\"a\":\"\xff\"}"},
	{"v", 1e15, 1, `[]`},
	{"u", 999999999999999, 1, `1e999`},
}

func TestResultMatchesEncodingJSON(t *testing.T) {
	for _, seed := range resultSeeds {
		for sel := range 64 {
			checkResultAll(t, seed.s, seed.f, seed.i, []byte(seed.raw), uint8(sel))
		}
	}
	checkResult(t, math.NaN())
	checkResult(t, float32(math.Inf(-1)))
}

// FuzzEncodeResult checks the result plans against encoding/json on values built from arbitrary
// input, errors included (NaN, invalid raw JSON, pointer cycles).
func FuzzEncodeResult(f *testing.F) {
	for _, seed := range resultSeeds {
		f.Add(seed.s, seed.f, seed.i, []byte(seed.raw), uint8(len(seed.s)))
	}
	f.Fuzz(func(t *testing.T, s string, fl float64, i int64, raw []byte, sel uint8) {
		checkResultAll(t, s, fl, i, raw, sel)
	})
}

func TestPlanCoverage(t *testing.T) {
	tests := []struct {
		typ     reflect.Type
		decoded bool // decoded by the plan, not by encoding/json as a whole
		encoded bool // encoded by the plan
	}{
		{reflect.TypeFor[planArgs](), true, false}, // its time.Time field has MarshalJSON
		{reflect.TypeFor[planInner](), true, true},
		{reflect.TypeFor[planResult](), true, true},
		{reflect.TypeFor[planEmbedded](), false, false},
		{reflect.TypeFor[planQuoted](), false, false},
		{reflect.TypeFor[map[string]any](), true, true},
		{reflect.TypeFor[map[int]string](), false, false},
		{reflect.TypeFor[time.Time](), false, false},
		{reflect.TypeFor[chan int](), false, false},
	}
	for _, tt := range tests {
		if got := !argPlan(tt.typ).fallback; got != tt.decoded {
			t.Errorf("%v decoded by the plan: %v, want %v", tt.typ, got, tt.decoded)
		}
		if got := resultPlan(tt.typ) != nil; got != tt.encoded {
			t.Errorf("%v encoded by the plan: %v, want %v", tt.typ, got, tt.encoded)
		}
	}
}
