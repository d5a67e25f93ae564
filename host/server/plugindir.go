package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/agentfleet/fleet/host/plugin"
)

// pluginLoadTimeout bounds loading one plugin file.
const pluginLoadTimeout = 60 * time.Second

// Plugin statuses in GET /v1/plugins.
const (
	statusLoaded = "loaded"
	statusError  = "error"
)

// pluginInfo is a plugin as GET /v1/plugins lists it: never its manifest's config values.
type pluginInfo struct {
	Name    string   `json:"name"`
	Version string   `json:"version,omitempty"`
	Kind    string   `json:"kind,omitempty"`
	File    string   `json:"file,omitempty"`
	SHA256  string   `json:"sha256,omitempty"`
	Tools   []string `json:"tools"`
	Format  string   `json:"format,omitempty"`
	Status  string   `json:"status"`
	Error   string   `json:"error,omitempty"`
}

// pluginDir keeps the plugin registry in step with a directory: NAME.wasm (with its manifest
// NAME.yaml) dropped in is loaded, replaced is swapped in (running calls finish on the old one),
// removed is unloaded once idle; a file that fails to load is reported and changes nothing loaded.
// Bursts of writes to a file are debounced.
type pluginDir struct {
	s *Server

	mu       sync.Mutex
	files    map[string]string // file path -> name of the plugin loaded from it
	problems map[string]string // file path -> why it did not load
	notify   chan struct{}     // closed and replaced after every reload
	reloads  int

	watcher *fsnotify.Watcher
	fire    chan string
	timers  map[string]*time.Timer // by file stem; used by the watch loop only
	ctx     context.Context        // loads; cancelled by stop
	cancel  context.CancelFunc
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func newPluginDir(s *Server) *pluginDir {
	d := &pluginDir{s: s, files: map[string]string{}, problems: map[string]string{}, notify: make(chan struct{}),
		fire: make(chan string), timers: map[string]*time.Timer{}, done: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, p := range s.cfg.PluginProblems {
		d.problems[p.File] = p.Err
	}
	return d
}

// start adopts the directory's plugins already in the registry (matched by SHA-256), loads the
// others, and starts watching.
func (d *pluginDir) start() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("server: watch plugins: %w", err)
	}
	if err := w.Add(d.s.cfg.PluginsDir); err != nil {
		w.Close()
		return fmt.Errorf("server: watch plugins dir %s: %w", d.s.cfg.PluginsDir, err)
	}
	d.watcher = w
	paths, _ := filepath.Glob(filepath.Join(d.s.cfg.PluginsDir, "*.wasm"))
	for _, path := range paths {
		if !d.adopt(path) {
			d.reload(stem(path))
		}
	}
	d.wg.Add(1)
	go d.loop()
	return nil
}

// adopt records a file whose plugin is already registered (loaded before the server started).
func (d *pluginDir) adopt(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(b)
	hexSum := hex.EncodeToString(sum[:])
	for _, p := range d.s.cfg.Plugins.Plugins() {
		if p.SHA256() == hexSum {
			d.mu.Lock()
			d.files[path] = p.Name()
			delete(d.problems, path)
			d.mu.Unlock()
			return true
		}
	}
	return false
}

func (d *pluginDir) stop() {
	d.once.Do(func() {
		d.cancel()
		close(d.done)
		if d.watcher != nil {
			d.watcher.Close()
		}
		d.wg.Wait()
	})
}

// loop debounces file events per plugin and reloads one plugin at a time.
func (d *pluginDir) loop() {
	defer d.wg.Done()
	defer func() {
		for _, t := range d.timers {
			t.Stop()
		}
	}()
	for {
		select {
		case ev, ok := <-d.watcher.Events:
			if !ok {
				return
			}
			d.schedule(ev.Name)
		case err, ok := <-d.watcher.Errors:
			if !ok {
				return
			}
			d.s.log.Warn("plugins dir watch", "err", err)
		case name := <-d.fire:
			delete(d.timers, name)
			d.reload(name)
		case <-d.done:
			return
		}
	}
}

