package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// badCall is a call TestBadCalls makes on a fresh instance of the good fixture.
type badCall struct {
	name string
	tool string
	args string
	m    Manifest
	want []error
	// check inspects the error further.
	check func(t *testing.T, err error)
}

// checkFailToolError: the fail tool's error is a ToolError with the guest's code and message.
func checkFailToolError(t *testing.T, err error) {
	var te *ToolError
	if !errors.As(err, &te) || te.Code != "E42" || te.Message != "it failed on purpose" || te.Tool != "fail" || te.Plugin != "good" {
		t.Fatalf("ToolError = %+v", te)
	}
}

// checkPanicTrap: a panic is a TrapError with the guest's stderr, shown in the error.
func checkPanicTrap(t *testing.T, err error) {
	var te *TrapError
	if !errors.As(err, &te) || !strings.Contains(te.Stderr, "about to panic\npanic: boom") || te.Exited || te.Export != "fleet_call tool panic" {
		t.Fatalf("TrapError = %+v", te)
	}
	if !strings.Contains(err.Error(), "stderr:\nabout to panic") {
		t.Fatalf("error does not show stderr: %v", err)
	}
}

// checkExitTrap: os.Exit is a TrapError with the exit code.
func checkExitTrap(t *testing.T, err error) {
	var te *TrapError
	if !errors.As(err, &te) || !te.Exited || te.ExitCode != 3 {
		t.Fatalf("TrapError = %+v", te)
	}
}

// checkSchemaFields: a schema error names each failing field.
func checkSchemaFields(t *testing.T, err error) {
	for _, field := range []string{"at /n:", "at /tag:"} {
		if !strings.Contains(err.Error(), field) {
			t.Fatalf("error %q does not name %s", err, field)
		}
	}
}

// TestBadCalls: each misbehaving call gives its typed error, and the next call on the same plugin
// succeeds.
func TestBadCalls(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	good := fixture(t, "good")
	tests := []badCall{
		{name: "tool error", tool: "fail", want: []error{ErrPlugin}, check: checkFailToolError},
		{name: "guest rejects arguments", tool: "badreq", args: `{"code":"invalid_arguments"}`, want: []error{ErrInvalidArguments}},
		{name: "guest does not know the tool", tool: "badreq", args: `{"code":"unknown_tool"}`, want: []error{ErrToolNotFound}},
		{name: "guest answers an unexpected code", tool: "badreq", args: `{"code":"bad_message"}`, want: []error{ErrProtocol}},
		{name: "unknown status byte", tool: "badstatus", want: []error{ErrProtocol}},
		{name: "null result", tool: "null", want: []error{ErrProtocol}},
		{name: "result outside memory", tool: "oob", want: []error{ErrProtocol}},
		{name: "panic", tool: "panic", want: []error{ErrTrap}, check: checkPanicTrap},
		{name: "os.Exit", tool: "exit", want: []error{ErrTrap}, check: checkExitTrap},
		{name: "infinite loop", tool: "spin", m: Manifest{Timeout: 300 * time.Millisecond}, want: []error{ErrTimeout, context.DeadlineExceeded}},
		{name: "unbounded allocation", tool: "grow", m: Manifest{MemoryLimit: 64 << 20}, want: []error{ErrOutOfMemory, ErrTrap}},
		{name: "output over max_output", tool: "big", args: `{"n":5000}`, m: Manifest{MaxOutput: 4096}, want: []error{ErrOutputTooLarge}},
		{name: "unknown tool", tool: "nope", want: []error{ErrToolNotFound}},
		{name: "arguments fail the schema", tool: "strict", args: `{"n":-1,"tag":7}`, want: []error{ErrInvalidArguments}, check: checkSchemaFields},
		{name: "required argument missing", tool: "strict", args: `{}`, want: []error{ErrInvalidArguments}},
		{name: "unknown argument", tool: "strict", args: `{"n":1,"x":2}`, want: []error{ErrInvalidArguments}},
		{name: "arguments not JSON", tool: "echo", args: `{"a":`, want: []error{ErrInvalidArguments}},
		{name: "arguments not an object", tool: "echo", args: `[1,2]`, want: []error{ErrInvalidArguments}},
		{name: "arguments over max_input", tool: "echo", args: `{"a":"` + strings.Repeat("x", 200) + `"}`, m: Manifest{MaxInput: 100}, want: []error{ErrInvalidArguments}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runBadCall(t, h, good, tt) })
	}
}

