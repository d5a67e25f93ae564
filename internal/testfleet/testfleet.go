// Package testfleet serves a whole Fleet for tests: internal/app's wiring (SQLite store, offline
// model, plugins, workflows) behind host/server, on 127.0.0.1, as `fleet serve` runs it.
package testfleet

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/agentfleet/fleet/host/server"
	"github.com/agentfleet/fleet/internal/app"
)

// Serve opens an app with o (DataDir defaults to a temporary directory of the test, Logger to a
// discarding one), serves it on 127.0.0.1:0 until the test ends, and returns its base URL. The
// test fails if the server does not shut down cleanly.
func Serve(t testing.TB, o app.Options) string {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx := context.Background()
	a, err := app.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Engine: a.Engine, Plugins: a.Plugins, Workflows: a.Workflows, Logger: o.Logger})
	if err != nil {
		a.Close(ctx)
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close(ctx)
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := a.Close(sctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
