// Command multi declares majors 1 and 2: a host speaking 1 serves it through major 1.
package main

import "fleettest/internal/guest"

var tools = []guest.Tool{{Name: "echo", Description: "Answers its arguments.", Fn: func(a []byte) int64 {
	return guest.Result(guest.StatusOK, a)
}}}

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_abi_v2
func abiV2() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	return guest.Result(guest.StatusOK, guest.Descriptor("multi", nil, tools))
}

//go:wasmexport fleet_call
func fleetCall(tool, ptr, n int32) int64 { return guest.Dispatch(tools, tool, ptr, n) }

func main() {}