// runBadCall is a subtest of TestBadCalls: it makes tt's call on a plugin of its own, checks the
// error, then checks that the next call on the plugin succeeds.
func runBadCall(t *testing.T, h *Host, wasm []byte, tt badCall) {
	p := load(t, h, wasm, tt.m)
	defer p.Close(context.Background())
	_, err := p.Call(context.Background(), tt.tool, []byte(tt.args))
	if err == nil {
		t.Fatalf("%s succeeded, want %v", tt.tool, tt.want)
	}
	for _, w := range tt.want {
		if !errors.Is(err, w) {
			t.Fatalf("%s error = %v, want %v", tt.tool, err, w)
		}
	}
	if tt.check != nil {
		tt.check(t, err)
	}
	out, err := p.Call(context.Background(), "echo", []byte(`{"after":true}`))
	if err != nil || string(out) != `{"after":true}` {
		t.Fatalf("next call = %s, %v; want it to succeed", out, err)
	}
}

func TestCallGoodTools(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{})
	tests := []struct{ tool, args, want string }{
		{"noop", "", "{}"},
		{"noop", "  { }  ", "{}"},
		{"echo", "", "{}"},
		{"echo", `{"s":"héllo","n":[1,2,3]}`, `{"s":"héllo","n":[1,2,3]}`},
		{"strict", `{"n":3,"tag":"x"}`, `{"n":3,"tag":"x"}`},
		{"big", `{"n":3}`, `"xxx"`},
	}
	for _, tt := range tests {
		out, err := p.Call(context.Background(), tt.tool, []byte(tt.args))
		if err != nil || string(out) != tt.want {
			t.Errorf("%s(%s) = %s, %v; want %s", tt.tool, tt.args, out, err, tt.want)
		}
	}
}

// TestCancelStopsGuest cancels the caller's context while the guest loops forever.
func TestCancelStopsGuest(t *testing.T) {
	logs := &logBuffer{}
	logger, on := newSignalLogger(logs)
	h, _ := newTestHost(t, Config{Logger: logger})
	p := load(t, h, fixture(t, "good"), Manifest{Capabilities: Capabilities{Log: true}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-on("spinning")
		cancel()
	}()
	start := time.Now()
	_, err := p.Call(ctx, "spin", nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled call = %v, want context.Canceled", err)
	}
	t.Logf("stopped %v after the call started", time.Since(start))
	if out, err := p.Call(context.Background(), "noop", nil); err != nil || string(out) != "{}" {
		t.Fatalf("next call = %s, %v", out, err)
	}
	// A caller's own deadline is a timeout too.
	dctx, dcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer dcancel()
	if _, err := p.Call(dctx, "spin", nil); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past the caller's deadline = %v", err)
	}
	// A context that is already done fails at once.
	if _, err := p.Call(ctx, "noop", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("call with a cancelled context = %v", err)
	}
}

// TestTimeoutInterruptsSleep: with the clock granted a guest sleeps for real, and the timeout
// still ends the call.
func TestTimeoutInterruptsSleep(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	good := fixture(t, "good")
	p := load(t, h, good, Manifest{Timeout: 300 * time.Millisecond, Capabilities: Capabilities{Clock: true}})
	start := time.Now()
	_, err := p.Call(context.Background(), "sleep", []byte(`{"ms":60000}`))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("sleep past the timeout = %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("a 300ms timeout took %v to stop a sleeping guest", d)
	}
	if _, err := p.Call(context.Background(), "noop", nil); err != nil {
		t.Fatalf("call after the timeout = %v", err)
	}
	real := load(t, h, good, Manifest{Capabilities: Capabilities{Clock: true}})
	out, err := real.Call(context.Background(), "sleep", []byte(`{"ms":50}`))
	var r struct {
		SleptMS int64 `json:"slept_ms"`
	}
	if err != nil || json.Unmarshal(out, &r) != nil || r.SleptMS < 50 {
		t.Fatalf("a 50ms sleep on the real clock = %s, %v", out, err)
	}
}

// TestFakeClockSleep: without the clock a sleep does not wait (the fake monotonic clock advances
// 1 ms per read, so a Go guest's 20 s sleep ends after about 20000 reads), and the wall clock is
// wazero's fake one.
func TestFakeClockSleep(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{Timeout: 5 * time.Second})
	start := time.Now()
	out, err := p.Call(context.Background(), "sleep", []byte(`{"ms":20000}`))
	if err != nil || !strings.Contains(string(out), `"slept_ms":200`) {
		t.Fatalf("a 20s sleep on the fake clock = %s, %v; want it to end without waiting", out, err)
	}
	t.Logf("a 20 s fake sleep took %v", time.Since(start))
	out, err = p.Call(context.Background(), "clock", nil)
	if err != nil || !strings.Contains(string(out), `"year":2022`) {
		t.Fatalf("fake wall clock = %s, %v; want 2022", out, err)
	}
}

