package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// MapRequest is one fleet_map request: a batch of events of one stream (docs/abi.md section 8).
type MapRequest struct {
	// Stream is an opaque id of the stream, for logs.
	Stream string `json:"stream"`
	// Op is OpStart, OpEvents or OpEnd.
	Op string `json:"op"`
	// State is the state the mapper returned for the stream's previous batch; nil (null) on start.
	State json.RawMessage `json:"state"`
	// Events are the batch's events, each one engine event in its JSON form.
	Events []json.RawMessage `json:"events"`
}

// MapResult is what a mapper answers for one batch.
type MapResult struct {
	// State is the stream's new state, to send with the next batch.
	State json.RawMessage
	// Frames are the frames, in order.
	Frames []MapFrame
}

// MapFrame is one frame and the input event it belongs to.
type MapFrame struct {
	// Event is the index of the batch's event the frame belongs to, or -1 for frames of start
	// without events and of end.
	Event int
	// Frame is the frame, one JSON value.
	Frame json.RawMessage
}

// InvokeMap maps one batch with the registered mapper, in-process, through exactly the code the
// host reaches through fleet_map, and returns the new state and the frames. A failed batch returns
// a *ToolError: a plugin error (ABI status 1, the handler's error and code), or a bad request
// matching ErrBadMessage or ErrUnsupported. It is meant for golden tests and native benchmarks run
// with `go test`, and is safe for concurrent use.
func InvokeMap(ctx context.Context, req MapRequest) (MapResult, error) {
	p := registered.Load()
	if p == nil {
		return MapResult{}, &ToolError{Code: CodeBadMessage, Message: "sdk: no plugin registered (call sdk.RegisterMapper in an init function)", kind: ErrBadMessage}
	}
	return (&MapperPlugin{p: p}).Invoke(ctx, req)
}

// InvokeMapRaw is InvokeMap for a request encoded already (the JSON the host sends); it returns the
// output text as the host receives it: the state line, then one line per frame.
func InvokeMapRaw(ctx context.Context, request []byte) ([]byte, error) {
	p := registered.Load()
	if p == nil {
		return nil, &ToolError{Code: CodeBadMessage, Message: "sdk: no plugin registered (call sdk.RegisterMapper in an init function)", kind: ErrBadMessage}
	}
	return (&MapperPlugin{p: p}).InvokeRaw(ctx, request)
}

// Invoke maps one batch with m, as InvokeMap does with the registered mapper.
func (m *MapperPlugin) Invoke(ctx context.Context, req MapRequest) (MapResult, error) {
	out, err := m.InvokeRaw(ctx, EncodeMapRequest(req))
	if err != nil {
		return MapResult{}, err
	}
	return ParseMapOutput(out)
}

// InvokeRaw maps one batch, encoded already, with m, as InvokeMapRaw does with the registered
// mapper.
func (m *MapperPlugin) InvokeRaw(ctx context.Context, request []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := responses.Get().(*response)
	defer responses.Put(r)
	m.p.mapBatch(ctx, request, r)
	out, err := decodeResult(r.bytes())
	return bytes.Clone(out), err
}

// EncodeMapRequest encodes a request as the host sends it.
func EncodeMapRequest(req MapRequest) []byte {
	var j JSON
	j.Object("").String("stream", req.Stream).String("op", req.Op).Raw("state", req.State).Array("events")
	for _, e := range req.Events {
		j.Raw("", e)
	}
	return j.End().End().Bytes()
}

// ParseMapOutput parses the output of a mapping call (status 0): the state line, then lines of an
// event index, a space and a frame. It checks the form the host relies on: a JSON state, decimal
// indexes of -1 or more, frames that are JSON values.
func ParseMapOutput(out []byte) (MapResult, error) {
	line, rest, _ := bytes.Cut(out, []byte{'\n'})
	if !json.Valid(line) {
		return MapResult{}, fmt.Errorf("%w: map output: the state line %.80q is not JSON", ErrBadMessage, line)
	}
	res := MapResult{State: json.RawMessage(line)}
	for n := 2; len(rest) > 0; n++ {
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		idx, frame, ok := bytes.Cut(line, []byte{' '})
		i, err := strconv.Atoi(string(idx))
		if !ok || err != nil || i < -1 || !json.Valid(frame) {
			return MapResult{}, fmt.Errorf("%w: map output line %d %.80q is not `INDEX FRAME`", ErrBadMessage, n, line)
		}
		res.Frames = append(res.Frames, MapFrame{Event: i, Frame: json.RawMessage(frame)})
	}
	return res, nil
}

// responses recycles responses between in-process calls.
var responses = sync.Pool{New: func() any { return newResponse() }}
