package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

func openInternal(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), path, WithBusyTimeout(1234*time.Millisecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// pragma reads one pragma's value on a connection of db.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	s, _ := openInternal(t)
	for _, tc := range []struct {
		db         *sql.DB
		conn, name string
		want       string
	}{
		{s.w, "writer", "journal_mode", "wal"},
		{s.w, "writer", "synchronous", "1"}, // NORMAL
		{s.w, "writer", "foreign_keys", "1"},
		{s.w, "writer", "busy_timeout", "1234"},
		{s.w, "writer", "query_only", "0"},
		{s.w, "writer", "journal_size_limit", "67108864"},
		{s.w, "writer", "user_version", strconv.Itoa(len(migrations))},
		{s.w, "writer", "application_id", "1179403604"},
		{s.r, "reader", "journal_mode", "wal"},
		{s.r, "reader", "foreign_keys", "1"},
		{s.r, "reader", "busy_timeout", "1234"},
		{s.r, "reader", "query_only", "1"},
	} {
		if got := pragma(t, tc.db, tc.name); got != tc.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", tc.conn, tc.name, got, tc.want)
		}
	}
	if _, err := s.r.ExecContext(t.Context(), `INSERT INTO kv VALUES ('a', 'b', x'00')`); err == nil {
		t.Error("a reader connection accepted a write")
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}

func TestDSNEscapesPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd ?#% name")
	s, err := Open(t.Context(), filepath.Join(dir, FileName))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var file string
	if err := s.w.QueryRowContext(t.Context(), `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, FileName); file != want {
		t.Errorf("database file %q, want %q", file, want)
	}
}

// withMigrations replaces the migration list for one test.
func withMigrations(t *testing.T, ms []string) {
	orig := migrations
	migrations = ms
	t.Cleanup(func() { migrations = orig })
}

func TestMigrationFailureChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	withMigrations(t, append(append([]string(nil), migrations...),
		`CREATE TABLE extra (a TEXT) STRICT; INSERT INTO no_such_table VALUES (1);`))
	current := len(migrations) - 1
	if _, err := Open(t.Context(), path); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("migrate to version %d", current+1)) {
		t.Fatalf("Open with a failing migration: %v", err)
	}
	migrations = migrations[:current]
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after the failed migration: %v", err)
	}
	defer s.Close()
	if v, want := pragma(t, s.w, "user_version"), strconv.Itoa(current); v != want {
		t.Errorf("user_version %s after a failed migration, want %s", v, want)
	}
	var n int
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name = 'extra'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed migration's table exists (%d, %v)", n, err)
	}
}

func TestMigrationForward(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.KVSet(t.Context(), "p", "k", []byte("v1 data")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	orig := migrations
	withMigrations(t, append(append([]string(nil), orig...), `CREATE TABLE extra (a TEXT) STRICT;`))
	if s, err = Open(t.Context(), path); err != nil {
		t.Fatalf("Open with a new migration: %v", err)
	}
	if v, want := pragma(t, s.w, "user_version"), strconv.Itoa(len(orig)+1); v != want {
		t.Errorf("user_version %s, want %s", v, want)
	}
	if v, err := s.KVGet(t.Context(), "p", "k"); err != nil || string(v) != "v1 data" {
		t.Errorf("data after migration: %q, %v", v, err)
	}
	s.Close()
	migrations = orig
	if _, err := Open(t.Context(), path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("older code opening a newer file: %v, want ErrSchemaTooNew", err)
	}
}

func TestTimeCodec(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, "0001-01-01T00:00:00.000000000Z"},
		{time.Date(2026, 12, 4, 20, 0, 0, 1, time.UTC), "2026-12-04T20:00:00.000000001Z"},
		{time.Date(2026, 12, 4, 21, 0, 0, 5e8, time.FixedZone("x", 3600)), "2026-12-04T20:00:00.500000000Z"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999999999Z"},
	} {
		var c timeCodec
		got := c.enc(tc.in)
		if c.err != nil || got != tc.want {
			t.Errorf("enc(%s) = %q, %v; want %q", tc.in, got, c.err, tc.want)
		}
		if back := c.dec(got); c.err != nil || !back.Equal(tc.in) {
			t.Errorf("dec(%q) = %s, %v; want %s", got, back, c.err, tc.in)
		}
	}
	var c timeCodec
	c.enc(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	if c.err == nil {
		t.Error("year 10000 encoded without error")
	}
	c = timeCodec{}
	c.dec("2026-12-04 20:00:00")
	if !errors.Is(c.err, ErrCorrupt) {
		t.Errorf("bad stored time: %v, want ErrCorrupt", c.err)
	}
}

// fuzzEvents are seeds for the decoders' fuzz tests.
var fuzzEvents = []event.Event{
	{V: 1, Type: event.MessageDelta, Seq: 3, RunID: "r", ThreadID: "t", Data: event.MessageDeltaData{MessageID: "m", Delta: "hi"}},
	{V: 1, Type: event.MessageDelta, Seq: 4, RunID: "r", ThreadID: "t", Time: time.Date(2026, 12, 4, 20, 0, 0, 1, time.UTC),
		Node: "n", Agent: "a", Path: "p/n", Data: event.MessageDeltaData{MessageID: "m", Delta: "line\n\"quoted\" <b> é \u2028 \x01"}},
	{V: 1, Type: event.ReasoningDelta, Seq: 5, RunID: "r", ThreadID: "t", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
		Agent: "a", Data: event.ReasoningDeltaData{MessageID: "m", Delta: "think"}},
	{V: 1, Type: event.ToolArgs, Seq: 6, RunID: "r", ThreadID: "t", Path: "p", Data: event.ToolArgsData{CallID: "c", Delta: `{"a":`}},
	{V: 1, Type: event.ToolEnd, Seq: 1, RunID: "r", Data: event.ToolEndData{CallID: "c", Arguments: json.RawMessage(`{"a":[1]}`)}},
	{V: 1, Type: "x.future", Seq: 2, RunID: "r", Data: event.Unknown{Type: "x.future", Raw: json.RawMessage(`[1,2]`)}},
	{V: 1, Type: event.RunInterrupted, Seq: 9, RunID: "r", Data: event.RunInterruptedData{Approvals: []event.Approval{{ID: "a"}}}},
}

// FuzzDecodeEvent feeds arbitrary stored lines to the event decoder: it must never panic, and a
// line it accepts must encode back to a line that decodes to the same event.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range fuzzEvents {
		line, err := appendEvent(nil, e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("r", int64(e.Seq), line)
	}
	f.Add("r", int64(1), []byte(`{"v":1,"type":"run.started","seq":1,"run_id":"r","data":"str"}`))
	f.Add("r", int64(1), []byte(`{"v":1,"type":"run.started","seq":1,"run_id":"r","data":null}`))
	f.Add("r", int64(1), []byte(`{"seq":1,"run_id":"r"}`))
	f.Add("r", int64(-1), []byte(`nul`))
	f.Fuzz(func(t *testing.T, run string, seq int64, line []byte) {
		e, err := decodeEvent(run, uint64(seq), line, new(seenStrings))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := appendEvent(nil, e)
		if err != nil {
			t.Fatalf("a decoded event does not encode: %v", err)
		}
		back, err := decodeEvent(run, uint64(seq), again, new(seenStrings))
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, again)
		}
		e.Time, back.Time = e.Time.Round(0), back.Time.Round(0)
		if a, b := mustJSON(t, e), mustJSON(t, back); a != b {
			t.Fatalf("round trip changed the event:\n%s\n%s", a, b)
		}
		if e.Seq != back.Seq || e.Type != back.Type || (e.Data == nil) != (back.Data == nil) {
			t.Fatalf("round trip changed the envelope: %+v vs %+v", e, back)
		}
	})
}

// FuzzDecodeFast checks the fast decoder against event.Event's UnmarshalJSON: whatever it
// accepts, UnmarshalJSON accepts too and decodes to the same event.
func FuzzDecodeFast(f *testing.F) {
	for _, e := range fuzzEvents {
		line, err := appendEvent(nil, e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(line)
	}
	for _, s := range []string{
		`{"v":1,"type":"message.delta","seq":01,"run_id":"r","thread_id":"t","time":"0001-01-01T00:00:00Z","data":{"message_id":"m","delta":"x"}}`,
		`{"v":1,"type":"message.delta","seq":1,"run_id":"r","thread_id":"t","time":"0001-01-01T00:00:00Z","data":{"message_id":"m","delta":"\ud800"}} `,
		`{"v":1,"type":"tool.args","seq":1,"run_id":"r\"","thread_id":"t","time":"2026-12-04T20:00:00+01:00","path":"p","data":{"call_id":"c","delta":"\u00e9"}}`,
		`{"v":-1,"type":"message.delta","seq":18446744073709551615,"run_id":"r","thread_id":"t","time":"2026-12-04T20:00:00Z","node":"","data":{"message_id":"m","delta":"\xff"}}`,
		"{\"v\":1,\"type\":\"reasoning.delta\",\"seq\":2,\"run_id\":\"r\",\"thread_id\":\"t\",\"time\":\"2026-12-04T20:00:00Z\",\"data\":{\"message_id\":\"m\",\"delta\":\"bad \xff utf-8\"}}",
		"{\"v\":1,\"type\":\"message.delta\",\"seq\":2,\"run_id\":\"r\",\"thread_id\":\"t\",\"time\":\"2026-12-04T20:00:00Z\",\"data\":{\"message_id\":\"m\",\"delta\":\"tab\there\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := decodeFast(line, new(seenStrings))
		if !ok {
			return
		}
		var want event.Event
		if err := want.UnmarshalJSON(line); err != nil {
			t.Fatalf("decodeFast accepted what UnmarshalJSON refuses (%v):\n%s", err, line)
		}
		if !json.Valid(line) {
			t.Fatalf("decodeFast accepted invalid JSON:\n%s", line)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("decodeFast differs from UnmarshalJSON:\n%#v\n%#v\n%s", fast, want, line)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMigrateEventsToBatches writes a version-1 database (one row per event) and opens it: the
// migration to version 2 groups each run's events into batches of about 64 KiB, which read
// back whole and paged, and the logs continue.
func TestMigrateEventsToBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	want, wantBatches := writeV1(t, path, map[string]int{"big": 1000, "small": 3, "none": 0})
	if wantBatches < 5 {
		t.Fatalf("%d batches: the test means to migrate a log of several", wantBatches)
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open migrates: %v", err)
	}
	defer s.Close()
	var batches, plain, tables, largest int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*), sum(format = 0), max(length(data)),
		(SELECT count(*) FROM sqlite_schema WHERE name = 'events') FROM event_batches`).Scan(&batches, &plain, &largest, &tables); err != nil {
		t.Fatal(err)
	}
	if batches != wantBatches || plain != batches || tables != 0 || largest > maxBatchBytes+1024 {
		t.Errorf("after migration: %d batches (%d plain, largest %d bytes), events table %d; want %d plain, none",
			batches, plain, largest, tables, wantBatches)
	}
	for run, evs := range want {
		checkPages(t, s, run, evs)
	}
	next := event.Event{Seq: 4, Data: event.MessageDeltaData{MessageID: "m", Delta: "more"}}
	if err := s.Commit(t.Context(), store.Commit{RunID: "small", Events: []event.Event{next}}); err != nil {
		t.Fatalf("Commit after migration: %v", err)
	}
	if got, err := s.Events(t.Context(), "small", 2, 0); err != nil || len(got) != 2 || got[1].Seq != 4 {
		t.Errorf("after a new commit: %+v, %v", got, err)
	}
}

