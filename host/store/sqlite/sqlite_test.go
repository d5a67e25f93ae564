package sqlite_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/store/storetest"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openTemp opens a new store in a test's temporary directory; the caller closes it.
func openTemp(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", sqlite.FileName)
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// TestConformanceOneReader runs the suite with a single read connection, so readers queue.
func TestConformanceOneReader(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t, sqlite.WithReaders(1))
		return s
	})
}
