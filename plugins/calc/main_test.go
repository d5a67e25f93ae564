package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/sdk"
)

func TestCalculate(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"17*23", `{"expression":"17*23","result":391}`},
		{"  1 + 2 * 3 ", `{"expression":"1 + 2 * 3","result":7}`},
		{"(1+2)*3", `{"expression":"(1+2)*3","result":9}`},
		{"10-4-3", `{"expression":"10-4-3","result":3}`},
		{"2^3^2", `{"expression":"2^3^2","result":512}`},
		{"-2^2", `{"expression":"-2^2","result":-4}`},
		{"(-2)^2", `{"expression":"(-2)^2","result":4}`},
		{"2^-1", `{"expression":"2^-1","result":0.5}`},
		{"--3", `{"expression":"--3","result":3}`},
		{"+3", `{"expression":"+3","result":3}`},
		{"7 % 3", `{"expression":"7 % 3","result":1}`},
		{"-7 % 3", `{"expression":"-7 % 3","result":-1}`},
		{"1/4", `{"expression":"1/4","result":0.25}`},
		{".5 + 1.25", `{"expression":".5 + 1.25","result":1.75}`},
		{"1.5e3", `{"expression":"1.5e3","result":1500}`},
		{"2E-2", `{"expression":"2E-2","result":0.02}`},
		{"sqrt(16) + abs(-2)", `{"expression":"sqrt(16) + abs(-2)","result":6}`},
		{"floor(2.7)+ceil(2.1)", `{"expression":"floor(2.7)+ceil(2.1)","result":5}`},
		{"round(2.5)", `{"expression":"round(2.5)","result":3}`},
		{"round(-2.5)", `{"expression":"round(-2.5)","result":-3}`},
		{"round(pi, 2)", `{"expression":"round(pi, 2)","result":3.14}`},
		{"min(3, 1, 2) + max(4, 9)", `{"expression":"min(3, 1, 2) + max(4, 9)","result":10}`},
		{"PI", `{"expression":"PI","result":3.141592653589793}`},
		{"e", `{"expression":"e","result":2.718281828459045}`},
		{"2*e", `{"expression":"2*e","result":5.43656365691809}`},
		{"0*-1", `{"expression":"0*-1","result":0}`},
		{"0.1+0.2", `{"expression":"0.1+0.2","result":0.30000000000000004}`},
		{"1e20*10", `{"expression":"1e20*10","result":1e+21}`},
		{"5.", `{"expression":"5.","result":5}`},
		{"123456789012345", `{"expression":"123456789012345","result":123456789012345}`},
		{"1234567890123456789", `{"expression":"1234567890123456789","result":1234567890123456800}`},
		{"0.1234567890123456789", `{"expression":"0.1234567890123456789","result":0.12345678901234568}`},
		{"2 ^ 3 ^ 2", `{"expression":"2 ^ 3 ^ 2","result":512}`},
		{"2 ^ -1", `{"expression":"2 ^ -1","result":0.5}`},
		{"SQRT(16) + Max(1, 2)", `{"expression":"SQRT(16) + Max(1, 2)","result":6}`},
		{"max(3, 1, 2) - min(3, 1, 2)", `{"expression":"max(3, 1, 2) - min(3, 1, 2)","result":2}`},
		{"1 - 2 - 3 * 4 / 2 % 5", `{"expression":"1 - 2 - 3 * 4 / 2 % 5","result":-2}`},
		{strings.Repeat("(", 30) + "1" + strings.Repeat(")", 30), `{"expression":"` + strings.Repeat("(", 30) + "1" + strings.Repeat(")", 30) + `","result":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			args, _ := json.Marshal(calculateArgs{Expression: tt.expr})
			out, err := sdk.Invoke(context.Background(), "calculate", args)
			if err != nil || string(out) != tt.want {
				t.Errorf("calculate(%q) = %s, %v; want %s", tt.expr, out, err, tt.want)
			}
		})
	}
}

func TestCalculateErrors(t *testing.T) {
	tests := []struct {
		expr string
		code string
		msg  string
	}{
		{"1/0", "division_by_zero", "1/0: division by zero at position 2"},
		{"5 % (2-2)", "division_by_zero", "5 % (2-2): modulo by zero at position 3"},
		{"", "syntax_error", ": empty expression"},
		{"   ", "syntax_error", ": empty expression"},
		{"2+", "syntax_error", "2+: expected a number, name or ( but found end of expression at position 3"},
		{"2*(3+4", "syntax_error", "2*(3+4: expected ) but found \"end of expression\" at position 7"},
		{"2 3", "syntax_error", "2 3: unexpected \"3\" at position 3"},
		{"2 $ 3", "syntax_error", "2 $ 3: unexpected \"$\" at position 3"},
		{"é+1", "syntax_error", "é+1: expected a number, name or ( but found \"é\" at position 1"},
		{"1+é", "syntax_error", "1+é: expected a number, name or ( but found \"é\" at position 3"},
		{"1..2", "syntax_error", "1..2: unexpected \".\" at position 3"},
		{".", "syntax_error", ".: malformed number \".\" at position 1"},
		{"2e", "syntax_error", "2e: unexpected \"e\" at position 2"},
		{"foo(1)", "unknown_name", "foo(1): unknown name \"foo\" (functions: sqrt abs floor ceil round min max; constants: pi e) at position 1"},
		{"import os", "unknown_name", "import os: unknown name \"import\" (functions: sqrt abs floor ceil round min max; constants: pi e) at position 1"},
		{"sqrt 4", "syntax_error", "sqrt 4: expected ( after sqrt but found \"4\" at position 6"},
		{"sqrt(1,2)", "syntax_error", "sqrt(1,2): sqrt takes 1 argument(s) at position 1"},
		{"min()", "syntax_error", "min(): min takes 1 to 64 arguments at position 1"},
		{"round(1,2,3)", "syntax_error", "round(1,2,3): round takes 1 or 2 arguments at position 1"},
		{"max(1;2)", "syntax_error", "max(1;2): expected , or ) but found \";\" at position 6"},
		{"sqrt(-1)", "domain_error", "sqrt(-1): sqrt of a negative number at position 1"},
		{"round(1, 0.5)", "domain_error", "round(1, 0.5): round: decimal places must be a whole number from 0 to 15 at position 1"},
		{"10^400", "out_of_range", "10^400: result out of range at position 3"},
		{"1e308*10", "out_of_range", "1e308*10: result out of range at position 6"},
		{"(-8)^(1/3)", "out_of_range", "(-8)^(1/3): result out of range at position 5"},
		{"1e999", "syntax_error", "1e999: malformed number \"1e999\" at position 1"},
		{"2 + 3 $", "syntax_error", "2 + 3 $: unexpected \"$\" at position 7"},
		{"(1", "syntax_error", "(1: expected ) but found \"end of expression\" at position 3"},
		{"1 / (2 - 2) + 1", "division_by_zero", "1 / (2 - 2) + 1: division by zero at position 3"},
		{strings.Repeat("(", 70) + "1" + strings.Repeat(")", 70), "too_deep", ""},
		{strings.Repeat("-", 70) + "1", "too_deep", ""},
		{strings.Repeat("1+", 600) + "1", "too_long", ""},
		{"max(" + strings.Repeat("1,", 64) + "1)", "too_long", ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			args, _ := json.Marshal(calculateArgs{Expression: tt.expr})
			out, err := sdk.Invoke(context.Background(), "calculate", args)
			var te *sdk.ToolError
			if !errors.As(err, &te) || te.Code != tt.code || tt.msg != "" && te.Message != tt.msg {
				t.Errorf("calculate(%q) = %s, %#v; want code %q, message %q", tt.expr, out, err, tt.code, tt.msg)
			}
		})
	}
}

func TestCalculateInvalidArguments(t *testing.T) {
	_, err := sdk.Invoke(context.Background(), "calculate", []byte(`{"expr":"1+1"}`))
	if !errors.Is(err, sdk.ErrInvalidArguments) {
		t.Errorf("err = %v, want ErrInvalidArguments", err)
	}
}