// TestPoolBound: concurrent calls never make more instances than the manifest allows.
func TestPoolBound(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{Instances: 3})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := p.Call(context.Background(), "alloc", []byte(`{"mb":1}`)); err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := p.core.nextID.Load(); n > 3 {
		t.Fatalf("%d instances made, limit 3", n)
	}
	if n := len(p.pool.slots); n > 3 || n < 1 {
		t.Fatalf("%d live instances", n)
	}
}

// TestRecycleLargeInstance: an instance whose memory grew past half the limit is replaced.
func TestRecycleLargeInstance(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{MemoryLimit: 64 << 20, Instances: 1, Timeout: time.Minute})
	ctx := context.Background()
	if _, err := p.Call(ctx, "alloc", []byte(`{"mb":1}`)); err != nil {
		t.Fatal(err)
	}
	if n := p.core.nextID.Load(); n != 1 {
		t.Fatalf("a small call made %d instances", n)
	}
	if _, err := p.Call(ctx, "alloc", []byte(`{"mb":40}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(ctx, "noop", nil); err != nil {
		t.Fatal(err)
	}
	if n := p.core.nextID.Load(); n != 2 {
		t.Fatalf("after a call grew memory past 32 MiB, %d instances were made, want a second one", n)
	}
}

// TestBackoff: consecutive crashes make the plugin fail fast for a growing period; a success resets.
func TestBackoff(t *testing.T) {
	h, _ := newTestHost(t, Config{Backoff: time.Second})
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p := load(t, h, fixture(t, "good"), Manifest{})
	ctx := context.Background()
	crash := func() {
		t.Helper()
		if _, err := p.Call(ctx, "panic", nil); !errors.Is(err, ErrTrap) {
			t.Fatalf("panic = %v, want ErrTrap", err)
		}
	}
	crash()
	crash()
	if _, err := p.Call(ctx, "noop", nil); err != nil {
		t.Fatalf("two crashes blocked the next call: %v", err)
	}
	crash()
	crash()
	crash() // third in a row: backed off for 1s
	if _, err := p.Call(ctx, "noop", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call during back-off = %v, want ErrUnavailable", err)
	}
	advance(1100 * time.Millisecond)
	crash() // fourth: backed off for 2s
	advance(1100 * time.Millisecond)
	if _, err := p.Call(ctx, "noop", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call 1.1s into a 2s back-off = %v, want ErrUnavailable", err)
	}
	advance(time.Second)
	if _, err := p.Call(ctx, "noop", nil); err != nil {
		t.Fatalf("call after the back-off = %v", err)
	}
	crash() // the success reset the count: no back-off
	if _, err := p.Call(ctx, "noop", nil); err != nil {
		t.Fatalf("a crash after a success blocked the next call: %v", err)
	}
}

// TestOutputCapture: the last 4 KiB of an instance's stderr come with its trap.
func TestOutputCapture(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	p := load(t, h, fixture(t, "good"), Manifest{})
	ctx := context.Background()
	if _, err := p.Call(ctx, "write", []byte(`{"text":"`+strings.Repeat("y", 10000)+`"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := p.Call(ctx, "panic", nil)
	var te *TrapError
	if !errors.As(err, &te) {
		t.Fatalf("panic = %v", err)
	}
	if len(te.Stderr) != tailSize || !strings.HasPrefix(te.Stderr, "yyyy") || !strings.Contains(te.Stderr, "panic: boom") {
		t.Fatalf("stderr tail is %d bytes: %.80q...", len(te.Stderr), te.Stderr)
	}
	if len(te.Stdout) != tailSize || strings.Trim(te.Stdout, "y") != "" {
		t.Fatalf("stdout tail is %d bytes", len(te.Stdout))
	}
}

func TestTail(t *testing.T) {
	var tl tail
	for i := range 3000 {
		tl.Write([]byte{byte('a' + i%26)})
	}
	tl.Write([]byte(strings.Repeat("z", 2000)))
	s := tl.String()
	if len(s) != tailSize || !strings.HasSuffix(s, strings.Repeat("z", 2000)) || s[0] != byte('a'+(5000-tailSize)%26) {
		t.Fatalf("tail = %d bytes starting %q", len(s), s[:4])
	}
	tl.Write([]byte(strings.Repeat("q", 5000)))
	if tl.String() != strings.Repeat("q", tailSize) {
		t.Fatal("a write longer than the tail must leave only its end")
	}
}
