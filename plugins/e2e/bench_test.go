package e2e

import (
	"context"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
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
