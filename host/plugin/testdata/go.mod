// Test fixtures of host/plugin: WebAssembly guests written against docs/abi.md directly, without the
// SDK, so that the host is tested against the specification. Build one with
// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o x.wasm ./good`; the tests build them with
// internal/testwasm.
module fleettest

go 1.26
