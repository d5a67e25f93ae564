package sqlite

import (
	"database/sql"
	"testing"
)

// UnpackBatches rewrites every event batch of the closed database at path in the plain format
// (JSON lines, format 0), so a test can edit the stored text.
func UnpackBatches(t testing.TB, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type row struct {
		run    string
		last   int64
		format int64
		data   []byte
	}
	rows, err := db.Query(`SELECT run_id, last_seq, format, data FROM event_batches`)
	if err != nil {
		t.Fatal(err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.run, &r.last, &r.format, &r.data); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, r := range all {
		var bufs batchBufs
		lines, err := bufs.unpack(r.format, r.data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE event_batches SET format = 0, data = ? WHERE run_id = ? AND last_seq = ?`,
			lines, r.run, r.last); err != nil {
			t.Fatal(err)
		}
	}
}
