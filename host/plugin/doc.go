// Package plugin is Fleet's WebAssembly plugin host: it loads modules that speak the plugin ABI of
// docs/abi.md (major 1, minor 1) with wazero and runs their tools.
//
// A Host owns one wazero runtime and an on-disk compilation cache shared by every process on the
// machine. It compiles each module once per SHA-256 and shares the compiled code between the plugins
// using it. A Plugin is one loaded module with its Manifest (limits, granted capabilities, config): it
// keeps a bounded pool of instances, created lazily, each serving one call at a time, and discards an
// instance after any error, after a timeout or cancellation, and when its memory grew past half the
// memory limit. A Registry is a named set of plugins the engine and the server call tools through.
//
//	h, err := plugin.NewHost(ctx, plugin.Config{})
//	p, err := h.LoadFile(ctx, "plugins/calc.wasm") // reads plugins/calc.yaml if present
//	out, err := p.Call(ctx, "calculate", []byte(`{"expression":"17*23"}`))
//
// Errors match the sentinels in errors.go with errors.Is; each sentinel's doc says what to do.
//
// Capabilities are denied by default and checked on every host_call. A guest gets no filesystem,
// environment, arguments or sockets; its clocks and random source are wazero's deterministic fakes
// unless clock or random is granted; its stdout and stderr are captured (the last 4 KiB of each
// instance) and shown in trap errors.
//
// # Cancellation
//
// Every call runs under a deadline (the manifest's timeout or the context's, whichever is sooner)
// and stops when its context is cancelled, even in a guest loop that never calls the host: the
// runtime is built with wazero's WithCloseOnContextDone, which compiles a check into every loop and
// function entry and stops the guest when the context passed to the call is done. Each instance
// reuses one such context for all its calls; one watchdog goroutine per Host closes it when a call
// passes its timeout (it ticks every 10 ms while calls run, so a timeout fires between its value and
// about 20 ms later, never early), and the caller's context closes it through context.AfterFunc. A call thus allocates nothing and reads no clock for
// its deadline. wazero itself still starts one goroutine per export call to watch the context (3
// allocations, about 1 µs): docs/benchmarks.md measures that cost against a runtime without it.
package plugin
