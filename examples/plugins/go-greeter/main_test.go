package main

import (
	"context"
	"errors"
	"testing"

	"github.com/agentfleet/fleet/sdk"
)

// TestGreet runs the tool natively through sdk.Invoke: the same dispatch the host reaches through
// fleet_call, minus WebAssembly.
func TestGreet(t *testing.T) {
	tests := []struct {
		args, want, code string
	}{
		{`{"name":"Ada"}`, `{"greeting":"Hello, Ada!"}`, ""},
		{`{"name":"Ada","language":"fr"}`, `{"greeting":"Bonjour, Ada!"}`, ""},
		{`{"name":"  "}`, "", "empty_name"},
		{`{"nom":"Ada"}`, "", sdk.CodeInvalidArguments},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			out, err := sdk.Invoke(context.Background(), "greet", []byte(tt.args))
			var te *sdk.ToolError
			switch {
			case tt.code == "" && (err != nil || string(out) != tt.want):
				t.Errorf("greet(%s) = %s, %v; want %s", tt.args, out, err, tt.want)
			case tt.code != "" && (!errors.As(err, &te) || te.Code != tt.code):
				t.Errorf("greet(%s): err = %v; want code %s", tt.args, err, tt.code)
			}
		})
	}
}
