package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// argsValidator checks a tool's arguments against its parameters schema. It is built once per tool.
type argsValidator struct {
	// schema is nil when the schema accepts every JSON object: the check is then only that the
	// arguments are one.
	schema *jsonschema.Schema
	// emptyErr is the verdict on {} (and on empty arguments), computed once.
	emptyErr error
}

// noRemoteLoader refuses every $ref outside the schema itself: a plugin's schema must not make the
// host read files or the network.
type noRemoteLoader struct{}

func (noRemoteLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema reference %s is outside the descriptor", url)
}

// permissiveKeys are keywords that do not constrain an object.
var permissiveKeys = map[string]bool{"title": true, "description": true, "$schema": true, "$comment": true, "examples": true, "default": true}

// permissive reports whether schema s accepts every JSON object.
func permissive(s any) bool {
	switch v := s.(type) {
	case bool:
		return v
	case map[string]any:
		for k, val := range v {
			switch {
			case permissiveKeys[k]:
			case k == "type" && val == "object":
			case k == "properties" && isEmptyObject(val):
			default:
				return false
			}
		}
		return true
	}
	return false
}

func isEmptyObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// compileSchema compiles a tool's parameters schema (draft 2020-12 unless it says otherwise).
func compileSchema(tool string, raw json.RawMessage) (*argsValidator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parameters is not JSON: %w", err)
	}
	v := &argsValidator{}
	if !permissive(doc) {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.UseLoader(noRemoteLoader{})
		loc := "fleet:///tools/" + tool + "/parameters.json"
		if err := c.AddResource(loc, doc); err != nil {
			return nil, fmt.Errorf("parameters: %w", err)
		}
		if v.schema, err = c.Compile(loc); err != nil {
			return nil, fmt.Errorf("parameters: %s", firstLine(err.Error()))
		}
	}
	v.emptyErr = v.validate([]byte("{}"))
	return v, nil
}

var emptyArgs = []byte("{}")

// isEmpty reports whether args are absent or {} (with any surrounding white space).
func isEmpty(args []byte) bool {
	t := bytes.TrimSpace(args)
	return len(t) == 0 || bytes.Equal(t, emptyArgs) || (len(t) > 1 && t[0] == '{' && t[len(t)-1] == '}' && len(bytes.TrimSpace(t[1:len(t)-1])) == 0)
}

// check validates args and returns nil or an error naming the failing field. Empty arguments and {}
// cost nothing: their verdict is computed once.
func (v *argsValidator) check(args []byte) error {
	if isEmpty(args) {
		return v.emptyErr
	}
	return v.validate(args)
}

func (v *argsValidator) validate(args []byte) error {
	t := bytes.TrimLeft(args, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return errors.New("arguments must be a JSON object")
	}
	if v.schema == nil {
		if !json.Valid(args) {
			return errors.New("arguments are not valid JSON")
		}
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	if err := v.schema.Validate(inst); err != nil {
		return describeValidation(err)
	}
	return nil
}

// describeValidation turns a schema validation error into one line per failing field.
func describeValidation(err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var msgs []string
	var walk func(u *jsonschema.OutputUnit)
	walk = func(u *jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			loc := u.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			msgs = append(msgs, fmt.Sprintf("at %s: %s", loc, u.Error.String()))
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(ve.BasicOutput())
	if len(msgs) == 0 {
		msgs = append(msgs, firstLine(ve.Error()))
	}
	return errors.New(strings.Join(msgs, "; "))
}
