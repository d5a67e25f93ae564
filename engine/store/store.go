// Package store defines the storage the engine needs: threads and their messages, runs, each run's
// event log, checkpoints, and a small key-value space for plugins.
//
// A backend implements [Store] and must pass the conformance suite in package storetest. The
// embedded default is SQLite (host/store/sqlite).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/agentfleet/fleet/engine/event"
)

// Errors a backend returns; callers act on them with errors.Is.
var (
	// ErrNotFound: the thread, run, checkpoint or key does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the write would break an invariant (an event seq that is not the next one,
	// a run or thread id that exists already). Nothing of the write was applied.
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Run statuses.
const (
	StatusRunning     = "running"
	StatusInterrupted = "interrupted"
	StatusSucceeded   = "succeeded"
	StatusFailed      = "failed"
	StatusCancelled   = "cancelled"
)

// Thread is a conversation: the runs started in it and their messages.
type Thread struct {
	ID        string    `json:"id"`
	Title     string    `json:"title,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Message is one stored message of a thread: a user's input or an agent's final answer.
type Message struct {
	// Seq orders messages in their thread, from 1; assigned by the store.
	Seq      int64  `json:"seq"`
	ThreadID string `json:"thread_id"`
	RunID    string `json:"run_id,omitempty"`
	// Role is "user" or "assistant".
	Role string `json:"role"`
	// Agent is the answering agent's name for assistant messages.
	Agent     string    `json:"agent,omitempty"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"created_at"`
}

// Run is a run's record.
type Run struct {
	ID       string `json:"id"`
	ThreadID string `json:"thread_id"`
	Workflow string `json:"workflow"`
	// WorkflowHash is the hash of the compiled workflow definition the run started with.
	WorkflowHash string `json:"workflow_hash"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	Input  string `json:"input"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	// LastSeq is the seq of the run's last stored event.
	LastSeq   uint64      `json:"last_seq"`
	Usage     event.Usage `json:"usage"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// Checkpoint is a run's resumable state, saved after every step.
type Checkpoint struct {
	RunID string `json:"run_id"`
	// Seq is the seq of the last event the checkpoint covers: resuming continues after it.
	Seq uint64 `json:"seq"`
	// WorkflowHash must match the workflow the run resumes with.
	WorkflowHash string `json:"workflow_hash"`
	// Data is the engine's versioned JSON state; opaque to the store.
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Commit is one atomic write for a run: its next events, optionally a new checkpoint, optionally
// the run record's new state. Either all of it is stored or none.
type Commit struct {
	RunID string
	// Events must continue the run's log: the first has seq LastSeq+1, the rest follow without gaps.
	Events []event.Event
	// Checkpoint, when set, replaces the run's checkpoint.
	Checkpoint *Checkpoint
	// Run, when set, replaces the run's record (LastSeq is kept consistent by the store).
	Run *Run
	// Messages, when set, are appended to the run's thread.
	Messages []Message
}

// RunFilter selects runs in [Store.ListRuns]. Zero values select everything.
type RunFilter struct {
	ThreadID string
	Status   string
	// Limit caps the number of runs returned (newest first); 0 means 100.
	Limit int
}

// Store is the engine's storage. Implementations are safe for concurrent use.
type Store interface {
	// CreateThread stores a new thread; ErrConflict if its id exists.
	CreateThread(ctx context.Context, t Thread) error
	// Thread returns a thread; ErrNotFound if absent.
	Thread(ctx context.Context, id string) (Thread, error)
	// Threads lists threads, most recently updated first, at most limit (0 means 100).
	Threads(ctx context.Context, limit int) ([]Thread, error)
	// DeleteThread removes a thread with its messages, runs, events and checkpoints.
	DeleteThread(ctx context.Context, id string) error
	// Messages returns a thread's messages in order.
	Messages(ctx context.Context, threadID string) ([]Message, error)

	// CreateRun stores a new run record (its thread must exist); ErrConflict if its id exists.
	CreateRun(ctx context.Context, r Run) error
	// Run returns a run record; ErrNotFound if absent.
	Run(ctx context.Context, id string) (Run, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context, f RunFilter) ([]Run, error)

	// Commit applies c atomically.
	Commit(ctx context.Context, c Commit) error
	// Events returns up to limit events of a run with seq > after, in order (limit 0: all).
	Events(ctx context.Context, runID string, after uint64, limit int) ([]event.Event, error)
	// Checkpoint returns a run's latest checkpoint; ErrNotFound if it has none.
	Checkpoint(ctx context.Context, runID string) (Checkpoint, error)

	// KVGet, KVSet, KVDelete and KVList keep plugin data, namespaced by plugin name.
	KVGet(ctx context.Context, ns, key string) ([]byte, error)
	KVSet(ctx context.Context, ns, key string, value []byte) error
	KVDelete(ctx context.Context, ns, key string) error
	KVList(ctx context.Context, ns, prefix string) ([]string, error)

	// Close releases the store; later calls return ErrClosed.
	Close() error
}
