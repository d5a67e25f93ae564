package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/scaffold"
)

type pluginCmd struct {
	Inspect pluginInspectCmd `cmd:"" help:"Show a plugin's ABI version, kind, tools and their schemas, capabilities, size and sha256."`
	Call    pluginCallCmd    `cmd:"" help:"Call one tool of a plugin and print its JSON result."`
	Map     pluginMapCmd     `cmd:"" help:"Map an engine event log (NDJSON on stdin) with a mapper plugin; print its frames."`
	New     pluginNewCmd     `cmd:"" help:"Create a plugin project that builds and whose test passes."`
}

func newHost(ctx context.Context, e *env) (*plugin.Host, error) {
	return plugin.NewHost(ctx, plugin.Config{Logger: e.log, Host: "fleet " + version})
}

type pluginInspectCmd struct {
	File string `arg:"" type:"existingfile" help:"The plugin's .wasm file."`
	JSON bool   `help:"Print machine-readable JSON."`
}

func (c *pluginInspectCmd) Run(ctx context.Context, e *env) error {
	wasm, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	h, err := newHost(ctx, e)
	if err != nil {
		return err
	}
	defer h.Close(context.Background())
	info, err := h.Inspect(ctx, wasm)
	if c.JSON {
		out := struct {
			File string `json:"file"`
			plugin.Info
			Error string `json:"error,omitempty"`
		}{File: c.File, Info: info}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if eerr := enc.Encode(out); eerr != nil {
			return eerr
		}
		return err
	}
	printInfo(e, c.File, info)
	return err
}

func printInfo(e *env, file string, info plugin.Info) {
	w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "file\t%s\nsize\t%d bytes\nsha256\t%s\n", file, info.Size, info.SHA256)
	majors := make([]string, len(info.Majors))
	for i, m := range info.Majors {
		majors[i] = fmt.Sprint(m)
	}
	fmt.Fprintf(w, "abi majors\t%s\n", strings.Join(majors, ", "))
	d := info.Descriptor
	if d == nil {
		return
	}
	fmt.Fprintf(w, "abi\t1.%d\nname\t%s\nversion\t%s\nkind\t%s\n", d.ABIMinor, d.Name, d.Version, d.Kind)
	if d.Description != "" {
		fmt.Fprintf(w, "description\t%s\n", d.Description)
	}
	fmt.Fprintf(w, "capabilities\t%s\n", firstNonEmpty(strings.Join(d.Capabilities, ", "), "(none)"))
	if len(d.Mapper) > 0 {
		fmt.Fprintf(w, "mapper\t%s\n", d.Mapper)
	}
	for _, t := range d.Tools {
		fmt.Fprintf(w, "tool\t%s: %s\n\tparameters %s\n", t.Name, t.Description, compact(t.Parameters, 2000))
	}
}

type pluginCallCmd struct {
	File         string   `arg:"" type:"existingfile" help:"The plugin's .wasm file (its NAME.yaml manifest is used when present)."`
	Tool         string   `arg:"" help:"The tool to call."`
	Args         string   `arg:"" optional:"" default:"{}" help:"The arguments, a JSON object."`
	AllowHTTP    []string `name:"allow-http" help:"Grant http to this host (repeatable; *.example.com for subdomains)." placeholder:"HOST"`
	AllowPrivate bool     `name:"allow-private" help:"Let http reach private and loopback addresses."`
	Grant        []string `help:"Grant a capability: log, config, clock, random, kv (repeatable)." placeholder:"CAP"`
	Config       []string `help:"A config value KEY=VALUE (VALUE is JSON, or a string); implies --grant config." placeholder:"KEY=VALUE"`
}

func (c *pluginCallCmd) Run(ctx context.Context, e *env) error {
	if !json.Valid([]byte(c.Args)) {
		return &exitError{code: 2, err: fmt.Errorf("ARGS is not valid JSON: %s", c.Args)}
	}
	wasm, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	m, err := c.manifest()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	h, err := newHost(ctx, e)
	if err != nil {
		return err
	}
	defer h.Close(context.Background())
	p, err := h.Load(ctx, wasm, m)
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	out, err := p.Call(ctx, c.Tool, []byte(c.Args))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(out))
	return nil
}

// manifest is the manifest next to the file (if any) with the flags' grants added.
func (c *pluginCallCmd) manifest() (plugin.Manifest, error) {
	var m plugin.Manifest
	if _, err := os.Stat(plugin.ManifestPath(c.File)); err == nil {
		pm, err := plugin.ReadManifest(plugin.ManifestPath(c.File))
		if err != nil {
			return m, err
		}
		m = pm
	}
	grants := map[string]*bool{"log": &m.Capabilities.Log, "config": &m.Capabilities.Config,
		"clock": &m.Capabilities.Clock, "random": &m.Capabilities.Random, "kv": &m.Capabilities.KV}
	for _, g := range c.Grant {
		p, ok := grants[g]
		if !ok {
			return m, fmt.Errorf("unknown capability %q (log, config, clock, random, kv; http with --allow-http)", g)
		}
		*p = true
	}
	if len(c.AllowHTTP) > 0 || c.AllowPrivate {
		if m.Capabilities.HTTP == nil {
			m.Capabilities.HTTP = &plugin.HTTPGrant{}
		}
		m.Capabilities.HTTP.Allow = append(m.Capabilities.HTTP.Allow, c.AllowHTTP...)
		m.Capabilities.HTTP.AllowPrivate = m.Capabilities.HTTP.AllowPrivate || c.AllowPrivate
	}
	for _, kv := range c.Config {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return m, fmt.Errorf("--config wants KEY=VALUE, got %q", kv)
		}
		if m.Config == nil {
			m.Config = map[string]any{}
		}
		var val any = v
		if json.Valid([]byte(v)) {
			_ = json.Unmarshal([]byte(v), &val)
		}
		m.Config[k] = val
		m.Capabilities.Config = true
	}
	return m, nil
}

type pluginNewCmd struct {
	Name  string `arg:"" help:"The plugin's name ([a-z0-9][a-z0-9_-]*)."`
	Kind  string `default:"tool" enum:"tool,mapper" help:"tool or mapper."`
	Dir   string `help:"Where to create the project (default ./NAME)." placeholder:"DIR"`
	Fleet string `help:"The Fleet checkout the project builds against (default: found from the working directory or the binary)." placeholder:"DIR"`
}

func (c *pluginNewCmd) Run(e *env) error {
	if err := scaffold.ValidateName(c.Name); err != nil {
		return &exitError{code: 2, err: err}
	}
	root := c.Fleet
	if root == "" {
		root = findCheckout()
	}
	if root == "" {
		return errors.New("cannot find the Fleet checkout to build against: pass --fleet DIR (the directory with Fleet's go.mod and sdk/)")
	}
	dir := firstNonEmpty(c.Dir, c.Name)
	if err := scaffold.Generate(dir, c.Name, scaffold.Options{Kind: c.Kind, FleetPath: root}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s (a %s plugin)\n  cd %s && make test    # builds %s.wasm and runs its tests\n", dir, c.Kind, dir, c.Name)
	return nil
}

// findCheckout looks for Fleet's checkout from the working directory and the binary's directory
// upwards: a directory with sdk/go.mod declaring the SDK module.
func findCheckout() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			b, err := os.ReadFile(filepath.Join(d, "sdk", "go.mod"))
			if err == nil && strings.Contains(string(b), "module github.com/agentfleet/fleet/sdk") {
				return d
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return ""
}

func fileSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
