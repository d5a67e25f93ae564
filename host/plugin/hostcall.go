package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// host_call statuses (docs/abi.md section 4).
const (
	hcOK          = 0
	hcFailed      = 1
	hcDenied      = 2
	hcUnsupported = 3
	hcNotFound    = 4
)

// maxResponse caps a host_call response; maxLogMessage a log message.
const (
	maxResponse   = 4 << 20
	maxLogMessage = 16 << 10
)

// operation performs one host_call operation for an instance on its input.
type operation func(in *instance, input []byte) (status uint32, response []byte)

// capability is one capability's operations. Clock and random have none: they act through WASI.
type capability struct {
	name string
	ops  map[uint32]operation
}

// capabilities is the dispatch table of host_call, by capability id.
var capabilities = map[uint32]*capability{
	1: {name: "log", ops: map[uint32]operation{0: logAt(slog.LevelDebug), 1: logAt(slog.LevelInfo), 2: logAt(slog.LevelWarn), 3: logAt(slog.LevelError)}},
	2: {name: "config", ops: map[uint32]operation{1: configGet, 2: configAll}},
	3: {name: "clock"},
	4: {name: "random"},
	5: {name: "http", ops: map[uint32]operation{1: httpFetch}},
	6: {name: "kv", ops: map[uint32]operation{1: kvGet, 2: kvSet, 3: kvDelete, 4: kvList}},
}

// instanceOf returns the instance a host function runs for: the context of every guest call is the
// instance's callCtx.
func instanceOf(ctx context.Context) *instance {
	if cc, ok := ctx.(*callCtx); ok {
		return cc.inst
	}
	return nil
}

// hostCall implements fleet_v1.host_call(cap, op, ptr, len) -> (status << 32 | response_len).
func hostCall(ctx context.Context, mod api.Module, stack []uint64) {
	in := instanceOf(ctx)
	if in == nil {
		stack[0] = uint64(hcFailed) << 32
		return
	}
	status, resp := in.hostCall(uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3]), mod.Memory())
	if len(resp) > maxResponse {
		status, resp = errorResponse(hcFailed, "too_large", fmt.Sprintf("response of %d bytes exceeds the host_call limit of %d", len(resp), maxResponse))
	}
	in.resp = resp
	stack[0] = uint64(status)<<32 | uint64(len(resp))
}

// hostRead implements fleet_v1.host_read(ptr, len) -> copied.
func hostRead(ctx context.Context, mod api.Module, stack []uint64) {
	in := instanceOf(ctx)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if in == nil {
		stack[0] = 0
		return
	}
	n = min(n, uint32(len(in.resp)))
	if n > 0 && !mod.Memory().Write(ptr, in.resp[:n]) {
		n = 0
	}
	stack[0] = uint64(n)
}

func (in *instance) hostCall(capID, op, ptr, n uint32, mem api.Memory) (uint32, []byte) {
	c, ok := capabilities[capID]
	if !ok {
		return errorResponse(hcUnsupported, "unsupported", fmt.Sprintf("unknown capability %d", capID))
	}
	if in.core.grants&(1<<capID) == 0 {
		return in.deny(c.name, op, "capability "+c.name+" is not granted")
	}
	f, ok := c.ops[op]
	if !ok {
		return errorResponse(hcUnsupported, "unsupported", fmt.Sprintf("capability %s has no operation %d", c.name, op))
	}
	input, ok := mem.Read(ptr, n)
	if !ok {
		return errorResponse(hcFailed, "bad_pointer", fmt.Sprintf("input [%d, +%d) is outside memory", ptr, n))
	}
	return f(in, input)
}

// deny answers status 2, logs the denial and records it for the call's error.
func (in *instance) deny(capName string, op uint32, reason string) (uint32, []byte) {
	in.core.log.Warn("capability denied", "capability", capName, "op", op, "reason", reason, "instance", in.id)
	in.denied = append(in.denied, capName+": "+reason)
	return errorResponse(hcDenied, "denied", reason)
}

func errorResponse(status uint32, code, message string) (uint32, []byte) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
		Code    string `json:"code,omitempty"`
	}{message, code})
	return status, b
}

func logAt(level slog.Level) operation {
	return func(in *instance, input []byte) (uint32, []byte) {
		msg := string(input[:min(len(input), maxLogMessage)])
		in.core.log.Log(in.cc.parent, level, strings.ToValidUTF8(msg, "\uFFFD"), "instance", in.id)
		return hcOK, nil
	}
}

func configGet(in *instance, input []byte) (uint32, []byte) {
	if v, ok := in.core.config[string(input)]; ok {
		return hcOK, v
	}
	return hcNotFound, nil
}

func configAll(in *instance, _ []byte) (uint32, []byte) { return hcOK, in.core.configAll }
