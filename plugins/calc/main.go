// Command calc is the first-party Fleet plugin "calc": safe arithmetic for agents, with one tool,
// "calculate". It evaluates expressions with its own recursive-descent parser (no eval) and needs no
// capabilities. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o calc.wasm .
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/agentfleet/fleet/plugins/calc/expr"
	"github.com/agentfleet/fleet/sdk"
)

type calculateArgs struct {
	Expression string `json:"expression" desc:"Arithmetic such as 17*23 or (2+3)^2/sqrt(16): + - * / % ^, parentheses, decimals, sqrt abs floor ceil round min max, pi e."`
}

type calculation struct {
	Expression string  `json:"expression"`
	Result     float64 `json:"result"`
}

func calculate(_ context.Context, a calculateArgs) (calculation, error) {
	src := strings.TrimSpace(a.Expression)
	v, err := expr.Evaluate(src)
	if err != nil {
		var ee *expr.Error
		if errors.As(err, &ee) {
			return calculation{}, sdk.Errorf(ee.Code(), "%s: %s", src, ee.Error())
		}
		return calculation{}, err
	}
	return calculation{Expression: src, Result: v}, nil
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "calc",
		Version:     "1.0.0",
		Description: "Safe arithmetic: evaluates expressions exactly as written, without eval.",
		Tools: []sdk.Tool{
			sdk.NewTool("calculate", "Evaluate an arithmetic expression such as 17*23 and return its numeric result.", calculate),
		},
	})
}

func main() {}
