package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentfleet/fleet/engine/event"
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
		{s.w, "writer", "user_version", "1"},
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
	if _, err := Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "migrate to version 2") {
		t.Fatalf("Open with a failing migration: %v", err)
	}
	migrations = migrations[:1]
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after the failed migration: %v", err)
	}
	defer s.Close()
	if v := pragma(t, s.w, "user_version"); v != "1" {
		t.Errorf("user_version %s after a failed migration, want 1", v)
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
	if v := pragma(t, s.w, "user_version"); v != "2" {
		t.Errorf("user_version %s, want 2", v)
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

// FuzzDecodeEvent feeds arbitrary stored rows to the event decoder: it must never panic, and a
// row it accepts must encode back to a row that decodes to the same event.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range []event.Event{
		{V: 1, Type: event.MessageDelta, Seq: 3, RunID: "r", ThreadID: "t", Data: event.MessageDeltaData{MessageID: "m", Delta: "hi"}},
		{V: 1, Type: event.ToolEnd, Seq: 1, RunID: "r", Data: event.ToolEndData{CallID: "c", Arguments: json.RawMessage(`{"a":[1]}`)}},
		{V: 1, Type: "x.future", Seq: 2, RunID: "r", Data: event.Unknown{Type: "x.future", Raw: json.RawMessage(`[1,2]`)}},
		{V: 1, Type: event.RunInterrupted, Seq: 9, RunID: "r", Data: event.RunInterruptedData{Approvals: []event.Approval{{ID: "a"}}}},
	} {
		row, err := encodeEvent(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("r", row.seq, row.typ, row.json)
	}
	f.Add("r", int64(1), "run.started", `{"v":1,"type":"run.started","seq":1,"run_id":"r","data":"str"}`)
	f.Add("r", int64(1), "run.started", `{"v":1,"type":"run.started","seq":1,"run_id":"r","data":null}`)
	f.Add("r", int64(1), "", `{"seq":1,"run_id":"r"}`)
	f.Add("r", int64(-1), "usage", `nul`)
	f.Fuzz(func(t *testing.T, run string, seq int64, typ, js string) {
		e, err := decodeEvent(run, eventRow{seq: seq, typ: typ, json: js})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode error %v is not ErrCorrupt", err)
			}
			return
		}
		row, err := encodeEvent(e)
		if err != nil {
			t.Fatalf("a decoded event does not encode: %v", err)
		}
		again, err := decodeEvent(run, row)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, row.json)
		}
		e.Time, again.Time = e.Time.Round(0), again.Time.Round(0)
		if a, b := mustJSON(t, e), mustJSON(t, again); a != b {
			t.Fatalf("round trip changed the event:\n%s\n%s", a, b)
		}
		if e.Seq != again.Seq || e.Type != again.Type || !reflect.DeepEqual(e.Data == nil, again.Data == nil) {
			t.Fatalf("round trip changed the envelope: %+v vs %+v", e, again)
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
