package plugin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Every error this package returns wraps at most a few of them; test with errors.Is,
// and use errors.As with *ABIError, *ToolError or *TrapError for the details. Each doc says what a
// caller should do.
var (
	// ErrABIMismatch: the module speaks no ABI major this host speaks (only fleet_abi_vN markers
	// for other N), needs a newer minor, or is of a kind this host does not run. The *ABIError names
	// the versions on each side. Rebuild the plugin for ABI v1 or upgrade Fleet; retrying is useless.
	ErrABIMismatch = errors.New("plugin ABI mismatch")
	// ErrNotPlugin: the module has no fleet_abi_vN marker, or lacks a required export (or exports
	// it with the wrong type). The *ABIError lists what is missing. It is not a Fleet plugin: remove
	// it from the plugin directory.
	ErrNotPlugin = errors.New("not a Fleet plugin")
	// ErrInvalidModule: the bytes are not a valid WebAssembly module, import what the host does not
	// provide, or the plugin's fleet_init failed or returned a descriptor breaking an ABI rule (the
	// message names the field). Fix or rebuild the plugin.
	ErrInvalidModule = errors.New("invalid plugin module")
	// ErrHashMismatch: the module's SHA-256 differs from the manifest's sha256. The file is not the
	// one the operator approved: do not load it; replace the file or update the manifest.
	ErrHashMismatch = errors.New("plugin hash mismatch")
	// ErrToolNotFound: no tool of that name (or a bare name several plugins share, or a guest that
	// answered code unknown_tool). Tell the caller (or the model) which tools exist.
	ErrToolNotFound = errors.New("tool not found")
	// ErrInvalidArguments: the arguments are not a JSON object, are larger than max_input, fail
	// the tool's parameters schema (the message names the field), or the guest answered code
	// invalid_arguments. Fix the arguments and call again; the plugin is fine.
	ErrInvalidArguments = errors.New("invalid tool arguments")
	// ErrPlugin: the tool ran and reported a failure (status 1). The *ToolError has its message and
	// code; show them to the caller (or the model). The plugin is fine.
	ErrPlugin = errors.New("tool failed")
	// ErrTrap: the guest crashed (a WebAssembly trap, a Go panic, proc_exit, a stack overflow).
	// The *TrapError has its exit code and captured stderr. The instance was discarded; the next
	// call gets a fresh one. Report it as a plugin bug.
	ErrTrap = errors.New("plugin trapped")
	// ErrTimeout: the call ran past the manifest's timeout or the context's deadline and was
	// stopped. It also matches context.DeadlineExceeded. The instance was discarded; retry with
	// more time or smaller input.
	ErrTimeout = errors.New("plugin call timed out")
	// ErrOutOfMemory: the guest needed more linear memory than the manifest's memory_limit (or its
	// fleet_alloc returned 0). The instance was discarded; raise memory_limit or shrink the input.
	ErrOutOfMemory = errors.New("plugin out of memory")
	// ErrOutputTooLarge: the result is longer than the manifest's max_output. The instance was
	// discarded; raise max_output or ask for less.
	ErrOutputTooLarge = errors.New("plugin output too large")
	// ErrCapabilityDenied: during the call the plugin used a capability (or an HTTP destination)
	// its manifest does not grant; the guest was answered status 2 and the denial logged. It comes
	// joined with the error the tool then returned. Grant it in the manifest if it is wanted.
	ErrCapabilityDenied = errors.New("capability denied")
	// ErrProtocol: the guest broke the ABI during a call (a null result, a result outside its
	// memory, an unknown status byte, malformed error JSON, a later instance describing itself
	// differently). The instance was discarded. Report it as a plugin bug.
	ErrProtocol = errors.New("plugin broke the ABI")
	// ErrClosed: the plugin, registry or host was closed. Load it again if it is still wanted.
	ErrClosed = errors.New("plugin closed")
	// ErrUnavailable: the plugin crashed on several consecutive calls and is backed off: calls fail
	// at once until the back-off period (growing exponentially, reset by a success) has passed.
	// Retry later; look at the earlier ErrTrap errors for the cause.
	ErrUnavailable = errors.New("plugin unavailable after repeated crashes")
)

