// Package calcnative is the first-party calc plugin's evaluator compiled natively, the baseline of
// BenchmarkCalc in host/plugin: the same Go code run in-process against run as WebAssembly through
// the plugin ABI. eval.go is a generated copy of plugins/calc/eval.go (package main there, so it
// cannot be imported); TestCopyIsCurrent fails when the two differ.
package calcnative

//go:generate sh -c "sed 's/^package main$/package calcnative/' ../../../../plugins/calc/eval.go > eval.go"

import "encoding/json"

type args struct {
	Expression string `json:"expression"`
}

type calculation struct {
	Expression string  `json:"expression"`
	Result     float64 `json:"result"`
}

// Calculate does natively what the plugin's calculate tool does: decode the arguments, evaluate,
// encode the result.
func Calculate(in []byte) ([]byte, error) {
	var a args
	if err := json.Unmarshal(in, &a); err != nil {
		return nil, err
	}
	v, err := evaluate(a.Expression)
	if err != nil {
		return nil, err
	}
	return json.Marshal(calculation{Expression: a.Expression, Result: v})
}
