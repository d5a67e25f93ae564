package workflow

import (
	"cmp"
	"strconv"
	"strings"
)

// source maps the compiled workflow back to the YAML it came from, for error positions.
type source struct {
	at    map[string]pos // YAML path -> position of the value
	keyAt map[string]pos // YAML path -> position of the key
	nodes []string       // YAML path of each Graph.Nodes entry
	edges []string       // YAML path of each Graph.Edges entry
	start []string       // YAML path of each Graph.Start entry
}

// compiler lowers a decoded definition onto a Workflow.
type compiler struct {
	d     *decoder
	f     *fileDef
	w     *Workflow
	src   *source
	probs *problems
}

// patterns is the dispatch table of pattern keys, in the order messages list them.
var patterns = []struct {
	key     string
	compile func(*compiler)
}{
	{PatternSequential, (*compiler).sequential},
	{PatternConcurrent, (*compiler).concurrent},
	{PatternHandoff, (*compiler).handoff},
	{PatternSupervisor, (*compiler).supervisor},
	{PatternGroupChat, (*compiler).groupChat},
	{PatternGraph, (*compiler).graph},
}

func patternKeys() string {
	keys := make([]string, len(patterns))
	for i, p := range patterns {
		keys[i] = p.key
	}
	return strings.Join(keys, ", ")
}

func (c *compiler) errorf(path, format string, args ...any) {
	c.probs.add(c.d.posOf(path), path, format, args...)
}

func (c *compiler) has(path string) bool {
	_, ok := c.d.at[path]
	return ok
}

func (c *compiler) compile() {
	f := c.f
	c.w.Name, c.w.Description, c.w.Limits = f.Name, f.Description, f.Limits
	for _, a := range f.Agents {
		c.w.Agents = append(c.w.Agents, c.agent(a))
	}
	var chosen func(*compiler)
	for _, p := range patterns {
		if !c.has(p.key) {
			continue
		}
		if chosen != nil {
			c.errorf(p.key, "more than one pattern: %s and %s (a workflow has exactly one of %s)", c.w.Pattern, p.key, patternKeys())
			continue
		}
		c.w.Pattern, chosen = p.key, p.compile
	}
	if chosen == nil {
		c.single()
		return
	}
	chosen(c)
}

// agent merges the defaults under an agent definition.
func (c *compiler) agent(a agentDef) Agent {
	m, def := a.Model, c.f.Defaults.Model
	m.Provider = cmp.Or(m.Provider, def.Provider)
	m.Name = cmp.Or(m.Name, def.Name)
	m.ReasoningEffort = cmp.Or(m.ReasoningEffort, def.ReasoningEffort)
	m.MaxTokens = cmp.Or(m.MaxTokens, def.MaxTokens)
	if m.Temperature == nil {
		m.Temperature = def.Temperature
	}
	out := Agent{Name: a.Name, Description: a.Description, Instructions: a.Instructions, Model: m}
	for _, t := range a.Tools {
		out.Tools = append(out.Tools, ToolRef(t))
	}
	return out
}

func (c *compiler) addNode(path string, n Node) {
	c.w.Graph.Nodes = append(c.w.Graph.Nodes, n)
	c.src.nodes = append(c.src.nodes, path)
}

func (c *compiler) addEdge(path string, e Edge) {
	c.w.Graph.Edges = append(c.w.Graph.Edges, e)
	c.src.edges = append(c.src.edges, path)
}

func (c *compiler) addStart(path, id string) {
	c.w.Graph.Start = append(c.w.Graph.Start, id)
	c.src.start = append(c.src.start, path)
}

func agentNode(name string) Node {
	return Node{ID: name, Kind: KindAgent, Agent: name}
}

// single: no pattern key and exactly one agent.
func (c *compiler) single() {
	c.w.Pattern = PatternSingle
	switch n := len(c.f.Agents); {
	case n == 0:
		c.errorf("agents", "no agents: define one agent, or agents and one of %s", patternKeys())
		return
	case n > 1:
		c.errorf("agents", "%d agents but no pattern: add one of %s", n, patternKeys())
		return
	}
	name := c.f.Agents[0].Name
	c.addNode("agents[0]", agentNode(name))
	c.addStart("agents[0]", name)
	c.addEdge("agents[0]", Edge{From: name, To: End})
}

// uniqueNames reports repeated names in a list of agents and returns the indexes of the others.
func (c *compiler) uniqueNames(path string, names []string, what string) []int {
	seen := map[string]bool{}
	var keep []int
	for i, n := range names {
		p := index(path, i)
		if seen[n] {
			c.errorf(p, "agent %q appears twice in %s%s", n, what, twiceHint)
			continue
		}
		seen[n] = true
		keep = append(keep, i)
	}
	return keep
}

