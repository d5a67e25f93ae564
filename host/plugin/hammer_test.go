package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentfleet/fleet/internal/testwasm"
)

// firstParty builds the first-party plugin plugins/NAME.
func firstParty(t testing.TB, name string) []byte {
	t.Helper()
	return testwasm.Build(t, filepath.Join("..", "..", "plugins", name))
}

// hammerCase is one kind of call the hammer makes, with the check of its result.
type hammerCase struct {
	plugin, tool string
	args         func(i int) string
	check        func(i int, out []byte, err error) error
}

func wantOutput(want func(i int) string) func(int, []byte, error) error {
	return func(i int, out []byte, err error) error {
		if err != nil {
			return err
		}
		if w := want(i); string(out) != w {
			return fmt.Errorf("got %s, want %s", out, w)
		}
		return nil
	}
}

func wantError(target error) func(int, []byte, error) error {
	return func(_ int, out []byte, err error) error {
		if !errors.Is(err, target) {
			return fmt.Errorf("got %s, %v; want %v", out, err, target)
		}
		return nil
	}
}

// TestHammer makes hundreds of concurrent calls across several plugins, through a Registry, and
// checks every result. Run it with -race.
func TestHammer(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	r := NewRegistry()
	defer r.Close(ctx)
	for _, w := range [][]byte{fixture(t, "good"), fixture(t, "multi"), pingWasm(t), firstParty(t, "calc"), firstParty(t, "text")} {
		if err := r.Add(load(t, h, w, Manifest{Instances: 3})); err != nil {
			t.Fatal(err)
		}
	}
	echo := func(i int) string { return fmt.Sprintf(`{"i":%d,"s":%q}`, i, strings.Repeat("x", i%300)) }
	cases := []hammerCase{
		{"good", "echo", echo, wantOutput(echo)},
		{"multi", "echo", echo, wantOutput(echo)},
		{"good", "noop", func(int) string { return "" }, wantOutput(func(int) string { return "{}" })},
		{"ping", "ping", func(int) string { return "" }, wantOutput(func(int) string { return `{"ok":true}` })},
		{"good", "strict", func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) }, wantOutput(func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) })},
		{"good", "strict", func(i int) string { return fmt.Sprintf(`{"n":-%d}`, i+1) }, wantError(ErrInvalidArguments)},
		{"good", "fail", func(int) string { return "" }, wantError(ErrPlugin)},
		{"calc", "calculate", func(i int) string { return fmt.Sprintf(`{"expression":"%d*7+1"}`, i) },
			func(i int, out []byte, err error) error {
				var r struct{ Result float64 }
				if err != nil || json.Unmarshal(out, &r) != nil || r.Result != float64(i*7+1) {
					return fmt.Errorf("calculate %d*7+1 = %s, %v", i, out, err)
				}
				return nil
			}},
		{"text", "word_count", func(i int) string { return fmt.Sprintf(`{"text":%q}`, strings.Repeat("w ", i%50+1)) },
			func(i int, out []byte, err error) error {
				if err != nil || !strings.Contains(string(out), fmt.Sprintf(`"words":%d`, i%50+1)) {
					return fmt.Errorf("word_count of %d words = %s, %v", i%50+1, out, err)
				}
				return nil
			}},
	}
	const calls = 600
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			c := cases[rand.IntN(len(cases))]
			out, err := r.Call(ctx, c.plugin+"."+c.tool, []byte(c.args(i)))
			if cerr := c.check(i, out, err); cerr != nil {
				errs <- fmt.Errorf("call %d %s.%s: %w", i, c.plugin, c.tool, cerr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, p := range r.Plugins() {
		if n := p.core.nextID.Load(); n > 3 {
			t.Errorf("plugin %s made %d instances, limit 3", p.Name(), n)
		}
	}
}
