package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentfleet/fleet/engine/store"
)

// defaultLimit is the list size when a limit of 0 is given.
const defaultLimit = 100

const threadCols = `id, title, created_at, updated_at`

func scanThread(sc scanner) (store.Thread, error) {
	var t store.Thread
	var created, updated string
	if err := sc.Scan(&t.ID, &t.Title, &created, &updated); err != nil {
		return store.Thread{}, err
	}
	var tc timeCodec
	t.CreatedAt, t.UpdatedAt = tc.dec(created), tc.dec(updated)
	if tc.err != nil {
		return store.Thread{}, fmt.Errorf("thread %q: %w", t.ID, tc.err)
	}
	return t, nil
}

// CreateThread implements [store.Store]: ErrConflict if the id exists; an empty id is an error.
func (s *Store) CreateThread(ctx context.Context, t store.Thread) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if t.ID == "" {
		return errors.New("sqlite: create thread: empty id")
	}
	var tc timeCodec
	created, updated := tc.enc(t.CreatedAt), tc.enc(t.UpdatedAt)
	if tc.err != nil {
		return fmt.Errorf("sqlite: create thread %q: %w", t.ID, tc.err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO threads (`+threadCols+`) VALUES (?, ?, ?, ?)`,
		t.ID, t.Title, created, updated)
	if isDuplicate(err) {
		return fmt.Errorf("sqlite: create thread %q: %w", t.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create thread %q: %w", t.ID, err)
	}
	return nil
}

// Thread implements [store.Store].
func (s *Store) Thread(ctx context.Context, id string) (store.Thread, error) {
	if err := s.enter(); err != nil {
		return store.Thread{}, err
	}
	defer s.leave()
	t, err := scanThread(s.r.QueryRowContext(ctx, `SELECT `+threadCols+` FROM threads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Thread{}, fmt.Errorf("sqlite: thread %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Thread{}, fmt.Errorf("sqlite: thread %q: %w", id, err)
	}
	return t, nil
}

// Threads implements [store.Store]: most recently updated first (ties: greater id first); a
// negative limit is an error.
func (s *Store) Threads(ctx context.Context, limit int) ([]store.Thread, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	n, err := limitOf(limit, defaultLimit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: threads: %w", err)
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+threadCols+` FROM threads ORDER BY updated_at DESC, id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: threads: %w", err)
	}
	out, err := collect(rows, scanThread)
	if err != nil {
		return nil, fmt.Errorf("sqlite: threads: %w", err)
	}
	return out, nil
}

// DeleteThread implements [store.Store]: ErrNotFound if absent. Messages, runs, events and
// checkpoints go by foreign-key cascade, in the same transaction.
func (s *Store) DeleteThread(ctx context.Context, id string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	res, err := s.w.ExecContext(ctx, `DELETE FROM threads WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete thread %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete thread %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: delete thread %q: %w", id, store.ErrNotFound)
	}
	return nil
}

const messageCols = `thread_id, seq, run_id, role, agent, content, created_at`

func scanMessage(sc scanner) (store.Message, error) {
	var m store.Message
	var created string
	if err := sc.Scan(&m.ThreadID, &m.Seq, &m.RunID, &m.Role, &m.Agent, &m.Content, &created); err != nil {
		return store.Message{}, err
	}
	var tc timeCodec
	m.CreatedAt = tc.dec(created)
	if tc.err != nil {
		return store.Message{}, fmt.Errorf("message %s/%d: %w", m.ThreadID, m.Seq, tc.err)
	}
	return m, nil
}

// Messages implements [store.Store]: ErrNotFound if the thread does not exist.
func (s *Store) Messages(ctx context.Context, threadID string) ([]store.Message, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+messageCols+` FROM messages WHERE thread_id = ? ORDER BY seq`, threadID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages of %q: %w", threadID, err)
	}
	out, err := collect(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages of %q: %w", threadID, err)
	}
	if len(out) == 0 {
		return out, s.mustExist(ctx, "threads", threadID)
	}
	return out, nil
}

// existsQueries asks whether a row exists, per table.
var existsQueries = map[string]string{
	"threads": `SELECT EXISTS (SELECT 1 FROM threads WHERE id = ?)`,
	"runs":    `SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
}

// mustExist returns ErrNotFound unless table has a row with id.
func (s *Store) mustExist(ctx context.Context, table, id string) error {
	var ok bool
	if err := s.r.QueryRowContext(ctx, existsQueries[table], id).Scan(&ok); err != nil {
		return fmt.Errorf("sqlite: %s %q: %w", table, id, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s %q: %w", table, id, store.ErrNotFound)
	}
	return nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
