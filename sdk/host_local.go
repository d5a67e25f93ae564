//go:build !wasip1

package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// The stand-in host, used when the SDK runs natively: it answers host_call in-process, with the same
// statuses and JSON a Fleet host sends.

// grants returns the stand-in host's grant mask.
func grants() uint32 {
	local.mu.Lock()
	defer local.mu.Unlock()
	return local.grantsLocked()
}

func (s *localState) grantsLocked() uint32 {
	caps := s.host.Grants
	if caps == nil {
		caps = []Capability{CapLog, CapConfig, CapKV, CapClock, CapRandom}
		if s.host.Fetch != nil {
			caps = append(caps, CapHTTP)
		}
	}
	var mask uint32
	for _, c := range caps {
		mask |= capBit(c)
	}
	return mask
}

// localOps are the stand-in's capability handlers by capability id.
var localOps = map[uint32]func(s *localState, op uint32, in []byte) (uint32, []byte){
	1: (*localState).log,
	2: (*localState).config,
	5: (*localState).fetch,
	6: (*localState).kvOp,
}

// hostCall answers a host_call in-process.
func hostCall(capID, op uint32, in []byte) (uint32, []byte) {
	handler, ok := localOps[capID]
	if !ok {
		return hostUnsupported, errorJSON(CodeUnsupported, fmt.Sprintf("capability %d has no operations on this host", capID))
	}
	var name Capability
	for c, id := range capIDs {
		if id == capID {
			name = c
		}
	}
	local.mu.Lock()
	granted := local.grantsLocked()&(1<<capID) != 0
	local.mu.Unlock()
	if !granted {
		return hostDenied, errorJSON(CodeDenied, fmt.Sprintf("capability %s not granted", name))
	}
	return handler(&local, op, in)
}

func errorJSON(code, msg string) []byte {
	b, _ := json.Marshal(errorBody{Message: msg, Code: code})
	return b
}

func unsupportedOp(capName string, op uint32) (uint32, []byte) {
	return hostUnsupported, errorJSON(CodeUnsupported, fmt.Sprintf("%s has no operation %d", capName, op))
}

func (s *localState) log(op uint32, in []byte) (uint32, []byte) {
	if op > uint32(LevelError) {
		return unsupportedOp("log", op)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.host.LogOutput
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "%s: %s\n", strings.ToUpper(Level(op).String()), in)
	return hostOK, nil
}

func (s *localState) config(op uint32, in []byte) (uint32, []byte) {
	s.mu.Lock()
	values := s.host.Config
	s.mu.Unlock()
	switch op {
	case 1:
		v, ok := values[string(in)]
		if !ok {
			return hostNotFound, nil
		}
		return marshalAnswer(v)
	case 2:
		if values == nil {
			values = map[string]any{}
		}
		return marshalAnswer(values)
	}
	return unsupportedOp("config", op)
}

func marshalAnswer(v any) (uint32, []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		return hostFailed, errorJSON("", err.Error())
	}
	return hostOK, b
}

func (s *localState) kvOp(op uint32, in []byte) (uint32, []byte) {
	var req struct {
		Key    string  `json:"key"`
		Value  *string `json:"value"`
		Prefix string  `json:"prefix"`
	}
	if err := json.Unmarshal(in, &req); err != nil {
		return hostFailed, errorJSON(CodeBadMessage, "kv: "+err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case 1:
		v, ok := s.kv[req.Key]
		if !ok {
			return hostNotFound, nil
		}
		return hostOK, []byte(v)
	case 2:
		if req.Value == nil {
			return hostFailed, errorJSON(CodeBadMessage, "kv set: value missing")
		}
		s.kv[req.Key] = *req.Value
		return hostOK, nil
	case 3:
		delete(s.kv, req.Key)
		return hostOK, nil
	case 4:
		keys := []string{}
		for k := range s.kv {
			if strings.HasPrefix(k, req.Prefix) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		return marshalAnswer(keys)
	}
	return unsupportedOp("kv", op)
}

func (s *localState) fetch(op uint32, in []byte) (uint32, []byte) {
	if op != 1 {
		return unsupportedOp("http", op)
	}
	s.mu.Lock()
	fetch := s.host.Fetch
	s.mu.Unlock()
	if fetch == nil {
		return hostDenied, errorJSON(CodeDenied, "http: the stand-in host has no Fetch (see sdk.LocalHost)")
	}
	var w httpWireRequest
	if err := json.Unmarshal(in, &w); err != nil {
		return hostFailed, errorJSON(CodeBadMessage, "http: "+err.Error())
	}
	if w.Method == "" {
		w.Method = "GET"
	}
	ctx := context.Background()
	if w.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(w.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	resp, err := fetch(ctx, HTTPRequest{Method: w.Method, URL: w.URL, Headers: w.Headers, Body: w.Body,
		Timeout: time.Duration(w.TimeoutMS) * time.Millisecond, MaxBytes: w.MaxBytes})
	switch {
	case errors.Is(err, ErrDenied):
		return hostDenied, errorJSON(CodeDenied, err.Error())
	case err != nil:
		return hostFailed, errorJSON("", err.Error())
	}
	b, err := encodeHTTPResponse(resp)
	if err != nil {
		return hostFailed, errorJSON("", err.Error())
	}
	return hostOK, b
}
