// Package guest is the plumbing the test fixtures share: buffers for fleet_alloc and result regions,
// JSON helpers and host_call wrappers, written from docs/abi.md alone (no SDK). Each fixture declares
// its own exports with //go:wasmexport so that what it exports is visible in its main.go.
package guest

import (
	"encoding/json"
	"runtime"
	"unsafe"
)

// Result statuses (ABI section 3).
const (
	StatusOK         = 0
	StatusToolError  = 1
	StatusBadRequest = 2
)

var (
	// input is the region last handed out by Alloc; kept reachable until the next Alloc.
	input []byte
	// output is the region of the last result; kept until the next export call overwrites it.
	output []byte
)

// Alloc implements fleet_alloc: a fresh Go buffer of n bytes, kept alive until the next Alloc.
func Alloc(n int32) int32 {
	if n <= 0 {
		return 0
	}
	input = make([]byte, n)
	return int32(uintptr(unsafe.Pointer(&input[0])))
}

// Bytes returns the guest memory region (ptr, n) as a slice (no copy).
func Bytes(ptr, n int32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

// Result stores a result region (status byte then payload) and returns its packed pointer.
func Result(status byte, payload []byte) int64 {
	output = append(output[:0], status)
	output = append(output, payload...)
	return Pack(output)
}

// Pack returns the packed pointer (ptr << 32 | len) of b.
func Pack(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	return int64(uintptr(unsafe.Pointer(&b[0])))<<32 | int64(len(b))
}

// OK answers status 0 with v encoded as JSON.
func OK(v any) int64 {
	b, err := json.Marshal(v)
	if err != nil {
		return Fail(StatusToolError, "", err.Error())
	}
	return Result(StatusOK, b)
}

// Fail answers an error status with the ABI's error JSON.
func Fail(status byte, code, message string) int64 {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
		Code    string `json:"code,omitempty"`
	}{message, code})
	return Result(status, b)
}

// Tool is one tool of a fixture: its descriptor entry and its function.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments; empty leaves it out of the descriptor.
	Parameters string
	Fn         func(args []byte) int64
}

// Descriptor returns the descriptor JSON of a tool plugin.
func Descriptor(name string, capabilities []string, tools []Tool) []byte {
	type toolJSON struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	}
	d := struct {
		ABIMinor     int        `json:"abi_minor"`
		Name         string     `json:"name"`
		Version      string     `json:"version"`
		Kind         string     `json:"kind"`
		Capabilities []string   `json:"capabilities"`
		Tools        []toolJSON `json:"tools"`
	}{Name: name, Version: "1.0.0", Kind: "tool", Capabilities: capabilities}
	for _, t := range tools {
		var p json.RawMessage
		if t.Parameters != "" {
			p = json.RawMessage(t.Parameters)
		}
		d.Tools = append(d.Tools, toolJSON{t.Name, t.Description, p})
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}

// Dispatch runs tool index idx of tools on the arguments at (ptr, n), answering status 2 with code
// unknown_tool for an index out of range.
func Dispatch(tools []Tool, idx, ptr, n int32) int64 {
	if idx < 0 || int(idx) >= len(tools) {
		return Fail(StatusBadRequest, "unknown_tool", "no such tool")
	}
	return tools[idx].Fn(Bytes(ptr, n))
}

//go:wasmimport fleet_v1 host_call
func hostCall(capability, op, ptr, n uint32) uint64

//go:wasmimport fleet_v1 host_read
func hostRead(ptr, n uint32) uint32

// addr returns the linear-memory address of b's first byte, 0 for an empty b.
func addr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

// HostCall performs operation op of capability capability with input in and returns the status and
// the response it read back with host_read.
func HostCall(capability, op uint32, in []byte) (status uint32, response []byte) {
	r := hostCall(capability, op, addr(in), uint32(len(in)))
	runtime.KeepAlive(in)
	status, n := uint32(r>>32), uint32(r)
	if n == 0 {
		return status, nil
	}
	response = make([]byte, n)
	if got := hostRead(addr(response), n); got != n {
		panic("host_read copied fewer bytes than announced")
	}
	return status, response
}

// HostCallRaw calls host_call with a raw pointer and length (for tests of bad pointers) and returns
// the status and announced response length.
func HostCallRaw(capability, op, ptr, n uint32) (status, length uint32) {
	r := hostCall(capability, op, ptr, n)
	return uint32(r >> 32), uint32(r)
}
