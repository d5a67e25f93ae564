// Command good is the host's main test guest: a tool plugin with well-behaved tools (noop, echo,
// strict, sleep, clock, random, hostcall, caps, fetch) and tools that misbehave on purpose (fail,
// badreq, badstatus, null, oob, panic, exit, spin, grow, big), so that one plugin shows that a bad
// call gives its typed error and the next call succeeds.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"time"

	"fleettest/internal/guest"
)

// Capability ids (ABI section 6).
const (
	capLog    = 1
	capConfig = 2
	capHTTP   = 5
	capKV     = 6
)

var tools = []guest.Tool{
	{Name: "noop", Description: "Answers {} and does nothing else.", Fn: noop},
	{Name: "echo", Description: "Answers its arguments.", Fn: echo},
	{Name: "strict", Description: "Needs a non-negative integer n.",
		Parameters: `{"type":"object","properties":{"n":{"type":"integer","minimum":0},"tag":{"type":"string"}},"required":["n"],"additionalProperties":false}`,
		Fn:         echo},
	{Name: "fail", Description: "Always fails with a tool error.", Fn: func([]byte) int64 {
		return guest.Fail(guest.StatusToolError, "E42", "it failed on purpose")
	}},
	{Name: "badreq", Description: "Answers status 2 with the code given in its arguments.", Fn: badreq},
	{Name: "badstatus", Description: "Answers status 7, which ABI 1 does not define.", Fn: func([]byte) int64 {
		return guest.Result(7, []byte("{}"))
	}},
	{Name: "null", Description: "Answers the null result.", Fn: func([]byte) int64 { return 0 }},
	{Name: "oob", Description: "Answers a region outside its memory.", Fn: func([]byte) int64 {
		return int64(0x7fff_0000)<<32 | 16
	}},
	{Name: "panic", Description: "Panics.", Fn: func([]byte) int64 {
		os.Stderr.WriteString("about to panic\n")
		panic("boom")
	}},
	{Name: "exit", Description: "Calls os.Exit(3).", Fn: func([]byte) int64 { os.Exit(3); return 0 }},
	{Name: "spin", Description: "Loops forever.", Fn: spin},
	{Name: "grow", Description: "Allocates without bound.", Fn: grow},
	{Name: "alloc", Description: "Allocates mb MiB, touches each page, keeps it until the next call, answers {}.", Fn: alloc},
	{Name: "big", Description: "Answers a JSON string of n bytes.", Fn: big},
	{Name: "sleep", Description: "Sleeps ms milliseconds with time.Sleep.", Fn: sleep},
	{Name: "clock", Description: "Reads the wall clock.", Fn: clock},
	{Name: "random", Description: "Reads 16 random bytes.", Fn: random},
	{Name: "hostcall", Description: "Calls host_call with the given capability, operation and input.", Fn: hostcall},
	{Name: "caps", Description: "Uses every capability once.", Fn: caps},
	{Name: "fetch", Description: "Fetches a URL through the http capability.", Fn: fetch},
	{Name: "write", Description: "Writes its text argument to stdout and stderr.", Fn: write},
}

//go:wasmexport fleet_abi_v1
func abiV1() {}

//go:wasmexport fleet_alloc
func fleetAlloc(n int32) int32 { return guest.Alloc(n) }

//go:wasmexport fleet_init
func fleetInit(ptr, n int32) int64 {
	if !json.Valid(guest.Bytes(ptr, n)) {
		return guest.Fail(guest.StatusBadRequest, "bad_message", "init request is not JSON")
	}
	return guest.Result(guest.StatusOK, guest.Descriptor("good",
		[]string{"log", "config", "clock", "random", "http", "kv"}, tools))
}

//go:wasmexport fleet_call
func fleetCall(tool, ptr, n int32) int64 { return guest.Dispatch(tools, tool, ptr, n) }

func main() {}

var noopResult = []byte{guest.StatusOK, '{', '}'}

func noop([]byte) int64 { return guest.Pack(noopResult) }

func echo(args []byte) int64 {
	if len(args) == 0 {
		args = []byte("{}")
	}
	return guest.Result(guest.StatusOK, args)
}

func decode(args []byte, v any) bool {
	return len(args) == 0 || json.Unmarshal(args, v) == nil
}

func badreq(args []byte) int64 {
	var a struct{ Code string }
	decode(args, &a)
	return guest.Fail(guest.StatusBadRequest, a.Code, "rejected by the guest")
}

