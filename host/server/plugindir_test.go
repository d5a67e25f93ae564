package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/server"
)

type listedPlugin struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Format string   `json:"format"`
	File   string   `json:"file"`
	SHA256 string   `json:"sha256"`
	Tools  []string `json:"tools"`
	Status string   `json:"status"`
	Error  string   `json:"error"`
}

func (st *stack) listPlugins() []listedPlugin {
	st.t.Helper()
	_, body := st.do("GET", "/v1/plugins", "")
	var l struct {
		Plugins []listedPlugin `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		st.t.Fatalf("%s: %v", body, err)
	}
	return l.Plugins
}

// waitPlugins waits until the plugin listing satisfies cond, woken by the watcher's reloads.
func (st *stack) waitPlugins(what string, cond func([]listedPlugin) bool) []listedPlugin {
	st.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		changed := server.PluginsChanged(st.srv)
		if l := st.listPlugins(); cond(l) {
			return l
		}
		select {
		case <-changed:
		case <-deadline:
			st.t.Fatalf("timed out waiting for %s; plugins: %+v", what, st.listPlugins())
		}
	}
}

func find(l []listedPlugin, name, status string) *listedPlugin {
	for i := range l {
		if l[i].Name == name && l[i].Status == status {
			return &l[i]
		}
	}
	return nil
}

// withCustomSection returns the module with a custom section appended: the same plugin, other
// bytes (another SHA-256).
func withCustomSection(wasm []byte, tag string) []byte {
	name := "fleet-test"
	payload := append([]byte{byte(len(name))}, name...)
	payload = append(payload, tag...)
	out := append([]byte(nil), wasm...)
	out = append(out, 0, byte(len(payload))) // id 0 (custom), size (< 128)
	return append(out, payload...)
}

// writeFile writes data in several chunks, as a copy does, then renames nothing: the watcher sees
// a burst of writes.
func writeChunks(t *testing.T, path string, data []byte, chunks int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	step := len(data)/chunks + 1
	for i := 0; i < len(data); i += step {
		if _, err := f.Write(data[i:min(i+step, len(data))]); err != nil {
			t.Fatal(err)
		}
		f.Sync()
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func pluginDirStack(t *testing.T, dir string, debounce time.Duration) *stack {
	return newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) {
		c.PluginsDir = dir
		c.PluginHost = sharedHost
		c.PluginDebounce = debounce
	}})
}

// TestPluginDropIn: a plugin dropped into the directory (with its manifest) is loaded and its
// tools work at once, without a restart; a burst of writes loads it once.
func TestPluginDropIn(t *testing.T) {
	dir := t.TempDir()
	st := pluginDirStack(t, dir, 300*time.Millisecond)
	if l := st.listPlugins(); len(l) != 0 {
		t.Fatalf("plugins at start: %+v", l)
	}
	before := server.PluginReloads(st.srv)
	if err := os.WriteFile(filepath.Join(dir, "calc.yaml"), []byte("timeout: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeChunks(t, filepath.Join(dir, "calc.wasm"), pluginWasm(t, "calc"), 8)
	l := st.waitPlugins("calc to load", func(l []listedPlugin) bool { return find(l, "calc", "loaded") != nil })
	if p := find(l, "calc", "loaded"); p.File != filepath.Join(dir, "calc.wasm") || strings.Join(p.Tools, ",") != "calculate" {
		t.Fatalf("listed %+v", p)
	}
	if n := server.PluginReloads(st.srv) - before; n != 1 {
		t.Errorf("the burst of writes made %d loads, want 1", n)
	}
	resp := st.postRun("assistant", "fleet", input("thr_pd", "run_pd", "What is 6*7?"))
	evs := fleetEvents(t, newSSEReader(t, resp).all())
	resp.Body.Close()
	if fin, _ := evs[len(evs)-1].Data.(event.RunFinishedData); fin.Output != "6*7 = 42." {
		t.Fatalf("run with the dropped-in tool: %s %+v", evs[len(evs)-1].Type, evs[len(evs)-1].Data)
	}
}

// TestPluginReplaced: a replaced module is swapped in; a call running on the old one finishes on
// it.
func TestPluginReplaced(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		fmt.Fprint(w, "<title>slow</title>done")
	}))
	defer slow.Close()
	defer close(release)
	manifest := "capabilities:\n  http: {allow: [\"127.0.0.1\"], allow_private: true}\n"
	os.WriteFile(filepath.Join(dir, "http.yaml"), []byte(manifest), 0o644)
	wasm := pluginWasm(t, "http")
	v2 := withCustomSection(wasm, "v2")
	// Compile the new module ahead (the host caches compiled code by SHA-256): a cold compile
	// under -race can take longer than the test is willing to wait, and it is not what is tested.
	if warm, err := sharedHost.Load(context.Background(), v2, manifests["http"]); err == nil {
		warm.Close(context.Background())
	}
	os.WriteFile(filepath.Join(dir, "http.wasm"), wasm, 0o644)
	st := pluginDirStack(t, dir, 50*time.Millisecond)
	old := find(st.listPlugins(), "http", "loaded")
	if old == nil {
		t.Fatalf("http not loaded at start: %+v", st.listPlugins())
	}

	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := st.plugins.Call(context.Background(), "http.http_fetch", []byte(`{"url":"`+slow.URL+`"}`))
		done <- result{out, err}
	}()
	<-arrived // the call is running on the old module

	os.WriteFile(filepath.Join(dir, "http.wasm"), v2, 0o644)
	l := st.waitPlugins("the new module", func(l []listedPlugin) bool {
		p := find(l, "http", "loaded")
		return p != nil && p.SHA256 != old.SHA256
	})
	if len(l) != 1 {
		t.Fatalf("after the swap: %+v", l)
	}
	release <- struct{}{}
	r := <-done
	if r.err != nil || !strings.Contains(string(r.out), `"status":200`) {
		t.Fatalf("the call running during the swap: %s %v", r.out, r.err)
	}
}

// TestPluginRemoved: a removed module is unloaded; its tools are gone.
func TestPluginRemoved(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "text.wasm"), pluginWasm(t, "text"), 0o644)
	os.WriteFile(filepath.Join(dir, "calc.wasm"), pluginWasm(t, "calc"), 0o644)
	st := pluginDirStack(t, dir, 50*time.Millisecond)
	if l := st.listPlugins(); len(l) != 2 {
		t.Fatalf("at start: %+v", l)
	}
	os.Remove(filepath.Join(dir, "text.wasm"))
	st.waitPlugins("text to go", func(l []listedPlugin) bool { return len(l) == 1 && l[0].Name == "calc" })
	if _, err := st.plugins.Call(context.Background(), "text.word_count", []byte(`{"text":"a b"}`)); err == nil {
		t.Fatal("a removed plugin's tool still answers")
	}
	if _, err := st.plugins.Call(context.Background(), "calc.calculate", []byte(`{"expression":"1+1"}`)); err != nil {
		t.Fatalf("the other plugin: %v", err)
	}
}

// TestPluginBadFile: a file that does not load is listed with status "error" and why, and what is
// loaded stays as it was; fixing the file clears the error.
func TestPluginBadFile(t *testing.T) {
	dir := t.TempDir()
	good := pluginWasm(t, "calc")
	os.WriteFile(filepath.Join(dir, "calc.wasm"), good, 0o644)
	st := pluginDirStack(t, dir, 50*time.Millisecond)
	loaded := find(st.listPlugins(), "calc", "loaded")

	os.WriteFile(filepath.Join(dir, "junk.wasm"), []byte("not wasm at all"), 0o644)
	os.WriteFile(filepath.Join(dir, "calc.wasm"), good[:len(good)/2], 0o644) // a truncated copy
	l := st.waitPlugins("both errors", func(l []listedPlugin) bool {
		return find(l, "junk", "error") != nil && find(l, "calc", "error") != nil
	})
	if p := find(l, "junk", "error"); p.File != filepath.Join(dir, "junk.wasm") || p.Error == "" {
		t.Fatalf("junk listed as %+v", p)
	}
	if p := find(l, "calc", "loaded"); p == nil || p.SHA256 != loaded.SHA256 {
		t.Fatalf("the loaded calc changed: %+v", l)
	}
	if out, err := st.plugins.Call(context.Background(), "calc.calculate", []byte(`{"expression":"2*21"}`)); err != nil || !strings.Contains(string(out), "42") {
		t.Fatalf("calc after a bad replacement: %s %v", out, err)
	}
	// A manifest the module does not match (sha256) is an error too, and changes nothing.
	os.WriteFile(filepath.Join(dir, "calc.yaml"), []byte("sha256: "+strings.Repeat("ab", 32)+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "calc.wasm"), good, 0o644)
	l = st.waitPlugins("the hash mismatch", func(l []listedPlugin) bool {
		p := find(l, "calc", "error")
		return p != nil && strings.Contains(p.Error, "hash")
	})
	os.Remove(filepath.Join(dir, "calc.yaml"))
	st.waitPlugins("calc fixed", func(l []listedPlugin) bool {
		return find(l, "calc", "error") == nil && find(l, "calc", "loaded") != nil
	})
}

// TestPluginDirAdopts: plugins loaded before the server started, from the directory, are adopted
// (matched by SHA-256) instead of loaded again; files that failed before are listed as errors.
func TestPluginDirAdopts(t *testing.T) {
	dir := t.TempDir()
	wasm := pluginWasm(t, "calc")
	os.WriteFile(filepath.Join(dir, "calc.wasm"), wasm, 0o644)
	st := newStack(t, stackOpts{noPlugins: true, cfg: func(c *serverConfig) {
		p, err := sharedHost.Load(context.Background(), wasm, manifests["calc"])
		if err != nil {
			t.Fatal(err)
		}
		c.Plugins.Add(p)
		c.PluginsDir, c.PluginHost = dir, sharedHost
		c.PluginProblems = []server.PluginProblem{{File: filepath.Join(dir, "old.wasm"), Err: "it was bad"}}
	}})
	l := st.listPlugins()
	if p := find(l, "calc", "loaded"); p == nil || p.File != filepath.Join(dir, "calc.wasm") {
		t.Fatalf("calc not adopted: %+v", l)
	}
	if p := find(l, "old", "error"); p == nil || p.Error != "it was bad" {
		t.Fatalf("earlier problem not listed: %+v", l)
	}
	if n := server.PluginReloads(st.srv); n != 0 {
		t.Fatalf("%d loads at start, want 0 (adopted)", n)
	}
}

// TestPluginDropInMapper: a mapper plugin dropped in makes its format usable at once.
func TestPluginDropInMapper(t *testing.T) {
	wasm, err := mapperWasm("agui")
	if err != nil {
		t.Skipf("the agui mapper plugin does not build: %v", firstLine(err.Error()))
	}
	dir := t.TempDir()
	st := pluginDirStack(t, dir, 50*time.Millisecond)
	if code, body := st.do("POST", "/v1/workflows/echo/runs", input("", "", "Say exactly: x")); code != 400 || !strings.Contains(body, `unknown format \"agui\"`) {
		t.Fatalf("before: %d %s", code, body)
	}
	os.WriteFile(filepath.Join(dir, "agui.wasm"), wasm, 0o644)
	l := st.waitPlugins("agui to load", func(l []listedPlugin) bool { return find(l, "agui", "loaded") != nil })
	if p := find(l, "agui", "loaded"); p.Kind != "mapper" || p.Format != "agui" {
		t.Fatalf("listed %+v", p)
	}
	resp := st.postRun("echo", "", input("", "", "Say exactly: now in AG-UI"))
	evs := aguiEvents(t, newSSEReader(t, resp).all())
	resp.Body.Close()
	if err := verifyAGUI(evs); err != nil || evs[0].str("type") != "RUN_STARTED" {
		t.Fatalf("AG-UI stream after the drop-in: %v %v", evs, err)
	}
}
