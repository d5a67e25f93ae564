package mappertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentfleet/fleet/internal/testwasm"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// WasmMapper is a mapper plugin built as WebAssembly and run with wazero, calling fleet_map
// directly: the guest side exactly as the host runs it, without the host's pool, limits and
// capability checks. It stands in for host/plugin until that runs mapper plugins, and measures the
// guest and the boundary alone in benchmarks. The stand-in fleet_v1 module serves the config
// capability (op get and all) from WasmOptions.Config and answers log; every other capability is
// unsupported (host_call status 3).
type WasmMapper struct {
	rt     wazero.Runtime
	mod    api.Module
	mem    api.Memory
	alloc  api.Function
	mapFn  api.Function
	stack  []uint64
	config map[string]json.RawMessage
	// granted says whether the config capability is granted (WasmOptions.Config not nil).
	granted bool
	resp    []byte
	// Descriptor is what fleet_init answered.
	Descriptor json.RawMessage
}

// compiled caches compiled modules, on disk next to internal/testwasm's builds when it can (in
// memory otherwise): a LoadWasm of a module compiled before, in this process or an earlier one,
// skips the compilation (seconds for a Go guest, a minute under -race).
var compiled = func() wazero.CompilationCache {
	if dir, err := testwasm.CacheDir(); err == nil {
		if c, err := wazero.NewCompilationCacheWithDir(filepath.Join(dir, "wazero")); err == nil {
			return c
		}
	}
	return wazero.NewCompilationCache()
}()

// WasmOptions configure LoadWasm.
type WasmOptions struct {
	// Config holds the config values served to the plugin (granting the config capability when not
	// nil), each encoded as JSON.
	Config map[string]any
	// Env sets environment variables of the guest (GOGC=off to measure the guest's garbage
	// collection). Nil means none, as the host gives.
	Env map[string]string
	// Interruptible builds the runtime with WithCloseOnContextDone, as host/plugin does, so that a
	// cancelled context stops the guest; it makes guest loops slower.
	Interruptible bool
}

// LoadWasm builds the Go main package in pkgDir as a wasip1 reactor (cached by internal/testwasm),
// instantiates it, calls _initialize and fleet_init, and closes it when the test ends.
func LoadWasm(tb testing.TB, pkgDir string, o WasmOptions) *WasmMapper {
	tb.Helper()
	wasm, err := os.ReadFile(testwasm.BuildFile(tb, pkgDir))
	if err != nil {
		tb.Fatal(err)
	}
	return LoadWasmBytes(tb, wasm, o)
}

// LoadWasmBytes is LoadWasm for a module built already (a mapper written in another language).
func LoadWasmBytes(tb testing.TB, wasm []byte, o WasmOptions) *WasmMapper {
	tb.Helper()
	ctx := context.Background()
	m := &WasmMapper{stack: make([]uint64, 2), config: map[string]json.RawMessage{}, granted: o.Config != nil}
	for k, v := range o.Config {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		m.config[k] = b
	}
	m.rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(o.Interruptible).
		WithCompilationCache(compiled))
	tb.Cleanup(func() { _ = m.rt.Close(ctx) })
	if err := m.instantiate(ctx, wasm, o.Env); err != nil {
		tb.Fatal(err)
	}
	return m
}

