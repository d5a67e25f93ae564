package mappertest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/testwasm"
)

// hostMapper is the method the real host's *plugin.Plugin offers for mapper plugins (the shape
// host/mapping calls): one fleet_map call with the request, returning the output text.
type hostMapper interface {
	Map(ctx context.Context, input []byte) ([]byte, error)
}

// HostMap loads the mapper plugin in pkgDir (built as WebAssembly) in the real plugin host under
// manifest m and returns its Map, or skips the test, saying why, while host/plugin does not run
// mapper plugins.
func HostMap(tb testing.TB, pkgDir string, m plugin.Manifest) MapFunc {
	tb.Helper()
	wasm, err := os.ReadFile(testwasm.BuildFile(tb, pkgDir))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	cache, err := testwasm.CacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	// The host keeps compiled modules on disk, by module hash: a later run skips the compilation.
	h, err := plugin.NewHost(ctx, plugin.Config{CacheDir: filepath.Join(cache, "host"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = h.Close(context.Background()) })
	p, err := h.Load(ctx, wasm, m)
	if err != nil {
		tb.Skipf("host/plugin does not load this mapper plugin yet (%v): the golden files run through fleet_map directly in the Wasm test", err)
	}
	hm, ok := any(p).(hostMapper)
	if !ok {
		tb.Skip("host/plugin has no Plugin.Map(ctx, input) ([]byte, error) yet: the golden files run through fleet_map directly in the Wasm test")
	}
	return hm.Map
}
