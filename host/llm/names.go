package llm

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/agentfleet/fleet/engine"
)

// validToolName is what the OpenAI API accepts as a function name.
var validToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// toolNames maps the engine's tool names to names the API accepts and back.
type toolNames struct {
	fwd  map[string]string
	back map[string]string
}

// newToolNames assigns wire names to the offered tools: valid names stay, others are
// sanitized and, on a clash, numbered.
func newToolNames(tools []engine.ToolDef) *toolNames {
	n := &toolNames{fwd: map[string]string{}, back: map[string]string{}}
	used := map[string]bool{}
	for _, t := range tools {
		if validToolName.MatchString(t.Name) {
			used[t.Name] = true
		}
	}
	for _, t := range tools {
		if validToolName.MatchString(t.Name) {
			continue
		}
		w := sanitize(t.Name, 64)
		for i := 2; used[w]; i++ {
			suffix := fmt.Sprintf("_%d", i)
			w = sanitize(t.Name, 64-len(suffix)) + suffix
		}
		used[w] = true
		n.fwd[t.Name], n.back[w] = w, t.Name
	}
	return n
}

// wire returns the name sent for an engine tool name.
func (n *toolNames) wire(name string) string {
	if w, ok := n.fwd[name]; ok {
		return w
	}
	if validToolName.MatchString(name) {
		return name
	}
	return sanitize(name, 64)
}

// sanitize replaces characters the API rejects with "_" and cuts to max bytes.
func sanitize(name string, max int) string {
	s := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	if s == "" {
		s = "tool"
	}
	if len(s) > max {
		s = s[:max]
	}
	return s
}