func (m *WasmMapper) instantiate(ctx context.Context, wasm []byte, env map[string]string) error {
	wasi_snapshot_preview1.MustInstantiate(ctx, m.rt)
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	_, err := m.rt.NewHostModuleBuilder("fleet_v1").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(m.hostCall), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}).Export("host_call").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(m.hostRead), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("host_read").
		Instantiate(ctx)
	if err != nil {
		return err
	}
	cfg := wazero.NewModuleConfig().WithStartFunctions("_initialize")
	for k, v := range env {
		cfg = cfg.WithEnv(k, v)
	}
	mod, err := m.rt.InstantiateWithConfig(ctx, wasm, cfg)
	if err != nil {
		return fmt.Errorf("instantiate: %w", err)
	}
	m.mod, m.mem = mod, mod.ExportedMemory("memory")
	m.alloc, m.mapFn = mod.ExportedFunction("fleet_alloc"), mod.ExportedFunction("fleet_map")
	if m.alloc == nil || m.mapFn == nil {
		return errors.New("the module does not export fleet_alloc and fleet_map")
	}
	caps := `[]`
	if m.granted {
		caps = `["config","log"]`
	}
	init := []byte(`{"abi":{"major":1,"minor":1},"host":"mappertest","capabilities":` + caps + `,"instance":1}`)
	desc, err := m.call(ctx, mod.ExportedFunction("fleet_init"), init)
	if err != nil {
		return fmt.Errorf("fleet_init: %w", err)
	}
	m.Descriptor = desc
	return nil
}

// Map calls fleet_map with request and returns the output text, or the guest's error status as an
// error.
func (m *WasmMapper) Map(ctx context.Context, request []byte) ([]byte, error) {
	return m.call(ctx, m.mapFn, request)
}

// call writes input through fleet_alloc, calls fn and reads the result region.
func (m *WasmMapper) call(ctx context.Context, fn api.Function, input []byte) ([]byte, error) {
	var ptr uint32
	if len(input) > 0 {
		m.stack[0] = uint64(len(input))
		if err := m.alloc.CallWithStack(ctx, m.stack); err != nil {
			return nil, err
		}
		ptr = uint32(m.stack[0])
		if ptr == 0 || !m.mem.Write(ptr, input) {
			return nil, errors.New("fleet_alloc failed")
		}
	}
	m.stack[0], m.stack[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(ctx, m.stack); err != nil {
		return nil, err
	}
	rptr, n := uint32(m.stack[0]>>32), uint32(m.stack[0])
	region, ok := m.mem.Read(rptr, n)
	if !ok || n == 0 {
		return nil, fmt.Errorf("result region [%d, +%d) is outside memory or empty", rptr, n)
	}
	if region[0] != 0 {
		return nil, fmt.Errorf("status %d: %s", region[0], region[1:])
	}
	return append([]byte(nil), region[1:]...), nil
}

// hostCall is the stand-in fleet_v1.host_call: config get/all and log; everything else status 3.
func (m *WasmMapper) hostCall(_ context.Context, mod api.Module, stack []uint64) {
	capID, op, ptr, n := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	in, _ := mod.Memory().Read(ptr, n)
	status, resp := uint64(3), []byte(`{"message":"unsupported by the test host","code":"unsupported"}`)
	switch {
	case capID == 1:
		status, resp = 0, nil
	case capID == 2 && !m.granted:
		status, resp = 2, []byte(`{"message":"capability config not granted","code":"denied"}`)
	case capID == 2 && op == 1:
		if v, ok := m.config[string(in)]; ok {
			status, resp = 0, v
		} else {
			status, resp = 4, nil
		}
	case capID == 2 && op == 2:
		all, _ := json.Marshal(m.config)
		status, resp = 0, all
	}
	m.resp = resp
	stack[0] = status<<32 | uint64(len(resp))
}

// hostRead is the stand-in fleet_v1.host_read.
func (m *WasmMapper) hostRead(_ context.Context, mod api.Module, stack []uint64) {
	ptr, n := uint32(stack[0]), uint32(stack[1])
	k := min(int(n), len(m.resp))
	if !mod.Memory().Write(ptr, m.resp[:k]) {
		k = 0
	}
	stack[0] = uint64(k)
}

// Alloc calls fleet_alloc(size) and returns the pointer it answers.
func (m *WasmMapper) Alloc(tb testing.TB, size uint64) uint32 {
	tb.Helper()
	m.stack[0] = size
	if err := m.alloc.CallWithStack(context.Background(), m.stack); err != nil {
		tb.Fatalf("fleet_alloc(%d): %v", size, err)
	}
	return uint32(m.stack[0])
}
