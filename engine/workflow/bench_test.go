package workflow

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// BenchmarkParse compares Parse (decode, compile, validate, hash) with goccy/go-yaml decoding the
// same bytes into a plain any, on an example and on a generated 200-agent sequential workflow.
func BenchmarkParse(b *testing.B) {
	research, err := os.ReadFile(examplesDir + "/research.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var big strings.Builder
	big.WriteString("version: 1\nname: big\nagents:\n")
	var names []string
	for i := range 200 {
		fmt.Fprintf(&big, "  - name: agent%d\n    instructions: Do step %d.\n    tools: [calculate, now]\n", i, i)
		names = append(names, fmt.Sprintf("agent%d", i))
	}
	fmt.Fprintf(&big, "sequential: [%s]\n", strings.Join(names, ", "))
	for _, in := range []struct {
		name string
		data []byte
	}{{"research", research}, {"sequential200", []byte(big.String())}} {
		b.Run(in.name+"/Parse", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if _, err := Parse("bench.yaml", in.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/yaml.Unmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				var v any
				if err := yaml.Unmarshal(in.data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
