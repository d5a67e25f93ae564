package workflow

import (
	"regexp"
	"strings"
	"sync"
)

// Holds reports whether the condition holds for a node's output text and routing decision (a
// router's choice, an agent's handoff target, or Finish; empty when the node made none). A Default
// condition holds here; Graph.Next applies its "only when no other conditional edge holds" rule.
// A Matches expression that does not compile never holds (Validate rejects those).
func (c Condition) Holds(output, decision string) bool {
	switch {
	case c.Route != "":
		return c.Route == decision
	case c.Contains != "":
		return strings.Contains(output, c.Contains)
	case c.NotContains != "":
		return !strings.Contains(output, c.NotContains)
	case c.Matches != "":
		re, err := compileCached(c.Matches)
		return err == nil && re.MatchString(output)
	}
	return true
}

// conditional reports whether the condition is a test (not always, not default).
func (c Condition) conditional() bool {
	return c != Condition{} && !c.Default
}

// Next returns the edges leaving node from that are taken after it produced output and decision:
// every unconditional edge, every conditional edge that holds, and the default edge when no
// conditional edge holds. Edges keep their declaration order; an empty result means the branch
// stops (Validate ensures every non-router node has an unconditional or default edge).
func (g *Graph) Next(from, output, decision string) []Edge {
	out := g.Out(from)
	var taken []Edge
	conditionalHeld := false
	for _, e := range out {
		if e.When.conditional() && e.When.Holds(output, decision) {
			conditionalHeld = true
		}
	}
	for _, e := range out {
		switch {
		case e.When.Default:
			if !conditionalHeld {
				taken = append(taken, e)
			}
		case e.When.Holds(output, decision):
			taken = append(taken, e)
		}
	}
	return taken
}

// regexps caches compiled Matches expressions by source.
var regexps sync.Map // string -> *regexp.Regexp

func compileCached(expr string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(expr); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	regexps.Store(expr, re)
	return re, nil
}
