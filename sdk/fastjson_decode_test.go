package sdk

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScannerStrings(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{`"plain"`, "plain", ""},
		{`""`, "", ""},
		{`null`, "", ""},
		{`"a long string of more than sixteen bytes, twice over"`, "a long string of more than sixteen bytes, twice over", ""},
		{`"tab\tnew\nquote\"back\\slash\/"`, "tab\tnew\nquote\"back\\slash/", ""},
		{`"\b\f\r"`, "\b\f\r", ""},
		{`"\u00e9t\u00E9 \u2028"`, "été \u2028", ""},
		{`"\ud83d\ude00 pair"`, "😀 pair", ""},
		{`"\ud83d lone"`, "\ufffd lone", ""},
		{`"\ude00\u0041"`, "\ufffdA", ""},
		{`"日本語 é"`, "日本語 é", ""},
		{`"\x"`, "", "invalid escape"},
		{`"\u12"`, "", "invalid escape"},
		{"\"raw\nnewline\"", "", "control character"},
		{"\"raw\x01\"", "", "control character"},
		{`"unterminated`, "", "unterminated"},
		{`"unterminated\"`, "", "unterminated"},
		{`12`, "", "want a string"},
	} {
		var arena []byte
		s := scanner{b: []byte(tt.in), arena: &arena}
		got := s.str()
		switch {
		case tt.err == "" && (s.err != nil || got != tt.want):
			t.Errorf("str(%s) = %q, %v; want %q", tt.in, got, s.err, tt.want)
		case tt.err != "" && (s.err == nil || !strings.Contains(s.err.Error(), tt.err)):
			t.Errorf("str(%s): error %v, want one containing %q", tt.in, s.err, tt.err)
		}
	}
}

func TestScannerNumbers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"42", 42, true}, {"-17", -17, true}, {"null", 0, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false}, {"1.5", 0, false}, {"1e3", 0, false}, {"01", 0, false},
		{"-", 0, false}, {"+1", 0, false}, {`"1"`, 0, false}, {"", 0, false},
	} {
		s := scanner{b: []byte(tt.in)}
		got := s.int()
		if s.end(); (s.err == nil) != tt.ok || got != tt.want {
			t.Errorf("int(%q) = %d, %v; want %d, ok %v", tt.in, got, s.err, tt.want, tt.ok)
		}
	}
	s := scanner{b: []byte("-3")}
	if s.uint(); s.err == nil {
		t.Error("uint(-3) did not fail")
	}
}

// TestScannerSkip checks skip against encoding/json's idea of valid JSON.
func TestScannerSkip(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"d"}`, ` { "a" : 1 , "b" : [ true , false ] } `, `-1.5e+10`, `0.5E-3`,
		`"\u0041"`, `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `[1 2]`, `01`, `1.`, `1e`, `.5`, `tru`, `nul`, `[`, `{"a":`,
		`"\q"`, "\"\x1f\"", `[1]]`, `{"a":1}}`, ``, ` `, `-`, `--1`, `1.5.5`, `[[[[]]]]`, `{"a":{"b":{"c":{}}}}`,
	} {
		s := scanner{b: []byte(in)}
		s.skip()
		s.end()
		if got, want := s.err == nil, json.Valid([]byte(in)); got != want {
			t.Errorf("skip(%q): valid %v (%v), encoding/json says %v", in, got, s.err, want)
		}
	}
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	s := scanner{b: []byte(deep)}
	if s.skip(); s.err == nil || !strings.Contains(s.err.Error(), "deep") {
		t.Errorf("skip of %d nested arrays: %v", maxDepth+2, s.err)
	}
}

// TestDecoder decodes an object of every kind of member (strings in an array, an int, a bool, a
// skipped object, a null, a raw object), then checks that a missing comma and Uint of a negative
// number fail.
func TestDecoder(t *testing.T) {
	d := NewDecoder([]byte(` {"open": ["m1", "m\u00e92"], "n": 3, "ok": true, "skip": {"x": [1]}, "none": null, "raw": {"a":1}} `))
	if !d.Object() {
		t.Fatal(d.Err())
	}
	var got decoded
	for k, more := d.Next(); more; k, more = d.Next() {
		got.member(t, d, k)
	}
	d.End()
	if d.Err() != nil || strings.Join(got.open, ",") != "m1,mé2" || got.n != 3 || !got.ok || string(got.raw) != `{"a":1}` {
		t.Errorf("decoded %q %d %v %s, err %v", got.open, got.n, got.ok, got.raw, d.Err())
	}
	bad := NewDecoder([]byte(`{"a":1 "b":2}`))
	bad.Object()
	for _, more := bad.Next(); more; _, more = bad.Next() {
		bad.Skip()
	}
	if bad.Err() == nil || !strings.Contains(bad.Err().Error(), "at byte 7") {
		t.Errorf("missing comma: %v", bad.Err())
	}
	if u := NewDecoder([]byte(`-1`)); u.Uint() != 0 || u.Err() == nil {
		t.Error("Uint(-1) did not fail")
	}
}

