package plugin

import (
	"os"
	"strings"
	"testing"
)

// docBlock returns the first fenced block of the given language after heading in docs/abi.md.
func docBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/abi.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), heading)
	if !ok {
		t.Fatalf("docs/abi.md has no %q", heading)
	}
	_, block, ok := strings.Cut(section, "```"+lang+"\n")
	if !ok {
		t.Fatalf("no %s block after %q", lang, heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestABIDocWAT keeps testdata/ping.wat (whose ping.wasm the tests load) equal to the plugin of
// docs/abi.md section 10, apart from its leading comment.
func TestABIDocWAT(t *testing.T) {
	wat, err := os.ReadFile("testdata/ping.wat")
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, line := range strings.SplitAfter(string(wat), "\n") {
		if !strings.HasPrefix(line, ";;") {
			code = append(code, line)
		}
	}
	if got, want := strings.Join(code, ""), docBlock(t, "## 10. A plugin in WAT", "wat"); got != want {
		t.Fatalf("testdata/ping.wat differs from docs/abi.md section 10:\n%s\nwant:\n%s", got, want)
	}
}

// TestABIDocManifest parses the manifest example of docs/abi.md section 9.
func TestABIDocManifest(t *testing.T) {
	m, warnings, err := parseManifest("abi.md", []byte(docBlock(t, "## 9. Limits", "yaml")))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("the manifest example does not parse: %v %v", err, warnings)
	}
	if m.MemoryLimit != 64<<20 || m.Instances != 4 || m.Capabilities.HTTP == nil || m.Config["units"] != "metric" {
		t.Fatalf("manifest example = %+v", m)
	}
}
