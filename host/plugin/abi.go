package plugin

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// signature is a function type.
type signature struct{ params, results []api.ValueType }

func (s signature) String() string {
	return "(" + valueTypes(s.params) + ") -> (" + valueTypes(s.results) + ")"
}

func valueTypes(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

func (s signature) matches(d api.FunctionDefinition) bool {
	return slices.Equal(s.params, d.ParamTypes()) && slices.Equal(s.results, d.ResultTypes())
}

var (
	i32, i64 = api.ValueTypeI32, api.ValueTypeI64
	sigVoid  = signature{}
)

// requiredExports are the function exports every plugin of ABI major 1 has, whatever its kind.
var requiredExports = []struct {
	name string
	sig  signature
}{
	{"fleet_abi_v1", sigVoid},
	{"fleet_alloc", signature{[]api.ValueType{i32}, []api.ValueType{i32}}},
	{"fleet_init", signature{[]api.ValueType{i32, i32}, []api.ValueType{i64}}},
}

// kindSpec is what a plugin kind adds to the ABI: the export that serves it and its descriptor
// rules. The instance and pool machinery is the same for every kind.
type kindSpec struct {
	// export serves the kind's calls; lead is the number of i32 parameters before (ptr, len).
	export string
	lead   int
	// minor is the ABI minor that introduced the kind.
	minor int
	// supported is false for a kind this host knows of but does not run yet.
	supported bool
	// validate checks the kind's part of a descriptor.
	validate func(d *Descriptor) error
}

func (k *kindSpec) signature() signature {
	params := make([]api.ValueType, 0, k.lead+2)
	for range k.lead + 2 {
		params = append(params, i32)
	}
	return signature{params, []api.ValueType{i64}}
}

// kinds is the dispatch table of plugin kinds (docs/abi.md sections 3 and 8).
var kinds = map[string]*kindSpec{
	"tool":   {export: "fleet_call", lead: 1, minor: 0, supported: true, validate: validateTools},
	"mapper": {export: "fleet_map", lead: 0, minor: 1, supported: true, validate: validateMapper},
}

// moduleShape is what the host reads from a compiled module before instantiating it.
type moduleShape struct {
	majors  []int
	exports map[string]api.FunctionDefinition
	missing []string
}

// abiMarker parses an export name fleet_abi_vN.
func abiMarker(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "fleet_abi_v")
	if !ok || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// shape reads the ABI majors and function exports of cm.
func shape(cm wazero.CompiledModule) moduleShape {
	s := moduleShape{exports: cm.ExportedFunctions()}
	for name := range s.exports {
		if n, ok := abiMarker(name); ok {
			s.majors = append(s.majors, n)
		}
	}
	sort.Ints(s.majors)
	return s
}

// checkShape checks, without instantiating, that cm is a plugin of ABI major 1 the host can run:
// the marker (ErrNotPlugin without any, ErrABIMismatch with only others), the required exports and
// their types, the memory export and the imports.
func (h *Host) checkShape(cm wazero.CompiledModule, memoryLimit int64) error {
	s := shape(cm)
	if len(s.majors) == 0 {
		return &ABIError{Err: ErrNotPlugin, HostMajors: []int{hostMajor}, Missing: []string{"export fleet_abi_v1 () -> ()"}}
	}
	if !slices.Contains(s.majors, hostMajor) {
		return &ABIError{Err: ErrABIMismatch, HostMajors: []int{hostMajor}, PluginMajors: s.majors, Missing: []string{"export fleet_abi_v1 () -> ()"}}
	}
	missing := s.checkExports()
	if err := checkMemory(cm, memoryLimit, &missing); err != nil {
		return err
	}
	if len(missing) > 0 {
		return &ABIError{Err: ErrNotPlugin, HostMajors: []int{hostMajor}, PluginMajors: s.majors, Missing: missing}
	}
	return h.checkImports(cm)
}

// checkExports lists the required exports that are missing or mistyped, and the kind exports that
// are mistyped; it requires at least one kind export.
func (s moduleShape) checkExports() []string {
	var missing []string
	want := func(name string, sig signature, required bool) bool {
		d, ok := s.exports[name]
		if ok && sig.matches(d) {
			return true
		}
		if ok || required {
			missing = append(missing, "export "+name+" "+sig.String())
		}
		return false
	}
	for _, e := range requiredExports {
		want(e.name, e.sig, true)
	}
	if d, ok := s.exports["_initialize"]; ok && !sigVoid.matches(d) {
		missing = append(missing, "export _initialize () -> ()")
	}
	anyKind := false
	names := make([]string, 0, len(kinds))
	for _, name := range sortedKinds() {
		k := kinds[name]
		anyKind = want(k.export, k.signature(), false) || anyKind
		names = append(names, k.export)
	}
	if !anyKind {
		missing = append(missing, "one of the exports "+strings.Join(names, ", "))
	}
	return missing
}

func sortedKinds() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkMemory requires an exported memory named memory whose minimum fits the limit.
func checkMemory(cm wazero.CompiledModule, limit int64, missing *[]string) error {
	if len(cm.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: imports a memory; a plugin exports its own", ErrInvalidModule)
	}
	mem, ok := cm.ExportedMemories()["memory"]
	if !ok {
		*missing = append(*missing, "export memory")
		return nil
	}
	if min := int64(mem.Min()) * 65536; min > limit {
		return fmt.Errorf("%w: the module needs %d bytes of memory at start, memory_limit is %d", ErrOutOfMemory, min, limit)
	}
	return nil
}

// checkImports requires every imported function to be one the host provides, with its type.
func (h *Host) checkImports(cm wazero.CompiledModule) error {
	var bad []string
	for _, d := range cm.ImportedFunctions() {
		module, name, _ := d.Import()
		fn, ok := h.provided[module][name]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s.%s (not provided)", module, name))
		} else if !(signature{fn.ParamTypes(), fn.ResultTypes()}).matches(d) {
			bad = append(bad, fmt.Sprintf("%s.%s %s (host has %s)", module, name,
				signature{d.ParamTypes(), d.ResultTypes()}, signature{fn.ParamTypes(), fn.ResultTypes()}))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: imports the host does not provide: %s", ErrInvalidModule, strings.Join(bad, ", "))
	}
	return nil
}

// mapperFormat is the pattern of a mapper's format name (docs/abi.md section 8).
var mapperFormat = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// validateMapper checks a mapper descriptor's "mapper" object: a JSON object with a format name.
func validateMapper(d *Descriptor) error {
	var m struct {
		Format string `json:"format"`
	}
	if len(d.Mapper) == 0 {
		return fmt.Errorf("kind mapper needs a \"mapper\" object")
	}
	if err := json.Unmarshal(d.Mapper, &m); err != nil {
		return fmt.Errorf("mapper: %w", err)
	}
	if !mapperFormat.MatchString(m.Format) {
		return fmt.Errorf("mapper.format %q does not match %s", m.Format, mapperFormat)
	}
	if len(d.Tools) > 0 {
		return fmt.Errorf("a mapper has no tools")
	}
	return nil
}
