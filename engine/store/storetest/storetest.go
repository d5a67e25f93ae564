// Package storetest is the conformance suite every [store.Store] backend must pass.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mybackend.Open(t.Context(), filepath.Join(t.TempDir(), "fleet.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Every subtest opens a new, empty store and closes it when it ends. Run the suite with -race:
// its concurrency tests check every result.
//
// Besides what package store documents, the suite pins these rules, which every backend follows:
//   - Times are kept to the nanosecond; Equal (not ==) compares them.
//   - Operations addressing a missing thread, run, checkpoint or key return ErrNotFound:
//     Messages and DeleteThread of a missing thread, Events and Commit of a missing run,
//     KVDelete of a missing key. Lists filtered by a missing thread are empty, not errors.
//   - CreateRun stores LastSeq 0 whatever the record says; a Commit's Run record keeps the
//     store's LastSeq too.
//   - In a Commit, an id left empty (event run and thread, checkpoint run, run id and thread,
//     message thread and run) is filled with the commit's run and its thread; an id naming
//     another run or thread is ErrConflict.
//   - Message.Seq is assigned by the store (a given Seq is ignored); appending messages moves the
//     thread's UpdatedAt to the store's clock, never backwards.
//   - An event that would not read back as written (no type; Type and Data disagree) is an
//     error. Any failed Commit, including a cancelled context, stores nothing.
//   - Values are copied: changing a slice passed to or returned by the store changes nothing
//     stored.
//   - Close after Close returns ErrClosed.
package storetest

import (
	"testing"

	"github.com/agentfleet/fleet/engine/store"
)

// testCase is one named conformance test; it gets a new, empty store.
type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// group is a named set of cases, run as a subtest.
type group struct {
	name  string
	cases []testCase
}

// groups is the whole suite, in the order it runs.
func groups() []group {
	return []group{
		{"Thread", threadCases()},
		{"Run", runCases()},
		{"Commit", commitCases()},
		{"Events", eventCases()},
		{"KV", kvCases()},
		{"Lifecycle", lifecycleCases()},
		{"Concurrency", concurrencyCases()},
	}
}

// Run runs the conformance suite: one subtest per behaviour, named Group/Behaviour (run one
// with -run 'TestX/Commit/GapIsConflict'). open must return a new, empty store each time it is
// called; Run closes the store when the subtest ends (open may register more cleanup with
// t.Cleanup, which runs after that Close).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					c.fn(t, openStore(t, open))
				})
			}
		})
	}
}
