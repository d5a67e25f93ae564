// Command badmapper is a mapper plugin (format "bad") that misbehaves on request: a batch whose
// events contain the word "trap" panics, "loop" never returns, "huge" answers more than the
// host's max output, "junk" answers frames that are not JSON; any other batch maps to no frames
// (docs/abi.md, fleet_map: a state line, then frame lines).
// host/mapping's tests use it to show that such a mapper ends only the stream it was mapping.
package main

import (
	"bytes"
	"strings"

	"fleettest/internal/guest"
)

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	return guest.Result(guest.StatusOK, []byte(`{"abi_minor":1,"name":"bad","version":"1.0.0","kind":"mapper",`+
		`"mapper":{"format":"bad","content_type":"text/event-stream","framing":"sse"}}`))
}

var spin int

//go:wasmexport fleet_map
func fleetMap(ptr, n int32) int64 {
	in := guest.Bytes(ptr, n)
	switch {
	case bytes.Contains(in, []byte("trap")):
		panic("badmapper: asked to trap")
	case bytes.Contains(in, []byte("loop")):
		for i := 0; ; i++ {
			spin = i
		}
	case bytes.Contains(in, []byte("huge")):
		return guest.Result(guest.StatusOK, []byte(strings.Repeat("x", 2<<20)))
	case bytes.Contains(in, []byte("junk")):
		return guest.Result(guest.StatusOK, []byte("null\nthis is not JSON\n"))
	}
	return guest.Result(guest.StatusOK, []byte("null\n")) // the state line, then no frames
}

func main() {}
