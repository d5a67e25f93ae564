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

// HostMap loads the mapper plugin in pkgDir (built as WebAssembly) in the real plugin host under
// manifest m and returns its Map.
func HostMap(tb testing.TB, pkgDir string, m plugin.Manifest) MapFunc {
	tb.Helper()
	wasm, err := os.ReadFile(testwasm.BuildFile(tb, pkgDir))
	if err != nil {
		tb.Fatal(err)
	}
	return HostMapBytes(tb, wasm, m)
}

// HostMapBytes is HostMap for a module built already (a mapper written in another language).
func HostMapBytes(tb testing.TB, wasm []byte, m plugin.Manifest) MapFunc {
	tb.Helper()
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
		tb.Fatalf("loading the mapper plugin in the host: %v", err)
	}
	return p.Map
}
