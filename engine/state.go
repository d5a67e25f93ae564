package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentfleet/fleet/engine/event"
)

// checkpointVersion is the version of the checkpoint JSON this engine writes and reads.
const checkpointVersion = 1

// ErrCheckpoint: a checkpoint could not be used (corrupt JSON, unknown version, a workflow whose
// definition changed since the run started). The run cannot resume; nothing is changed.
var ErrCheckpoint = errors.New("engine: unusable checkpoint")

// runState is everything needed to continue a run: saved as the checkpoint after every step,
// every model call and every batch of tool results.
type runState struct {
	V            int    `json:"v"`
	WorkflowHash string `json:"workflow_hash"`
	Workflow     string `json:"workflow"`
	Input        string `json:"input"`
	// History is the thread's conversation before this run.
	History []Message `json:"history,omitempty"`
	// Transcript is what the run's nodes said, in order; every agent sees it.
	Transcript []entry `json:"transcript,omitempty"`
	// Steps counts node executions started; Visits counts them per node.
	Steps  int            `json:"steps"`
	Visits map[string]int `json:"visits,omitempty"`
	// Wave is the set of nodes of the current superstep, in order; Done holds the results of
	// those already finished.
	Wave []string               `json:"wave,omitempty"`
	Done map[string]*nodeResult `json:"done,omitempty"`
	// Started maps the wave's nodes that have started to their step number.
	Started map[string]int `json:"started,omitempty"`
	// Agents holds the loop state of agent nodes of the wave that are under way.
	Agents map[string]*agentState `json:"agents,omitempty"`
	// Joins records, per wait-all node, the predecessors that have delivered.
	Joins map[string][]string `json:"joins,omitempty"`
	// LastNode and LastAgent are the last agent node to answer, and Output its answer.
	LastNode  string `json:"last_node,omitempty"`
	LastAgent string `json:"last_agent,omitempty"`
	Output    string `json:"output,omitempty"`
	// Limit names a limit the run reached.
	Limit      string                 `json:"limit,omitempty"`
	Usage      event.Usage            `json:"usage"`
	AgentUsage map[string]event.Usage `json:"agent_usage,omitempty"`
	// Approvals waiting for answers, and the answers received so far.
	Approvals []event.Approval  `json:"approvals,omitempty"`
	Answers   map[string]Answer `json:"answers,omitempty"`
	// Finishing is set once the run goes into its final answer after a limit.
	Finishing bool `json:"finishing,omitempty"`

	// checkpointSeq is the seq the checkpoint this state was read from covers.
	checkpointSeq uint64
}

// waitsFor reports whether the run waits for an answer to approval id.
func (st *runState) waitsFor(id string) bool {
	for _, a := range st.Approvals {
		if a.ID == id {
			_, answered := st.Answers[id]
			return !answered
		}
	}
	return false
}

// allAnswered reports whether every pending approval has an answer.
func (st *runState) allAnswered() bool {
	for _, a := range st.Approvals {
		if _, ok := st.Answers[a.ID]; !ok {
			return false
		}
	}
	return true
}

// entry is one contribution to a run's transcript.
type entry struct {
	Node    string `json:"node"`
	Agent   string `json:"agent,omitempty"`
	Content string `json:"content"`
}

// nodeResult is what a finished node produced.
type nodeResult struct {
	Output string `json:"output"`
	// Decision is a router's choice or an agent's handoff target ("finish" to end).
	Decision string `json:"decision,omitempty"`
	// Agent is who answered (agent nodes).
	Agent string `json:"agent,omitempty"`
}

// agentState is an agent node's loop: the messages of its own turns (assistant turns with tool
// calls, tool results) and the tool calls of its last turn still to resolve.
type agentState struct {
	Messages []Message `json:"messages,omitempty"`
	Turns    int       `json:"turns"`
	// Pending are the calls of the last assistant turn, in order, with results as they come.
	Pending []pendingCall `json:"pending,omitempty"`
}

// pendingCall is one tool call of an assistant turn.
type pendingCall struct {
	Call ToolCall `json:"call"`
	// Tool is the canonical tool name; empty for an unknown tool.
	Tool string `json:"tool,omitempty"`
	// ApprovalID is set when the call waits (or waited) for a person's decision.
	ApprovalID string `json:"approval_id,omitempty"`
	// Done is set once Result holds the content for the tool message.
	Done   bool   `json:"done,omitempty"`
	Result string `json:"result,omitempty"`
}

func newRunState() *runState {
	return &runState{V: checkpointVersion, Visits: map[string]int{}, Done: map[string]*nodeResult{}, Started: map[string]int{},
		Agents: map[string]*agentState{}, Joins: map[string][]string{}, AgentUsage: map[string]event.Usage{},
		Answers: map[string]Answer{}}
}

// decodeState reads a checkpoint's data; wantHash is the workflow hash the run resumes under.
func decodeState(data []byte, wantHash string) (*runState, error) {
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if head.V != checkpointVersion {
		return nil, fmt.Errorf("%w: version %d, this engine reads %d", ErrCheckpoint, head.V, checkpointVersion)
	}
	st := newRunState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if st.WorkflowHash != wantHash {
		return nil, fmt.Errorf("%w: workflow %q changed since the run started (hash %.12s, now %.12s)",
			ErrCheckpoint, st.Workflow, st.WorkflowHash, wantHash)
	}
	st.fillMaps()
	return st, nil
}

func (st *runState) fillMaps() {
	if st.Visits == nil {
		st.Visits = map[string]int{}
	}
	if st.Done == nil {
		st.Done = map[string]*nodeResult{}
	}
	if st.Started == nil {
		st.Started = map[string]int{}
	}
	if st.Agents == nil {
		st.Agents = map[string]*agentState{}
	}
	if st.Joins == nil {
		st.Joins = map[string][]string{}
	}
	if st.AgentUsage == nil {
		st.AgentUsage = map[string]event.Usage{}
	}
	if st.Answers == nil {
		st.Answers = map[string]Answer{}
	}
}
