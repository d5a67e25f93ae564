package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // registers the "sqlite" driver for raw access in tests

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

func TestDefaultDir(t *testing.T) {
	for _, tc := range []struct {
		env, wantDir string
	}{
		{"", ".fleet"},
		{"/var/lib/fleet", "/var/lib/fleet"},
		{"rel/dir", "rel/dir"},
	} {
		t.Setenv(sqlite.EnvDataDir, tc.env)
		if got := sqlite.DefaultDir(); got != tc.wantDir {
			t.Errorf("FLEET_DATA_DIR=%q: DefaultDir() = %q, want %q", tc.env, got, tc.wantDir)
		}
		if got, want := sqlite.DefaultPath(), filepath.Join(tc.wantDir, "fleet.db"); got != want {
			t.Errorf("FLEET_DATA_DIR=%q: DefaultPath() = %q, want %q", tc.env, got, want)
		}
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.KVSet(t.Context(), "p", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"": 0o750, sqlite.FileName: 0o600, sqlite.FileName + "-wal": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("stat %q: %v", name, err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%q has mode %v, want at most %v", name, got, want)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign.db")
	rawExec(t, foreign, `CREATE TABLE customers (id INTEGER PRIMARY KEY)`)
	newer := filepath.Join(dir, "newer.db")
	s, err := sqlite.Open(t.Context(), newer)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawExec(t, newer, `PRAGMA user_version = 99`)
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"empty path", "", nil},
		{"not a database", write("text.db", []byte("this is not an SQLite file, just some text\n"+string(make([]byte, 200)))), nil},
		{"directory", dir, nil},
		{"another program's database", foreign, sqlite.ErrNotFleet},
		{"newer schema", newer, sqlite.ErrSchemaTooNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Open: %v, want %v", err, tc.want)
			}
		})
	}
	var n int
	if err := rawDB(t, foreign).QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the foreign database was changed: %d schema objects, %v", n, err)
	}
}

// rawDB opens path with the plain driver, bypassing the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func rawExec(t *testing.T, path, q string, args ...any) {
	t.Helper()
	db := rawDB(t, path)
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// editBatch returns an UPDATE that replaces text in the stored event batches: replaceArgs are
// replace()'s second and third arguments.
func editBatch(replaceArgs string) string {
	return `UPDATE event_batches SET data = CAST(replace(CAST(data AS TEXT), ` + replaceArgs + `) AS BLOB)`
}

// fill stores one of everything.
func fill(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateThread(ctx, store.Thread{ID: "t-1", Title: "kept"}))
	must(s.CreateRun(ctx, store.Run{ID: "r-1", ThreadID: "t-1", Status: store.StatusRunning,
		Usage: event.Usage{PromptTokens: 3}}))
	must(s.Commit(ctx, store.Commit{RunID: "r-1",
		Events: []event.Event{
			{Seq: 1, Data: event.RunStartedData{Workflow: "wf", Input: "hi"}},
			{Seq: 2, Data: event.MessageDeltaData{MessageID: "m", Delta: "hello"}},
		},
		Checkpoint: &store.Checkpoint{Seq: 2, Data: json.RawMessage(`{"v":1}`)},
		Messages:   []store.Message{{Role: "user", Content: "hi"}}}))
	must(s.KVSet(ctx, "p", "k", []byte("v")))
}

