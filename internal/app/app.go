// Package app wires Fleet's parts together on embedded defaults: the SQLite store in the data
// directory, the plugin host with every plugin of the plugins directory, the model providers (the
// offline model when no API key is set), the workflows (the embedded examples plus a directory),
// and the engine. The CLI's run and serve commands both start here.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/workflow"
	workflows "github.com/agentfleet/fleet/examples/workflows"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

// Environment variables read by Open (flags win over them).
const (
	EnvPlugins      = "FLEET_PLUGINS"       // plugins directory
	EnvWorkflows    = "FLEET_WORKFLOWS"     // workflows directory
	EnvOfflineDelay = "FLEET_OFFLINE_DELAY" // offline model's delay per token, e.g. "30ms"
)

// Options configure Open. The zero value runs on embedded defaults.
type Options struct {
	// DataDir holds the database; default $FLEET_DATA_DIR or ".fleet".
	DataDir string
	// PluginsDir holds *.wasm plugins with their NAME.yaml manifests; default $FLEET_PLUGINS, else
	// the first of <executable's dir>/plugins and ./bin/plugins that exists.
	PluginsDir string
	// WorkflowsDir adds (and overrides by name) workflow definitions to the embedded examples;
	// default $FLEET_WORKFLOWS.
	WorkflowsDir string
	// OfflineDelay paces the offline model's tokens; default $FLEET_OFFLINE_DELAY, else 0.
	OfflineDelay time.Duration
	// CacheDir is the wasm compilation cache; default as host/plugin.Config.
	CacheDir string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// NoPlugins skips loading the plugins directory (for commands that do not run workflows).
	NoPlugins bool
	// WrapTools, when set, wraps the tools the engine calls (the server counts plugin calls).
	WrapTools func(engine.Tools) engine.Tools
}

// App is a wired Fleet. Close it when done.
type App struct {
	Options   Options
	Store     *sqlite.Store
	Host      *plugin.Host
	Plugins   *plugin.Registry
	Models    *llm.Providers
	Offline   *offline.Running
	Workflows *Workflows
	Engine    *engine.Engine
	// PluginProblems lists plugin files that did not load, with why.
	PluginProblems []Problem
	log            *slog.Logger
}

// Problem is a file that did not load.
type Problem struct {
	File string `json:"file"`
	Err  string `json:"error"`
}

// Open wires everything; on error it releases what it opened. ctx bounds the opening only: what
// Open starts (the offline model's server) lives until Close, so that a caller's signal context
// ending does not pull the model from under runs that Close then stops resumably.
func Open(ctx context.Context, o Options) (_ *App, err error) {
	o = o.withDefaults()
	a := &App{Options: o, log: o.Logger}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = a.Close(cctx)
		}
	}()
	if a.Store, err = sqlite.Open(ctx, filepath.Join(o.DataDir, sqlite.FileName)); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err = a.openPlugins(ctx); err != nil {
		return nil, err
	}
	if err = a.openModels(ctx); err != nil {
		return nil, err
	}
	if a.Workflows, err = LoadWorkflows(o.WorkflowsDir, a.ToolExists); err != nil {
		a.log.Warn("some workflows did not load", "err", err)
	}
	var tools engine.Tools = Tools{Registry: a.Plugins}
	if o.WrapTools != nil {
		tools = o.WrapTools(tools)
	}
	a.Engine, err = engine.New(engine.Config{Store: a.Store, Models: a.Models, Workflows: a.Workflows,
		Tools: tools, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DataDir == "" {
		o.DataDir = sqlite.DefaultDir()
	}
	if o.PluginsDir == "" {
		o.PluginsDir = DefaultPluginsDir()
	}
	if o.WorkflowsDir == "" {
		o.WorkflowsDir = os.Getenv(EnvWorkflows)
	}
	if o.OfflineDelay == 0 {
		if d, err := time.ParseDuration(os.Getenv(EnvOfflineDelay)); err == nil {
			o.OfflineDelay = d
		}
	}
	return o
}

// DefaultPluginsDir is $FLEET_PLUGINS, else <executable's dir>/plugins, else ./bin/plugins,
// whichever exists first ("" when none does).
func DefaultPluginsDir() string {
	if d := os.Getenv(EnvPlugins); d != "" {
		return d
	}
	var cands []string
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(exe), "plugins"))
	}
	cands = append(cands, filepath.Join("bin", "plugins"))
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	return ""
}

