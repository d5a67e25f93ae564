package main

import (
	"os"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
)

// cWasm is the shipped agui plugin: the mapper of this package rewritten in C (c/agui.c), built to
// c/agui.wasm (committed; `make -C plugins/agui/c` rebuilds it where clang exists).
func cWasm(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("c/agui.wasm")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestGoldenC maps every event log of testdata with the C plugin, calling fleet_map directly: the
// frames must be those of the Go mapper, byte for byte.
func TestGoldenC(t *testing.T) {
	m := mappertest.LoadWasmBytes(t, cWasm(t), mappertest.WasmOptions{})
	mappertest.Golden(t, "testdata", m.Map, checkAGUI)
}

// TestGoldenCHost maps them through the real plugin host.
func TestGoldenCHost(t *testing.T) {
	mappertest.Golden(t, "testdata", mappertest.HostMapBytes(t, cWasm(t), plugin.Manifest{}), checkAGUI)
}

// TestDescriptorC checks that the C plugin describes itself as the Go one does.
func TestDescriptorC(t *testing.T) {
	c := mappertest.LoadWasmBytes(t, cWasm(t), mappertest.WasmOptions{})
	g := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{})
	if string(c.Descriptor) != string(g.Descriptor) {
		t.Errorf("descriptor\n   C %s\n  Go %s", c.Descriptor, g.Descriptor)
	}
}
