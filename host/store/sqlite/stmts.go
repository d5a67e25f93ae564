package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The writer's hot statements, prepared once at Open so Commit does not re-parse its SQL.
const (
	sqlRunHead     = `SELECT thread_id, last_seq FROM runs WHERE id = ?`
	sqlSetLastSeq  = `UPDATE runs SET last_seq = ? WHERE id = ?`
	sqlNextMessage = `SELECT coalesce(max(seq), 0) FROM messages WHERE thread_id = ?`
	sqlTouchThread = `UPDATE threads SET updated_at = max(updated_at, ?) WHERE id = ?`
	sqlInsertMsg   = `INSERT INTO messages (` + messageCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlUpsertCkpt  = `INSERT INTO checkpoints (run_id, seq, workflow_hash, data, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq,
		workflow_hash = excluded.workflow_hash, data = excluded.data, created_at = excluded.created_at`
	sqlUpdateRun = `UPDATE runs SET workflow = ?, workflow_hash = ?, status = ?, input = ?, output = ?,
		error = ?, last_seq = ?, usage = ?, created_at = ?, updated_at = ? WHERE id = ?`
	sqlInsertBatch = `INSERT INTO event_batches (run_id, last_seq, first_seq, format, data) VALUES (?, ?, ?, ?, ?)`
)

// writerQueries are the statements prepared on the writer.
var writerQueries = []string{sqlRunHead, sqlSetLastSeq, sqlNextMessage, sqlTouchThread, sqlInsertMsg,
	sqlUpsertCkpt, sqlUpdateRun, sqlInsertBatch}

// The readers' hot statement: Events, called per page by every subscriber catching up. Parsing
// it took a quarter of a 10-event read.
const sqlReadBatches = `SELECT first_seq, last_seq, format, data FROM event_batches
	WHERE run_id = ? AND last_seq > ? AND first_seq <= ? ORDER BY last_seq`

// readerQueries are the statements prepared on the readers (on each connection as it is used).
var readerQueries = []string{sqlReadBatches}

// prepare prepares qs on db.
func prepare(ctx context.Context, db *sql.DB, qs []string) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(qs))
	for _, q := range qs {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			closeStmts(stmts)
			return nil, fmt.Errorf("prepare: %w", err)
		}
		stmts[q] = st
	}
	return stmts, nil
}

func closeStmts(stmts map[string]*sql.Stmt) error {
	var errs []error
	for _, st := range stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// exec runs a prepared statement q in tx.
func (ct *commitTx) exec(q string, args ...any) (sql.Result, error) {
	return ct.tx.StmtContext(ct.ctx, ct.stmts[q]).ExecContext(ct.ctx, args...)
}

// queryRow runs a prepared query q in tx.
func (ct *commitTx) queryRow(q string, args ...any) *sql.Row {
	return ct.tx.StmtContext(ct.ctx, ct.stmts[q]).QueryRowContext(ct.ctx, args...)
}
