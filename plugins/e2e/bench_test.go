package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/calc/expr"
)

// BenchmarkCall measures whole calls through the real host: the SDK's no-op tool (the guest's fixed
// cost), a raw echo, and calc's small JSON in and out. Compare ns/op between them, not with other
// machines.
func BenchmarkCall(b *testing.B) {
	h, err := plugin.NewHost(context.Background(), plugin.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	e := &env{host: h}
	probe := e.loadB(b, "sdkprobe")
	calc := e.loadB(b, "calc")
	cases := []struct {
		name string
		p    *plugin.Plugin
		tool string
		args []byte
	}{
		{"sdk-noop", probe, "noop", []byte(`{}`)},
		{"sdk-echo", probe, "echo", []byte(`{"a":1}`)},
		{"calc", calc, "calculate", []byte(`{"expression":"17*23"}`)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.p.Call(ctx, c.tool, c.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCalc is the same calculator logic natively (plugins/calc/expr compiled in-process,
// encoding/json around it, as the plugin's tool does) and as the first-party calc plugin through
// the host: the "native vs plugin" ratio of docs/benchmarks.md.
func BenchmarkCalc(b *testing.B) {
	args := []byte(`{"expression":"(2+3)^2/sqrt(16) + max(1, 7, 3) * 17 % 5"}`)
	native := func() ([]byte, error) {
		var a struct {
			Expression string `json:"expression"`
		}
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		v, err := expr.Evaluate(a.Expression)
		if err != nil {
			return nil, err
		}
		return json.Marshal(struct {
			Expression string  `json:"expression"`
			Result     float64 `json:"result"`
		}{a.Expression, v})
	}
	want, err := native()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := native(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plugin", func(b *testing.B) {
		h, err := plugin.NewHost(context.Background(), plugin.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close(context.Background())
		p := (&env{host: h}).loadB(b, "calc")
		ctx := context.Background()
		got, err := p.Call(ctx, "calculate", args)
		if err != nil || !bytes.Equal(got, want) {
			b.Fatalf("plugin answered %s (%v), native %s", got, err, want)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := p.Call(ctx, "calculate", args); err != nil {
				b.Fatal(err)
			}
		}
	})
}