// ABIError details an ErrABIMismatch or ErrNotPlugin: the versions on each side and what is missing.
type ABIError struct {
	// Err is ErrABIMismatch or ErrNotPlugin.
	Err error
	// HostMajors are the ABI majors this host speaks; PluginMajors those the module's markers name.
	HostMajors, PluginMajors []int
	// HostMinor and PluginMinor are set when the plugin needs a newer minor than the host's.
	HostMinor, PluginMinor int
	// Missing lists what the module lacks or gets wrong: exports ("export fleet_alloc (i32) -> i32"),
	// a kind ("kind mapper"), an import.
	Missing []string
}

func (e *ABIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	fmt.Fprintf(&b, ": host speaks ABI %s", majors(e.HostMajors))
	if e.PluginMinor > e.HostMinor {
		fmt.Fprintf(&b, ".%d, plugin needs 1.%d", e.HostMinor, e.PluginMinor)
	} else {
		fmt.Fprintf(&b, ", plugin declares %s", majors(e.PluginMajors))
	}
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "; missing or wrong: %s", strings.Join(e.Missing, ", "))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ABIError) Unwrap() error { return e.Err }

func majors(ms []int) string {
	if len(ms) == 0 {
		return "none"
	}
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = "v" + strconv.Itoa(m)
	}
	return strings.Join(s, ", ")
}

// ToolError is a failure the guest reported: status 1 (ErrPlugin), or status 2 with code
// unknown_tool (ErrToolNotFound), invalid_arguments (ErrInvalidArguments) or another code
// (ErrProtocol).
type ToolError struct {
	Plugin, Tool string
	// Message and Code are the guest's error JSON; Code may be empty.
	Message, Code string
	// Err is the sentinel the error matches.
	Err error
}

func (e *ToolError) Error() string {
	code := ""
	if e.Code != "" {
		code = " [" + e.Code + "]"
	}
	return fmt.Sprintf("plugin %s: tool %s: %v: %s%s", e.Plugin, e.Tool, e.Err, e.Message, code)
}

// Unwrap returns Err.
func (e *ToolError) Unwrap() error { return e.Err }

// TrapError is a guest crash: a trap, a Go panic, proc_exit or running out of memory. It matches
// ErrTrap, and also ErrOutOfMemory when OutOfMemory is set.
type TrapError struct {
	Plugin string
	// Export is the export that crashed ("fleet_call tool echo", "fleet_init", ...).
	Export string
	// Exited is set when the guest called proc_exit; ExitCode is then its code.
	Exited   bool
	ExitCode uint32
	// OutOfMemory is set when the guest's growth beyond memory_limit was refused before it crashed.
	OutOfMemory bool
	// Stderr and Stdout are the last 4 KiB the instance wrote to each.
	Stderr, Stdout string
	// Err is the runtime's error.
	Err error
}

func (e *TrapError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s: %s: ", e.Plugin, e.Export)
	switch {
	case e.OutOfMemory:
		b.WriteString(ErrOutOfMemory.Error())
	case e.Exited:
		fmt.Fprintf(&b, "%v: exited with code %d", ErrTrap, e.ExitCode)
	default:
		fmt.Fprintf(&b, "%v: %v", ErrTrap, e.Err)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", s)
	}
	return b.String()
}

// Is reports ErrTrap, and ErrOutOfMemory for an out-of-memory crash.
func (e *TrapError) Is(target error) bool {
	return target == ErrTrap || (e.OutOfMemory && target == ErrOutOfMemory)
}

// Unwrap returns Err.
func (e *TrapError) Unwrap() error { return e.Err }

// deniedError joins the error a call ended with and the capability denials seen during it.
type deniedError struct {
	err    error
	denied []string
}

func (e *deniedError) Error() string {
	return fmt.Sprintf("%v (%v during the call: %s)", e.err, ErrCapabilityDenied, strings.Join(e.denied, "; "))
}

func (e *deniedError) Unwrap() []error { return []error{e.err, ErrCapabilityDenied} }

// ctxError turns a context's error into the call's error: deadlines match ErrTimeout too.
func ctxError(prefix string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", prefix, ErrTimeout, err)
	}
	return fmt.Errorf("%s: call cancelled: %w", prefix, err)
}
