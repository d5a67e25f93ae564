package plugin

import (
	"strings"
	"testing"
	"time"
)

// TestParseManifest parses a manifest with every key: sizes with units, durations, capabilities
// with an http grant, and a free-form config.
func TestParseManifest(t *testing.T) {
	src := `sha256: ` + strings.Repeat("AB", 32) + `
memory_limit: 1.5GiB
timeout: 2m30s
max_output: 2048
max_input: 10KB
instances: 4
capabilities:
  log: true
  clock: true
  kv: false
  http:
    allow: [api.example.com, "*.example.org:8443"]
    allow_private: true
config:
  model: small
  retries: 3
  nested: {a: [1, two]}
`
	m, warnings, err := parseManifest("p.yaml", []byte(src))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("parseManifest: %v %v", err, warnings)
	}
	grant := m.Capabilities.HTTP
	for _, c := range []struct {
		field string
		ok    bool
	}{
		{"sha256", m.SHA256 == strings.Repeat("ab", 32)},
		{"memory_limit", m.MemoryLimit == 3<<29},
		{"timeout", m.Timeout == 150*time.Second},
		{"max_output", m.MaxOutput == 2048},
		{"max_input", m.MaxInput == 10000},
		{"instances", m.Instances == 4},
		{"capabilities.log", m.Capabilities.Log},
		{"capabilities.clock", m.Capabilities.Clock},
		{"capabilities.kv", !m.Capabilities.KV},
		{"capabilities.http", grant != nil && grant.AllowPrivate && len(grant.Allow) == 2},
		{"config.model", m.Config["model"] == "small"},
	} {
		if !c.ok {
			t.Fatalf("manifest %s wrong: %+v", c.field, m)
		}
	}
	if got := m.Capabilities.names(); strings.Join(got, ",") != "log,clock,http" {
		t.Fatalf("granted = %v", got)
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown key", "timeout: 1s\nbogus: 1\n", "m.yaml:2:1: unknown field \"bogus\""},
		{"unknown nested key", "capabilities:\n  http:\n    allow: []\n    private: true\n", "m.yaml:4:5: unknown field \"private\""},
		{"duplicate key", "timeout: 1s\ntimeout: 2s\n", "m.yaml:2:1: mapping key \"timeout\" already defined"},
		{"wrong type", "instances: many\n", "m.yaml:1:12: "},
		{"capability not a bool", "capabilities:\n  log: [1]\n", "m.yaml:2:"},
		{"bad size", "memory_limit: 12 parsecs\n", "m.yaml:1:15: memory_limit: \"12 parsecs\" is not a byte count"},
		{"negative size", "max_output: -5\n", "m.yaml:1:13: max_output: -5 is negative"},
		{"duration without unit", "timeout: 30\n", "m.yaml:1:10: timeout: want a duration with a unit"},
		{"bad duration", "timeout: soon\n", "m.yaml:1:10: timeout: want a duration such as"},
		{"out of range", "instances: 1000\n", "m.yaml: manifest: instances 1000 out of range"},
		{"memory too small", "memory_limit: 1KiB\n", "memory_limit 1024 out of range"},
		{"bad sha256", "sha256: xyz\n", "sha256 \"xyz\" is not 64 hex digits"},
		{"not a mapping", "- a\n- b\n", "m.yaml:1:1: a manifest is a mapping of keys"},
		{"two documents", "timeout: 1s\n---\ntimeout: 2s\n", "a manifest is one YAML document, found 2"},
		{"syntax", "timeout: [1s\n", "m.yaml:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseManifest("m.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseManifestLenient(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n", "null\n"} {
		m, w, err := parseManifest("m.yaml", []byte(src))
		if err != nil || len(w) != 0 || m.Instances != 0 || len(m.Capabilities.names()) != 0 {
			t.Errorf("parseManifest(%q) = %+v, %v, %v; want the zero manifest", src, m, w, err)
		}
	}
	m, w, err := parseManifest("m.yaml", []byte("capabilities:\n  log: true\n  teleport: true\n  kv: true\n"))
	if err != nil || len(w) != 1 || !strings.Contains(w[0], "m.yaml:3:3: unknown capability \"teleport\" ignored") || !m.Capabilities.Log || !m.Capabilities.KV {
		t.Fatalf("unknown capability: %+v %v %v", m, w, err)
	}
}