// decoded is what TestDecoder reads from its object.
type decoded struct {
	open []string
	n    int64
	ok   bool
	raw  json.RawMessage
}

// member decodes the value of TestDecoder's member k, skipping those it does not know.
func (r *decoded) member(t *testing.T, d *Decoder, k string) {
	t.Helper()
	switch k {
	case "open":
		if d.Array() {
			for d.More() {
				r.open = append(r.open, d.String())
			}
		}
	case "n":
		r.n = d.Int()
	case "ok":
		r.ok = d.Bool()
	case "none":
		if d.Array() {
			t.Error("Array of null entered an array")
		}
	case "raw":
		r.raw = d.Raw()
	default:
		d.Skip()
	}
}

func TestJSONWriter(t *testing.T) {
	var j JSON
	j.Object("").String("s", "a\"b\n<é>\u2028\xff").Int("i", -3).Uint("u", 7).Float("f", 0.5).Float("nan", nan()).
		Bool("b", true).Null("n").OptString("empty", "").OptString("set", "x").
		Raw("raw", []byte(" {\"a\":[1]} \n")).Raw("nil", nil).OptRaw("optnull", []byte("null")).OptRaw("optset", []byte("2")).
		Array("arr").String("", "x").Object("").End().Array("").End().End().
		StringBytes("text", []byte(`{"k":1}`)).End()
	want := `{"s":"a\"b\n<é>\u2028\ufffd","i":-3,"u":7,"f":0.5,"nan":null,"b":true,"n":null,"set":"x","raw":{"a":[1]},"nil":null,"optset":2,"arr":["x",{},[]],"text":"{\"k\":1}"}`
	if got := string(j.Bytes()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid(j.Bytes()) || j.Depth() != 0 {
		t.Errorf("invalid or open: depth %d", j.Depth())
	}
	j.Reset()
	if j.Len() != 0 {
		t.Error("Reset left bytes")
	}
	for name, fn := range map[string]func(){
		"End without open": func() { var j JSON; j.End() },
		"too deep": func() {
			var j JSON
			for range 65 {
				j.Array("")
			}
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			fn()
		}()
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

// FuzzScanner checks the scanner against encoding/json: skip accepts exactly the valid JSON texts,
// and a string decodes to what encoding/json decodes.
func FuzzScanner(f *testing.F) {
	for _, seed := range []string{`{"a":[1,2.5e3,"x\n"],"b":null}`, `"\ud83d\ude00"`, `"\ud83d"`, `[1,]`, `"é\u00e9"`,
		`{"v":1,"type":"x"}`, "\"\xff\"", `1e999`, `-0.0`, `[[{}]]`, `"\\\"/"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := scanner{b: in}
		s.skip()
		s.end()
		if got, want := s.err == nil, json.Valid(in); got != want {
			t.Fatalf("skip(%q): valid %v (%v), encoding/json says %v", in, got, s.err, want)
		}
		var arena []byte
		s = scanner{b: in, arena: &arena}
		got := s.str()
		s.end()
		var want string
		err := json.Unmarshal(in, &want)
		if (s.err == nil) != (err == nil) && len(in) > 0 && in[0] == '"' {
			t.Fatalf("str(%q): %v; encoding/json: %v", in, s.err, err)
		}
		if s.err == nil && err == nil && utf8.ValidString(got) && got != want {
			t.Fatalf("str(%q) = %q, encoding/json %q", in, got, want)
		}
	})
}

// FuzzJSONString checks JSON.String (both its plain fast path and the escaping one) against
// encoding/json.
func FuzzJSONString(f *testing.F) {
	f.Add("type", "TEXT_MESSAGE_CONTENT", "a")
	f.Add("k\"ey", "v\n\u2028\xff", "")
	f.Add("", "x", "y")
	f.Fuzz(func(t *testing.T, k, v, w string) {
		var j JSON
		j.Object("").String("first", w).String(k, v).End()
		want, _ := encodingJSON(t, struct {
			First string `json:"first"`
		}{w})
		if k == "" {
			return // an empty key writes a bare value: not an object member
		}
		kv, _ := encodingJSON(t, k)
		vv, _ := encodingJSON(t, v)
		want = want[:len(want)-1] + "," + kv + ":" + vv + "}"
		if got := string(j.Bytes()); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}
