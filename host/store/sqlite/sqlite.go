// Package sqlite is Fleet's embedded store: a [store.Store] kept in one SQLite file, in pure Go
// (modernc.org/sqlite, no cgo).
//
// The database runs in WAL mode with synchronous=NORMAL: a write that returned survives a killed
// process (an operating-system crash or power loss may lose the last writes, never corrupt the
// file), and readers never block the writer. Writes go through a single connection, so writers of
// one process queue in Go instead of retrying on SQLITE_BUSY; reads use a pool of read-only
// connections. A second process sharing the file waits up to the busy timeout for the write lock.
//
// A commit's events are stored as one row (a new row every 64 KiB of JSON): their JSON forms,
// one per line, S2-compressed when that saves an eighth or more. One row per commit rather than
// per event, and a tenth of the bytes, make a streamed token cheap to store; reads slice the rows
// that overlap the page asked for.
//
// The schema is versioned with PRAGMA user_version and migrated forward by [Open]; a database
// written by a newer Fleet is refused with [ErrSchemaTooNew].
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/agentfleet/fleet/engine/store"
)

const (
	// EnvDataDir names the environment variable that overrides the data directory.
	EnvDataDir = "FLEET_DATA_DIR"
	// DefaultDirName is the data directory used when EnvDataDir is unset, relative to the
	// working directory.
	DefaultDirName = ".fleet"
	// FileName is the database's file name inside the data directory.
	FileName = "fleet.db"
)

var (
	// ErrSchemaTooNew: the database was written by a newer Fleet whose schema this version does
	// not know. Nothing was changed; upgrade Fleet or use another data directory.
	ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this version of fleet")
	// ErrNotFleet: the file is an SQLite database that Fleet did not create. Nothing was changed.
	ErrNotFleet = errors.New("sqlite: not a fleet database")
)

// DefaultDir returns the data directory: $FLEET_DATA_DIR when set and not empty, otherwise
// ".fleet" (relative to the working directory).
func DefaultDir() string {
	if d := os.Getenv(EnvDataDir); d != "" {
		return d
	}
	return DefaultDirName
}

// DefaultPath returns the database file in [DefaultDir]: DefaultDir()/fleet.db.
func DefaultPath() string { return filepath.Join(DefaultDir(), FileName) }

type config struct {
	readers     int
	busyTimeout time.Duration
}

// Option configures [Open].
type Option func(*config)

// WithReaders sets the number of read connections (default: GOMAXPROCS, at least 2). Values
// below 1 are ignored.
func WithReaders(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.readers = n
		}
	}
}

// WithBusyTimeout sets how long a connection waits for a lock another process holds before
// failing with SQLITE_BUSY (default 5s). Values below one millisecond are ignored.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Millisecond {
			c.busyTimeout = d
		}
	}
}

// Store is the SQLite [store.Store]. It is safe for concurrent use.
type Store struct {
	mu     sync.RWMutex // held for reading by every call, for writing by Close
	closed bool
	w      *sql.DB              // one connection: every write
	r      *sql.DB              // read-only pool
	stmts  map[string]*sql.Stmt // writerQueries, prepared on w
	reads  map[string]*sql.Stmt // readerQueries, prepared on r
	now    func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it (mode 0600) and its directory (mode 0750)
// when missing, and migrates its schema to the current version. ctx bounds the opening only.
// Use [DefaultPath] for the engine's default location.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{readers: max(2, runtime.GOMAXPROCS(0)), busyTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	abs, err := prepareFile(path)
	if err != nil {
		return nil, err
	}
	w, err := openDB(dsn(abs, cfg, writerPragmas), 1)
	if err != nil {
		return nil, err
	}
	s := &Store{w: w, now: time.Now}
	if err := initWriter(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if s.stmts, err = prepare(ctx, w, writerQueries); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if s.r, err = openDB(dsn(abs, cfg, readerPragmas), cfg.readers); err != nil {
		closeStmts(s.stmts)
		w.Close()
		return nil, err
	}
	if err := s.r.PingContext(ctx); err != nil {
		s.r.Close()
		closeStmts(s.stmts)
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: readers: %w", path, err)
	}
	if s.reads, err = prepare(ctx, s.r, readerQueries); err != nil {
		s.r.Close()
		closeStmts(s.stmts)
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: readers: %w", path, err)
	}
	return s, nil
}

// prepareFile creates path's directory and an empty file with private permissions (SQLite gives
// its -wal and -shm files the database file's mode), and returns the absolute path.
func prepareFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("sqlite: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return "", fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return abs, nil
}

// writerPragmas configure the write connection:
//   - journal_mode=WAL: readers see a consistent snapshot while the writer commits, and a commit
//     is one append to the WAL (persistent: set once in the file).
//   - synchronous=NORMAL: in WAL mode the WAL is fsynced only at checkpoints; a commit is in the
//     OS page cache when it returns, which survives a killed process (not a power loss).
//   - foreign_keys=1: thread and run deletion cascade to messages, runs, events, checkpoints.
//   - journal_size_limit: the WAL file is truncated back to 64 MiB after a checkpoint, so one
//     burst does not keep a huge file around.
var writerPragmas = []string{"journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)",
	"journal_size_limit(67108864)"}

// readerPragmas configure read connections: query_only makes any write on them an error.
var readerPragmas = []string{"foreign_keys(1)", "query_only(1)"}

// dsn builds a modernc DSN. Pragmas given as _pragma parameters run on every new connection
// (busy_timeout first); _txlock=immediate makes write transactions take the write lock at BEGIN,
// so a transaction never fails to upgrade a read lock.
func dsn(abs string, cfg config, pragmas []string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// A file: URI: SQLite decodes %XX in the path, so escape what would end it early.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
	return "file:" + p + "?" + q.Encode()
}

func openDB(dsn string, conns int) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// initWriter checks that WAL mode took effect and migrates the schema.
func initWriter(ctx context.Context, w *sql.DB) error {
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (does the file system support WAL?)", mode)
	}
	return migrate(ctx, w)
}

// enter starts a call: it holds the read side of mu until leave, so Close waits for calls in
// flight, and reports ErrClosed after Close.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

// Close waits for calls in flight, then closes the database; later calls (Close included)
// return [store.ErrClosed].
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.closed = true
	// Readers first: the writer, closing last, checkpoints the WAL into the database file.
	if err := errors.Join(closeStmts(s.reads), s.r.Close(), closeStmts(s.stmts), s.w.Close()); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE on the writer connection) and commits
// it when fn returns nil.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the transaction's error is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// sqliteCode returns the extended result code of an SQLite error, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// Extended result codes used to map constraint failures.
const (
	codeConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	codeConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
	codeConstraintForeignKey = 787  // SQLITE_CONSTRAINT_FOREIGNKEY
)

// isDuplicate reports whether err is a primary-key or unique violation.
func isDuplicate(err error) bool {
	c := sqliteCode(err)
	return c == codeConstraintPrimaryKey || c == codeConstraintUnique
}

// limitOf maps a list limit to SQL: 0 means def, negative is an error.
func limitOf(limit, def int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("negative limit %d", limit)
	case limit == 0:
		return def, nil
	}
	return limit, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