const twiceHint = " (an agent runs at most once per pattern; use a graph to run it again)"

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// sequential: a -> b -> ... -> end.
func (c *compiler) sequential() {
	names := c.f.Sequential
	if len(names) == 0 {
		c.errorf(PatternSequential, "empty: list the agents in the order they run")
		return
	}
	keep := c.uniqueNames(PatternSequential, names, PatternSequential)
	for k, i := range keep {
		p := index(PatternSequential, i)
		c.addNode(p, agentNode(names[i]))
		if k == 0 {
			c.addStart(p, names[i])
		}
		to := End
		if k+1 < len(keep) {
			to = names[keep[k+1]]
		}
		c.addEdge(p, Edge{From: names[i], To: to})
	}
}

// concurrent: every agent starts; each -> join (waits for all) -> end.
func (c *compiler) concurrent() {
	def := c.f.Concurrent
	path := PatternConcurrent + ".agents"
	if len(def.Agents) == 0 {
		c.errorf(path, "empty: list the agents that run at the same time")
		return
	}
	join := JoinNodeID
	joinPath := PatternConcurrent
	if def.Join != "" {
		join, joinPath = def.Join, PatternConcurrent+".join"
	}
	keep := c.uniqueNames(path, def.Agents, path)
	for _, i := range keep {
		name, p := def.Agents[i], index(path, i)
		if name == join {
			c.errorf(p, "%q is the join node; it cannot also run concurrently", name)
			continue
		}
		c.addNode(p, agentNode(name))
		c.addStart(p, name)
		c.addEdge(p, Edge{From: name, To: join})
	}
	node := Node{ID: JoinNodeID, Kind: KindJoin, Wait: WaitAll}
	if def.Join != "" {
		node = Node{ID: def.Join, Kind: KindAgent, Agent: def.Join, Wait: WaitAll}
	}
	c.addNode(joinPath, node)
	c.addEdge(joinPath, Edge{From: join, To: End})
}

// handoff: an agent node per agent named in start or routes; route a -> b when a hands off to b;
// every node ends when it answers without handing off.
func (c *compiler) handoff() {
	def := c.f.Handoff
	maxVisits := c.bound("handoff.max_handoffs", def.MaxHandoffs, DefaultMaxHandoffs) + 1
	refs := map[string]string{def.Start: "handoff.start"} // agent -> path of its first mention
	order := []string{def.Start}
	mention := func(name, path string) {
		if _, ok := refs[name]; !ok {
			refs[name] = path
			order = append(order, name)
		}
	}
	targets := map[string][]int{} // agent -> indexes into def.Routes
	for i, r := range def.Routes {
		p := "handoff.routes." + r.From
		mention(r.From, p)
		targets[r.From] = append(targets[r.From], i)
		c.checkTargets(p, r)
		for j, to := range r.To {
			mention(to, index(p, j))
		}
	}
	if len(def.Routes) == 0 {
		c.errorf("handoff.routes", "empty: map each agent to the agents it may hand off to")
	}
	for _, name := range c.inAgentOrder(order) {
		n := agentNode(name)
		n.MaxVisits = maxVisits
		c.addNode(refs[name], n)
		for _, i := range targets[name] {
			r := def.Routes[i]
			for j, to := range r.To {
				c.addEdge(index("handoff.routes."+r.From, j), Edge{From: name, To: to, When: Condition{Route: to}})
			}
		}
		c.addEdge(refs[name], Edge{From: name, To: End, When: Condition{Default: true}})
	}
	c.addStart("handoff.start", def.Start)
}

func (c *compiler) checkTargets(path string, r routeDef) {
	seen := map[string]bool{}
	for j, to := range r.To {
		switch {
		case to == r.From:
			c.errorf(index(path, j), "agent %q cannot hand off to itself", to)
		case seen[to]:
			c.errorf(index(path, j), "agent %q listed twice", to)
		}
		seen[to] = true
	}
}

// inAgentOrder sorts names by their position in the agents list; unknown names keep their order
// after the known ones (validation reports them).
func (c *compiler) inAgentOrder(names []string) []string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []string
	for _, a := range c.f.Agents {
		if want[a.Name] {
			out = append(out, a.Name)
			delete(want, a.Name)
		}
	}
	for _, n := range names {
		if want[n] {
			out = append(out, n)
		}
	}
	return out
}

// bound returns a pattern's round limit: the default when zero, reporting negative values.
func (c *compiler) bound(path string, v, def int) int {
	if v < 0 {
		c.errorf(path, "must not be negative (0 or leaving it out means %d)", def)
		return def
	}
	if v == 0 {
		return def
	}
	return v
}

