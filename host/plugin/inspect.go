package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
)

// Info is what Inspect finds in a module, for `fleet plugin inspect`.
type Info struct {
	// Size is the module's size in bytes; SHA256 its hex SHA-256.
	Size   int
	SHA256 string
	// Majors are the ABI majors the module's fleet_abi_vN markers name.
	Majors []int
	// Exports lists the exported functions with their types ("fleet_alloc (i32) -> (i32)"), sorted;
	// Imports the imported ones ("fleet_v1.host_call (i32, i32, i32, i32) -> (i64)"), in module order.
	Exports, Imports []string
	// Descriptor is the answer of fleet_init, when the module got that far; it is shown even for a
	// kind the host does not run.
	Descriptor *Descriptor
}

// Inspect reads what a module is without loading it as a plugin: its size, hash, ABI markers,
// exports and imports and, when it is a plugin of a major the host speaks, the descriptor of one
// instance run with no capability granted and the default limits. It returns what it found with
// the first error met: the error Load would give, or nil.
func (h *Host) Inspect(ctx context.Context, wasm []byte) (Info, error) {
	sum := sha256.Sum256(wasm)
	info := Info{Size: len(wasm), SHA256: hex.EncodeToString(sum[:])}
	c, err := h.compile(ctx, sum, wasm)
	if err != nil {
		return info, fmt.Errorf("inspect: %w", err)
	}
	defer h.release(c)
	s := shape(c.mod)
	info.Majors = s.majors
	for name, d := range s.exports {
		info.Exports = append(info.Exports, name+" "+signature{d.ParamTypes(), d.ResultTypes()}.String())
	}
	sort.Strings(info.Exports)
	for _, d := range c.mod.ImportedFunctions() {
		module, name, _ := d.Import()
		info.Imports = append(info.Imports, module+"."+name+" "+signature{d.ParamTypes(), d.ResultTypes()}.String())
	}
	m, _ := Manifest{}.withDefaults()
	if err := h.checkShape(c.mod, m.MemoryLimit); err != nil {
		return info, fmt.Errorf("inspect: %w", err)
	}
	co := &core{host: h, compiled: c, m: m, name: "(inspect)", recycleAt: uint32(m.MemoryLimit / 2)}
	co.log = h.cfg.Logger.With("plugin", co.name)
	if err := co.setup(); err != nil {
		return info, fmt.Errorf("inspect: %w", err)
	}
	in, raw, err := newInstance(ctx, co)
	if err != nil {
		return info, fmt.Errorf("inspect: %w", err)
	}
	in.close()
	d, err := parseDescriptor(raw)
	if err != nil {
		return info, fmt.Errorf("inspect: %w: %w", ErrInvalidModule, err)
	}
	info.Descriptor = d
	if err := co.checkKind(d); err != nil {
		return info, fmt.Errorf("inspect: %w", err)
	}
	return info, nil
}