func (a *App) openPlugins(ctx context.Context) error {
	h, err := plugin.NewHost(ctx, plugin.Config{CacheDir: a.Options.CacheDir, Logger: a.log,
		KV: StoreKV{Store: a.Store}, Host: "fleet"})
	if err != nil {
		return fmt.Errorf("plugin host: %w", err)
	}
	a.Host, a.Plugins = h, plugin.NewRegistry()
	if a.Options.NoPlugins || a.Options.PluginsDir == "" {
		if !a.Options.NoPlugins {
			a.log.Warn("no plugins directory found: workflows get no tools (run `make plugins`)")
		}
		return nil
	}
	paths, err := filepath.Glob(filepath.Join(a.Options.PluginsDir, "*.wasm"))
	if err != nil {
		return fmt.Errorf("plugins dir: %w", err)
	}
	sort.Strings(paths)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl, err := h.LoadFile(ctx, p)
			if err == nil {
				err = a.Plugins.Add(pl)
			}
			if err != nil {
				a.log.Error("plugin did not load", "file", p, "err", err)
				mu.Lock()
				a.PluginProblems = append(a.PluginProblems, Problem{File: p, Err: err.Error()})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(a.PluginProblems, func(i, j int) bool { return a.PluginProblems[i].File < a.PluginProblems[j].File })
	return nil
}

func (a *App) openModels(ctx context.Context) error {
	off := offline.New(offline.Options{TokenDelay: a.Options.OfflineDelay})
	// Not ctx: the offline server would close when it ends (fleet serve's signal context), and
	// runs still live until Close would fail on a refused connection instead of stopping
	// resumably (seen as a flaky failure of the browser test that restarts the server mid-run).
	running, err := off.Start(context.WithoutCancel(ctx), "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("offline model: %w", err)
	}
	a.Offline = running
	if a.Models, err = llm.FromEnv(running.BaseURL); err != nil {
		return fmt.Errorf("model providers: %w", err)
	}
	return nil
}

// UsingOffline reports whether agents without a provider use the offline model.
func (a *App) UsingOffline() bool { return a.Models.Default() == "offline" }

// ToolExists reports whether a loaded plugin provides the tool ("plugin.tool" or a unique bare name).
func (a *App) ToolExists(name string) bool {
	_, ok := Tools{Registry: a.Plugins}.Lookup(name)
	return ok
}

// Close stops the engine (runs stay resumable), the plugins, the models and the store.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.Engine != nil {
		errs = append(errs, a.Engine.Close(ctx))
	}
	if a.Plugins != nil {
		errs = append(errs, a.Plugins.Close(ctx))
	}
	if a.Host != nil {
		errs = append(errs, a.Host.Close(ctx))
	}
	if a.Models != nil {
		errs = append(errs, a.Models.Close())
	}
	if a.Offline != nil {
		errs = append(errs, a.Offline.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// Tools adapts a plugin registry to the engine's view of tools.
type Tools struct{ Registry *plugin.Registry }

// Lookup implements engine.Tools.
func (t Tools) Lookup(name string) (engine.ToolInfo, bool) {
	if t.Registry == nil {
		return engine.ToolInfo{}, false
	}
	for _, ref := range t.Registry.Tools() {
		if ref.Qualified == name || (ref.Unique && ref.Tool.Name == name) {
			return engine.ToolInfo{Name: ref.Qualified, Plugin: ref.Plugin, Tool: ref.Tool.Name,
				Description: ref.Tool.Description, Parameters: ref.Tool.Parameters}, true
		}
	}
	return engine.ToolInfo{}, false
}

// Call implements engine.Tools.
func (t Tools) Call(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	return t.Registry.Call(ctx, name, args)
}

// StoreKV keeps plugins' kv capability data in the store, so it survives restarts.
type StoreKV struct{ Store store.Store }

// Get implements plugin.KV.
func (k StoreKV) Get(ctx context.Context, scope, key string) ([]byte, bool, error) {
	v, err := k.Store.KVGet(ctx, scope, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// Set implements plugin.KV.
func (k StoreKV) Set(ctx context.Context, scope, key string, value []byte) error {
	return k.Store.KVSet(ctx, scope, key, value)
}

// Delete implements plugin.KV.
func (k StoreKV) Delete(ctx context.Context, scope, key string) error {
	err := k.Store.KVDelete(ctx, scope, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// List implements plugin.KV.
func (k StoreKV) List(ctx context.Context, scope, prefix string) ([]string, error) {
	keys, err := k.Store.KVList(ctx, scope, prefix)
	sort.Strings(keys)
	return keys, err
}

// Workflows is the set of loaded workflows by name. It implements engine.Workflows and is safe for
// concurrent use.
type Workflows struct {
	mu       sync.RWMutex
	byName   map[string]*workflow.Workflow
	Problems []Problem
}

// Workflow implements engine.Workflows.
func (w *Workflows) Workflow(name string) (*workflow.Workflow, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	wf, ok := w.byName[name]
	return wf, ok
}

// List returns the workflows sorted by name.
func (w *Workflows) List() []*workflow.Workflow {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]*workflow.Workflow, 0, len(w.byName))
	for _, wf := range w.byName {
		out = append(out, wf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Add adds or replaces a workflow.
func (w *Workflows) Add(wf *workflow.Workflow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byName[wf.Name] = wf
}

// LoadWorkflows loads the embedded example workflows, then those of dir (which override by name).
// Workflows naming tools that toolExists rejects are left out and reported in the error and in
// Problems; the others are loaded.
func LoadWorkflows(dir string, toolExists func(string) bool) (*Workflows, error) {
	w := &Workflows{byName: map[string]*workflow.Workflow{}}
	var errs []error
	load := func(file string, data []byte) {
		wf, err := workflow.Parse(file, data)
		if err == nil && toolExists != nil {
			err = wf.CheckTools(toolExists)
		}
		if err != nil {
			errs = append(errs, err)
			w.Problems = append(w.Problems, Problem{File: file, Err: err.Error()})
			return
		}
		w.byName[wf.Name] = wf
	}
	entries, _ := fs.Glob(workflows.FS, "*.yaml")
	for _, e := range entries {
		data, err := fs.ReadFile(workflows.FS, e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		load("examples/workflows/"+e, data)
	}
	if dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		if err != nil {
			errs = append(errs, err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".yml") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			load(f, data)
		}
	}
	return w, errors.Join(errs...)
}
