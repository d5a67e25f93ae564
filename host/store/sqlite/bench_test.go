package sqlite_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

// benchEvents returns n typical streaming events (a token delta each) continuing after seq.
func benchEvents(run string, after uint64, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.Event{V: event.Version, Seq: after + uint64(i) + 1, RunID: run, ThreadID: "t",
			Node: "writer", Agent: "writer", Path: "writer",
			Data: event.MessageDeltaData{MessageID: "m_1", Delta: "some streamed tokens "}}
	}
	return evs
}

func benchStore(b *testing.B, runs int) *sqlite.Store {
	s, _ := openTemp(b)
	b.Cleanup(func() { s.Close() })
	if err := s.CreateThread(b.Context(), store.Thread{ID: "t"}); err != nil {
		b.Fatal(err)
	}
	for i := range runs {
		if err := s.CreateRun(b.Context(), store.Run{ID: fmt.Sprint("r", i), ThreadID: "t"}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkCommit commits events to one run, n per commit; events/s is the throughput and
// ns/event the cost per event. The engine's group commits are large when tokens stream fast
// (hundreds of events), small when they trickle.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{1, 16, 256, 1024} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			s := benchStore(b, 1)
			var seq uint64
			for b.Loop() {
				if err := s.Commit(b.Context(), store.Commit{RunID: "r0", Events: benchEvents("r0", seq, n)}); err != nil {
					b.Fatal(err)
				}
				seq += uint64(n)
			}
			b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(seq), "ns/event")
		})
	}
}

// BenchmarkCommitParallel commits from GOMAXPROCS goroutines, each to its own run, one event
// and a checkpoint per commit (the engine's step shape); commits queue on the writer connection.
func BenchmarkCommitParallel(b *testing.B) {
	s := benchStore(b, 64)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		run := fmt.Sprint("r", next.Add(1)-1)
		var seq uint64
		for pb.Next() {
			err := s.Commit(b.Context(), store.Commit{RunID: run, Events: benchEvents(run, seq, 1),
				Checkpoint: &store.Checkpoint{Seq: seq + 1, Data: []byte(`{"v":1,"step":3}`)}})
			if err != nil {
				b.Error(err)
				return
			}
			seq++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkEventsReplay reads a run's whole 10k-event log, as a resume or a late subscriber does.
func BenchmarkEventsReplay(b *testing.B) {
	const total = 10000
	s := benchStore(b, 1)
	for seq := uint64(0); seq < total; seq += 500 {
		if err := s.Commit(b.Context(), store.Commit{RunID: "r0", Events: benchEvents("r0", seq, 500)}); err != nil {
			b.Fatal(err)
		}
	}
	var read int
	for b.Loop() {
		evs, err := s.Events(b.Context(), "r0", 0, 0)
		if err != nil || len(evs) != total {
			b.Fatalf("%d events, %v", len(evs), err)
		}
		read += len(evs)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventsPage reads 10 events from the middle of a 10k-event log, as a subscriber
// catching up in small steps does: the cost of one call.
func BenchmarkEventsPage(b *testing.B) {
	const total = 10000
	s := benchStore(b, 1)
	for seq := uint64(0); seq < total; seq += 500 {
		if err := s.Commit(b.Context(), store.Commit{RunID: "r0", Events: benchEvents("r0", seq, 500)}); err != nil {
			b.Fatal(err)
		}
	}
	var after uint64
	for b.Loop() {
		evs, err := s.Events(b.Context(), "r0", after, 10)
		if err != nil || len(evs) != 10 || evs[0].Seq != after+1 {
			b.Fatalf("%d events, %v", len(evs), err)
		}
		after = (after + 997) % (total - 10)
	}
}
