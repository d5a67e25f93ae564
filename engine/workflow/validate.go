package workflow

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Name rules.
var (
	// workflow names and agent and node ids
	idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	// "plugin.tool" or a bare tool name (docs/abi.md: plugin and tool names)
	toolPattern = regexp.MustCompile(`^(?:[a-z0-9][a-z0-9_-]{0,63}\.)?[a-zA-Z0-9_-]{1,64}$`)
	// {{...}} in tool node arguments
	templatePattern = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

const (
	// maxNameLen bounds workflow names.
	maxNameLen = 64
	// maxIDLen bounds agent and node ids, so that a router's route_to_<id> tool name stays within
	// the 64 characters model APIs accept.
	maxIDLen = 48
	// maxTemperature is the highest temperature providers accept.
	maxTemperature = 2
)

var (
	reasoningEfforts = []string{"low", "medium", "high"}
	approvals        = []string{ApprovalNever, ApprovalRequired}
	waits            = []string{WaitAny, WaitAll}
	templates        = []string{"{{input}}", "{{last}}"}
)

// Validate checks a workflow built in Go (Parse, Load and LoadDir call it on what they read): names,
// references between agents, nodes and edges, conditions, limits, that every node is reachable from
// a start node and can reach end, and that every cycle is bounded (limits.max_steps set, or
// max_visits on a node of the cycle). On success it fills zero limits from DefaultLimits, empty
// Approval, Wait and Router fields with their defaults, and Hash. Problems are *Error values joined
// with errors.Join, all matching ErrInvalid.
func (w *Workflow) Validate() error {
	return w.validate(&problems{file: w.File}, false)
}

// validate adds the workflow's problems to probs (which may hold the compiler's already; then
// the checks that would only repeat them are skipped) and finishes a valid workflow.
func (w *Workflow) validate(probs *problems, compileFailed bool) error {
	v := &validator{w: w, src: w.src, probs: probs, compileFailed: compileFailed}
	v.check()
	if err := probs.err(); err != nil {
		return err
	}
	w.normalize()
	hash, err := w.computeHash()
	if err != nil {
		return fmt.Errorf("%w: hashing: %w", ErrInvalid, err)
	}
	w.Hash = hash
	return nil
}

// validator checks a compiled workflow, locating problems in the YAML when it has a source.
type validator struct {
	w     *Workflow
	src   *source
	probs *problems
	nodes map[string]*Node
	// rejected holds node ids already reported as bad; edges naming them are not checked.
	rejected map[string]bool
	// compileFailed: the compiler reported problems, so checks that would repeat them are skipped.
	compileFailed bool
}

// check runs the local checks, then, when they pass, the whole-graph ones.
func (v *validator) check() {
	explicitSteps := v.w.Limits.MaxSteps > 0
	v.nodes, v.rejected = map[string]*Node{}, map[string]bool{}
	v.checkName()
	v.checkLimits()
	v.checkAgents()
	v.checkNodes()
	v.checkStart()
	v.checkEdges()
	if !v.compileFailed {
		v.checkAgentsUsed()
	}
	if !v.probs.empty() {
		return
	}
	v.checkReachable()
	v.checkCanEnd()
	if !explicitSteps {
		v.checkCycles()
	}
}

// at reports a problem about field (a path relative to the entity, may be empty) of an entity:
// goBase is its path in the compiled form ("graph.nodes[2]"), yamlBase its path in the source.
func (v *validator) at(goBase, yamlBase, field, format string, args ...any) {
	if v.src == nil {
		v.probs.add(pos{}, join(goBase, field), format, args...)
		return
	}
	path := join(yamlBase, field)
	if v.probs.at(path) {
		return
	}
	for path != yamlBase && !v.src.known(path) {
		path = parent(path)
	}
	v.probs.add(v.src.posOf(path), path, format, args...)
}

func (v *validator) node(i int, field, format string, args ...any) {
	v.at(index("graph.nodes", i), v.srcPath(v.srcNodes(), i, "graph.nodes"), field, format, args...)
}

func (v *validator) edge(i int, field, format string, args ...any) {
	v.at(index("graph.edges", i), v.srcPath(v.srcEdges(), i, "graph.edges"), field, format, args...)
}

func (v *validator) agent(i int, field, format string, args ...any) {
	v.at(index("agents", i), index("agents", i), field, format, args...)
}

func (v *validator) srcNodes() []string {
	if v.src == nil {
		return nil
	}
	return v.src.nodes
}

func (v *validator) srcEdges() []string {
	if v.src == nil {
		return nil
	}
	return v.src.edges
}

func (v *validator) srcPath(paths []string, i int, goBase string) string {
	if i < len(paths) {
		return paths[i]
	}
	return index(goBase, i)
}

func (s *source) known(path string) bool {
	_, ok := s.at[path]
	if !ok {
		_, ok = s.keyAt[path]
	}
	return ok
}

// posOf is the position of path's value, else its key, else its nearest known ancestor's.
func (s *source) posOf(path string) pos {
	for {
		if p, ok := s.at[path]; ok {
			return p
		}
		if p, ok := s.keyAt[path]; ok {
			return p
		}
		if path == "" {
			return pos{1, 1}
		}
		path = parent(path)
	}
}

func (v *validator) checkName() {
	name := v.w.Name
	if v.src != nil && !v.src.known("name") {
		return // the decoder reported it missing
	}
	if name == "" {
		v.at("name", "name", "", "missing workflow name")
		return
	}
	if msg := badID(name, maxNameLen); msg != "" {
		v.at("name", "name", "", "%s", msg)
	}
}

// badID says what is wrong with an id, or "".
func badID(id string, maxLen int) string {
	switch {
	case id == "":
		return "empty name"
	case id == End:
		return `"end" is reserved for the end of the run`
	case !idPattern.MatchString(id):
		return fmt.Sprintf("bad name %q: want lowercase letters, digits, _ and -, starting with a letter or digit", id)
	case len(id) > maxLen:
		return fmt.Sprintf("name %q is longer than %d characters", id, maxLen)
	}
	return ""
}

func (v *validator) checkLimits() {
	l := v.w.Limits
	ints := []struct {
		key string
		val int
	}{{"max_steps", l.MaxSteps}, {"max_turns", l.MaxTurns}, {"tool_concurrency", l.ToolConcurrency}, {"retries", l.Retries}}
	for _, f := range ints {
		if f.val < 0 {
			v.at("limits", "limits", f.key, "must not be negative, got %d (0 or leaving it out takes the default)", f.val)
		}
	}
	durs := []struct {
		key string
		val time.Duration
	}{{"timeout", l.Timeout}, {"step_timeout", l.StepTimeout}, {"tool_timeout", l.ToolTimeout}, {"retry_backoff", l.RetryBackoff}}
	for _, f := range durs {
		if f.val < 0 {
			v.at("limits", "limits", f.key, "must not be negative, got %s (0 or leaving it out takes the default)", f.val)
		}
	}
}

func (v *validator) checkAgents() {
	seen := map[string]int{}
	for i := range v.w.Agents {
		a := &v.w.Agents[i]
		if msg := badID(a.Name, maxIDLen); msg != "" {
			v.agent(i, "name", "%s", msg)
		} else if first, dup := seen[a.Name]; dup {
			v.agent(i, "name", "agent %q is already defined (agents[%d])", a.Name, first)
		} else {
			seen[a.Name] = i
		}
		v.checkModel(i, a.Model)
		v.checkTools(i, a.Tools)
	}
}

// model reports a problem with an agent's model field, at the agent's own key or, when the value
// came from defaults.model, there.
func (v *validator) model(i int, key, format string, args ...any) {
	own := index("agents", i) + ".model." + key
	if v.src != nil && !v.src.known(own) && v.src.known("defaults.model."+key) {
		v.at(own, "defaults.model."+key, "", format, args...)
		return
	}
	v.agent(i, "model."+key, format, args...)
}

func (v *validator) checkModel(i int, m ModelSpec) {
	if t := m.Temperature; t != nil && (*t < 0 || *t > maxTemperature) {
		v.model(i, "temperature", "want a temperature from 0 to %d, got %g", maxTemperature, *t)
	}
	if m.MaxTokens < 0 {
		v.model(i, "max_tokens", "must not be negative, got %d (0 leaves it to the provider)", m.MaxTokens)
	}
	if m.ReasoningEffort != "" && !slices.Contains(reasoningEfforts, m.ReasoningEffort) {
		v.model(i, "reasoning_effort", "want one of %s, got %q", strings.Join(reasoningEfforts, ", "), m.ReasoningEffort)
	}
}

func (v *validator) checkTools(i int, tools []ToolRef) {
	seen := map[string]bool{}
	for j, t := range tools {
		field := index("tools", j)
		switch {
		case !toolPattern.MatchString(t.Name):
			v.agent(i, field+".name", "bad tool name %q: want tool or plugin.tool (letters, digits, _ and -)", t.Name)
		case seen[t.Name]:
			v.agent(i, field+".name", "tool %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		if t.Approval != "" && !slices.Contains(approvals, t.Approval) {
			v.agent(i, field+".approval", "want one of %s, got %q", strings.Join(approvals, ", "), t.Approval)
		}
		if t.Timeout < 0 {
			v.agent(i, field+".timeout", "must not be negative, got %s", t.Timeout)
		}
	}
}

// nodeChecks holds the checks of each node kind.
var nodeChecks = map[string]func(v *validator, i int, n *Node){
	KindAgent:  (*validator).checkAgentNode,
	KindRouter: (*validator).checkRouterNode,
	KindTool:   (*validator).checkToolNode,
	KindJoin:   (*validator).checkJoinNode,
}

func (v *validator) checkNodes() {
	g := &v.w.Graph
	if len(g.Nodes) == 0 && !v.compileFailed {
		v.at("graph.nodes", "graph.nodes", "", "no nodes")
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if msg := badID(n.ID, maxIDLen); msg != "" {
			v.rejected[n.ID] = true
			if n.Kind != KindAgent || n.ID != n.Agent || !v.knownAgent(n.ID) { // else the agent's name was reported
				v.node(i, "id", "%s", msg)
			}
		} else if _, dup := v.nodes[n.ID]; dup {
			v.node(i, "id", "node %q is already defined", n.ID)
		} else {
			v.nodes[n.ID] = n
		}
	}
	for i := range g.Nodes {
		v.checkNode(i, &g.Nodes[i])
	}
}

func (v *validator) checkNode(i int, n *Node) {
	if n.Wait != "" && !slices.Contains(waits, n.Wait) {
		field := "wait"
		if n.Kind == KindJoin {
			field = "join" // a join node's wait mode is its join key
		}
		v.node(i, field, "want one of %s, got %q", strings.Join(waits, ", "), n.Wait)
	}
	if n.MaxVisits < 0 {
		v.node(i, "max_visits", "must not be negative, got %d (0 means no bound of its own)", n.MaxVisits)
	}
	check, ok := nodeChecks[n.Kind]
	if !ok {
		if v.src == nil || n.Kind != "" { // from YAML, an empty kind was reported when compiling
			v.node(i, "kind", "unknown node kind %q: want agent, router, tool or join", n.Kind)
		}
		return
	}
	check(v, i, n)
}

func (v *validator) knownAgent(name string) bool {
	_, ok := v.w.Agent(name)
	return ok
}

func (v *validator) checkAgentNode(i int, n *Node) {
	if !v.knownAgent(n.Agent) {
		v.node(i, "agent", "unknown agent %q", n.Agent)
	}
}

func (v *validator) checkRouterNode(i int, n *Node) {
	r := n.Router
	if r == nil {
		v.node(i, "router", "a router node needs its router settings")
		v.rejected[n.ID] = true
		return
	}
	switch r.Mode {
	case "", ModeLLM:
		if n.Agent != "" && !v.knownAgent(n.Agent) {
			v.node(i, "router.agent", "unknown agent %q", n.Agent)
		}
	case ModeRoundRobin:
		if n.Agent != "" {
			v.node(i, "router.agent", "a round_robin router takes no agent (it picks the choices in turn)")
		}
	default:
		v.node(i, "router.mode", "want %s or %s, got %q", ModeLLM, ModeRoundRobin, r.Mode)
	}
	if r.Kind != "" && r.Kind != RouteKindRoute && r.Kind != RouteKindSpeaker {
		v.node(i, "router.kind", "want %s or %s, got %q", RouteKindRoute, RouteKindSpeaker, r.Kind)
	}
	v.checkChoices(i, n)
}

func (v *validator) checkChoices(i int, n *Node) {
	r := n.Router
	if len(r.Choices) == 0 {
		v.node(i, "router.choices", "no choices: list the nodes the router picks from")
	}
	seen := map[string]bool{}
	for j, c := range r.Choices {
		field := index("router.choices", j)
		switch {
		case v.nodes[c] == nil:
			v.node(i, field, "unknown node %q", c)
		case c == n.ID:
			v.node(i, field, "a router cannot choose itself")
		case seen[c]:
			v.node(i, field, "choice %q is listed twice", c)
		}
		seen[c] = true
	}
}

func (v *validator) checkToolNode(i int, n *Node) {
	t := n.Tool
	if t == nil {
		v.node(i, "tool", "a tool node needs its tool settings")
		v.rejected[n.ID] = true
		return
	}
	if !toolPattern.MatchString(t.Name) {
		v.node(i, "tool.name", "bad tool name %q: want tool or plugin.tool (letters, digits, _ and -)", t.Name)
	}
	if _, err := json.Marshal(t.Args); err != nil {
		v.node(i, "tool.args", "arguments are not JSON: %v", err)
		return
	}
	v.checkTemplates(i, "tool.args", t.Args)
}

// checkTemplates reports {{...}} placeholders other than {{input}} and {{last}} in argument strings.
func (v *validator) checkTemplates(i int, path string, val any) {
	switch x := val.(type) {
	case string:
		for _, t := range templatePattern.FindAllString(x, -1) {
			if !slices.Contains(templates, t) {
				v.node(i, path, "unknown template %s: want %s", t, strings.Join(templates, " or "))
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v.checkTemplates(i, join(path, k), x[k])
		}
	case []any:
		for j, e := range x {
			v.checkTemplates(i, index(path, j), e)
		}
	}
}

func (v *validator) checkJoinNode(i int, n *Node) {
	if n.Agent != "" {
		v.node(i, "agent", "a join node runs no agent")
	}
}

func (v *validator) checkStart() {
	g := &v.w.Graph
	if len(g.Start) == 0 && !v.compileFailed {
		v.at("graph.start", "graph.start", "", "no start node")
	}
	seen := map[string]bool{}
	for i, id := range g.Start {
		goPath := index("graph.start", i)
		yamlPath := goPath
		if v.src != nil && i < len(v.src.start) {
			yamlPath = v.src.start[i]
		}
		switch {
		case v.rejected[id]:
		case v.nodes[id] == nil:
			v.at(goPath, yamlPath, "", "unknown node %q", id)
		case seen[id]:
			v.at(goPath, yamlPath, "", "node %q is listed twice", id)
		}
		seen[id] = true
	}
}

func (v *validator) checkEdges() {
	defaults := map[string]bool{}
	for i := range v.w.Graph.Edges {
		e := &v.w.Graph.Edges[i]
		if v.rejected[e.From] || v.rejected[e.To] {
			continue
		}
		from, okFrom := v.nodes[e.From]
		switch {
		case e.From == End:
			v.edge(i, "from", "end has no outgoing edges")
		case !okFrom:
			v.edge(i, "from", "unknown node %q", e.From)
		}
		if e.To != End && v.nodes[e.To] == nil {
			v.edge(i, "to", "unknown node %q", e.To)
		}
		if e.When.Default {
			if defaults[e.From] {
				v.edge(i, "when", "node %q already has a default edge", e.From)
			}
			defaults[e.From] = true
		}
		if okFrom {
			v.checkCondition(i, e, from)
		}
	}
	v.checkHasDefault()
}

func (v *validator) checkCondition(i int, e *Edge, from *Node) {
	c := e.When
	set := 0
	for _, s := range []string{c.Route, c.Contains, c.NotContains, c.Matches} {
		if s != "" {
			set++
		}
	}
	if c.Default {
		set++
	}
	if set > 1 {
		v.edge(i, "when", "more than one condition: an edge has one")
		return
	}
	if c.Matches != "" {
		if _, err := regexp.Compile(c.Matches); err != nil {
			v.edge(i, "when.matches", "bad regular expression %q: %v", c.Matches, errCause(err))
		}
	}
	if from.Kind == KindRouter {
		v.checkRouterEdge(i, e, from)
		return
	}
	if c.Route != "" {
		if from.Kind != KindAgent {
			v.edge(i, "when.route", "only agent and router nodes make routing decisions; %q is a %s node", from.ID, from.Kind)
			return
		}
		v.checkRouteTarget(i, e)
	}
}

// errCause is the regexp error without the repeated expression.
func errCause(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": `"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

// checkRouteTarget: a route edge goes to the node it names, or names finish.
func (v *validator) checkRouteTarget(i int, e *Edge) {
	r := e.When.Route
	switch {
	case r == End:
		v.edge(i, "when.route", "route %q: the decision that ends a loop is %q", r, Finish)
	case r != Finish && r != e.To:
		v.edge(i, "when.route", "route %q must lead to node %q (or use route: %s), not %q", r, r, Finish, e.To)
	}
}

func (v *validator) checkRouterEdge(i int, e *Edge, from *Node) {
	r := e.When.Route
	if r == "" {
		v.edge(i, "when", "edges from router %q need when: {route: <choice or %s>}", from.ID, Finish)
		return
	}
	if r != Finish && from.Router != nil && !slices.Contains(from.Router.Choices, r) {
		v.edge(i, "when.route", "%q is not one of router %q's choices", r, from.ID)
		return
	}
	v.checkRouteTarget(i, e)
}

// checkHasDefault: a node (other than a router, whose route edges cover every decision) whose edges
// all have conditions needs a default edge, so it always has somewhere to go.
func (v *validator) checkHasDefault() {
	g := &v.w.Graph
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind == KindRouter {
			continue
		}
		out := g.Out(n.ID)
		if len(out) == 0 {
			continue // reported as having no way to end
		}
		covered := false
		for _, e := range out {
			if e.When == (Condition{}) || e.When.Default {
				covered = true
				break
			}
		}
		if !covered {
			v.node(i, "", "every edge from node %q has a condition, so it may have nowhere to go: add an edge with when: default", n.ID)
		}
	}
}

func (v *validator) checkAgentsUsed() {
	used := map[string]bool{}
	for _, n := range v.w.Graph.Nodes {
		used[n.Agent] = true
	}
	for i, a := range v.w.Agents {
		if !used[a.Name] && badID(a.Name, maxIDLen) == "" {
			v.agent(i, "name", "agent %q is not used by the workflow", a.Name)
		}
	}
}

// reach returns the nodes reachable from roots following next.
func reach(roots []string, next map[string][]string) map[string]bool {
	seen := map[string]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		queue = append(queue, next[id]...)
	}
	return seen
}

func (v *validator) checkReachable() {
	next := map[string][]string{}
	for _, e := range v.w.Graph.Edges {
		next[e.From] = append(next[e.From], e.To)
	}
	seen := reach(v.w.Graph.Start, next)
	for i, n := range v.w.Graph.Nodes {
		if !seen[n.ID] {
			v.node(i, "", "node %q is unreachable: no edge leads to it from a start node", n.ID)
		}
	}
}

func (v *validator) checkCanEnd() {
	prev := map[string][]string{}
	for _, e := range v.w.Graph.Edges {
		prev[e.To] = append(prev[e.To], e.From)
	}
	seen := reach([]string{End}, prev)
	for i, n := range v.w.Graph.Nodes {
		if !seen[n.ID] {
			v.node(i, "", "node %q has no way to end: no path of edges leads from it to end", n.ID)
		}
	}
}

// checkCycles reports each cycle made only of nodes without max_visits (the caller skips it when
// limits.max_steps is set).
func (v *validator) checkCycles() {
	g := &v.w.Graph
	unbounded := func(id string) bool { n := v.nodes[id]; return n != nil && n.MaxVisits == 0 }
	next := map[string][]string{}
	for _, e := range g.Edges {
		if unbounded(e.From) && unbounded(e.To) {
			next[e.From] = append(next[e.From], e.To)
		}
	}
	comp := sccs(g.Nodes, next)
	reported := map[int]bool{}
	for i, e := range g.Edges {
		c, ok := comp[e.From]
		if !ok || comp[e.To] != c || reported[c] || !unbounded(e.From) || !unbounded(e.To) {
			continue
		}
		reported[c] = true
		cycle := cyclePath(e, next, comp)
		v.edge(i, "", "cycle %s has no bound: set max_visits on one of its nodes, or limits.max_steps",
			strings.Join(cycle, " -> "))
	}
}

// cyclePath returns from, to, ..., from: edge e closed into a cycle by the shortest path back
// from e.To to e.From inside their component.
func cyclePath(e Edge, next map[string][]string, comp map[string]int) []string {
	if e.From == e.To {
		return []string{e.From, e.From}
	}
	prev := map[string]string{e.To: e.To}
	queue := []string{e.To}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if id == e.From {
			break
		}
		for _, n := range next[id] {
			if _, seen := prev[n]; !seen && comp[n] == comp[e.From] {
				prev[n] = id
				queue = append(queue, n)
			}
		}
	}
	back := []string{e.From}
	for id := e.From; id != e.To; {
		id = prev[id]
		back = append(back, id)
	}
	slices.Reverse(back)
	return append([]string{e.From}, back...)
}

// sccs numbers the strongly connected components that contain a cycle (more than one node, or a
// self loop), Tarjan's algorithm; nodes outside such components are left out.
func sccs(nodes []Node, next map[string][]string) map[string]int {
	t := &tarjan{next: next, index: map[string]int{}, low: map[string]int{}, on: map[string]bool{}, comp: map[string]int{}}
	for _, n := range nodes {
		if _, done := t.index[n.ID]; !done {
			t.visit(n.ID)
		}
	}
	return t.comp
}

type tarjan struct {
	next       map[string][]string
	index, low map[string]int
	on         map[string]bool
	stack      []string
	counter    int
	comp       map[string]int
	comps      int
}

func (t *tarjan) visit(id string) {
	t.index[id], t.low[id] = t.counter, t.counter
	t.counter++
	t.stack = append(t.stack, id)
	t.on[id] = true
	selfLoop := false
	for _, n := range t.next[id] {
		if n == id {
			selfLoop = true
		}
		if _, seen := t.index[n]; !seen {
			t.visit(n)
			t.low[id] = min(t.low[id], t.low[n])
		} else if t.on[n] {
			t.low[id] = min(t.low[id], t.index[n])
		}
	}
	if t.low[id] != t.index[id] {
		return
	}
	var members []string
	for {
		top := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.on[top] = false
		members = append(members, top)
		if top == id {
			break
		}
	}
	if len(members) > 1 || selfLoop {
		t.comps++
		for _, m := range members {
			t.comp[m] = t.comps
		}
	}
}

// normalize fills what a valid definition leaves to defaults (a tool node's missing Args become an
// empty object).
func (w *Workflow) normalize() {
	w.Limits = w.Limits.withDefaults()
	for i := range w.Agents {
		a := &w.Agents[i]
		if a.Model.Temperature != nil {
			t := *a.Model.Temperature
			a.Model.Temperature = &t
		}
		for j := range a.Tools {
			a.Tools[j].Approval = cmp.Or(a.Tools[j].Approval, ApprovalNever)
		}
	}
	for i := range w.Graph.Nodes {
		n := &w.Graph.Nodes[i]
		n.Wait = cmp.Or(n.Wait, WaitAny)
		if n.Tool != nil && n.Tool.Args == nil {
			n.Tool.Args = map[string]any{}
		}
		if n.Router != nil {
			n.Router.Mode = cmp.Or(n.Router.Mode, ModeLLM)
			n.Router.Kind = cmp.Or(n.Router.Kind, RouteKindRoute)
		}
	}
}

// withDefaults returns l with every zero field taken from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	return Limits{
		MaxSteps:        cmp.Or(l.MaxSteps, d.MaxSteps),
		MaxTurns:        cmp.Or(l.MaxTurns, d.MaxTurns),
		Timeout:         cmp.Or(l.Timeout, d.Timeout),
		StepTimeout:     cmp.Or(l.StepTimeout, d.StepTimeout),
		ToolTimeout:     cmp.Or(l.ToolTimeout, d.ToolTimeout),
		ToolConcurrency: cmp.Or(l.ToolConcurrency, d.ToolConcurrency),
		Retries:         cmp.Or(l.Retries, d.Retries),
		RetryBackoff:    cmp.Or(l.RetryBackoff, d.RetryBackoff),
	}
}
