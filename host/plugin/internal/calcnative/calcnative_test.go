package calcnative

import (
	"bytes"
	"os"
	"testing"
)

// TestCopyIsCurrent fails when plugins/calc/eval.go changed since eval.go was generated: run
// `go generate ./host/plugin/internal/calcnative`.
func TestCopyIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../../../../plugins/calc/eval.go")
	if err != nil {
		t.Skipf("plugins/calc not present: %v", err)
	}
	copied, err := os.ReadFile("eval.go")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Replace(src, []byte("package main\n"), []byte("package calcnative\n"), 1)
	if !bytes.Equal(want, copied) {
		t.Fatal("eval.go is stale: run go generate ./host/plugin/internal/calcnative")
	}
}

func TestCalculate(t *testing.T) {
	out, err := Calculate([]byte(`{"expression":"17*23"}`))
	if err != nil || string(out) != `{"expression":"17*23","result":391}` {
		t.Fatalf("Calculate = %s, %v", out, err)
	}
}
