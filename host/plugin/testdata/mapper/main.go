// Command mapper is a plugin of kind mapper (ABI 1.1, section 8) with its fleet_map export: a host
// that does not run mappers yet refuses it with an ABI mismatch, and Inspect still shows it.
package main

import "fleettest/internal/guest"

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	return guest.Result(guest.StatusOK, []byte(`{"abi_minor":1,"name":"agui","version":"1.0.0","kind":"mapper",`+
		`"mapper":{"format":"agui","content_type":"text/event-stream","framing":"sse"}}`))
}

//go:wasmexport fleet_map
func fleetMap(ptr, n int32) int64 { return guest.Result(guest.StatusOK, nil) }

func main() {}
