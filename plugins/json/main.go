// Command json is the first-party Fleet plugin "json": query a JSON document with a GJSON path
// ("json_query", modifiers such as @reverse and @keys included) and set a value at a path
// ("json_set"). Paths are github.com/tidwall/gjson and sjson syntax. It needs no capabilities.
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o json.wasm .
package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/agentfleet/fleet/sdk"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// maxPathLen bounds a path.
const maxPathLen = 1000

type queryArgs struct {
	Document json.RawMessage `json:"document" desc:"The JSON document: any JSON value, or a string holding JSON text."`
	Path     string          `json:"path" desc:"GJSON path such as name.first, friends.#.age, friends.#(age>40).name, @keys or items|@reverse."`
}

type queryResult struct {
	Path   string          `json:"path"`
	Exists bool            `json:"exists"`
	Value  json.RawMessage `json:"value"`
}

type setArgs struct {
	Document json.RawMessage `json:"document" desc:"The JSON document: any JSON value, or a string holding JSON text."`
	Path     string          `json:"path" desc:"SJSON path of the value to set, such as name.last, tags.-1 (append) or items.0.price."`
	Value    json.RawMessage `json:"value" desc:"The JSON value to put at the path."`
}

type setResult struct {
	Document json.RawMessage `json:"document"`
}

// documentText returns the document as JSON text: the value itself, or the text of a JSON string.
func documentText(doc json.RawMessage) (string, error) {
	var text string
	if err := json.Unmarshal(doc, &text); err != nil {
		return string(doc), nil // not a string: the document is the value itself
	}
	if !gjson.Valid(text) {
		return "", sdk.Errorf("bad_document", "document is a string that does not hold valid JSON")
	}
	return text, nil
}

func checkPath(path string) error {
	switch {
	case strings.TrimSpace(path) == "":
		return sdk.Errorf("bad_path", "path is empty (use @this for the whole document)")
	case len(path) > maxPathLen:
		return sdk.Errorf("bad_path", "path longer than %d characters", maxPathLen)
	}
	return nil
}

func query(_ context.Context, a queryArgs) (queryResult, error) {
	if err := checkPath(a.Path); err != nil {
		return queryResult{}, err
	}
	doc, err := documentText(a.Document)
	if err != nil {
		return queryResult{}, err
	}
	r := gjson.Get(doc, a.Path)
	res := queryResult{Path: a.Path, Exists: r.Exists(), Value: json.RawMessage("null")}
	switch {
	case r.Exists() && json.Valid([]byte(r.Raw)):
		res.Value = json.RawMessage(r.Raw)
	case r.Exists():
		s, _ := json.Marshal(r.String()) // a result gjson built that is not JSON text: send its string form
		res.Value = s
	}
	return res, nil
}

func set(_ context.Context, a setArgs) (setResult, error) {
	if err := checkPath(a.Path); err != nil {
		return setResult{}, err
	}
	doc, err := documentText(a.Document)
	if err != nil {
		return setResult{}, err
	}
	if len(a.Value) == 0 {
		return setResult{}, sdk.Errorf("bad_value", "value is missing")
	}
	if top := gjson.Parse(doc); !top.IsObject() && !top.IsArray() {
		return setResult{}, sdk.Errorf("bad_document", "json_set needs an object or array document, not %s", top.Type)
	}
	if strings.ContainsAny(a.Path, "|@") || strings.Contains(a.Path, "#(") {
		return setResult{}, sdk.Errorf("bad_path", "json_set paths take no queries or modifiers (| @ #(...)): %q", a.Path)
	}
	out, err := sjson.SetRaw(doc, a.Path, string(a.Value))
	if err != nil {
		return setResult{}, sdk.Errorf("bad_path", "cannot set %q: %v", a.Path, err)
	}
	if !json.Valid([]byte(out)) {
		return setResult{}, sdk.Errorf("bad_path", "setting %q does not give valid JSON (a scalar document has no paths)", a.Path)
	}
	return setResult{Document: json.RawMessage(out)}, nil
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "json",
		Version:     "1.0.0",
		Description: "Query and update JSON documents with GJSON/SJSON paths.",
		Tools: []sdk.Tool{
			sdk.NewTool("json_query", "Get the value at a GJSON path in a JSON document (supports #, wildcards, queries like #(age>40) and modifiers like @reverse, @keys, @values, @flatten).", query),
			sdk.NewTool("json_set", "Set the value at an SJSON path in a JSON document and return the updated document.", set),
		},
	})
}

func main() {}
