// Command noexports has the ABI 1 marker and fleet_init but lacks fleet_alloc and fleet_call, so the
// host refuses it as not a plugin, naming both.
package main

import "fleettest/internal/guest"

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	return guest.Result(guest.StatusOK, guest.Descriptor("noexports", nil, nil))
}

func main() {}
