package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Version is the version of the YAML format this package reads (the required "version" key).
const Version = 1

// MaxFileSize bounds a definition (1 MiB); larger input is rejected unread.
const MaxFileSize = 1 << 20

// Parse reads, validates and compiles one workflow definition in the YAML format of
// docs/workflows.md. file names the source in error messages (it may be empty); it is not read.
//
// Problems are reported all at once, as *Error values joined with errors.Join, each with the file,
// line, column and YAML path, and all matching ErrInvalid. They come in three rounds, each only
// when the one before found nothing: the YAML's syntax and shape (unknown keys, wrong types,
// missing required keys), then the meaning (names, references, conditions, limits), then the
// graph as a whole (reachability, a way to end, bounded cycles). Tools are checked separately,
// once plugins are loaded: see CheckTools.
func Parse(file string, data []byte) (*Workflow, error) {
	probs := &problems{file: file}
	d, def := decodeFile(probs, data)
	if !probs.empty() {
		return nil, probs.err()
	}
	w := &Workflow{File: file, src: &source{at: d.at, keyAt: d.keyAt}}
	c := &compiler{d: d, f: def, w: w, src: w.src, probs: probs}
	c.compile()
	if err := w.validate(probs, !probs.empty()); err != nil {
		return nil, err
	}
	return w, nil
}

// decodeFile parses data and decodes its single document, reporting problems to probs.
func decodeFile(probs *problems, data []byte) (*decoder, *fileDef) {
	if len(data) > MaxFileSize {
		probs.add(pos{}, "", "file too large: more than %d bytes", MaxFileSize)
		return nil, nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		at, msg := pos{}, err.Error()
		var ye yaml.Error
		if errors.As(err, &ye) {
			at, msg = tokenPos(ye.GetToken()), ye.GetMessage()
		}
		probs.add(at, "", "bad YAML: %s", msg)
		return nil, nil
	}
	switch {
	case len(f.Docs) > 1:
		probs.add(docPos(f.Docs[1]), "", "want one YAML document, got %d", len(f.Docs))
		return nil, nil
	case len(f.Docs) == 0 || f.Docs[0].Body == nil:
		probs.add(pos{1, 1}, "", "empty document: want a workflow definition")
		return nil, nil
	}
	d := newDecoder(probs)
	body := f.Docs[0].Body
	d.collectAnchors(body)
	def := &fileDef{}
	d.decode("", body, reflect.ValueOf(def).Elem())
	if _, ok := d.at["version"]; ok && def.Version != Version && !d.reported("version") {
		probs.list = nil
		probs.add(d.at["version"], "version", "unsupported version %d: this build reads version %d", def.Version, Version)
	}
	return d, def
}

// docPos is where a document starts: its "---", else its body, else the top of the file.
func docPos(doc *ast.DocumentNode) pos {
	if doc.Start != nil {
		return tokenPos(doc.Start)
	}
	if doc.Body != nil {
		if p := nodePos(doc.Body); p.line > 0 {
			return p
		}
	}
	return pos{1, 1}
}

// reported says whether a problem was already reported at path.
func (d *decoder) reported(path string) bool {
	for _, e := range d.probs.list {
		if e.Path == path {
			return true
		}
	}
	return false
}

// Load reads and parses the definition in the file at path. Read errors are returned wrapped, not
// as ErrInvalid.
func Load(path string) (*Workflow, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	return data, nil
}

// LoadDir loads every *.yaml and *.yml file directly in dir (not in subdirectories; names starting
// with "." are skipped), in file name order. It returns every definition that is valid, and an
// error joining the problems of the others: files that fail to read or parse, and definitions
// whose name another file in dir already took (the first file by name keeps it).
func LoadDir(dir string) ([]*Workflow, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	var out []*Workflow
	var errs []error
	byName := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		w, err := Load(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, dup := byName[w.Name]; dup {
			at := w.src.posOf("name")
			errs = append(errs, &Error{File: w.File, Line: at.line, Column: at.col, Path: "name",
				Msg: fmt.Sprintf("workflow %q is already defined in %s", w.Name, first)})
			continue
		}
		byName[w.Name] = w.File
		out = append(out, w)
	}
	return out, errors.Join(errs...)
}

// computeHash is the hex sha256 of the canonical JSON of Agents, Graph and Limits.
func (w *Workflow) computeHash() (string, error) {
	b, err := json.Marshal(struct {
		Agents []Agent `json:"agents"`
		Graph  Graph   `json:"graph"`
		Limits Limits  `json:"limits"`
	}{w.Agents, w.Graph, w.Limits})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// CheckTools reports every tool reference (an agent's tools, a tool node's tool) for which exists
// returns false, with its position when the workflow was read from YAML. Call it once plugins are
// loaded; exists receives the name as written ("calculate" or "http.http_fetch"). Problems are
// *Error values joined with errors.Join, matching ErrInvalid and ErrUnknownTool.
func (w *Workflow) CheckTools(exists func(name string) bool) error {
	probs := &problems{file: w.File}
	v := &validator{w: w, src: w.src, probs: probs}
	for i, a := range w.Agents {
		for j, t := range a.Tools {
			if !exists(t.Name) {
				v.agent(i, index("tools", j)+".name", "unknown tool %q: no loaded plugin provides it", t.Name)
			}
		}
	}
	for i, n := range w.Graph.Nodes {
		if n.Tool != nil && !exists(n.Tool.Name) {
			v.node(i, "tool.name", "unknown tool %q: no loaded plugin provides it", n.Tool.Name)
		}
	}
	for _, e := range probs.list {
		e.unknownTool = true
	}
	return probs.err()
}