var sink int

// spin logs "spinning" (when log is granted) so that a test knows it runs, then loops forever.
func spin([]byte) int64 {
	guest.HostCall(capLog, 1, []byte("spinning"))
	for i := 0; ; i++ {
		sink += i
	}
}

var hoard [][]byte

func grow([]byte) int64 {
	for {
		hoard = append(hoard, make([]byte, 1<<20))
	}
}

var kept []byte

func alloc(args []byte) int64 {
	var a struct{ MB int }
	decode(args, &a)
	kept = make([]byte, a.MB<<20)
	for i := 0; i < len(kept); i += 4096 {
		kept[i] = 1
	}
	return guest.Pack(noopResult)
}

func big(args []byte) int64 {
	var a struct{ N int }
	decode(args, &a)
	return guest.OK(strings.Repeat("x", a.N))
}

// sleep logs "sleeping" (when log is granted) so that a test knows it runs, then sleeps.
func sleep(args []byte) int64 {
	var a struct{ MS int }
	decode(args, &a)
	guest.HostCall(capLog, 1, []byte("sleeping"))
	start := time.Now()
	time.Sleep(time.Duration(a.MS) * time.Millisecond)
	return guest.OK(map[string]int64{"slept_ms": time.Since(start).Milliseconds()})
}

func clock([]byte) int64 {
	return guest.OK(map[string]any{"unix_ms": time.Now().UnixMilli(), "year": time.Now().UTC().Year()})
}

func random([]byte) int64 {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return guest.Fail(guest.StatusToolError, "", err.Error())
	}
	return guest.OK(hex.EncodeToString(b))
}

// hostcall performs one host_call; with bad_pointer it passes an input region outside memory.
func hostcall(args []byte) int64 {
	var a struct {
		Cap        uint32 `json:"cap"`
		Op         uint32 `json:"op"`
		Input      string `json:"input"`
		BadPointer bool   `json:"bad_pointer"`
	}
	if !decode(args, &a) {
		return guest.Fail(guest.StatusBadRequest, "invalid_arguments", "bad hostcall arguments")
	}
	if a.BadPointer {
		status, n := guest.HostCallRaw(a.Cap, a.Op, 0xffff_fff0, 64)
		return guest.OK(map[string]any{"status": status, "length": n})
	}
	status, resp := guest.HostCall(a.Cap, a.Op, []byte(a.Input))
	return guest.OK(map[string]any{"status": status, "response": string(resp)})
}

// caps uses every capability and reports each status.
func caps([]byte) int64 {
	out := map[string]any{}
	st, _ := guest.HostCall(capLog, 1, []byte("caps: hello from the guest"))
	out["log"] = st
	st, v := guest.HostCall(capConfig, 1, []byte("greeting"))
	out["config"], out["greeting"] = st, string(v)
	st, _ = guest.HostCall(capKV, 2, []byte(`{"key":"visits","value":"1"}`))
	out["kv_set"] = st
	st, v = guest.HostCall(capKV, 1, []byte(`{"key":"visits"}`))
	out["kv_get"], out["kv_value"] = st, string(v)
	st, v = guest.HostCall(capKV, 4, []byte(`{"prefix":"vis"}`))
	out["kv_list"], out["kv_keys"] = st, string(v)
	st, _ = guest.HostCall(capKV, 3, []byte(`{"key":"visits"}`))
	out["kv_delete"] = st
	st, _ = guest.HostCall(capHTTP, 1, []byte(`{"url":"http://127.0.0.1:1/"}`))
	out["http"] = st
	out["year"] = time.Now().UTC().Year()
	b := make([]byte, 8)
	rand.Read(b)
	out["random"] = hex.EncodeToString(b)
	return guest.OK(out)
}

// fetch calls http fetch with its arguments as the request; a non-zero status is a tool error.
func fetch(args []byte) int64 {
	st, resp := guest.HostCall(capHTTP, 1, args)
	if st != 0 {
		return guest.Fail(guest.StatusToolError, "fetch", "host status "+string(rune('0'+st))+": "+string(resp))
	}
	return guest.Result(guest.StatusOK, resp)
}

func write(args []byte) int64 {
	var a struct{ Text string }
	decode(args, &a)
	os.Stdout.WriteString(a.Text)
	os.Stderr.WriteString(a.Text)
	return guest.OK(len(a.Text))
}
