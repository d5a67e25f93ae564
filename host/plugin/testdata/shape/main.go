// Command shape is a tool plugin whose fleet_init answer comes from its config, for tests of the
// host's descriptor checks: config "descriptor" (raw JSON) replaces the descriptor of the first
// instance, "descriptor_later" that of later ones, "init_status" sets the status byte, and
// "init_panic" makes fleet_init panic. Without config it is a plugin named "shape" with one tool,
// echo (and crash, which panics). It needs the config capability granted to read any of it.
package main

import (
	"encoding/json"
	"strconv"

	"fleettest/internal/guest"
)

var tools = []guest.Tool{
	{Name: "echo", Description: "Answers its arguments.", Fn: func(a []byte) int64 {
		if len(a) == 0 {
			a = []byte("{}")
		}
		return guest.Result(guest.StatusOK, a)
	}},
	{Name: "crash", Description: "Panics, so that the host makes a new instance.", Fn: func([]byte) int64 { panic("crash") }},
}

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

// config returns a config value (a JSON string's contents, or the raw JSON otherwise).
func config(key string) ([]byte, bool) {
	st, v := guest.HostCall(2, 1, []byte(key))
	if st != 0 {
		return nil, false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []byte(s), true
	}
	return v, true
}

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	var req struct{ Instance int }
	if err := json.Unmarshal(guest.Bytes(ptr, n), &req); err != nil {
		return guest.Fail(guest.StatusBadRequest, "bad_message", err.Error())
	}
	if _, ok := config("init_panic"); ok {
		panic("fleet_init panics on purpose")
	}
	status := byte(guest.StatusOK)
	if v, ok := config("init_status"); ok {
		s, _ := strconv.Atoi(string(v))
		status = byte(s)
	}
	d := guest.Descriptor("shape", nil, tools)
	if v, ok := config("descriptor"); ok {
		d = v
	}
	if v, ok := config("descriptor_later"); ok && req.Instance > 1 {
		d = v
	}
	return guest.Result(status, d)
}

//go:wasmexport fleet_call
func fleetCall(tool, ptr, n int32) int64 { return guest.Dispatch(tools, tool, ptr, n) }

func main() {}
