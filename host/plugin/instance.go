package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one instantiation of a plugin's module. It serves one call at a time (sharing one
// across goroutines crashes the process) and is discarded after any error. Nothing in it depends on
// the plugin's kind except entry, the kind's export.
type instance struct {
	core  *core
	id    int64
	mod   api.Module
	mem   api.Memory
	alloc api.Function
	// entry is the export serving the plugin's kind (fleet_call for tools).
	entry api.Function
	// stack is the reusable parameter and result stack of CallWithStack.
	stack []uint64
	cc    callCtx
	lin   linearMemory

	stdout, stderr tail
	// resp is the last host_call response, readable with host_read until the next host_call.
	resp []byte
	// denied lists the capability denials of the current call.
	denied []string
	// dead marks an instance the pool must discard; crashed one whose failure counts toward the
	// plugin's back-off.
	dead, crashed bool
}

// guestError is an error status (1 or 2) a guest answered, with its error JSON.
type guestError struct {
	status        byte
	message, code string
}

var (
	errAllocFailed  = errors.New("fleet_alloc returned 0")
	errAllocOutside = errors.New("fleet_alloc returned a region outside memory")
)

// newInstance instantiates the module, runs _initialize and fleet_init, and returns the instance
// with the raw descriptor it answered. entry is set by the caller once the kind is known.
func newInstance(ctx context.Context, c *core) (*instance, []byte, error) {
	in := &instance{core: c, id: c.nextID.Add(1), stack: make([]uint64, 4)}
	in.cc.init(in, c.host.watchdog)
	in.lin.limit = uint64(c.m.MemoryLimit)
	cfg := c.modCfg.WithStdout(&in.stdout).WithStderr(&in.stderr)
	if c.m.Capabilities.Clock {
		cfg = cfg.WithNanosleep(in.sleep)
	}
	in.cc.begin(experimental.WithMemoryAllocator(ctx, &in.lin), initTimeout(c.m.Timeout))
	mod, err := c.host.rt.InstantiateModule(&in.cc, c.compiled.mod, cfg)
	in.mod = mod // nil when instantiation failed (wazero closes what it made)
	if fired := in.cc.end(); err != nil || fired {
		in.close()
		return nil, nil, in.failure("_initialize", err, fired)
	}
	in.mem = mod.ExportedMemory("memory")
	in.alloc = mod.ExportedFunction("fleet_alloc")
	req, err := c.initRequest(in.id)
	if err != nil {
		in.close()
		return nil, nil, err
	}
	desc, gerr, err := in.call(ctx, initTimeout(c.m.Timeout), mod.ExportedFunction("fleet_init"), "fleet_init", 0, 0, req)
	if err == nil && gerr != nil {
		err = fmt.Errorf("plugin %s: %w: fleet_init answered status %d: %s", c.name, ErrInvalidModule, gerr.status, gerr.message)
	}
	if err != nil {
		in.close()
		return nil, nil, err
	}
	return in, desc, nil
}

// invoke calls fn (an export of type (lead..., ptr, len) -> result, with nlead 0 or 1 leading
// parameters) on input and returns a copy of the result's payload, or the guest's error status, or
// the failure (after which the instance is dead).
func (in *instance) invoke(ctx context.Context, fn api.Function, what string, nlead int, lead uint32, input []byte) ([]byte, *guestError, error) {
	return in.call(ctx, in.core.m.Timeout, fn, what, nlead, lead, input)
}

// initTimeout is the time an instance has for _initialize and for fleet_init: the call timeout, but
// at least DefaultTimeout, since a runtime's start-up can take longer than a fast tool's call.
func initTimeout(timeout time.Duration) time.Duration { return max(timeout, DefaultTimeout) }

func (in *instance) call(ctx context.Context, timeout time.Duration, fn api.Function, what string, nlead int, lead uint32, input []byte) ([]byte, *guestError, error) {
	in.denied = in.denied[:0]
	in.cc.begin(ctx, timeout)
	packed, err := in.run(fn, nlead, lead, input)
	// A call whose context fired has failed, even if the guest returned before wazero stopped it:
	// its deadline passed or its caller gave up.
	if fired := in.cc.end(); err != nil || fired {
		return nil, nil, in.failure(what, err, fired)
	}
	return in.result(what, packed)
}

