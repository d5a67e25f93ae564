package storetest

import (
	"context"
	"testing"

	"github.com/agentfleet/fleet/engine/store"
)

func lifecycleCases() []testCase {
	return []testCase{
		{"ClosedIsErrClosed", testClosed},
	}
}

func testClosed(t *testing.T, s store.Store) {
	setupRun(t, s, 1)
	kvSet(t, s, "p", "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	for name, call := range map[string]func(ctx context.Context) error{
		"CreateThread": func(ctx context.Context) error {
			return s.CreateThread(ctx, store.Thread{ID: "t-2", CreatedAt: at(0), UpdatedAt: at(0)})
		},
		"Thread":       func(ctx context.Context) error { _, err := s.Thread(ctx, "t-1"); return err },
		"Threads":      func(ctx context.Context) error { _, err := s.Threads(ctx, 0); return err },
		"DeleteThread": func(ctx context.Context) error { return s.DeleteThread(ctx, "t-1") },
		"Messages":     func(ctx context.Context) error { _, err := s.Messages(ctx, "t-1"); return err },
		"CreateRun": func(ctx context.Context) error {
			return s.CreateRun(ctx, store.Run{ID: "r-2", ThreadID: "t-1", CreatedAt: at(0), UpdatedAt: at(0)})
		},
		"Run":  func(ctx context.Context) error { _, err := s.Run(ctx, "r-1"); return err },
		"Runs": func(ctx context.Context) error { _, err := s.Runs(ctx, store.RunFilter{}); return err },
		"Commit": func(ctx context.Context) error {
			return s.Commit(ctx, store.Commit{RunID: "r-1", Events: deltas("r-1", "t-1", 1, 1)})
		},
		"Events":     func(ctx context.Context) error { _, err := s.Events(ctx, "r-1", 0, 0); return err },
		"Checkpoint": func(ctx context.Context) error { _, err := s.Checkpoint(ctx, "r-1"); return err },
		"KVGet":      func(ctx context.Context) error { _, err := s.KVGet(ctx, "p", "k"); return err },
		"KVSet":      func(ctx context.Context) error { return s.KVSet(ctx, "p", "k", []byte("x")) },
		"KVDelete":   func(ctx context.Context) error { return s.KVDelete(ctx, "p", "k") },
		"KVList":     func(ctx context.Context) error { _, err := s.KVList(ctx, "p", ""); return err },
		"Close":      func(context.Context) error { return s.Close() },
	} {
		wantErr(t, name+" after Close", call(ctx), store.ErrClosed)
	}
}
