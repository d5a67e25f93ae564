package sdk

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type schemaInner struct {
	Street string `json:"street"`
	Zip    string `json:"zip,omitempty"`
}

type schemaBase struct {
	ID   int    `json:"id" desc:"Identifier."`
	Name string `json:"name"` // shadowed by the outer struct's Name
}

type schemaOuter struct {
	schemaBase
	Name string `json:"name" desc:"Outer name."`
}

type schemaTree struct {
	Value    int          `json:"value"`
	Children []schemaTree `json:"children,omitempty"`
}

type schemaText struct{ s string }

func (t schemaText) MarshalText() ([]byte, error)  { return []byte(t.s), nil }
func (t *schemaText) UnmarshalText(b []byte) error { t.s = string(b); return nil }

func TestParametersOf(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"empty struct", reflect.TypeFor[struct{}](),
			`{"type":"object","additionalProperties":false}`},
		{"scalars in field order", reflect.TypeFor[struct {
			S string  `json:"s"`
			B bool    `json:"b"`
			I int64   `json:"i"`
			U uint8   `json:"u"`
			F float64 `json:"f"`
		}](), `{"type":"object","properties":{"s":{"type":"string"},"b":{"type":"boolean"},"i":{"type":"integer"},"u":{"type":"integer","minimum":0},"f":{"type":"number"}},"required":["s","b","i","u","f"],"additionalProperties":false}`},
		{"omitempty and omitzero are optional", reflect.TypeFor[struct {
			A string `json:"a,omitempty"`
			B int    `json:"b,omitzero"`
			C bool   `json:"c"`
		}](), `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"boolean"}},"required":["c"],"additionalProperties":false}`},
		{"untagged, skipped and unexported fields", reflect.TypeFor[struct {
			Plain   string
			Skipped string `json:"-"`
			hidden  string //nolint:unused // checks that unexported fields are left out
			Dash    string `json:"-,"`
		}](), `{"type":"object","properties":{"Plain":{"type":"string"},"-":{"type":"string"}},"required":["Plain","-"],"additionalProperties":false}`},
		{"desc and enum tags", reflect.TypeFor[struct {
			Mode  string   `json:"mode" desc:"How to run." enum:"fast, slow"`
			Level int      `json:"level,omitempty" enum:"1,2,3"`
			Ratio *float64 `json:"ratio,omitempty" enum:"0.5,1"`
			Tags  []string `json:"tags,omitempty" desc:"Labels." enum:"a,b"`
			On    bool     `json:"on,omitempty" enum:"true"`
		}](), `{"type":"object","properties":{"mode":{"type":"string","description":"How to run.","enum":["fast","slow"]},"level":{"type":"integer","enum":[1,2,3]},"ratio":{"type":"number","enum":[0.5,1]},"tags":{"type":"array","description":"Labels.","items":{"type":"string","enum":["a","b"]}},"on":{"type":"boolean","enum":[true]}},"required":["mode"],"additionalProperties":false}`},
		{"nested struct, pointer, slice of structs", reflect.TypeFor[struct {
			Home  schemaInner   `json:"home" desc:"Where."`
			Work  *schemaInner  `json:"work,omitempty"`
			Other []schemaInner `json:"other,omitempty"`
		}](), `{"type":"object","properties":{"home":{"type":"object","description":"Where.","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"required":["street"],"additionalProperties":false},"work":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"required":["street"],"additionalProperties":false},"other":{"type":"array","items":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"required":["street"],"additionalProperties":false}}},"required":["home"],"additionalProperties":false}`},
		{"maps, any, raw, bytes, arrays, time, text", reflect.TypeFor[struct {
			Counts map[string]int   `json:"counts"`
			ByID   map[int]string   `json:"by_id"`
			Free   map[string]any   `json:"free"`
			Any    any              `json:"any"`
			Raw    json.RawMessage  `json:"raw"`
			Data   []byte           `json:"data"`
			Pair   [2]float64       `json:"pair"`
			When   time.Time        `json:"when"`
			Text   schemaText       `json:"text"`
			Nested map[string][]int `json:"nested"`
		}](), `{"type":"object","properties":{"counts":{"type":"object","additionalProperties":{"type":"integer"}},"by_id":{"type":"object","additionalProperties":{"type":"string"}},"free":{"type":"object"},"any":{},"raw":{},"data":{"type":"string","contentEncoding":"base64"},"pair":{"type":"array","minItems":2,"maxItems":2,"items":{"type":"number"}},"when":{"type":"string","format":"date-time"},"text":{"type":"string"},"nested":{"type":"object","additionalProperties":{"type":"array","items":{"type":"integer"}}}},"required":["counts","by_id","free","any","raw","data","pair","when","text","nested"],"additionalProperties":false}`},
		{"embedded struct flattened, outer name wins", reflect.TypeFor[schemaOuter](),
			`{"type":"object","properties":{"id":{"type":"integer","description":"Identifier."},"name":{"type":"string","description":"Outer name."}},"required":["id","name"],"additionalProperties":false}`},
		{"string option", reflect.TypeFor[struct {
			N int `json:"n,string"`
		}](), `{"type":"object","properties":{"n":{"type":"string"}},"required":["n"],"additionalProperties":false}`},
		{"recursive type", reflect.TypeFor[schemaTree](),
			`{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"type":"object"}}},"required":["value"],"additionalProperties":false}`},
		{"pointer to struct", reflect.TypeFor[*schemaInner](),
			`{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"required":["street"],"additionalProperties":false}`},
		{"top-level map", reflect.TypeFor[map[string]string](),
			`{"type":"object","additionalProperties":{"type":"string"}}`},
		{"top-level raw message", reflect.TypeFor[json.RawMessage](), `{"type":"object"}`},
		{"top-level any", reflect.TypeFor[any](), `{"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parametersOf(tt.typ)
			if err != nil {
				t.Fatalf("parametersOf: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("schema\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParametersOfErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"not an object", reflect.TypeFor[string](), "is not a struct or map"},
		{"slice", reflect.TypeFor[[]int](), "is not a struct or map"},
		{"channel field", reflect.TypeFor[struct {
			C chan int `json:"c"`
		}](), ".c: type chan int cannot be described"},
		{"func in slice", reflect.TypeFor[struct {
			F []func() `json:"f"`
		}](), ".f[]: type func() cannot be described"},
		{"bad enum value", reflect.TypeFor[struct {
			N int `json:"n" enum:"1,two"`
		}](), `.n: enum value "two"`},
		{"enum on an object", reflect.TypeFor[struct {
			S schemaInner `json:"s" enum:"x"`
		}](), `enum tag on a field of schema type "object"`},
		{"bad map key", reflect.TypeFor[map[float64]string](), "map key type float64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parametersOf(tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewToolPanicsOnBadType(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), `NewTool "bad"`) {
			t.Fatalf("recover() = %v, want a panic naming the tool", r)
		}
	}()
	NewTool("bad", "", func(context.Context, struct{ C chan int }) (int, error) { return 0, nil })
}