func TestReopen(t *testing.T) {
	s, path := openTemp(t)
	fill(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("reopen %d: %v", round, err)
		}
		r := checkFilled(t, s, round)
		// The log continues where it stopped.
		err = s.Commit(t.Context(), store.Commit{RunID: "r-1", Events: []event.Event{{Seq: r.LastSeq + 1, Data: event.StepStartedData{Kind: "agent", Step: round}}},
			Messages: []store.Message{{Role: "assistant", Content: "more"}}})
		if err != nil {
			t.Fatalf("reopen %d: Commit: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFilled checks what fill stored, plus one event and message per earlier round.
func checkFilled(t *testing.T, s store.Store, round int) store.Run {
	t.Helper()
	ctx := t.Context()
	r, err := s.Run(ctx, "r-1")
	if err != nil || r.LastSeq != uint64(2+round) || r.Usage.PromptTokens != 3 {
		t.Fatalf("reopen %d: run %+v, %v", round, r, err)
	}
	evs, err := s.Events(ctx, "r-1", 0, 0)
	if err != nil || len(evs) != 2+round {
		t.Fatalf("reopen %d: %d events, %v", round, len(evs), err)
	}
	if d, ok := evs[0].Data.(event.RunStartedData); !ok || d.Input != "hi" {
		t.Errorf("reopen %d: first event %+v", round, evs[0])
	}
	cp, err := s.Checkpoint(ctx, "r-1")
	if err != nil || string(cp.Data) != `{"v":1}` {
		t.Errorf("reopen %d: checkpoint %+v, %v", round, cp, err)
	}
	if msgs, err := s.Messages(ctx, "t-1"); err != nil || len(msgs) != 1+round {
		t.Errorf("reopen %d: messages %+v, %v", round, msgs, err)
	}
	if v, err := s.KVGet(ctx, "p", "k"); err != nil || string(v) != "v" {
		t.Errorf("reopen %d: kv %q, %v", round, v, err)
	}
	return r
}

func TestBadInputStoresNothing(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	fill(t, s)
	ctx := t.Context()
	before, err := s.Events(ctx, "r-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	far := store.Thread{ID: "t-far"}
	far.CreatedAt = far.CreatedAt.AddDate(20000, 0, 0)
	for name, call := range map[string]func() error{
		"thread without id":     func() error { return s.CreateThread(ctx, store.Thread{}) },
		"thread in year 20001":  func() error { return s.CreateThread(ctx, far) },
		"run without id":        func() error { return s.CreateRun(ctx, store.Run{ThreadID: "t-1"}) },
		"commit without run id": func() error { return s.Commit(ctx, store.Commit{}) },
		"checkpoint not JSON": func() error {
			return s.Commit(ctx, store.Commit{RunID: "r-1", Events: []event.Event{{Seq: 3, Data: event.StepStartedData{}}},
				Checkpoint: &store.Checkpoint{Seq: 3, Data: json.RawMessage(`{"v":`)}})
		},
		"checkpoint without data": func() error {
			return s.Commit(ctx, store.Commit{RunID: "r-1", Checkpoint: &store.Checkpoint{Seq: 3}})
		},
		"negative threads limit": func() error { _, err := s.Threads(ctx, -1); return err },
		"negative runs limit":    func() error { _, err := s.Runs(ctx, store.RunFilter{Limit: -1}); return err },
		"negative events limit":  func() error { _, err := s.Events(ctx, "r-1", 0, -1); return err },
		"kv empty namespace":     func() error { return s.KVSet(ctx, "", "k", nil) },
		"kv empty key":           func() error { return s.KVSet(ctx, "p", "", nil) },
		"kv list empty ns":       func() error { _, err := s.KVList(ctx, "", ""); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		} else if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v; bad input is neither conflict nor not-found", name, err)
		}
	}
	after, err := s.Events(ctx, "r-1", 0, 0)
	if err != nil || len(after) != len(before) {
		t.Errorf("events changed: %d -> %d (%v)", len(before), len(after), err)
	}
	if _, err := s.Thread(ctx, "t-far"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the far thread was stored: %v", err)
	}
	if err := s.KVSet(ctx, "p", "nil", nil); err != nil {
		t.Fatalf("KVSet(nil): %v", err)
	}
	if v, err := s.KVGet(ctx, "p", "nil"); err != nil || v == nil || len(v) != 0 {
		t.Errorf("KVGet of a nil value: %#v, %v; want empty", v, err)
	}
}

func TestCorruptRowsAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		read      func(s store.Store) error
	}{
		{"event JSON", editBatch(`'"delta":"hello"}', '"delta":'`),
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event payload", editBatch(`'"delta":"hello"', '"delta":42'`),
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 1, 0); return err }},
		{"event seq", editBatch(`'"seq":2', '"seq":7'`),
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event run", editBatch(`'"run_id":"r-1"', '"run_id":"r-2"'`),
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 1); return err }},
		{"event type", editBatch(`'"type":"message.delta",', ''`),
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 1, 1); return err }},
		{"event line missing", editBatch(`'}' || char(10) || '{', '},{'`),
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 1, 0); return err }},
		{"event line extra", `UPDATE event_batches SET data = CAST(data || x'0a7b7d' AS BLOB)`,
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 1); return err }},
		{"event batch gap", `UPDATE event_batches SET first_seq = first_seq + 1, last_seq = last_seq + 1`,
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event batch format", `UPDATE event_batches SET format = 7`,
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event batch truncated", `UPDATE event_batches SET format = 1, data = substr(CAST(data AS BLOB), 1, 30)`,
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event batch garbage", `UPDATE event_batches SET format = 1, data = CAST(data AS BLOB)`, // plain text is no S2 block
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event batch huge", `UPDATE event_batches SET format = 1, data = x'ffffffff0f00'`, // claims 4 GiB
			func(s store.Store) error { _, err := s.Events(t.Context(), "r-1", 0, 0); return err }},
		{"event batch seqs", `UPDATE event_batches SET first_seq = 0`, // refused by the CHECK constraint
			nil},
		{"event batch not a blob", `UPDATE event_batches SET data = 'text'`, // refused: STRICT
			nil},
		{"run usage", `UPDATE runs SET usage = 'tokens'`,
			func(s store.Store) error { _, err := s.Run(t.Context(), "r-1"); return err }},
		{"run in list", `UPDATE runs SET created_at = 'yesterday'`,
			func(s store.Store) error { _, err := s.Runs(t.Context(), store.RunFilter{}); return err }},
		{"run last seq", `UPDATE runs SET last_seq = -1`, // refused by the CHECK constraint
			nil},
		{"thread time", `UPDATE threads SET updated_at = '2026-13-45T99:00:00.000000000Z'`,
			func(s store.Store) error { _, err := s.Thread(t.Context(), "t-1"); return err }},
		{"thread in list", `UPDATE threads SET created_at = ''`,
			func(s store.Store) error { _, err := s.Threads(t.Context(), 0); return err }},
		{"message time", `UPDATE messages SET created_at = 'now'`,
			func(s store.Store) error { _, err := s.Messages(t.Context(), "t-1"); return err }},
		{"checkpoint data", `UPDATE checkpoints SET data = '{"v":1'`,
			func(s store.Store) error { _, err := s.Checkpoint(t.Context(), "r-1"); return err }},
		{"checkpoint time", `UPDATE checkpoints SET created_at = '1'`,
			func(s store.Store) error { _, err := s.Checkpoint(t.Context(), "r-1"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := openTemp(t)
			fill(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.read == nil { // the schema itself refuses the corruption
				if _, err := rawDB(t, path).Exec(tc.sql); err == nil {
					t.Fatalf("%s: the schema accepted it", tc.sql)
				}
				return
			}
			sqlite.UnpackBatches(t, path)
			rawExec(t, path, tc.sql)
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = tc.read(s)
			t.Log(err)
			if !errors.Is(err, sqlite.ErrCorrupt) {
				t.Errorf("read: %v, want ErrCorrupt", err)
			}
			// The rest of the database stays usable.
			if v, err := s.KVGet(t.Context(), "p", "k"); err != nil || string(v) != "v" {
				t.Errorf("KVGet after corruption: %q, %v", v, err)
			}
		})
	}
}
