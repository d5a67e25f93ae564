package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
)

// maxRowsPerInsert is the most events one INSERT writes; larger commits take several.
const maxRowsPerInsert = 16

// insertEvents returns the INSERT of n events.
func insertEvents(n int) string {
	return `INSERT INTO events (run_id, seq, type, json) VALUES ` +
		strings.Repeat(`(?, ?, ?, ?), `, n-1) + `(?, ?, ?, ?)`
}

// prepareWriter prepares the writer's hot statements.
func prepareWriter(ctx context.Context, w *sql.DB) (map[string]*sql.Stmt, error) {
	qs := []string{sqlRunHead, sqlSetLastSeq, sqlNextMessage, sqlTouchThread, sqlInsertMsg, sqlUpsertCkpt, sqlUpdateRun}
	for n := 1; n <= maxRowsPerInsert; n++ {
		qs = append(qs, insertEvents(n))
	}
	stmts := make(map[string]*sql.Stmt, len(qs))
	for _, q := range qs {
		st, err := w.PrepareContext(ctx, q)
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
