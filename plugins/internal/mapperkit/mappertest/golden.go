// Package mappertest is the test harness of the first-party mapper plugins: golden files of engine
// event logs mapped to frames, run natively through the SDK's fleet_map code path or through the
// plugin built as WebAssembly, and the realistic token-heavy event log of the benchmarks.
package mappertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files from the mapper's output")

// MapFunc maps one encoded fleet_map request to the mapper's output text (state line, frame lines):
// sdk.InvokeMapRaw natively, WasmMapper.Map through WebAssembly.
type MapFunc func(ctx context.Context, request []byte) ([]byte, error)

// Native is the registered mapper, in-process, through the SDK's fleet_map dispatch.
func Native(ctx context.Context, request []byte) ([]byte, error) {
	return sdk.InvokeMapRaw(ctx, request)
}

// ReadEvents reads an NDJSON engine event log (blank lines ignored).
func ReadEvents(tb testing.TB, path string) []json.RawMessage {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var evs []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			if !json.Valid(line) {
				tb.Fatalf("%s: line %d is not JSON", path, len(evs)+1)
			}
			evs = append(evs, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return evs
}

// Frame is one frame of a mapped stream with the seq of the event it belongs to ("end" frames have
// seq 0 and End set).
type Frame struct {
	Seq   uint64
	End   bool
	Frame json.RawMessage
}

// Stream maps a whole event log as one stream, batch events at a time: op start with the first
// batch, events with the others, then end (without events), carrying the state from each call to
// the next as the host does. It returns the frames in order and the state after each call.
func Stream(ctx context.Context, mapFn MapFunc, evs []json.RawMessage, batch int) ([]Frame, []json.RawMessage, error) {
	var frames []Frame
	var states []json.RawMessage
	state := json.RawMessage("null")
	op := sdk.OpStart
	for i := 0; ; i += batch {
		chunk := evs[min(i, len(evs)):min(i+batch, len(evs))]
		if i >= len(evs) {
			op, chunk = sdk.OpEnd, nil
		}
		out, err := mapFn(ctx, sdk.EncodeMapRequest(sdk.MapRequest{Stream: "s_test", Op: op, State: state, Events: chunk}))
		if err != nil {
			return nil, nil, fmt.Errorf("op %s at event %d: %w", op, i, err)
		}
		res, err := sdk.ParseMapOutput(out)
		if err != nil {
			return nil, nil, fmt.Errorf("op %s at event %d: %w", op, i, err)
		}
		for _, f := range res.Frames {
			fr := Frame{Frame: f.Frame, End: op == sdk.OpEnd}
			if f.Event >= 0 {
				if f.Event >= len(chunk) {
					return nil, nil, fmt.Errorf("op %s at event %d: frame of event %d in a batch of %d", op, i, f.Event, len(chunk))
				}
				fr.Seq = seqOf(chunk[f.Event])
			}
			frames = append(frames, fr)
		}
		state = res.State
		states = append(states, state)
		if op == sdk.OpEnd {
			return frames, states, nil
		}
		op = sdk.OpEvents
	}
}

func seqOf(ev json.RawMessage) uint64 {
	var e struct {
		Seq uint64 `json:"seq"`
	}
	_ = json.Unmarshal(ev, &e)
	return e.Seq
}

// Render writes frames in the golden form: one line per frame, "<seq> <frame>", with "end" for the
// frames of the stream's end.
func Render(frames []Frame) string {
	var b strings.Builder
	for _, f := range frames {
		if f.End {
			b.WriteString("end ")
		} else {
			b.WriteString(strconv.FormatUint(f.Seq, 10) + " ")
		}
		b.Write(f.Frame)
		b.WriteByte('\n')
	}
	return b.String()
}

// Batches are the batch sizes every golden log is mapped with: the frames must not depend on how
// the host cuts the stream into batches.
var Batches = []int{1, 2, 7, 64, 1 << 20}

// Logs returns the event logs in dir: testdata/NAME.events.ndjson, by NAME.
func Logs(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.events.ndjson"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no *.events.ndjson in %s (%v)", dir, err)
	}
	logs := map[string]string{}
	for _, p := range paths {
		logs[strings.TrimSuffix(filepath.Base(p), ".events.ndjson")] = p
	}
	return logs
}

// Golden maps every event log of dir with mapFn, with every batch size of Batches, checks that the
// frames are the same for all of them, passes them to check (the format's own rules) and compares
// them with dir/NAME.golden (rewritten with -update).
func Golden(t *testing.T, dir string, mapFn MapFunc, check func(t *testing.T, name string, frames []Frame)) {
	for name, path := range Logs(t, dir) {
		t.Run(name, func(t *testing.T) {
			evs := ReadEvents(t, path)
			var want string
			for _, n := range Batches {
				frames, _, err := Stream(context.Background(), mapFn, evs, n)
				if err != nil {
					t.Fatalf("batches of %d: %v", n, err)
				}
				got := Render(frames)
				if want == "" {
					want = got
					if check != nil {
						check(t, name, frames)
					}
				} else if got != want {
					t.Fatalf("batches of %d give other frames than batches of %d:\n%s", n, Batches[0], firstDiff(want, got))
				}
			}
			compareGolden(t, filepath.Join(dir, name+".golden"), want)
		})
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("frames differ from %s (go test -update rewrites it):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first line where two renderings differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, wl, gl)
		}
	}
	return "(same lines)"
}