func (in *instance) run(fn api.Function, nlead int, lead uint32, input []byte) (uint64, error) {
	var ptr uint32
	if len(input) > 0 {
		in.stack[0] = uint64(len(input))
		if err := in.alloc.CallWithStack(&in.cc, in.stack); err != nil {
			return 0, err
		}
		if ptr = uint32(in.stack[0]); ptr == 0 {
			return 0, errAllocFailed
		}
		if !in.mem.Write(ptr, input) {
			return 0, errAllocOutside
		}
	}
	s := in.stack
	if nlead == 1 {
		s[0], s = uint64(lead), s[1:]
	}
	s[0], s[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(&in.cc, in.stack); err != nil {
		return 0, err
	}
	return in.stack[0], nil
}

// result reads the result region of a packed pointer: it copies the payload out for status 0 and
// decodes the error JSON for statuses 1 and 2; anything else is an ABI violation.
func (in *instance) result(what string, packed uint64) ([]byte, *guestError, error) {
	c := in.core
	ptr, n := uint32(packed>>32), uint32(packed)
	if n == 0 {
		return nil, nil, in.protocol(what, "null result")
	}
	if int64(n)-1 > c.m.MaxOutput {
		in.dead = true
		return nil, nil, fmt.Errorf("plugin %s: %s: %w: %d bytes, max_output is %d", c.name, what, ErrOutputTooLarge, n-1, c.m.MaxOutput)
	}
	view, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, nil, in.protocol(what, fmt.Sprintf("result region [%d, +%d) is outside memory", ptr, n))
	}
	if in.mem.Size() > c.recycleAt {
		in.dead = true // memory never shrinks: recycle an instance that grew large
	}
	payload, gerr, problem := parseRegion(view)
	if problem != "" {
		return nil, nil, in.protocol(what, problem)
	}
	if gerr != nil {
		return nil, gerr, nil
	}
	return slices.Clone(payload), nil, nil
}

// parseRegion decodes a result region (docs/abi.md section 3): for status 0 the payload (aliasing
// region), for statuses 1 and 2 the error JSON, and otherwise the ABI rule broken.
func parseRegion(region []byte) (payload []byte, gerr *guestError, problem string) {
	if len(region) == 0 {
		return nil, nil, "null result"
	}
	switch status := region[0]; status {
	case 0:
		return region[1:], nil, ""
	case 1, 2:
		var body struct{ Message, Code string }
		if err := json.Unmarshal(region[1:], &body); err != nil || body.Message == "" {
			return nil, nil, fmt.Sprintf("status %d without error JSON {\"message\": ...}", status)
		}
		return nil, &guestError{status: status, message: body.Message, code: body.Code}, ""
	default:
		return nil, nil, fmt.Sprintf("unknown status byte %d", status)
	}
}

func (in *instance) protocol(what, msg string) error {
	in.dead, in.crashed = true, true
	return fmt.Errorf("plugin %s: %s: %w: %s", in.core.name, what, ErrProtocol, msg)
}

// failure classifies a failed export call; the instance is dead afterwards.
func (in *instance) failure(what string, err error, fired bool) error {
	in.dead = true
	c := in.core
	prefix := "plugin " + c.name + ": " + what
	if fired {
		cause, timedOut := in.cc.cause()
		if timedOut {
			in.crashed = true
			return fmt.Errorf("%s: %w after %v: %w", prefix, ErrTimeout, time.Duration(in.cc.timeout.Load()), context.DeadlineExceeded)
		}
		return ctxError(prefix, cause)
	}
	in.crashed = true
	switch {
	case errors.Is(err, errAllocFailed):
		return fmt.Errorf("%s: %w: %w", prefix, ErrOutOfMemory, err)
	case errors.Is(err, errAllocOutside):
		return fmt.Errorf("%s: %w: %w", prefix, ErrProtocol, err)
	}
	te := &TrapError{Plugin: c.name, Export: what, OutOfMemory: in.lin.refused,
		Stderr: in.stderr.String(), Stdout: in.stdout.String(), Err: err}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		te.Exited, te.ExitCode = true, exit.ExitCode()
	}
	return te
}

// sleep is the instance's WASI nanosleep when the clock is granted: a real sleep that ends early
// when the call must stop.
func (in *instance) sleep(ns int64) {
	t := time.NewTimer(time.Duration(ns))
	select {
	case <-t.C:
	case <-in.cc.done:
	}
	t.Stop()
}

func (in *instance) close() {
	in.cc.release()
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
	}
}

// linearMemory backs an instance's linear memory and refuses to grow it past the memory limit, so
// that each plugin has its own limit in one shared runtime.
type linearMemory struct {
	limit   uint64
	buf     []byte
	refused bool
}

// Allocate implements experimental.MemoryAllocator: an instance has one memory.
func (l *linearMemory) Allocate(_, _ uint64) experimental.LinearMemory { return l }

// Reallocate implements experimental.LinearMemory.
func (l *linearMemory) Reallocate(size uint64) []byte {
	if size > l.limit {
		l.refused = true
		return nil
	}
	if size > uint64(cap(l.buf)) {
		// Grow as append does; bytes past len were never written, so they are zero.
		l.buf = slices.Grow(l.buf, int(size)-len(l.buf))
	}
	l.buf = l.buf[:size]
	return l.buf
}

// Free implements experimental.LinearMemory.
func (l *linearMemory) Free() { l.buf = nil }

// tailSize is how much of an instance's stdout and stderr is kept.
const tailSize = 4 << 10

// tail keeps the last tailSize bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if n >= tailSize {
		t.b = append(t.b[:0], p[n-tailSize:]...)
		return n, nil
	}
	if len(t.b)+n > 2*tailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-(tailSize-n):]...)
	}
	t.b = append(t.b, p...)
	return n, nil
}

func (t *tail) String() string {
	if len(t.b) > tailSize {
		return string(t.b[len(t.b)-tailSize:])
	}
	return string(t.b)
}
