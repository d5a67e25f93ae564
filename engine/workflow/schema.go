package workflow

import (
	"reflect"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// The structs below mirror the YAML format (version 1) key for key; docs/workflows.md is its
// reference. Keys tagged "required" must be present; the others default to their zero value.

type fileDef struct {
	Version     int           `yaml:"version,required"`
	Name        string        `yaml:"name,required"`
	Description string        `yaml:"description"`
	Defaults    defaultsDef   `yaml:"defaults"`
	Limits      Limits        `yaml:"limits"`
	Agents      []agentDef    `yaml:"agents"`
	Sequential  []string      `yaml:"sequential"`
	Concurrent  concurrentDef `yaml:"concurrent"`
	Handoff     handoffDef    `yaml:"handoff"`
	Supervisor  supervisorDef `yaml:"supervisor"`
	GroupChat   groupChatDef  `yaml:"group_chat"`
	Graph       graphDef      `yaml:"graph"`
}

type defaultsDef struct {
	Model ModelSpec `yaml:"model"`
}

type agentDef struct {
	Name         string       `yaml:"name,required"`
	Description  string       `yaml:"description"`
	Instructions string       `yaml:"instructions"`
	Model        ModelSpec    `yaml:"model"`
	Tools        []toolRefDef `yaml:"tools"`
}

// toolRefDef is a tool reference: a bare name, or a mapping.
type toolRefDef struct {
	Name     string        `yaml:"name,required"`
	Approval string        `yaml:"approval"`
	Timeout  time.Duration `yaml:"timeout"`
}

func (t *toolRefDef) decodeNode(d *decoder, path string, n ast.Node) {
	if _, ok := n.(*ast.MappingNode); ok {
		d.decodeStruct(path, n, reflect.ValueOf(t).Elem())
		return
	}
	if s, ok := d.str(path, n); ok {
		t.Name = s
	}
}

type concurrentDef struct {
	Agents []string `yaml:"agents,required"`
	Join   string   `yaml:"join"`
}

type handoffDef struct {
	Start       string    `yaml:"start,required"`
	Routes      routesDef `yaml:"routes,required"`
	MaxHandoffs int       `yaml:"max_handoffs"`
}

// routesDef is the handoff routes mapping, in declaration order.
type routesDef []routeDef

type routeDef struct {
	From string
	To   []string
}

func (r *routesDef) decodeNode(d *decoder, path string, n ast.Node) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if _, null := n.(*ast.NullNode); !null {
			d.errorf(path, n, "want a mapping of agent to the agents it may hand off to, got %s", kindOf(n))
		}
		return
	}
	for _, mv := range d.entries(path, m, 0) {
		from := keyText(mv.Key)
		p := join(path, from)
		d.keyAt[p] = nodePos(mv.Key)
		var to []string
		d.decode(p, mv.Value, reflect.ValueOf(&to).Elem())
		*r = append(*r, routeDef{From: from, To: to})
	}
}

type supervisorDef struct {
	Router    string   `yaml:"router"`
	Agents    []string `yaml:"agents,required"`
	MaxRounds int      `yaml:"max_rounds"`
}

type groupChatDef struct {
	Coordinator string   `yaml:"coordinator,required"`
	Agents      []string `yaml:"agents,required"`
	MaxRounds   int      `yaml:"max_rounds"`
}

type graphDef struct {
	Start nameList  `yaml:"start,required"`
	Nodes []nodeDef `yaml:"nodes,required"`
	Edges []edgeDef `yaml:"edges"`
}

// nameList is one name or a list of names.
type nameList []string

func (l *nameList) decodeNode(d *decoder, path string, n ast.Node) {
	if _, ok := n.(*ast.SequenceNode); ok {
		d.decodeSlice(path, n, reflect.ValueOf(l).Elem())
		return
	}
	if s, ok := d.str(path, n); ok {
		*l = nameList{s}
	}
}

type nodeDef struct {
	ID        string      `yaml:"id"`
	Agent     string      `yaml:"agent"`
	Router    routerDef   `yaml:"router"`
	Tool      toolNodeDef `yaml:"tool"`
	Join      string      `yaml:"join"`
	Wait      string      `yaml:"wait"`
	MaxVisits int         `yaml:"max_visits"`
}

type routerDef struct {
	Mode    string   `yaml:"mode"`
	Agent   string   `yaml:"agent"`
	Choices []string `yaml:"choices,required"`
}

type toolNodeDef struct {
	Name string  `yaml:"name,required"`
	Args argsDef `yaml:"args"`
}

// argsDef is a tool node's arguments object.
type argsDef map[string]any

func (a *argsDef) decodeNode(d *decoder, path string, n ast.Node) {
	switch n.(type) {
	case *ast.NullNode:
	case *ast.MappingNode:
		*a = d.anyValue(path, n).(map[string]any)
	default:
		d.errorf(path, n, "want a mapping of argument names to values, got %s", kindOf(n))
	}
}

type edgeDef struct {
	From string  `yaml:"from,required"`
	To   string  `yaml:"to,required"`
	When whenDef `yaml:"when"`
}

// whenDef is an edge condition: "default", or a mapping with exactly one key.
type whenDef struct {
	Route       string `yaml:"route"`
	Contains    string `yaml:"contains"`
	NotContains string `yaml:"not_contains"`
	Matches     string `yaml:"matches"`
	Default     bool   `yaml:"-"`
}

func (w *whenDef) decodeNode(d *decoder, path string, n ast.Node) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		s, _ := n.(*ast.StringNode)
		if s != nil && s.Value == "default" {
			w.Default = true
			return
		}
		d.errorf(path, n, `want "default" or a mapping with one of route, contains, not_contains, matches; got %s`, describe(n))
		return
	}
	d.decodeStruct(path, m, reflect.ValueOf(w).Elem())
	if len(m.Values) == 0 {
		d.errorf(path, n, "empty condition: want one of route, contains, not_contains, matches (leave out when to always take the edge)")
	}
	if len(m.Values) > 1 {
		d.errorf(path, n, "more than one condition: an edge has one (add another edge for another condition)")
	}
	if len(m.Values) == 1 {
		if s, ok := m.Values[0].Value.(*ast.StringNode); ok && s.Value == "" {
			key := keyText(m.Values[0].Key)
			d.errorf(join(path, key), s, "empty %s: want the text to test for", key)
		}
	}
}

// describe names a node's kind, quoting a string's value.
func describe(n ast.Node) string {
	if s, ok := n.(*ast.StringNode); ok {
		return "string " + strconv.Quote(s.Value)
	}
	return kindOf(n)
}
