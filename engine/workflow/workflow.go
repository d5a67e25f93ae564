// Package workflow reads workflow definitions (YAML, docs/workflows.md), validates them, and compiles
// every pattern (sequential, concurrent, handoff, supervisor, group chat, explicit graph) onto one
// graph form that the engine runs.
package workflow

import "time"

// End is the pseudo-node an edge points to when the run should finish.
const End = "end"

// Node kinds.
const (
	KindAgent  = "agent"  // an agent's loop: model calls and tool calls until it answers
	KindRouter = "router" // a model (or round robin) picks the next node among Choices, or finish
	KindTool   = "tool"   // calls one tool directly with templated arguments
	KindJoin   = "join"   // waits for its predecessors and concatenates their outputs
)

// Wait modes of a node with several incoming edges.
const (
	WaitAny = "any" // run whenever a predecessor finishes (default)
	WaitAll = "all" // run once every predecessor activated in this run has finished (fan-in)
)

// Approval policies of a tool reference.
const (
	ApprovalNever    = "never"
	ApprovalRequired = "required"
)

// Pattern names (Workflow.Pattern): the shorthand a definition was written with.
const (
	PatternSingle     = "single"     // no pattern key, one agent
	PatternSequential = "sequential" // agents in a chain
	PatternConcurrent = "concurrent" // agents at once, then a join
	PatternHandoff    = "handoff"    // agents handing the conversation to each other
	PatternSupervisor = "supervisor" // a router delegating to agents
	PatternGroupChat  = "group_chat" // a coordinator picking speakers
	PatternGraph      = "graph"      // nodes and edges written out
)

// Router modes (Router.Mode) and kinds (Router.Kind).
const (
	ModeLLM          = "llm"         // a model picks (default)
	ModeRoundRobin   = "round_robin" // the choices in turn
	RouteKindRoute   = "route"       // a supervisor's or graph router's choice (default)
	RouteKindSpeaker = "speaker"     // a group chat coordinator's choice of the next speaker
)

// Finish is the routing decision that ends a router's loop (Condition.Route): its edge goes to End
// unless the definition routes it elsewhere.
const Finish = "finish"

// Pattern defaults, and the ids of the nodes patterns generate that are not named after an agent.
const (
	// DefaultMaxHandoffs is handoff.max_handoffs when left out or 0; each handoff agent node gets
	// MaxVisits = max_handoffs + 1.
	DefaultMaxHandoffs = 5
	// DefaultMaxRounds is max_rounds of supervisor and group_chat when left out or 0; the router
	// node gets MaxVisits = max_rounds + 1.
	DefaultMaxRounds = 6
	// JoinNodeID is the id of the join node (KindJoin, WaitAll) a concurrent pattern without a join
	// agent adds.
	JoinNodeID = "join"
	// SupervisorNodeID is the router node id of a supervisor without a router agent.
	SupervisorNodeID = "supervisor"
	// CoordinatorNodeID is the router node id of a round-robin group chat.
	CoordinatorNodeID = "coordinator"
)

// Workflow is a validated, compiled workflow definition.
type Workflow struct {
	// Name identifies the workflow ([a-z0-9][a-z0-9_-]*).
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Pattern is the shorthand it was declared with: "single", "sequential", "concurrent",
	// "handoff", "supervisor", "group_chat" or "graph".
	Pattern string  `json:"pattern"`
	Agents  []Agent `json:"agents"`
	Graph   Graph   `json:"graph"`
	Limits  Limits  `json:"limits"`
	// Hash is the hex sha256 of the canonical JSON of Agents, Graph and Limits: checkpoints record
	// it, and a run resumes only under the same hash.
	Hash string `json:"-"`
	// File is where the definition was read from, if from a file.
	File string `json:"-"`

	// src maps the compiled form back to YAML positions; nil for a workflow built in Go.
	src *source
}

// Agent is an agent definition.
type Agent struct {
	Name         string    `json:"name"`
	Description  string    `json:"description,omitempty"`
	Instructions string    `json:"instructions,omitempty"`
	Model        ModelSpec `json:"model"`
	Tools        []ToolRef `json:"tools,omitempty"`
}

