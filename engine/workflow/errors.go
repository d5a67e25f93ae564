package workflow

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every problem Parse, Load, LoadDir, Validate and CheckTools
// report: the definition cannot run as written. Callers refuse the workflow and show the error.
var ErrInvalid = errors.New("invalid workflow")

// ErrUnknownTool is matched, besides ErrInvalid, by the problems CheckTools reports: the definition
// is well formed but names a tool no loaded plugin provides. A host may keep listing the workflow as
// unavailable until the plugin is loaded.
var ErrUnknownTool = errors.New("unknown tool")

// Error is one problem in a workflow definition. Several are joined with errors.Join; use
// errors.As on each, or errors.Is(err, ErrInvalid) for the whole.
type Error struct {
	// File is the file the definition came from; empty for data without a file name.
	File string
	// Line and Column (1-based) locate the problem in the file; 0 when unknown (a workflow built
	// in Go rather than read from YAML).
	Line, Column int
	// Path is where in the definition, in the YAML's own terms: "agents[1].model.temperature",
	// "graph.edges[0].to". Empty for problems with the whole document.
	Path string
	// Msg says what is wrong.
	Msg string

	unknownTool bool
}

// Error formats the problem as "file:line:column: path: message", leaving out the parts not known.
func (e *Error) Error() string {
	var b strings.Builder
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
		if e.Column > 0 {
			loc += ":" + strconv.Itoa(e.Column)
		}
		loc = strings.TrimPrefix(loc, ":")
	}
	if loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalid, or ErrUnknownTool for an unknown tool reference.
func (e *Error) Is(target error) bool {
	return target == ErrInvalid || (e.unknownTool && target == ErrUnknownTool)
}

// pos is a 1-based line and column; the zero pos is unknown.
type pos struct{ line, col int }

// problems collects the problems of one definition.
type problems struct {
	file string
	list []*Error
}

// add records a problem, unless one is already recorded at the same (non-empty) path: the first
// says enough, the others would follow from it.
func (p *problems) add(at pos, path, format string, args ...any) {
	if path != "" && p.at(path) {
		return
	}
	p.list = append(p.list, &Error{File: p.file, Line: at.line, Column: at.col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// at says whether a problem is recorded at path.
func (p *problems) at(path string) bool {
	return slices.ContainsFunc(p.list, func(e *Error) bool { return e.Path == path })
}

func (p *problems) empty() bool { return len(p.list) == 0 }

// err returns the problems sorted by position (unknown positions last) and joined, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line)
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	if len(p.list) == 1 {
		return p.list[0]
	}
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}
