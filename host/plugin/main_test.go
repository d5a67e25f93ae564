package plugin

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentfleet/fleet/internal/testwasm"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture builds the test guest testdata/NAME (cached across runs by internal/testwasm).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	return testwasm.Build(t, filepath.Join("testdata", name))
}

// pingWasm is the committed WAT plugin of docs/abi.md section 10.
func pingWasm(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/ping.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logBuffer collects a host's log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newTestHost returns a host closed at the end of the test, logging into the returned buffer.
func newTestHost(t testing.TB, cfg Config) (*Host, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := NewHost(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("closing host: %v", err)
		}
		h.watchdog.mu.Lock()
		defer h.watchdog.mu.Unlock()
		if n := len(h.watchdog.watched); n != 0 {
			t.Errorf("%d instances still watched after the host closed", n)
		}
	})
	return h, logs
}

// load loads wasm under m, failing the test on error.
func load(t testing.TB, h *Host, wasm []byte, m Manifest) *Plugin {
	t.Helper()
	p, err := h.Load(context.Background(), wasm, m)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// signalHandler is a slog.Handler that writes to a logBuffer and closes a channel the first time a
// record with a given message arrives: tests wait on it to know that a guest reached a point.
type signalHandler struct {
	slog.Handler
	mu      *sync.Mutex
	waiting map[string]chan struct{}
}

func newSignalLogger(logs *logBuffer) (*slog.Logger, func(msg string) <-chan struct{}) {
	h := &signalHandler{Handler: slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		mu: &sync.Mutex{}, waiting: map[string]chan struct{}{}}
	return slog.New(h), h.on
}

func (h *signalHandler) on(msg string) <-chan struct{} { return h.channel(msg) }

func (h *signalHandler) channel(msg string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waiting[msg]
	if !ok {
		ch = make(chan struct{})
		h.waiting[msg] = ch
	}
	return ch
}

func (h *signalHandler) Handle(ctx context.Context, r slog.Record) error {
	ch := h.channel(r.Message)
	h.mu.Lock()
	select {
	case <-ch:
	default:
		close(ch)
	}
	h.mu.Unlock()
	return h.Handler.Handle(ctx, r)
}

func (h *signalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &signalHandler{Handler: h.Handler.WithAttrs(attrs), mu: h.mu, waiting: h.waiting}
}

func (h *signalHandler) WithGroup(name string) slog.Handler {
	return &signalHandler{Handler: h.Handler.WithGroup(name), mu: h.mu, waiting: h.waiting}
}