var pluginExts = map[string]bool{".wasm": true, ".yaml": true}

func (d *pluginDir) schedule(path string) {
	if !pluginExts[filepath.Ext(path)] || strings.HasPrefix(filepath.Base(path), ".") {
		return
	}
	name := stem(path)
	if t, ok := d.timers[name]; ok {
		t.Reset(d.s.cfg.PluginDebounce)
		return
	}
	d.timers[name] = time.AfterFunc(d.s.cfg.PluginDebounce, func() {
		select {
		case d.fire <- name:
		case <-d.done:
		}
	})
}

func stem(path string) string { return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) }

// reload brings the plugin of NAME.wasm in line with the file.
func (d *pluginDir) reload(name string) {
	defer d.changed()
	path := filepath.Join(d.s.cfg.PluginsDir, name+".wasm")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		d.unload(path)
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, pluginLoadTimeout)
	defer cancel()
	p, err := d.s.cfg.PluginHost.LoadFile(ctx, path)
	if err == nil {
		err = d.register(path, p)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.problems[path] = err.Error()
		d.s.log.Error("plugin did not load; what was loaded stays", "file", path, "err", err)
		return
	}
	delete(d.problems, path)
	d.s.log.Info("plugin loaded", "file", path, "plugin", p.Name(), "sha256", p.SHA256())
}

// register puts p in the registry in place of what path held.
func (d *pluginDir) register(path string, p *plugin.Plugin) error {
	d.mu.Lock()
	old := d.files[path]
	for other, n := range d.files {
		if n == p.Name() && other != path {
			d.mu.Unlock()
			p.Close(context.Background())
			return fmt.Errorf("plugin name %s is already loaded from %s", p.Name(), other)
		}
	}
	d.files[path] = p.Name()
	d.mu.Unlock()
	if _, err := d.s.cfg.Plugins.Replace(p); err != nil {
		return err
	}
	if old != "" && old != p.Name() {
		d.s.cfg.Plugins.Remove(old)
	}
	return nil
}

func (d *pluginDir) unload(path string) {
	d.mu.Lock()
	name, ok := d.files[path]
	delete(d.files, path)
	delete(d.problems, path)
	d.mu.Unlock()
	if ok {
		d.s.cfg.Plugins.Remove(name)
		d.s.log.Info("plugin unloaded (running calls finish)", "file", path, "plugin", name)
	}
}

func (d *pluginDir) changed() {
	d.mu.Lock()
	d.reloads++
	close(d.notify)
	d.notify = make(chan struct{})
	d.mu.Unlock()
}

// changes returns a channel closed at the next reload.
func (d *pluginDir) changes() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.notify
}

func (d *pluginDir) reloadCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reloads
}

// list returns the loaded plugins and the files that failed, sorted by name.
func (d *pluginDir) list() []pluginInfo {
	d.mu.Lock()
	fileOf := make(map[string]string, len(d.files))
	for path, name := range d.files {
		fileOf[name] = path
	}
	out := make([]pluginInfo, 0, len(d.problems))
	for path, msg := range d.problems {
		out = append(out, pluginInfo{Name: stem(path), File: path, Tools: []string{}, Status: statusError, Error: msg})
	}
	d.mu.Unlock()
	if d.s.cfg.Plugins != nil {
		for _, p := range d.s.cfg.Plugins.Plugins() {
			out = append(out, describePlugin(p, fileOf[p.Name()]))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Status > out[j].Status
	})
	return out
}

func describePlugin(p *plugin.Plugin, file string) pluginInfo {
	desc := p.Descriptor()
	info := pluginInfo{Name: desc.Name, Version: desc.Version, Kind: desc.Kind, File: file, SHA256: p.SHA256(),
		Tools: make([]string, 0, len(desc.Tools)), Status: statusLoaded}
	for _, t := range desc.Tools {
		info.Tools = append(info.Tools, t.Name)
	}
	var m struct {
		Format string `json:"format"`
	}
	if len(desc.Mapper) > 0 && json.Unmarshal(desc.Mapper, &m) == nil {
		info.Format = m.Format
	}
	return info
}