// writeV1 writes a version-1 database at path with thread "t" and runs of the given numbers of
// events, one row each. It returns the events and how many batches the migration should make:
// one per run and 64 KiB of JSON lines before each event.
func writeV1(t *testing.T, path string, runs map[string]int) (map[string][]event.Event, int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v1 := migrations[0] + fmt.Sprintf("PRAGMA user_version = 1; PRAGMA application_id = %d;", applicationID) +
		`INSERT INTO threads VALUES ('t', '', '', '');`
	if _, err := db.Exec(v1); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	want := map[string][]event.Event{}
	buckets := map[string]bool{}
	for run, n := range runs {
		if _, err := tx.Exec(`INSERT INTO runs VALUES (?, 't', 'wf', '', 'running', '', '', '', ?, '{}', ?, ?)`,
			run, n, "2026-12-04T20:00:00.000000000Z", "2026-12-04T20:00:00.000000000Z"); err != nil {
			t.Fatal(err)
		}
		want[run] = tokenEvents(run, 0, n, func(seq int) string { return strings.Repeat("token ", 20) + strconv.Itoa(seq) })
		pos := 0
		for _, e := range want[run] {
			line, err := appendEvent(nil, e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(`INSERT INTO events VALUES (?, ?, ?, ?)`, run, e.Seq, string(e.Type), string(line)); err != nil {
				t.Fatal(err)
			}
			buckets[fmt.Sprint(run, "/", pos>>16)] = true
			pos += len(line) + 1
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return want, len(buckets)
}

// tokenEvents returns n message.delta events of run (thread "t") after seq after, as the
// store returns them.
func tokenEvents(run string, after, n int, delta func(seq int) string) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		seq := after + i + 1
		evs[i] = event.Event{V: 1, Type: event.MessageDelta, Seq: uint64(seq), RunID: run, ThreadID: "t",
			Time: time.Date(2026, 12, 4, 20, 0, 0, seq*1000, time.UTC), Node: "w", Agent: "w", Path: "w",
			Data: event.MessageDeltaData{MessageID: "m", Delta: delta(seq)}}
	}
	return evs
}

// checkPages reads run's log whole and in pages that start and end inside and at the edges of
// batches, and compares with all.
func checkPages(t *testing.T, s *Store, run string, all []event.Event) {
	t.Helper()
	for _, page := range []struct{ after, limit int }{{0, 0}, {0, 1}, {5, 1}, {6, 300}, {1, 1999}, {280, 7},
		{283, 600}, {max(0, len(all)-1), 10}, {len(all), 0}, {len(all) + 5, 1}} {
		got, err := s.Events(t.Context(), run, uint64(page.after), page.limit)
		lo, hi := min(page.after, len(all)), len(all)
		if page.limit > 0 {
			hi = min(hi, page.after+page.limit)
		}
		if err != nil || !reflect.DeepEqual(got, all[lo:hi]) {
			t.Errorf("run %s after %d limit %d: %d events, %v; want %d", run, page.after, page.limit, len(got), err, hi-lo)
		}
	}
}

// TestCommitBatches checks how commits are stored: one row per commit, cut after the event
// that brings its JSON to maxBatchBytes, compressed when that saves enough; and that every page
// of the log reads back exactly across the rows' boundaries.
func TestCommitBatches(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(int) string { // incompressible text
		b := make([]byte, 3000)
		for i := range b {
			b[i] = byte(33 + rnd.IntN(94))
		}
		return string(b)
	}
	for _, tc := range []struct {
		name       string
		commits    []int // events per commit
		delta      func(seq int) string
		compressed bool // whether the rows are
	}{
		{"tokens", []int{5, 300, 700, 2}, func(seq int) string { return " tok" + strconv.Itoa(seq) }, true},
		{"long commit", []int{2000}, func(seq int) string { return strings.Repeat("word ", seq%9) }, true},
		{"incompressible", []int{2, 40}, random, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openInternal(t)
			ctx := t.Context()
			if err := errors.Join(s.CreateThread(ctx, store.Thread{ID: "t"}), s.CreateRun(ctx, store.Run{ID: "r", ThreadID: "t"})); err != nil {
				t.Fatal(err)
			}
			var all []event.Event
			var wantRows []int // events per row
			for _, n := range tc.commits {
				evs := tokenEvents("r", len(all), n, tc.delta)
				wantRows = append(wantRows, rowsOf(t, evs)...)
				if err := s.Commit(ctx, store.Commit{RunID: "r", Events: evs}); err != nil {
					t.Fatal(err)
				}
				all = append(all, evs...)
			}
			if len(wantRows) <= len(tc.commits) && len(all) > 1000 {
				t.Fatalf("rows %v: the test means to cut a commit", wantRows)
			}
			checkRows(t, s, wantRows, tc.compressed)
			checkPages(t, s, "r", all)
		})
	}
}

