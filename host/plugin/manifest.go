package plugin

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Defaults of the limits a Manifest leaves at zero (docs/abi.md section 9).
const (
	DefaultMemoryLimit = 128 << 20
	DefaultTimeout     = 10 * time.Second
	DefaultMaxOutput   = 1 << 20
	DefaultMaxInput    = 1 << 20
	DefaultInstances   = 2
)

// Bounds a manifest's limits must stay within.
const (
	maxInstances   = 256
	minMemoryLimit = 64 << 10
	maxMemoryLimit = 4 << 30
	maxIOLimit     = 1 << 30
)

// Manifest is what the operator decides about one plugin: the module it must be, its limits and the
// capabilities it is granted. The zero Manifest is valid: defaults for every limit, no capability.
// On disk it is the YAML file NAME.yaml next to NAME.wasm, with the keys in the field docs.
type Manifest struct {
	// SHA256 is the expected hex SHA-256 of the module (key sha256). Empty: not checked.
	SHA256 string
	// MemoryLimit caps the guest's linear memory in bytes (key memory_limit: bytes, or a string
	// such as "64MiB"). Default 128 MiB; at least 64 KiB, at most 4 GiB.
	MemoryLimit int64
	// Timeout caps each call (key timeout: "10s"). Default 10 s.
	Timeout time.Duration
	// MaxOutput caps a result's payload in bytes (key max_output). Default 1 MiB.
	MaxOutput int64
	// MaxInput caps a call's arguments in bytes (key max_input). Default 1 MiB.
	MaxInput int64
	// Instances is the most instances kept for concurrent calls (key instances). Default 2.
	Instances int
	// Capabilities are those granted (key capabilities). Default: none.
	Capabilities Capabilities
	// Config holds the values the config capability serves (key config), each any JSON value.
	Config map[string]any
}

// Capabilities are the capabilities a manifest grants (docs/abi.md section 6). In YAML:
//
//	capabilities:
//	  log: true
//	  http: {allow: [api.example.com, "*.example.org:8443"], allow_private: false}
//
// Unknown capability names are ignored with a warning in the host log, as the ABI asks.
type Capabilities struct {
	// Log grants the log capability: messages go to the host's logger.
	Log bool `yaml:"log"`
	// Config grants reading the manifest's config values.
	Config bool `yaml:"config"`
	// Clock grants the real WASI clocks and sleeps; without it they are wazero's fake ones.
	Clock bool `yaml:"clock"`
	// Random grants the host's CSPRNG for WASI random_get; without it a fixed sequence.
	Random bool `yaml:"random"`
	// KV grants a key-value store private to the plugin's name.
	KV bool `yaml:"kv"`
	// HTTP, when not nil, grants outbound HTTP to its allowlist.
	HTTP *HTTPGrant `yaml:"http"`
}

// HTTPGrant is the http capability's grant.
type HTTPGrant struct {
	// Allow lists the hosts a plugin may reach: "example.com" exactly, "*.example.com" any
	// subdomain of it (not example.com itself), each with an optional ":port" (without one, any port).
	// IP literals are matched as written. Empty allows nothing.
	Allow []string `yaml:"allow"`
	// AllowPrivate lets requests reach loopback, private, link-local, unspecified and multicast
	// addresses. Default false: such addresses are refused at connect time, whatever the name.
	AllowPrivate bool `yaml:"allow_private"`
}

// capabilityNames are the capability names of ABI 1.x, by id.
var capabilityNames = map[string]uint32{"log": 1, "config": 2, "clock": 3, "random": 4, "http": 5, "kv": 6}

// names returns the granted capabilities' names, in id order.
func (c Capabilities) names() []string {
	granted := []bool{c.Log, c.Config, c.Clock, c.Random, c.HTTP != nil, c.KV}
	all := []string{"log", "config", "clock", "random", "http", "kv"}
	out := []string{}
	for i, g := range granted {
		if g {
			out = append(out, all[i])
		}
	}
	return out
}

