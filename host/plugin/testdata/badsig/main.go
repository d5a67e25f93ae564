// Command badsig exports fleet_call with the wrong type ((i32, i32) -> i64 instead of
// (i32, i32, i32) -> i64), so the host refuses it as not a plugin.
package main

import "fleettest/internal/guest"

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	return guest.Result(guest.StatusOK, guest.Descriptor("badsig", nil, nil))
}

//go:wasmexport fleet_call
func fleetCall(ptr, n int32) int64 { return guest.Result(guest.StatusOK, []byte("{}")) }

func main() {}
