// Command v99 declares majors 2 and 99, none of which the host speaks.
package main

import "fleettest/internal/guest"

var tools = []guest.Tool{{Name: "echo", Description: "Answers its arguments.", Fn: func(a []byte) int64 {
	return guest.Result(guest.StatusOK, a)
}}}

//go:wasmexport fleet_abi_v2
func abiV2() {}

//go:wasmexport fleet_abi_v99
func abiV99() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	return guest.Result(guest.StatusOK, guest.Descriptor("v99", nil, tools))
}

//go:wasmexport fleet_call
func fleetCall(tool, ptr, n int32) int64 { return guest.Dispatch(tools, tool, ptr, n) }

func main() {}
