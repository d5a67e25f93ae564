package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ABI versions this host speaks (docs/abi.md section 2).
const (
	hostMajor = 1
	hostMinor = 1
)

// hostModule is the import module of ABI major 1.
const hostModule = "fleet_v1"

// Host runs plugins: one wazero runtime, an on-disk compilation cache and the compiled modules of
// the plugins it loaded, shared by module hash. It is safe for concurrent use. Close it when done.
type Host struct {
	cfg   Config
	cache wazero.CompilationCache
	rt    wazero.Runtime
	// provided maps each import module the host provides to its functions, for import checks.
	provided map[string]map[string]api.FunctionDefinition
	// now is the clock of back-off decisions; tests replace it.
	now func() time.Time
	// watchdog enforces call timeouts.
	watchdog *watchdog

	mu      sync.Mutex
	closed  bool
	modules map[[32]byte]*compiled
	plugins map[*Plugin]struct{}
}

// compiled is a module compiled once and shared by the plugins loaded from the same bytes.
type compiled struct {
	sum   [32]byte
	ready chan struct{} // closed when mod or err is set
	mod   wazero.CompiledModule
	err   error
	refs  int
}

// NewHost returns a Host configured by cfg (see Config for the defaults). It creates the cache
// directory if needed.
func NewHost(ctx context.Context, cfg Config) (*Host, error) {
	return newHost(ctx, cfg, true)
}

// newHost builds a host; terminate=false builds the benchmark-only reference runtime whose guests
// cannot be stopped by a context.
func newHost(ctx context.Context, cfg Config, terminate bool) (*Host, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin host: cache dir: %w", err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("plugin host: cache dir: %w", err)
	}
	rc := wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCloseOnContextDone(terminate)
	h := &Host{
		cfg: cfg, cache: cache, rt: wazero.NewRuntimeWithConfig(ctx, rc), now: time.Now,
		modules: map[[32]byte]*compiled{}, plugins: map[*Plugin]struct{}{},
	}
	if err := h.instantiateHostModules(ctx); err != nil {
		_ = h.rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, err
	}
	h.watchdog = newWatchdog()
	return h, nil
}

func (h *Host) instantiateHostModules(ctx context.Context) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		return fmt.Errorf("plugin host: WASI: %w", err)
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	_, err := h.rt.NewHostModuleBuilder(hostModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostCall), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}).
		WithParameterNames("cap", "op", "ptr", "len").Export("host_call").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostRead), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("host_read").
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("plugin host: %s: %w", hostModule, err)
	}
	h.provided = map[string]map[string]api.FunctionDefinition{}
	for _, name := range []string{wasi_snapshot_preview1.ModuleName, hostModule} {
		h.provided[name] = h.rt.Module(name).ExportedFunctionDefinitions()
	}
	return nil
}

// Close closes every plugin the host loaded (waiting, until ctx is done, for running calls to
// finish), then the runtime and the cache. Calls made after Close fail with ErrClosed.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	plugins := make([]*Plugin, 0, len(h.plugins))
	for p := range h.plugins {
		plugins = append(plugins, p)
	}
	h.mu.Unlock()
	var errs []error
	for _, p := range plugins {
		errs = append(errs, p.Close(ctx))
	}
	errs = append(errs, h.rt.Close(ctx), h.cache.Close(ctx))
	h.watchdog.close()
	return errors.Join(errs...)
}

// Load loads a plugin from the module bytes wasm under manifest m (zero fields take the defaults of
// docs/abi.md section 9). It checks the hash, compiles the module (or reuses the compiled code of
// the same bytes), checks its ABI marker, exports and imports, creates a first instance and
// validates its descriptor. The returned Plugin keeps that instance for the first call.
func (h *Host) Load(ctx context.Context, wasm []byte, m Manifest) (*Plugin, error) {
	return h.load(ctx, "", wasm, m)
}

// LoadFile loads the plugin in the file path (NAME.wasm) with the manifest NAME.yaml next to it,
// parsed strictly: unknown keys are errors naming file:line. Without a manifest file the plugin gets
// the defaults and no capability.
func (h *Host) LoadFile(ctx context.Context, path string) (*Plugin, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	m, err := h.readManifest(path)
	if err != nil {
		return nil, err
	}
	return h.load(ctx, path, wasm, m)
}

