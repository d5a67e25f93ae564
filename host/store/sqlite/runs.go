package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentfleet/fleet/engine/store"
)

const runCols = `id, thread_id, workflow, workflow_hash, status, input, output, error, last_seq, usage,
	created_at, updated_at`

func scanRun(sc scanner) (store.Run, error) {
	var r store.Run
	var lastSeq int64
	var usage, created, updated string
	if err := sc.Scan(&r.ID, &r.ThreadID, &r.Workflow, &r.WorkflowHash, &r.Status, &r.Input,
		&r.Output, &r.Error, &lastSeq, &usage, &created, &updated); err != nil {
		return store.Run{}, err
	}
	var err error
	if r.LastSeq, err = seqOf(lastSeq); err != nil {
		return store.Run{}, fmt.Errorf("run %q: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(usage), &r.Usage); err != nil {
		return store.Run{}, fmt.Errorf("%w: run %q usage: %w", ErrCorrupt, r.ID, err)
	}
	var tc timeCodec
	r.CreatedAt, r.UpdatedAt = tc.dec(created), tc.dec(updated)
	if tc.err != nil {
		return store.Run{}, fmt.Errorf("run %q: %w", r.ID, tc.err)
	}
	return r, nil
}

// runArgs returns r's column values (runCols order) with lastSeq in place of r.LastSeq.
func runArgs(r store.Run, lastSeq uint64) ([]any, error) {
	usage, err := json.Marshal(r.Usage)
	if err != nil {
		return nil, err
	}
	var tc timeCodec
	created, updated := tc.enc(r.CreatedAt), tc.enc(r.UpdatedAt)
	if tc.err != nil {
		return nil, tc.err
	}
	return []any{r.ID, r.ThreadID, r.Workflow, r.WorkflowHash, r.Status, r.Input, r.Output,
		r.Error, int64(lastSeq), string(usage), created, updated}, nil
}

// CreateRun implements [store.Store]: ErrNotFound if the thread does not exist, ErrConflict if
// the id does; an empty id is an error. The stored LastSeq is 0: a new run has no events.
func (s *Store) CreateRun(ctx context.Context, r store.Run) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if r.ID == "" {
		return errors.New("sqlite: create run: empty id")
	}
	args, err := runArgs(r, 0)
	if err != nil {
		return fmt.Errorf("sqlite: create run %q: %w", r.ID, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO runs (`+runCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	switch {
	case isDuplicate(err):
		return fmt.Errorf("sqlite: create run %q: %w", r.ID, store.ErrConflict)
	case sqliteCode(err) == codeConstraintForeignKey:
		return fmt.Errorf("sqlite: create run %q: thread %q: %w", r.ID, r.ThreadID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: create run %q: %w", r.ID, err)
	}
	return nil
}

// Run implements [store.Store].
func (s *Store) Run(ctx context.Context, id string) (store.Run, error) {
	if err := s.enter(); err != nil {
		return store.Run{}, err
	}
	defer s.leave()
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, fmt.Errorf("sqlite: run %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("sqlite: run %q: %w", id, err)
	}
	return r, nil
}

// Runs implements [store.Store]: newest (CreatedAt) first, ties in reverse creation order; a
// negative limit is an error.
func (s *Store) Runs(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	n, err := limitOf(f.Limit, defaultLimit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: runs: %w", err)
	}
	var where []string
	var args []any
	for _, c := range []struct{ col, val string }{{"thread_id", f.ThreadID}, {"status", f.Status}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	q := `SELECT ` + runCols + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, rowid DESC LIMIT ?`
	rows, err := s.r.QueryContext(ctx, q, append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: runs: %w", err)
	}
	out, err := collect(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("sqlite: runs: %w", err)
	}
	return out, nil
}
