package plugin

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Config configures a Host. The zero Config is valid: every field has a default.
type Config struct {
	// CacheDir is the directory of the on-disk compilation cache, shared by every process that
	// uses it. Default: $FLEET_CACHE_DIR/wazero, or os.UserCacheDir()/fleet/wazero when
	// FLEET_CACHE_DIR is unset (or the system temporary directory when there is no user cache).
	CacheDir string
	// Logger receives plugin log messages (log capability), capability denials and load warnings,
	// each with a "plugin" attribute. Default slog.Default().
	Logger *slog.Logger
	// KV backs the kv capability. Default: NewMemoryKV(0), an in-memory store lost when the process
	// exits.
	KV KV
	// Host is the host's name and version sent to plugins in fleet_init. Default "fleet".
	Host string
	// CompilationWorkers is the number of goroutines compiling one module. Default GOMAXPROCS.
	CompilationWorkers int
	// HTTPMaxBytes is the default and ceiling of the body size an http fetch reads. Default 1 MiB.
	HTTPMaxBytes int64
	// Backoff is the first back-off period of a plugin that crashed (trapped, ran out of memory,
	// timed out or broke the ABI) on 3 consecutive calls: calls fail with ErrUnavailable for that
	// long, then the period doubles with each further crash, up to a minute; a call that does not
	// crash resets it. Default 100 ms.
	Backoff time.Duration
}

const (
	defaultHTTPMaxBytes = 1 << 20
	defaultBackoff      = 100 * time.Millisecond
	maxBackoff          = time.Minute
	// backoffAfter is how many consecutive crashes start a back-off: a single crash never blocks
	// the next call.
	backoffAfter = 3
)

func (c Config) withDefaults() Config {
	if c.CacheDir == "" {
		c.CacheDir = defaultCacheDir()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.KV == nil {
		c.KV = NewMemoryKV(0)
	}
	if c.Host == "" {
		c.Host = "fleet"
	}
	if c.CompilationWorkers <= 0 {
		c.CompilationWorkers = runtime.GOMAXPROCS(0)
	}
	if c.HTTPMaxBytes <= 0 {
		c.HTTPMaxBytes = defaultHTTPMaxBytes
	}
	if c.Backoff <= 0 {
		c.Backoff = defaultBackoff
	}
	return c
}

func defaultCacheDir() string {
	if d := os.Getenv("FLEET_CACHE_DIR"); d != "" {
		return filepath.Join(d, "wazero")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "fleet", "wazero")
	}
	return filepath.Join(os.TempDir(), "fleet", "wazero")
}
