package sqlite_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

// childEnv carries the database path to the child process of TestDurabilityKilledProcess.
const childEnv = "FLEET_SQLITE_DURABILITY_CHILD"

const (
	childEventsPerCommit = 5
	childMaxCommits      = 200000 // the child stops on its own if nobody kills it
)

// TestDurabilityKilledProcess re-runs the test binary as a child that commits as fast as it can
// and prints "ack <lastSeq>" after every Commit returns; the parent SIGKILLs it mid-stream,
// reopens the file and checks that every acknowledged commit is there, whole, three times over.
func TestDurabilityKilledProcess(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	var acked uint64
	for round, killAfter := range []int{1, 57, 311} {
		acked = runAndKill(t, path, killAfter, acked)
		verifyAfterKill(t, path, acked, round)
	}
}

// runAndKill starts a child on path, kills it after killAfter acks, and returns the highest
// acknowledged seq (at least prev).
func runAndKill(t *testing.T, path string, killAfter int, prev uint64) uint64 {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked, n := prev, 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seq, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(seq, 10, 64)
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		if v <= acked {
			t.Fatalf("child acknowledged seq %d after %d", v, acked)
		}
		acked, n = v, n+1
		if n == killAfter {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no Close
				t.Fatal(err)
			}
		}
		// Keep reading: acks already written before the kill landed count too.
	}
	err = cmd.Wait()
	if n < killAfter {
		t.Fatalf("child exited after %d acks (want %d): %v", n, killAfter, err)
	}
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child was not killed: %v", err)
	}
	return acked
}

// verifyAfterKill reopens path and checks that the log holds every acknowledged commit and
// that each commit's parts (events, checkpoint, run record, message) are all there or all absent.
func verifyAfterKill(t *testing.T, path string, acked uint64, round int) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	defer s.Close()
	r, err := s.Run(t.Context(), "r-1")
	if err != nil {
		t.Fatalf("round %d: Run: %v", round, err)
	}
	if r.LastSeq < acked || r.LastSeq%childEventsPerCommit != 0 {
		t.Fatalf("round %d: LastSeq %d; acknowledged %d in commits of %d", round, r.LastSeq, acked, childEventsPerCommit)
	}
	evs, err := s.Events(t.Context(), "r-1", 0, 0)
	if err != nil {
		t.Fatalf("round %d: Events: %v", round, err)
	}
	for i, e := range evs {
		if e.Seq != uint64(i)+1 {
			t.Fatalf("round %d: event %d has seq %d", round, i, e.Seq)
		}
	}
	if uint64(len(evs)) != r.LastSeq {
		t.Fatalf("round %d: %d events, LastSeq %d", round, len(evs), r.LastSeq)
	}
	cp, err := s.Checkpoint(t.Context(), "r-1")
	if err != nil || cp.Seq != r.LastSeq || r.Output != strconv.FormatUint(r.LastSeq, 10) {
		t.Fatalf("round %d: checkpoint seq %d (%v), run output %q; want both at %d", round, cp.Seq, err, r.Output, r.LastSeq)
	}
	msgs, err := s.Messages(t.Context(), "t-1")
	if err != nil || uint64(len(msgs)) != r.LastSeq/childEventsPerCommit {
		t.Fatalf("round %d: %d messages (%v), want one per commit: %d", round, len(msgs), err, r.LastSeq/childEventsPerCommit)
	}
	t.Logf("round %d: acknowledged %d, found %d", round, acked, r.LastSeq)
}

// TestDurabilityChild is the child of TestDurabilityKilledProcess; it does nothing otherwise.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("run by TestDurabilityKilledProcess")
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Run(t.Context(), "r-1")
	if err != nil { // the first round: create the thread and run
		if err := s.CreateThread(t.Context(), store.Thread{ID: "t-1"}); err != nil {
			t.Fatal(err)
		}
		r = store.Run{ID: "r-1", ThreadID: "t-1", Status: store.StatusRunning}
		if err := s.CreateRun(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	for range childMaxCommits {
		evs := make([]event.Event, childEventsPerCommit)
		for i := range evs {
			evs[i] = event.Event{Seq: r.LastSeq + uint64(i) + 1, Data: event.MessageDeltaData{MessageID: "m", Delta: strings.Repeat("x", 200)}}
		}
		next := r.LastSeq + childEventsPerCommit
		r.Output = strconv.FormatUint(next, 10)
		err := s.Commit(t.Context(), store.Commit{RunID: "r-1", Events: evs, Run: &r,
			Checkpoint: &store.Checkpoint{Seq: next, Data: json.RawMessage(fmt.Sprintf(`{"at":%d}`, next))},
			Messages:   []store.Message{{Role: "assistant", Content: r.Output}}})
		if err != nil {
			t.Fatal(err)
		}
		r.LastSeq = next
		fmt.Printf("ack %d\n", next)
	}
}
