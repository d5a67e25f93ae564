package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/agentfleet/fleet/host/server"
	"github.com/agentfleet/fleet/internal/app"
)

type serveCmd struct {
	appFlags
	Addr             string   `default:"127.0.0.1:8080" help:"Address to listen on."`
	Config           string   `type:"existingfile" help:"A fleet.yaml with the same settings as the flags (flags win)." placeholder:"FILE"`
	Token            string   `env:"FLEET_TOKEN" help:"Require this bearer token on the API and the WebSocket."`
	AllowedOrigins   []string `name:"allowed-origin" help:"An origin allowed for CORS and the WebSocket besides the server's own (repeatable)." placeholder:"ORIGIN"`
	MaxRunsPerClient int      `name:"max-runs-per-client" default:"16" help:"Runs one client may have running at once (0: no bound)."`
	NoResume         bool     `name:"no-resume" help:"Do not resume runs that were running when the last server stopped."`
}

// fileConfig is the fleet.yaml of --config.
type fileConfig struct {
	Addr             string   `yaml:"addr"`
	DataDir          string   `yaml:"data_dir"`
	Plugins          string   `yaml:"plugins"`
	Workflows        string   `yaml:"workflows"`
	Token            string   `yaml:"token"`
	AllowedOrigins   []string `yaml:"allowed_origins"`
	MaxRunsPerClient *int     `yaml:"max_runs_per_client"`
}

// applyConfig fills what the flags left at their defaults from the config file.
func (c *serveCmd) applyConfig() error {
	if c.Config == "" {
		return nil
	}
	b, err := os.ReadFile(c.Config)
	if err != nil {
		return err
	}
	var f fileConfig
	if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
		return fmt.Errorf("%s: %s", c.Config, yaml.FormatError(err, false, true))
	}
	set := func(dst *string, v, def string) {
		if *dst == def && v != "" {
			*dst = v
		}
	}
	set(&c.Addr, f.Addr, "127.0.0.1:8080")
	set(&c.DataDir, f.DataDir, "")
	set(&c.Plugins, f.Plugins, "")
	set(&c.Workflows, f.Workflows, "")
	set(&c.Token, f.Token, "")
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = f.AllowedOrigins
	}
	if f.MaxRunsPerClient != nil && c.MaxRunsPerClient == 16 {
		c.MaxRunsPerClient = *f.MaxRunsPerClient
	}
	return nil
}

// Run serves until SIGINT/SIGTERM, then stops accepting, tells open streams, lets runs checkpoint
// and exits within a bounded time.
func (c *serveCmd) Run(ctx context.Context, e *env) error {
	if err := c.applyConfig(); err != nil {
		return &exitError{code: 2, err: err}
	}
	metrics := server.NewMetrics(nil)
	a, err := app.Open(ctx, app.Options{DataDir: c.DataDir, PluginsDir: c.Plugins, WorkflowsDir: c.Workflows,
		Logger: e.log, WrapTools: metrics.Tools})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Close(cctx); err != nil {
			e.log.Warn("close", "err", err)
		}
	}()
	problems := make([]server.PluginProblem, len(a.PluginProblems))
	for i, p := range a.PluginProblems {
		problems[i] = server.PluginProblem{File: p.File, Err: p.Err}
	}
	srv, err := server.New(server.Config{Engine: a.Engine, Plugins: a.Plugins, Workflows: a.Workflows,
		Token: c.Token, AllowedOrigins: c.AllowedOrigins, MaxRunsPerClient: c.MaxRunsPerClient, Logger: e.log,
		PluginsDir: a.Options.PluginsDir, PluginHost: a.Host, PluginProblems: problems, Metrics: metrics})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	c.announce(e, a, ln.Addr().String())
	if !c.NoResume {
		resumeOrphans(ctx, e, a)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stdout, "fleet: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (c *serveCmd) announce(e *env, a *app.App, addr string) {
	if a.UsingOffline() {
		fmt.Fprintln(e.stdout, "fleet: no OPENAI_API_KEY set: agents use the built-in offline model")
	}
	fmt.Fprintf(e.stdout, "fleet: %d plugins, %d workflows, data in %s\n", len(a.Plugins.Plugins()), len(a.Workflows.List()), a.Options.DataDir)
	for _, p := range a.PluginProblems {
		fmt.Fprintf(e.stdout, "fleet: plugin %s did not load: %s\n", p.File, p.Err)
	}
	for _, p := range a.Workflows.Problems {
		fmt.Fprintf(e.stdout, "fleet: workflow %s did not load: %s\n", p.File, p.Err)
	}
	fmt.Fprintf(e.stdout, "fleet: serving http://%s\n", addr)
}

// resumeOrphans resumes runs that were running when the previous process stopped.
func resumeOrphans(ctx context.Context, e *env, a *app.App) {
	orphans, err := a.Engine.Orphans(ctx)
	if err != nil {
		e.log.Warn("cannot list interrupted runs", "err", err)
		return
	}
	for _, r := range orphans {
		if err := a.Engine.Resume(ctx, r.ID); err != nil {
			e.log.Warn("cannot resume run", "run", r.ID, "err", err)
			continue
		}
		fmt.Fprintf(e.stdout, "fleet: resumed run %s\n", r.ID)
	}
}
