package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/agentfleet/fleet/host/server"
	"github.com/agentfleet/fleet/internal/app"
)

// pprofPrefix starts the line the serve command prints with its pprof address.
const pprofPrefix = "fleet-load: pprof "

// serveCmd is `fleet serve` wired the same way (internal/app, host/server) plus a pprof
// listener, for profiling the server under load (--pprof). It is not a replacement for
// `fleet serve`: no config file, no token, no orphan resume.
type serveCmd struct {
	Addr             string `default:"127.0.0.1:0" help:"Address to listen on (loopback only)."`
	PprofAddr        string `name:"pprof-addr" default:"127.0.0.1:0" help:"Address of the pprof listener (loopback only)."`
	DataDir          string `name:"data-dir" required:"" help:"Data directory."`
	Plugins          string `help:"Plugins directory (default as fleet serve)."`
	Workflows        string `help:"Directory of extra workflow files."`
	MaxRunsPerClient int    `name:"max-runs-per-client" default:"0" help:"Runs one client may have running at once (0: no bound)."`
}

// Run serves until ctx ends (SIGINT/SIGTERM).
func (c *serveCmd) Run(ctx context.Context) error {
	for _, a := range []string{c.Addr, c.PprofAddr} {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return err
		}
		if err := checkLoopback(host); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(ctx, app.Options{DataDir: c.DataDir, PluginsDir: c.Plugins, WorkflowsDir: c.Workflows, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Close(cctx); err != nil {
			log.Warn("close", "err", err)
		}
	}()
	srv, err := server.New(server.Config{Engine: a.Engine, Plugins: a.Plugins, Workflows: a.Workflows,
		MaxRunsPerClient: c.MaxRunsPerClient, Logger: log, PluginsDir: a.Options.PluginsDir, PluginHost: a.Host})
	if err != nil {
		return err
	}
	pln, err := net.Listen("tcp", c.PprofAddr)
	if err != nil {
		return err
	}
	psrv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
	go psrv.Serve(pln)
	defer psrv.Close()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	fmt.Printf("%shttp://%s\n", pprofPrefix, pln.Addr())
	fmt.Printf("%shttp://%s\n", servingPrefix, ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
