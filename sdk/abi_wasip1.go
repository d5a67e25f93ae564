//go:build wasip1

package sdk

import (
	"context"
	"runtime"
	"unsafe"
)

// The guest side of ABI v1: exports the host calls and the two fleet_v1 imports. Everything here is
// kind-neutral except fleetCall (tools) and fleetMap (mappers).

//go:wasmimport fleet_v1 host_call
func fleetHostCall(capID, op uint32, ptr unsafe.Pointer, n uint32) uint64

//go:wasmimport fleet_v1 host_read
func fleetHostRead(ptr unsafe.Pointer, n uint32) uint32

// maxAlloc bounds one fleet_alloc: a larger request answers 0 (out of memory) rather than trapping.
const maxAlloc = 1 << 30

var (
	// input is the region fleet_alloc last handed out; it stays referenced so the GC keeps it.
	input []byte
	// out is the result region of the last call, valid until the next export call.
	out = newResponse()
	// grantMask holds the capabilities granted at fleet_init, one bit per capability id.
	grantMask uint32
)

func grants() uint32 { return grantMask }

// fleetABIv1 is the marker export naming ABI major 1; the host never calls it.
//
//go:wasmexport fleet_abi_v1
func fleetABIv1() {}

// fleetAlloc returns a region of size bytes for the host to write the next call's input into. The
// region is reused from call to call when it is big enough.
//
//go:wasmexport fleet_alloc
func fleetAlloc(size uint32) uint32 {
	if size == 0 || size > maxAlloc {
		return 0
	}
	if uint32(cap(input)) < size || (cap(input) > keepLimit && size <= keepLimit) {
		input = make([]byte, max(size, 4096))
	}
	input = input[:cap(input)]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(input))))
}

// takeInput returns the n input bytes at ptr, which must be the region fleet_alloc handed out.
func takeInput(ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if len(input) == 0 || uint32(uintptr(unsafe.Pointer(unsafe.SliceData(input)))) != ptr || n > uint32(len(input)) {
		return nil, false
	}
	return input[:n], true
}

// pack returns the packed pointer to the current result region.
func pack() uint64 {
	b := out.bytes()
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}

//go:wasmexport fleet_init
func fleetInit(ptr, n uint32) uint64 {
	in, ok := takeInput(ptr, n)
	p := registered.Load()
	switch {
	case !ok:
		out.fail(statusBadRequest, CodeBadMessage, "sdk: init input is not the region fleet_alloc returned")
	case p == nil:
		out.fail(statusBadRequest, CodeBadMessage, "sdk: no plugin registered (call sdk.Register in an init function)")
	default:
		grantMask = p.init(in, out)
	}
	return pack()
}

//go:wasmexport fleet_call
func fleetCall(tool, ptr, n uint32) uint64 {
	in, ok := takeInput(ptr, n)
	p := registered.Load()
	switch {
	case !ok:
		out.fail(statusBadRequest, CodeBadMessage, "sdk: call input is not the region fleet_alloc returned")
	case p == nil:
		out.fail(statusBadRequest, CodeBadMessage, "sdk: no plugin registered (call sdk.Register in an init function)")
	default:
		p.call(context.Background(), int(tool), in, out)
	}
	return pack()
}

// fleetMap maps one batch of events of one stream (ABI 1.1, section 8). A tool plugin answers
// status 2 with code unsupported.
//
//go:wasmexport fleet_map
func fleetMap(ptr, n uint32) uint64 {
	in, ok := takeInput(ptr, n)
	p := registered.Load()
	switch {
	case !ok:
		out.fail(statusBadRequest, CodeBadMessage, "sdk: map input is not the region fleet_alloc returned")
	case p == nil:
		out.fail(statusBadRequest, CodeBadMessage, "sdk: no plugin registered (call sdk.RegisterMapper in an init function)")
	default:
		p.mapBatch(context.Background(), in, out)
	}
	return pack()
}

// hostCall performs host_call and reads its response.
func hostCall(capID, op uint32, in []byte) (uint32, []byte) {
	r := fleetHostCall(capID, op, unsafe.Pointer(unsafe.SliceData(in)), uint32(len(in)))
	runtime.KeepAlive(in)
	status, n := uint32(r>>32), uint32(r)
	if n == 0 {
		return status, nil
	}
	buf := make([]byte, n)
	got := fleetHostRead(unsafe.Pointer(unsafe.SliceData(buf)), n)
	return status, buf[:min(got, n)]
}
