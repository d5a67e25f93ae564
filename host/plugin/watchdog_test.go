package plugin

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestWatchdog: short calls under a short timeout never fire, a long one fires no earlier than its
// timeout and not much later, and the watchdog wakes from sleep for the next call.
func TestWatchdog(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	const timeout = 20 * watchdogTick
	p := load(t, h, fixture(t, "good"), Manifest{Timeout: timeout, Instances: 4})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				if _, err := p.Call(ctx, "echo", []byte(`{"g":1}`)); err != nil {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	spin := func() {
		t.Helper()
		start := time.Now()
		_, err := p.Call(ctx, "spin", nil)
		d := time.Since(start)
		if !errors.Is(err, ErrTimeout) || d < timeout {
			t.Fatalf("spin = %v after %v, want ErrTimeout no sooner than %v", err, d, timeout)
		}
		t.Logf("a %v timeout fired after %v", timeout, d)
	}
	spin()
	deadline := time.Now().Add(10 * watchdogIdle)
	for !h.watchdog.sleeping.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog never went to sleep")
		}
		time.Sleep(watchdogTick)
	}
	spin()
}
