package plugintest_test

import (
	"fmt"

	"github.com/agentfleet/fleet/sdk/plugintest"
)

// demoT stands in for the *testing.T a real test has, so that this example can run: it runs the
// cleanups when the example ends.
type demoT struct{ cleanups []func() }

func (d *demoT) Helper()                           {}
func (d *demoT) Logf(string, ...any)               {}
func (d *demoT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (d *demoT) Cleanup(f func())                  { d.cleanups = append(d.cleanups, f) }
func (d *demoT) finish() {
	for _, f := range d.cleanups {
		f()
	}
}

// In a test, pass the test's t. The plugin here is the WAT plugin of docs/abi.md section 10.
func Example() {
	t := &demoT{}
	defer t.finish()

	p := plugintest.Load(t, "../../host/plugin/testdata/ping.wasm", plugintest.Grant("log"))
	fmt.Printf("%s\n", p.Call("ping", nil))
	fmt.Println(p.CallErr("pong", nil))
	// Output:
	// {"ok":true}
	// plugin ping: tool not found: "pong" (tools: ping)
}