// ModelSpec says which model an agent uses.
type ModelSpec struct {
	// Provider names a configured provider ("openai", "offline", ...); empty means the default.
	Provider string `json:"provider,omitempty"`
	// Name is the provider's model name; empty means the provider's default model.
	Name string `json:"name,omitempty"`
	// Temperature is sent when not nil.
	Temperature *float32 `json:"temperature,omitempty"`
	// MaxTokens caps each completion; 0 leaves it to the provider.
	MaxTokens int `json:"max_tokens,omitempty"`
	// ReasoningEffort ("low", "medium", "high") is sent when not empty.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// ToolRef is a tool an agent may call.
type ToolRef struct {
	// Name is "plugin.tool", or a bare tool name that one loaded plugin provides.
	Name string `json:"name"`
	// Approval is ApprovalNever (default) or ApprovalRequired.
	Approval string `json:"approval,omitempty"`
	// Timeout overrides Limits.ToolTimeout for this tool; 0 keeps it.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Graph is the compiled form every pattern lowers to.
type Graph struct {
	// Start lists the nodes that run first (concurrently when several).
	Start []string `json:"start"`
	// Nodes in declaration order; IDs are unique and never End.
	Nodes []Node `json:"nodes"`
	// Edges in declaration order (the order conditions are evaluated in).
	Edges []Edge `json:"edges"`
}

// Node is a graph node.
type Node struct {
	ID string `json:"id"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Agent names the agent that runs an agent node, or whose instructions and model a router uses
	// (empty for a router with built-in instructions or round robin).
	Agent string `json:"agent,omitempty"`
	// Wait is WaitAny (default) or WaitAll.
	Wait string `json:"wait,omitempty"`
	// MaxVisits bounds how often the node runs in one run; 0 means no bound of its own.
	MaxVisits int `json:"max_visits,omitempty"`
	// Router is set on router nodes.
	Router *Router `json:"router,omitempty"`
	// Tool is set on tool nodes.
	Tool *ToolNode `json:"tool,omitempty"`
}

// Router configures a router node.
type Router struct {
	// Mode is "llm" (a model picks by calling one of the route_to_<choice> tools or finish) or
	// "round_robin" (choices in turn).
	Mode string `json:"mode"`
	// Kind is reported in route events: "route" (supervisor) or "speaker" (group chat).
	Kind string `json:"kind"`
	// Choices are the node ids it can pick.
	Choices []string `json:"choices"`
}

// ToolNode configures a tool node.
type ToolNode struct {
	// Name is the tool, as in ToolRef.Name.
	Name string `json:"name"`
	// Args is the arguments object; string values may hold the templates {{input}} (the run's
	// input) and {{last}} (the previous node's output).
	Args map[string]any `json:"args,omitempty"`
}

// Edge connects two nodes. When several edges leave a node, every edge whose condition holds is
// taken (fan-out); an edge with Default is taken only when no other conditional edge of the node
// holds.
type Edge struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	When Condition `json:"when,omitzero"`
}

// Condition decides whether an edge is taken, from the source node's output and decision.
// The zero Condition always holds. At most one field is set.
type Condition struct {
	// Route holds when the node's routing decision (a router's choice, an agent's handoff) is this
	// node id, or "finish".
	Route string `json:"route,omitempty"`
	// Contains and NotContains test the node's output text (case-sensitive substring).
	Contains    string `json:"contains,omitempty"`
	NotContains string `json:"not_contains,omitempty"`
	// Matches tests the output with a regular expression (RE2 syntax).
	Matches string `json:"matches,omitempty"`
	// Default holds when no other conditional edge of the node holds.
	Default bool `json:"default,omitempty"`
}

// Limits bound a run. Zero values in a definition take the defaults stated per field.
type Limits struct {
	// MaxSteps bounds node executions per run (default 50). Reaching it ends the run with a final
	// answer from the last agent, without tools.
	MaxSteps int `json:"max_steps"`
	// MaxTurns bounds model calls per agent step (default 10); the last turn is made without tools.
	MaxTurns int `json:"max_turns"`
	// Timeout bounds the whole run (default 30m).
	Timeout time.Duration `json:"timeout"`
	// StepTimeout bounds one node execution (default 5m).
	StepTimeout time.Duration `json:"step_timeout"`
	// ToolTimeout bounds one tool call (default 60s).
	ToolTimeout time.Duration `json:"tool_timeout"`
	// ToolConcurrency caps parallel tool calls from one model turn (default 4; 1 is sequential).
	ToolConcurrency int `json:"tool_concurrency"`
	// Retries is how often a model call is retried on a transient error (default 3).
	Retries int `json:"retries"`
	// RetryBackoff is the first retry's delay, doubling each time up to 10s (default 500ms).
	RetryBackoff time.Duration `json:"retry_backoff"`
}

// DefaultLimits are the limits a definition's zero values take.
var DefaultLimits = Limits{
	MaxSteps:        50,
	MaxTurns:        10,
	Timeout:         30 * time.Minute,
	StepTimeout:     5 * time.Minute,
	ToolTimeout:     60 * time.Second,
	ToolConcurrency: 4,
	Retries:         3,
	RetryBackoff:    500 * time.Millisecond,
}

// Agent returns the named agent.
func (w *Workflow) Agent(name string) (*Agent, bool) {
	for i := range w.Agents {
		if w.Agents[i].Name == name {
			return &w.Agents[i], true
		}
	}
	return nil, false
}

// Node returns the node with the given id.
func (g *Graph) Node(id string) (*Node, bool) {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return &g.Nodes[i], true
		}
	}
	return nil, false
}

// Out returns the edges leaving node id, in declaration order.
func (g *Graph) Out(id string) []Edge {
	var out []Edge
	for _, e := range g.Edges {
		if e.From == id {
			out = append(out, e)
		}
	}
	return out
}

// In returns the ids of nodes with an edge into node id, in declaration order, without repeats.
func (g *Graph) In(id string) []string {
	var in []string
	seen := map[string]bool{}
	for _, e := range g.Edges {
		if e.To == id && !seen[e.From] {
			seen[e.From] = true
			in = append(in, e.From)
		}
	}
	return in
}