// rowsOf returns how many events each row of a commit of evs holds: a row ends with the event
// that brings its JSON lines over maxBatchBytes.
func rowsOf(t *testing.T, evs []event.Event) []int {
	var rows []int
	size := 0 // of the row being filled
	for _, e := range evs {
		line, err := appendEvent(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			rows = append(rows, 0)
		}
		rows[len(rows)-1]++
		if size += len(line) + 1; size > maxBatchBytes {
			size = 0
		}
	}
	return rows
}

// checkRows checks run r's event batches: the events in each, and their format.
func checkRows(t *testing.T, s *Store, want []int, compressed bool) {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT last_seq - first_seq + 1, format FROM event_batches
		WHERE run_id = 'r' ORDER BY last_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	wantFormat := map[bool]int64{false: formatLines, true: formatS2}[compressed]
	for rows.Next() {
		var n int
		var format int64
		if err := rows.Scan(&n, &format); err != nil {
			t.Fatal(err)
		}
		if format != wantFormat {
			t.Errorf("row %d has format %d, want %d", len(got), format, wantFormat)
		}
		got = append(got, n)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events per row %v, want %v", got, want)
	}
}

// TestDecodeFastTakes checks which stored lines the fast decoder takes: the per-token events
// (else replay is slow, though correct), and nothing else.
func TestDecodeFastTakes(t *testing.T) {
	for _, e := range fuzzEvents {
		line, err := appendEvent(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		_, ok := decodeFast(line, new(seenStrings))
		if want := e.Type == event.MessageDelta || e.Type == event.ReasoningDelta || e.Type == event.ToolArgs; ok != want {
			t.Errorf("%s: decodeFast took it: %v, want %v\n%s", e.Type, ok, want, line)
		}
	}
}

// TestDeleteThreadDeletesBatches checks the cascade from a thread to its runs' event batches:
// Events reads batches without looking at the run, so none may outlive it.
func TestDeleteThreadDeletesBatches(t *testing.T) {
	s, _ := openInternal(t)
	ctx := t.Context()
	for _, th := range []string{"t1", "t2"} {
		if err := errors.Join(s.CreateThread(ctx, store.Thread{ID: th}), s.CreateRun(ctx, store.Run{ID: "r-" + th, ThreadID: th})); err != nil {
			t.Fatal(err)
		}
		evs := make([]event.Event, 600)
		for i := range evs {
			evs[i] = event.Event{Seq: uint64(i) + 1, Data: event.MessageDeltaData{MessageID: "m", Delta: strings.Repeat("x", 200)}}
		}
		if err := s.Commit(ctx, store.Commit{RunID: "r-" + th, Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(run string) (n int) {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM event_batches WHERE run_id = ?`, run).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("r-t1") < 2 || count("r-t2") < 2 {
		t.Fatalf("batches before: %d, %d; want several each", count("r-t1"), count("r-t2"))
	}
	if err := s.DeleteThread(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if n := count("r-t1"); n != 0 {
		t.Errorf("%d batches of the deleted thread's run remain", n)
	}
	if n := count("r-t2"); n < 2 {
		t.Errorf("the other thread's run lost its batches: %d left", n)
	}
	if _, err := s.Events(ctx, "r-t1", 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Events of the deleted run: %v, want ErrNotFound", err)
	}
}
