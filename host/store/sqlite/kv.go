package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/agentfleet/fleet/engine/store"
)

// kvCheck rejects an empty namespace or key.
func kvCheck(ns, key string) error {
	switch {
	case ns == "":
		return errors.New("empty namespace")
	case key == "":
		return errors.New("empty key")
	}
	return nil
}

// KVGet implements [store.Store]: ErrNotFound if the key is absent. The value is the caller's
// to keep.
func (s *Store) KVGet(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := kvCheck(ns, key); err != nil {
		return nil, fmt.Errorf("sqlite: kv get: %w", err)
	}
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE ns = ? AND key = ?`, ns, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: kv get %s/%q: %w", ns, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: kv get %s/%q: %w", ns, key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// KVSet implements [store.Store]: it creates or replaces the key. Empty namespaces and keys are
// errors; a nil value is stored as an empty one.
func (s *Store) KVSet(ctx context.Context, ns, key string, value []byte) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := kvCheck(ns, key); err != nil {
		return fmt.Errorf("sqlite: kv set: %w", err)
	}
	if value == nil {
		value = []byte{} // the driver binds nil as NULL
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO kv (ns, key, value) VALUES (?, ?, ?)
		ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value`, ns, key, value)
	if err != nil {
		return fmt.Errorf("sqlite: kv set %s/%q: %w", ns, key, err)
	}
	return nil
}

// KVDelete implements [store.Store]: ErrNotFound if the key is absent.
func (s *Store) KVDelete(ctx context.Context, ns, key string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := kvCheck(ns, key); err != nil {
		return fmt.Errorf("sqlite: kv delete: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM kv WHERE ns = ? AND key = ?`, ns, key)
	if err != nil {
		return fmt.Errorf("sqlite: kv delete %s/%q: %w", ns, key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: kv delete %s/%q: %w", ns, key, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: kv delete %s/%q: %w", ns, key, store.ErrNotFound)
	}
	return nil
}

// KVList implements [store.Store]: the namespace's keys starting with prefix (every key for an
// empty prefix), in byte order.
func (s *Store) KVList(ctx context.Context, ns, prefix string) ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if ns == "" {
		return nil, errors.New("sqlite: kv list: empty namespace")
	}
	// Keys with the prefix are contiguous in byte order from the prefix itself: walk the primary
	// key from there and stop at the first that lacks it (no LIKE, so no escaping of % or _).
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM kv WHERE ns = ? AND key >= ? ORDER BY key`, ns, prefix)
	if err != nil {
		return nil, fmt.Errorf("sqlite: kv list %s/%q: %w", ns, prefix, err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlite: kv list %s/%q: %w", ns, prefix, err)
		}
		if !strings.HasPrefix(k, prefix) {
			break
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: kv list %s/%q: %w", ns, prefix, err)
	}
	return keys, nil
}
