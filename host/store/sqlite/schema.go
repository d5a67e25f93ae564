package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// applicationID marks the file as Fleet's (PRAGMA application_id): "FLET".
const applicationID = 0x464c4554

// migrations[i] moves the schema from version i to i+1; PRAGMA user_version holds the version.
// Append new migrations; never edit a released one.
//
// Conventions: STRICT tables; times are UTC text "2006-01-02T15:04:05.000000000Z" (fixed width, so
// text order is time order); JSON is stored as text (event batches: a BLOB of JSON lines); an
// absent optional string is ”.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE threads (
	id         TEXT PRIMARY KEY,
	title      TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX threads_updated ON threads (updated_at DESC, id DESC);

CREATE TABLE messages (
	thread_id  TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	run_id     TEXT NOT NULL,
	role       TEXT NOT NULL,
	agent      TEXT NOT NULL,
	content    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (thread_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE runs (
	id            TEXT PRIMARY KEY,
	thread_id     TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	workflow      TEXT NOT NULL,
	workflow_hash TEXT NOT NULL,
	status        TEXT NOT NULL,
	input         TEXT NOT NULL,
	output        TEXT NOT NULL,
	error         TEXT NOT NULL,
	last_seq      INTEGER NOT NULL CHECK (last_seq >= 0),
	usage         TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX runs_created ON runs (created_at DESC);
CREATE INDEX runs_thread ON runs (thread_id, created_at DESC);
CREATE INDEX runs_status ON runs (status, created_at DESC);

CREATE TABLE events (
	run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq    INTEGER NOT NULL CHECK (seq >= 1),
	type   TEXT NOT NULL,
	json   TEXT NOT NULL,
	PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE checkpoints (
	run_id        TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	seq           INTEGER NOT NULL,
	workflow_hash TEXT NOT NULL,
	data          TEXT NOT NULL,
	created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE kv (
	ns    TEXT NOT NULL,
	key   TEXT NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (ns, key)
) STRICT, WITHOUT ROWID;
`,
	// 2: a run's events are stored in batches, one row per commit (split at maxBatchBytes):
	// data holds the events' JSON forms, one per line, for seqs first_seq..last_seq, as they are
	// (format 0) or compressed as one S2 block (format 1). One row per commit instead of one per
	// event, and a tenth of the bytes for token events, make a streamed token cheap to store.
	// The existing per-event rows are grouped into format-0 batches of about 64 KiB each.
	`
CREATE TABLE event_batches (
	run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	last_seq  INTEGER NOT NULL,
	first_seq INTEGER NOT NULL CHECK (first_seq >= 1 AND first_seq <= last_seq),
	format    INTEGER NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (run_id, last_seq)
) STRICT, WITHOUT ROWID;

INSERT INTO event_batches (run_id, last_seq, first_seq, format, data)
SELECT run_id, max(seq), min(seq), 0, CAST(group_concat(json, char(10) ORDER BY seq) AS BLOB)
FROM (SELECT run_id, seq, json,
	sum(octet_length(json) + 1) OVER (PARTITION BY run_id ORDER BY seq) - octet_length(json) - 1 AS pos
	FROM events)
GROUP BY run_id, pos / 65536;

DROP TABLE events;
`,
}

// migrate brings the schema to len(migrations) in one write transaction. It refuses a database
// from a newer Fleet (ErrSchemaTooNew) and one another program made (ErrNotFleet).
func migrate(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	version, err := checkOwner(ctx, tx)
	if err != nil {
		return err
	}
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	pragmas := fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d",
		len(migrations), applicationID)
	if _, err := tx.ExecContext(ctx, pragmas); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// checkOwner returns the schema version after checking the file is Fleet's (or empty) and not
// newer than this code.
func checkOwner(ctx context.Context, tx *sql.Tx) (int, error) {
	var appID, version, tables int
	row := tx.QueryRowContext(ctx, `SELECT (SELECT application_id FROM pragma_application_id),
		(SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_schema)`)
	if err := row.Scan(&appID, &version, &tables); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	switch {
	case appID == 0 && version == 0 && tables == 0:
		return 0, nil // a new, empty file
	case appID != applicationID:
		return 0, fmt.Errorf("%w (application_id %#x, %d schema objects)", ErrNotFleet, appID, tables)
	case version > len(migrations):
		return 0, fmt.Errorf("%w: file has version %d, this fleet knows up to %d",
			ErrSchemaTooNew, version, len(migrations))
	}
	return version, nil
}
