// Package sdk is the Go guest SDK for Fleet plugins: it implements the guest side of the Fleet plugin
// ABI v1 (docs/abi.md), for tool plugins (1.0) and mapper plugins (1.1), so that a plugin author
// writes plain Go functions and never touches pointers.
//
// A tool plugin is a main package built as a WebAssembly reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o greeter.wasm .
//
// It registers itself in an init function (a reactor never runs main.main) and leaves main empty:
//
//	package main
//
//	import (
//		"context"
//
//		"github.com/agentfleet/fleet/sdk"
//	)
//
//	type greetArgs struct {
//		Name string `json:"name" desc:"Who to greet."`
//	}
//
//	func init() {
//		sdk.Register(sdk.Plugin{
//			Name:    "greeter",
//			Version: "1.0.0",
//			Tools: []sdk.Tool{
//				sdk.NewTool("greet", "Greets someone by name.",
//					func(ctx context.Context, a greetArgs) (string, error) { return "Hello, " + a.Name + "!", nil }),
//			},
//		})
//	}
//
//	func main() {}
//
// The parameters JSON Schema of each tool is derived from its argument type (see NewTool).
// Arguments are decoded and the result encoded exactly as encoding/json decodes and encodes them
// (strictly, and with HTML escaping off), by plans built once per type, which are several times
// faster inside WebAssembly. Any error a tool returns is reported to the caller as a tool
// error; use Errorf for one with a machine-readable code. A panic is not recovered: the host reports it
// as a trap together with the instance's stderr, and discards the instance.
//
// Capabilities the operator grants (log, config, clock, random, http, kv) are reached through plain
// functions: Log, Config, Fetch, KVGet and friends. They return errors matching ErrDenied, ErrNotFound
// and ErrUnsupported.
//
// # Mapper plugins
//
// A mapper plugin (ABI 1.1) turns the engine's events into the frames of a wire format (AG-UI, the
// Vercel AI SDK UI message stream...), one stream at a time. It registers a Mapper with
// RegisterMapper: the format, a dispatch table from event type to Handler, optional Start and End
// hooks, and a state type S of its own, which the SDK decodes before each batch and encodes after it
// (the host keeps it between batches; implement StateCodec to avoid encoding/json):
//
//	type state struct{ Open []string }
//
//	func init() {
//		sdk.RegisterMapper(sdk.Mapper[state]{
//			Name:   "lines",
//			Format: sdk.Format{Name: "lines", Framing: sdk.FramingNDJSON},
//			Handlers: map[string]sdk.Handler[state]{
//				sdk.EventMessageDelta: func(out *sdk.Frames, s *state, e *sdk.Event) error {
//					d := e.MessageDelta()
//					out.Frame().String("id", d.MessageID).String("text", d.Delta).End()
//					return nil
//				},
//			},
//		})
//	}
//
// Events arrive as Event values whose envelope is decoded and whose payload is decoded on demand by
// the method named after its type (e.MessageDelta(), e.ToolResult()...). Frames are written with
// JSON, an append-based writer. Neither uses reflection or encoding/json: inside WebAssembly they are
// what makes a mapper fast (see the benchmarks of plugins/agui). InvokeMap runs a batch in-process
// through the same code as fleet_map, for golden tests.
//
// # Testing without WebAssembly
//
// On every other platform the package compiles and works in-process, so tool logic is unit-tested with
// plain `go test`: Invoke runs a registered tool through exactly the same dispatch code the host
// reaches through fleet_call, and a stand-in host serves capabilities (log to stderr, kv in memory,
// config empty, http denied), configurable with SetLocalHost.
//
// # Memory
//
// The SDK keeps one input buffer (handed to the host by fleet_alloc) and one output buffer per
// instance and reuses both from call to call; buffers above 1 MiB are released after use. Arguments a
// raw tool receives alias the input buffer and are valid only until the tool returns; so do the
// strings of the events a mapper's handlers receive (see Event).
package sdk