// mask returns the granted capabilities as a bit set indexed by capability id.
func (c Capabilities) mask() uint32 {
	var m uint32
	for _, n := range c.names() {
		m |= 1 << capabilityNames[n]
	}
	return m
}

// withDefaults returns m with zero limits replaced by the defaults, or an error naming a limit out of
// bounds.
func (m Manifest) withDefaults() (Manifest, error) {
	if m.MemoryLimit == 0 {
		m.MemoryLimit = DefaultMemoryLimit
	}
	if m.Timeout == 0 {
		m.Timeout = DefaultTimeout
	}
	if m.MaxOutput == 0 {
		m.MaxOutput = DefaultMaxOutput
	}
	if m.MaxInput == 0 {
		m.MaxInput = DefaultMaxInput
	}
	if m.Instances == 0 {
		m.Instances = DefaultInstances
	}
	checks := []struct {
		ok   bool
		name string
		val  any
	}{
		{m.MemoryLimit >= minMemoryLimit && m.MemoryLimit <= maxMemoryLimit, "memory_limit", m.MemoryLimit},
		{m.Timeout > 0, "timeout", m.Timeout},
		{m.MaxOutput > 0 && m.MaxOutput <= maxIOLimit, "max_output", m.MaxOutput},
		{m.MaxInput > 0 && m.MaxInput <= maxIOLimit, "max_input", m.MaxInput},
		{m.Instances > 0 && m.Instances <= maxInstances, "instances", m.Instances},
	}
	for _, c := range checks {
		if !c.ok {
			return m, fmt.Errorf("manifest: %s %v out of range", c.name, c.val)
		}
	}
	if m.SHA256 != "" {
		if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
			return m, fmt.Errorf("manifest: sha256 %q is not 64 hex digits", m.SHA256)
		}
	}
	return m, nil
}

// manifestFile is the YAML form of a Manifest. Sizes and durations are decoded as scalars and
// converted afterwards so that their errors name the line.
type manifestFile struct {
	SHA256       string         `yaml:"sha256"`
	MemoryLimit  any            `yaml:"memory_limit"`
	Timeout      any            `yaml:"timeout"`
	MaxOutput    any            `yaml:"max_output"`
	MaxInput     any            `yaml:"max_input"`
	Instances    int            `yaml:"instances"`
	Capabilities Capabilities   `yaml:"capabilities"`
	Config       map[string]any `yaml:"config"`
}

// parseManifest parses a manifest file strictly: unknown keys, duplicate keys, wrong types and
// out-of-range limits are errors of the form "file:line:col: message". Unknown capability names
// are dropped and returned as warnings. The result has no defaults applied.
func parseManifest(filename string, src []byte) (Manifest, []string, error) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return Manifest{}, nil, positioned(filename, err)
	}
	if len(f.Docs) > 1 {
		return Manifest{}, nil, fmt.Errorf("%s: a manifest is one YAML document, found %d", filename, len(f.Docs))
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil || isNull(f.Docs[0].Body) {
		return Manifest{}, nil, nil
	}
	body := f.Docs[0].Body
	top, ok := body.(*ast.MappingNode)
	if !ok {
		return Manifest{}, nil, fmt.Errorf("%s:%s: a manifest is a mapping of keys, found %s", filename, pos(body.GetToken()), body.Type())
	}
	warnings := dropUnknownCapabilities(filename, top)
	var mf manifestFile
	if err := yaml.NodeToValue(top, &mf, yaml.Strict()); err != nil {
		return Manifest{}, nil, positioned(filename, err)
	}
	m, err := mf.convert(filename, top)
	if err != nil {
		return Manifest{}, nil, err
	}
	if _, err := m.withDefaults(); err != nil {
		return Manifest{}, nil, fmt.Errorf("%s: %w", filename, err)
	}
	if _, err := json.Marshal(m.Config); err != nil {
		return Manifest{}, nil, fmt.Errorf("%s: config: %w", filename, err)
	}
	return m, warnings, nil
}

