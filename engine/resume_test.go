package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

func init() {
	childMain = runChild
}

// runChild is the child process of TestKillAndResume: it starts the review workflow on a slow
// offline model, prints the run id, and waits to be killed.
func runChild() int {
	t := &childT{}
	h := newHarness(t, []string{example(t, "review")}, withDB(os.Getenv(childEnv)), withTokenDelay(15*time.Millisecond))
	info := h.start("review", "Write a short poem about resilient systems and how they recover.")
	fmt.Printf("run %s\n", info.RunID)
	select {} // killed by the parent
}

// childT is the testing.TB a child process uses: failures end the process.
type childT struct{ testing.TB }

func (*childT) Helper()                   {}
func (*childT) Cleanup(func())            {}
func (*childT) TempDir() string           { d, _ := os.MkdirTemp("", "child"); return d }
func (*childT) Fatal(a ...any)            { fmt.Fprintln(os.Stderr, a...); os.Exit(3) }
func (*childT) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(3) }
func (*childT) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (*childT) Logf(string, ...any)       {}
func (*childT) Name() string              { return "child" }

// TestKillAndResume kills a process with SIGKILL in the middle of a multi-step run, then resumes
// the run in this process: the event log continues without gaps or repeats, every span the dead
// process left open is closed, and finished model calls are not paid for again.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	db := filepath.Join(t.TempDir(), "fleet.db")
	runID, paid := killChildMidRun(t, db)

	h := newHarness(t, []string{example(t, "review")}, withDB(db))
	before, err := h.store.Events(context.Background(), runID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Resume(context.Background(), runID); err != nil {
		t.Fatal(err)
	}
	evs := h.collect(runID, 0)
	checkStream(t, evs, 1)
	for i, e := range before { // what the dead process stored is kept as it was
		if evs[i].Type != e.Type || evs[i].Seq != e.Seq {
			t.Fatalf("stored event %d changed: %s -> %s", e.Seq, e.Type, evs[i].Type)
		}
	}
	if !slices.ContainsFunc(evs[len(before):], func(e event.Event) bool { return e.Type == event.RunResumed }) {
		t.Fatalf("no run.resumed after the stored events")
	}
	fin, ok := last[event.RunFinishedData](evs)
	if !ok || !strings.HasPrefix(fin.Output, "APPROVED") {
		t.Fatalf("resumed run did not finish with the approval: %+v", evs[len(evs)-1])
	}
	// The review loop takes 4 model calls (draft, REVISE, revision, APPROVED). The ones the child
	// finished are not made again.
	if got, want := h.off.Requests(), 4-paid; got != want {
		t.Fatalf("after resume the model was called %d times, want %d (4 minus %d already paid)", got, want, paid)
	}
	if fin.Usage.Calls != 4 {
		t.Errorf("run usage counts %d calls, want 4", fin.Usage.Calls)
	}
	rec, _ := h.eng.Run(context.Background(), runID)
	if rec.Status != store.StatusSucceeded {
		t.Errorf("status %s", rec.Status)
	}
}

// killChildMidRun starts the child process on database db, waits until two of the run's model
// calls are stored and the third is streaming, and kills the child with SIGKILL. It returns the
// run's id and the model calls the child finished.
func killChildMidRun(t *testing.T, db string) (runID string, paid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+db)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	runID = strings.TrimSpace(strings.TrimPrefix(line, "run "))
	// Poll the child's database (no event crosses processes) for the kill point.
	paid = waitForCalls(t, db, runID, 2)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return runID, paid
}

// waitForCalls polls the run's checkpoint until it records n finished model calls and a later
// message has started streaming; it returns the calls recorded.
func waitForCalls(t *testing.T, db, runID string, n int) int {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := st.Events(context.Background(), runID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		calls, streaming := 0, false
		for _, e := range evs {
			switch e.Data.(type) {
			case event.UsageData:
				calls++
				streaming = false
			case event.MessageDeltaData:
				streaming = true
			}
		}
		if calls >= n && streaming {
			return calls
		}
		time.Sleep(5 * time.Millisecond) // polling another process's database: nothing to wait on
	}
	t.Fatalf("the child never reached %d model calls", n)
	return 0
}