// routerLoop builds the supervisor and group chat shape: a router node choosing among agents,
// each agent returning to the router, the router ending the run with "finish".
func (c *compiler) routerLoop(key, routerPath, routerID, agent, mode, kind string, agents []string, maxRounds int) {
	path := key + ".agents"
	if len(agents) == 0 {
		c.errorf(path, "empty: list the agents the %s chooses among", strings.ReplaceAll(key, "_", " "))
		return
	}
	maxVisits := c.bound(key+".max_rounds", maxRounds, DefaultMaxRounds) + 1
	var choices []string
	var paths []string
	for _, i := range c.uniqueNames(path, agents, path) {
		name, p := agents[i], index(path, i)
		if name == routerID {
			c.errorf(p, "%q is the %s's own node; it cannot also be one of its agents", name, strings.ReplaceAll(key, "_", " "))
			continue
		}
		choices, paths = append(choices, name), append(paths, p)
	}
	router := Node{ID: routerID, Kind: KindRouter, Agent: agent, MaxVisits: maxVisits,
		Router: &Router{Mode: mode, Kind: kind, Choices: choices}}
	c.addNode(routerPath, router)
	c.addStart(routerPath, routerID)
	for i, name := range choices {
		c.addEdge(paths[i], Edge{From: routerID, To: name, When: Condition{Route: name}})
	}
	c.addEdge(routerPath, Edge{From: routerID, To: End, When: Condition{Route: Finish}})
	for i, name := range choices {
		c.addNode(paths[i], agentNode(name))
		c.addEdge(paths[i], Edge{From: name, To: routerID})
	}
}

func (c *compiler) supervisor() {
	def := c.f.Supervisor
	id, path := SupervisorNodeID, PatternSupervisor
	if def.Router != "" {
		id, path = def.Router, PatternSupervisor+".router"
	}
	c.routerLoop(PatternSupervisor, path, id, def.Router, ModeLLM, RouteKindRoute, def.Agents, def.MaxRounds)
}

func (c *compiler) groupChat() {
	def := c.f.GroupChat
	id, agent, mode := def.Coordinator, def.Coordinator, ModeLLM
	if def.Coordinator == ModeRoundRobin {
		id, agent, mode = CoordinatorNodeID, "", ModeRoundRobin
	}
	c.routerLoop(PatternGroupChat, PatternGroupChat+".coordinator", id, agent, mode, RouteKindSpeaker, def.Agents, def.MaxRounds)
}

// graph: nodes and edges as written; a router node gets an edge for each choice and for finish
// that the definition does not route itself.
func (c *compiler) graph() {
	def := c.f.Graph
	for i, id := range def.Start {
		p := "graph.start"
		if c.has(index(p, 0)) {
			p = index(p, i)
		}
		c.addStart(p, id)
	}
	for i, nd := range def.Nodes {
		c.graphNode(index("graph.nodes", i), nd)
	}
	routed := map[[2]string]bool{}
	for i, e := range def.Edges {
		w := e.When
		c.addEdge(index("graph.edges", i), Edge{From: e.From, To: e.To,
			When: Condition{Route: w.Route, Contains: w.Contains, NotContains: w.NotContains, Matches: w.Matches, Default: w.Default}})
		if w.Route != "" {
			routed[[2]string{e.From, w.Route}] = true
		}
	}
	for i, nd := range def.Nodes {
		n := c.w.Graph.Nodes[i]
		if n.Kind != KindRouter {
			continue
		}
		p := index("graph.nodes", i) + ".router.choices"
		for j, choice := range nd.Router.Choices {
			if !routed[[2]string{n.ID, choice}] {
				c.addEdge(index(p, j), Edge{From: n.ID, To: choice, When: Condition{Route: choice}})
			}
		}
		if !routed[[2]string{n.ID, Finish}] {
			c.addEdge(index("graph.nodes", i)+".router", Edge{From: n.ID, To: End, When: Condition{Route: Finish}})
		}
	}
}

// nodeKinds are the keys that give a graph node its kind, in the order messages list them.
var nodeKinds = []string{"agent", "router", "tool", "join"}

func (c *compiler) graphNode(path string, nd nodeDef) {
	var kinds []string
	for _, k := range nodeKinds {
		if c.has(join(path, k)) {
			kinds = append(kinds, k)
		}
	}
	n := Node{ID: nd.ID, Wait: nd.Wait, MaxVisits: nd.MaxVisits}
	switch len(kinds) {
	case 0:
		c.errorf(path, "a node needs one of %s", strings.Join(nodeKinds, ", "))
	case 1:
		n.Kind = kinds[0]
	default:
		c.errorf(join(path, kinds[1]), "a node has one of %s; this one has both %s and %s", strings.Join(nodeKinds, ", "), kinds[0], kinds[1])
		n.Kind = kinds[0]
	}
	if n.ID == "" && n.Kind == KindAgent {
		n.ID = nd.Agent
	} else if !c.has(join(path, "id")) {
		c.d.missing(join(path, "id"))
	}
	c.nodeBody(path, nd, &n)
	c.addNode(path, n)
}

func (c *compiler) nodeBody(path string, nd nodeDef, n *Node) {
	switch n.Kind {
	case KindAgent:
		n.Agent = nd.Agent
	case KindRouter:
		n.Agent = nd.Router.Agent
		n.Router = &Router{Mode: cmp.Or(nd.Router.Mode, ModeLLM), Kind: RouteKindRoute, Choices: nd.Router.Choices}
	case KindTool:
		n.Tool = &ToolNode{Name: nd.Tool.Name, Args: nd.Tool.Args}
	case KindJoin:
		if c.has(join(path, "wait")) {
			c.errorf(join(path, "wait"), "a join node waits as its join key says (join: all or join: any); leave out wait")
		}
		n.Wait = nd.Join
	}
}