func isNull(n ast.Node) bool { return n.Type() == ast.NullType }

// convert turns the decoded scalars into a Manifest, naming the line of a bad value.
func (mf manifestFile) convert(filename string, top *ast.MappingNode) (Manifest, error) {
	m := Manifest{SHA256: strings.ToLower(mf.SHA256), Instances: mf.Instances, Capabilities: mf.Capabilities, Config: mf.Config}
	sizes := []struct {
		key string
		v   any
		dst *int64
	}{
		{"memory_limit", mf.MemoryLimit, &m.MemoryLimit},
		{"max_output", mf.MaxOutput, &m.MaxOutput},
		{"max_input", mf.MaxInput, &m.MaxInput},
	}
	for _, s := range sizes {
		if s.v == nil {
			continue
		}
		n, err := parseSize(s.v)
		if err != nil {
			return m, fmt.Errorf("%s:%s: %s: %w", filename, keyPos(top, s.key), s.key, err)
		}
		*s.dst = n
	}
	if mf.Timeout != nil {
		d, err := parseDuration(mf.Timeout)
		if err != nil {
			return m, fmt.Errorf("%s:%s: timeout: %w", filename, keyPos(top, "timeout"), err)
		}
		m.Timeout = d
	}
	return m, nil
}

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// parseSize reads a byte count: a non-negative integer, or a string like "64MiB", "1.5GB", "512KiB".
func parseSize(v any) (int64, error) {
	switch n := v.(type) {
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%d is too large", n)
		}
		return int64(n), nil
	case int64:
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return n, nil
	case string:
		return parseSizeString(n)
	}
	return 0, fmt.Errorf("want a byte count such as 1048576 or \"1MiB\", found %v", v)
}

func parseSizeString(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a byte count such as 1048576 or \"1MiB\"", s)
	}
	return int64(f * float64(mult)), nil
}

func parseDuration(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a duration with a unit such as \"10s\", found %v", v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as \"10s\": %w", err)
	}
	return d, nil
}

// dropUnknownCapabilities removes the entries of the capabilities mapping that name no capability of
// ABI 1.x, returning a warning for each (docs/abi.md section 6: they are ignored).
func dropUnknownCapabilities(filename string, top *ast.MappingNode) []string {
	var warnings []string
	for _, kv := range top.Values {
		if kv.Key.String() != "capabilities" {
			continue
		}
		caps, ok := kv.Value.(*ast.MappingNode)
		if !ok {
			continue // NodeToValue reports the type error with its line
		}
		kept := caps.Values[:0]
		for _, c := range caps.Values {
			if _, known := capabilityNames[c.Key.String()]; known {
				kept = append(kept, c)
				continue
			}
			warnings = append(warnings, fmt.Sprintf("%s:%s: unknown capability %q ignored", filename, pos(c.Key.GetToken()), c.Key.String()))
		}
		caps.Values = kept
	}
	return warnings
}

// keyPos returns the position of key's value in the top mapping.
func keyPos(top *ast.MappingNode, key string) string {
	for _, kv := range top.Values {
		if kv.Key.String() == key {
			return pos(kv.Value.GetToken())
		}
	}
	return "1:1"
}

func pos(t *token.Token) string {
	if t == nil || t.Position == nil {
		return "1:1"
	}
	return fmt.Sprintf("%d:%d", t.Position.Line, t.Position.Column)
}

// positioned formats a go-yaml error as "file:line:col: message".
func positioned(filename string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		return fmt.Errorf("%s:%s: %s", filename, pos(ye.GetToken()), strings.TrimSpace(ye.GetMessage()))
	}
	return fmt.Errorf("%s: %s", filename, firstLine(err.Error()))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// ReadManifest reads a manifest file (NAME.yaml) the way LoadFile does: strictly, with errors
// naming file:line. Unknown capability names are ignored (LoadFile also logs them). The result has
// no defaults applied; Load applies them.
func ReadManifest(path string) (Manifest, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	m, _, err := parseManifest(path, src)
	return m, err
}
