package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"unsafe"
)

// Tool is one tool of a tool plugin: a name, a description, the JSON Schema of its arguments and the
// function that runs it. Make one with NewTool or NewRawTool; the zero Tool is not usable.
type Tool struct {
	name        string
	description string
	params      json.RawMessage
	// handle decodes the arguments, runs the tool and writes its result or error into r.
	handle func(ctx context.Context, args []byte, r *response)
}

// Name returns the tool's name.
func (t Tool) Name() string { return t.name }

// Description returns the tool's description.
func (t Tool) Description() string { return t.description }

// Parameters returns the JSON Schema of the tool's arguments object, as sent in the descriptor.
func (t Tool) Parameters() json.RawMessage { return t.params }

// NewTool returns a tool that decodes its arguments into A, calls fn and encodes its result R as JSON.
//
// The parameters schema is derived from A once, here: A must be a struct (or a pointer to one), a map
// with string keys, or json.RawMessage/any (any object). For a struct, each exported field is a
// property named by its json tag (`json:"-"` skips it; embedded structs are flattened as
// encoding/json does); a field is required unless its tag has omitempty or omitzero. A field's
// `desc:"..."` tag gives its description and `enum:"a,b,c"` its allowed values (parsed as numbers for
// numeric fields; applied to the elements of a slice). Nested structs, slices, arrays, maps and
// pointers are followed; []byte is a base64 string, time.Time a date-time string, any an unrestricted
// value. Structs allow no additional properties, and a type that refers to itself is described as
// {"type":"object"} where it recurs. NewTool panics on a type it cannot describe (channels, funcs,
// complex numbers), so the mistake surfaces when the plugin starts.
//
// Arguments are decoded strictly: unknown fields, wrong types or trailing data make the call fail
// with ErrInvalidArguments (ABI status 2, code invalid_arguments) without calling fn. Empty input and
// {} give the zero A. Required properties are enforced by the host, which validates the arguments
// against the schema before the call; the SDK does not check them again. Decoding gives exactly what
// encoding/json's Decoder with DisallowUnknownFields gives (errors included), and the result is
// written byte for byte as encoding/json writes it with HTML escaping off; both go through plans of
// A and R built here, by reflection, and fall back to encoding/json for types and values the plans
// do not cover (see argdecode.go).
func NewTool[A, R any](name, description string, fn func(ctx context.Context, args A) (R, error)) Tool {
	if fn == nil {
		panic(fmt.Sprintf("sdk: NewTool %q: nil function", name))
	}
	params, err := parametersOf(reflect.TypeFor[A]())
	if err != nil {
		panic(fmt.Sprintf("sdk: NewTool %q: %v", name, err))
	}
	dec := argPlan(reflect.TypeFor[A]())
	enc := typedResultPlan(reflect.TypeFor[R]())
	return Tool{
		name:        name,
		description: description,
		params:      params,
		handle: func(ctx context.Context, in []byte, r *response) {
			// One allocation for both: they escape through the plans.
			v := new(struct {
				args A
				res  R
			})
			if err := decodeArgs(&r.args, dec, in, &v.args); err != nil {
				r.fail(classify(err))
				return
			}
			var err error
			v.res, err = fn(ctx, v.args)
			switch {
			case err != nil:
				r.fail(classify(err))
			case enc == nil || !r.okPlan(enc, unsafe.Pointer(&v.res)):
				r.ok(v.res)
			}
		},
	}
}

// typedResultPlan returns the plan a result of static type t is encoded with, or nil for one the
// plan does not cover, and for an interface or json.RawMessage result: those go through
// response.ok, which sends a valid json.RawMessage result as it is.
func typedResultPlan(t reflect.Type) *encNode {
	if t.Kind() == reflect.Interface || t == rawMessageType {
		return nil
	}
	return resultPlan(t)
}

// NewRawTool returns a tool that receives its arguments as raw JSON and whose result, any value, is
// encoded as JSON (a json.RawMessage result is sent as is when it is valid JSON). schema is the
// parameters JSON Schema; nil means {"type":"object"}. args aliases the SDK's input buffer and is valid
// only until fn returns: copy it to keep it.
func NewRawTool(name, description string, schema json.RawMessage, fn func(ctx context.Context, args json.RawMessage) (any, error)) Tool {
	if fn == nil {
		panic(fmt.Sprintf("sdk: NewRawTool %q: nil function", name))
	}
	if schema == nil {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	if !json.Valid(schema) {
		panic(fmt.Sprintf("sdk: NewRawTool %q: schema is not valid JSON", name))
	}
	return Tool{
		name:        name,
		description: description,
		params:      schema,
		handle: func(ctx context.Context, in []byte, r *response) {
			if len(in) == 0 {
				in = emptyObject
			}
			v, err := fn(ctx, in)
			if err != nil {
				r.fail(classify(err))
				return
			}
			r.ok(v)
		},
	}
}

var emptyObject = []byte("{}")

// decodeStrict decodes a JSON arguments object into v, rejecting unknown fields and trailing data.
func decodeStrict(in []byte, v any) error {
	if len(in) == 0 || bytes.Equal(in, emptyObject) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArguments, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the arguments object", ErrInvalidArguments)
	}
	return nil
}