// ManifestPath returns the manifest file of the module file path: NAME.wasm -> NAME.yaml.
func ManifestPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".yaml"
}

func (h *Host) readManifest(path string) (Manifest, error) {
	mpath := ManifestPath(path)
	src, err := os.ReadFile(mpath)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, nil
	} else if err != nil {
		return Manifest{}, fmt.Errorf("plugin %s: manifest: %w", path, err)
	}
	m, warnings, err := parseManifest(mpath, src)
	if err != nil {
		return Manifest{}, fmt.Errorf("plugin %s: %w: manifest %w", path, ErrInvalidModule, err)
	}
	for _, w := range warnings {
		h.cfg.Logger.Warn(w, "plugin", filepath.Base(path))
	}
	return m, nil
}

// LoadAll loads the plugin files paths in parallel, each as LoadFile does. It returns the plugins
// that loaded, in the order of paths, and an error joining one error per file that did not load
// (nil when all did): a failed plugin is never skipped silently.
func (h *Host) LoadAll(ctx context.Context, paths []string) ([]*Plugin, error) {
	plugins := make([]*Plugin, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Go(func() { plugins[i], errs[i] = h.LoadFile(ctx, path) })
	}
	wg.Wait()
	loaded := plugins[:0]
	for _, p := range plugins {
		if p != nil {
			loaded = append(loaded, p)
		}
	}
	return loaded, errors.Join(errs...)
}

func (h *Host) load(ctx context.Context, path string, wasm []byte, m Manifest) (*Plugin, error) {
	label := path
	if label == "" {
		label = "(bytes)"
	}
	m, err := m.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w: %w", label, ErrInvalidModule, err)
	}
	sum := sha256.Sum256(wasm)
	if m.SHA256 != "" && !strings.EqualFold(m.SHA256, hex.EncodeToString(sum[:])) {
		return nil, fmt.Errorf("plugin %s: %w: sha256 is %x, manifest expects %s", label, ErrHashMismatch, sum, m.SHA256)
	}
	c, err := h.compile(ctx, sum, wasm)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", label, err)
	}
	p, err := newPlugin(ctx, h, c, label, m)
	if err != nil {
		h.release(c)
		return nil, err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = p.Close(ctx)
		return nil, fmt.Errorf("plugin %s: host: %w", label, ErrClosed)
	}
	h.plugins[p] = struct{}{}
	h.mu.Unlock()
	return p, nil
}

// compile returns the compiled module of wasm, compiling it at most once per hash (concurrent loads
// of the same bytes wait for one compilation), with one more reference on it.
func (h *Host) compile(ctx context.Context, sum [32]byte, wasm []byte) (*compiled, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("host: %w", ErrClosed)
	}
	c, found := h.modules[sum]
	if !found {
		c = &compiled{sum: sum, ready: make(chan struct{})}
		h.modules[sum] = c
	}
	c.refs++
	h.mu.Unlock()
	if !found {
		cctx := experimental.WithCompilationWorkers(ctx, h.cfg.CompilationWorkers)
		c.mod, c.err = h.rt.CompileModule(cctx, wasm)
		if c.err != nil {
			c.err = fmt.Errorf("%w: %w", ErrInvalidModule, c.err)
		}
		close(c.ready)
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		h.release(c)
		return nil, ctx.Err()
	}
	if c.err != nil {
		h.release(c)
		return nil, c.err
	}
	return c, nil
}

// release drops a reference on c, closing the compiled module with the last one.
func (h *Host) release(c *compiled) {
	h.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last && h.modules[c.sum] == c {
		delete(h.modules, c.sum)
	}
	h.mu.Unlock()
	if last && c.mod != nil {
		_ = c.mod.Close(context.Background())
	}
}

// forget removes a closed plugin from the host's set.
func (h *Host) forget(p *Plugin) {
	h.mu.Lock()
	delete(h.plugins, p)
	h.mu.Unlock()
}
