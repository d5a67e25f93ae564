package workflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const docsFile = "../../docs/workflows.md"

// fence is one fenced code block of a markdown file.
type fence struct {
	lang, body string
	line       int // of the opening fence
}

func fences(t *testing.T, file string) []fence {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []fence
	var cur *fence
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &fence{lang: strings.TrimPrefix(line, "```"), line: i + 1}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed code block", file, cur.line)
	}
	return out
}

// docTool accepts the first-party tools, bare or as plugin.tool.
func docTool(name string) bool {
	_, tool, _ := strings.Cut(name, ".")
	return firstPartyTool(name) || firstPartyTool(tool)
}

// TestDocs parses every ```yaml block of docs/workflows.md. A block starting with "# invalid" must
// fail with exactly the error in the ```text block that follows it (file name example.yaml); every
// other block must parse, and its tools must be first-party tools.
func TestDocs(t *testing.T) {
	blocks := fences(t, docsFile)
	n := 0
	for i, b := range blocks {
		if b.lang != "yaml" {
			continue
		}
		n++
		w, err := Parse("example.yaml", []byte(b.body))
		if strings.HasPrefix(b.body, "# invalid\n") {
			if i+1 >= len(blocks) || blocks[i+1].lang != "text" {
				t.Errorf("workflows.md:%d: an invalid example needs a ```text block with its error after it", b.line)
				continue
			}
			want := strings.TrimSuffix(blocks[i+1].body, "\n")
			if err == nil || err.Error() != want {
				t.Errorf("workflows.md:%d: error:\n%v\nwant (workflows.md:%d):\n%s", b.line, err, blocks[i+1].line, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("workflows.md:%d: %v", b.line, err)
			continue
		}
		if err := w.CheckTools(docTool); err != nil {
			t.Errorf("workflows.md:%d: %v", b.line, err)
		}
	}
	if n < 10 {
		t.Errorf("only %d yaml blocks found", n)
	}
}

// TestDocsListExamples: the table of examples in docs/workflows.md lists every example file.
func TestDocsListExamples(t *testing.T) {
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(examplesDir + "/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		if !strings.Contains(string(data), "| `"+filepath.Base(f)+"` |") {
			t.Errorf("docs/workflows.md does not list %s", filepath.Base(f))
		}
	}
}
