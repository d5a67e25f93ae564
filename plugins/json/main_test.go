package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/sdk"
)

const people = `{"name":{"first":"Tom","last":"Anderson"},"age":37,"children":["Sara","Alex","Jack"],
"friends":[{"first":"Dale","last":"Murphy","age":44},{"first":"Roger","last":"Craig","age":68},{"first":"Jane","last":"Murphy","age":47}]}`

func invoke(t *testing.T, tool string, args any) ([]byte, error) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.Invoke(context.Background(), tool, b)
}

func TestQuery(t *testing.T) {
	doc := json.RawMessage(people)
	asString, _ := json.Marshal(people)
	tests := []struct {
		name string
		doc  json.RawMessage
		path string
		want string
	}{
		{"field", doc, "name.last", `{"path":"name.last","exists":true,"value":"Anderson"}`},
		{"number", doc, "age", `{"path":"age","exists":true,"value":37}`},
		{"count", doc, "children.#", `{"path":"children.#","exists":true,"value":3}`},
		{"index", doc, "children.1", `{"path":"children.1","exists":true,"value":"Alex"}`},
		{"wildcard", doc, "child*.2", `{"path":"child*.2","exists":true,"value":"Jack"}`},
		{"all of a field", doc, "friends.#.first", `{"path":"friends.#.first","exists":true,"value":["Dale","Roger","Jane"]}`},
		{"query", doc, "friends.#(last==\"Murphy\")#.first", `{"path":"friends.#(last==\"Murphy\")#.first","exists":true,"value":["Dale","Jane"]}`},
		{"comparison", doc, "friends.#(age>45).last", `{"path":"friends.#(age>45).last","exists":true,"value":"Craig"}`},
		{"object result", doc, "friends.0", `{"path":"friends.0","exists":true,"value":{"first":"Dale","last":"Murphy","age":44}}`},
		{"reverse", doc, "children|@reverse", `{"path":"children|@reverse","exists":true,"value":["Jack","Alex","Sara"]}`},
		{"keys", doc, "name|@keys", `{"path":"name|@keys","exists":true,"value":["first","last"]}`},
		{"values", doc, "name.@values", `{"path":"name.@values","exists":true,"value":["Tom","Anderson"]}`},
		{"multipath", doc, "{name.first,age}", `{"path":"{name.first,age}","exists":true,"value":{"first":"Tom","age":37}}`},
		{"missing", doc, "name.middle", `{"path":"name.middle","exists":false,"value":null}`},
		{"document as a JSON string", asString, "friends.1.last", `{"path":"friends.1.last","exists":true,"value":"Craig"}`},
		{"array document", json.RawMessage(`[1,2,3]`), "#", `{"path":"#","exists":true,"value":3}`},
		{"this", json.RawMessage(`{"a":1}`), "@this", `{"path":"@this","exists":true,"value":{"a":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invoke(t, "json_query", queryArgs{Document: tt.doc, Path: tt.path})
			if err != nil || string(out) != tt.want {
				t.Errorf("json_query(%s) = %s, %v\nwant %s", tt.path, out, err, tt.want)
			}
		})
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name  string
		doc   json.RawMessage
		path  string
		value json.RawMessage
		want  string
	}{
		{"replace", json.RawMessage(`{"name":{"first":"Tom"}}`), "name.first", json.RawMessage(`"Ann"`), `{"document":{"name":{"first":"Ann"}}}`},
		{"add nested", json.RawMessage(`{}`), "a.b.c", json.RawMessage(`[1,{"x":true}]`), `{"document":{"a":{"b":{"c":[1,{"x":true}]}}}}`},
		{"append", json.RawMessage(`{"tags":["a"]}`), "tags.-1", json.RawMessage(`"b"`), `{"document":{"tags":["a","b"]}}`},
		{"index", json.RawMessage(`[0,1,2]`), "1", json.RawMessage(`null`), `{"document":[0,null,2]}`},
		{"document as a JSON string", json.RawMessage(`"{\"n\":1}"`), "n", json.RawMessage(`2`), `{"document":{"n":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invoke(t, "json_set", setArgs{Document: tt.doc, Path: tt.path, Value: tt.value})
			if err != nil || string(out) != tt.want {
				t.Errorf("json_set(%s) = %s, %v\nwant %s", tt.path, out, err, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, tool string
		args       any
		code       string
	}{
		{"string without JSON", "json_query", queryArgs{Document: json.RawMessage(`"not json {"`), Path: "a"}, "bad_document"},
		{"empty path", "json_query", queryArgs{Document: json.RawMessage(`{}`), Path: " "}, "bad_path"},
		{"long path", "json_query", queryArgs{Document: json.RawMessage(`{}`), Path: strings.Repeat("a.", 600)}, "bad_path"},
		{"set with a query path", "json_set", setArgs{Document: json.RawMessage(`{"a":[1]}`), Path: "a.#(b>1)", Value: json.RawMessage(`1`)}, "bad_path"},
		{"set with a modifier", "json_set", setArgs{Document: json.RawMessage(`{"a":[1]}`), Path: "a|@reverse", Value: json.RawMessage(`1`)}, "bad_path"},
		{"set on a scalar", "json_set", setArgs{Document: json.RawMessage(`5`), Path: "a", Value: json.RawMessage(`1`)}, "bad_document"},
		{"set without value", "json_set", map[string]any{"document": map[string]any{}, "path": "a"}, "bad_value"},
		{"unknown field", "json_query", map[string]any{"document": 1, "path": "a", "x": 1}, "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invoke(t, tt.tool, tt.args)
			var te *sdk.ToolError
			if !errors.As(err, &te) || te.Code != tt.code {
				t.Errorf("%s = %s, %v; want code %s", tt.tool, out, err, tt.code)
			}
		})
	}
}

// FuzzQuery checks that any path on any document answers valid JSON or a tool error.
func FuzzQuery(f *testing.F) {
	for _, s := range [][2]string{{people, "friends.#(age>45).last"}, {people, "children|@reverse"}, {`[1,[2]]`, "@flatten"},
		{`{"a":"b"}`, "a|@pretty"}, {`"x"`, "*"}, {`{"a":1}`, "{a,b:a}"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, doc, path string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		out, err := invoke(t, "json_query", queryArgs{Document: json.RawMessage(doc), Path: path})
		var te *sdk.ToolError
		if err != nil && !errors.As(err, &te) || err == nil && !json.Valid(out) {
			t.Fatalf("json_query(%q, %q) = %q, %v", doc, path, out, err)
		}
	})
}
