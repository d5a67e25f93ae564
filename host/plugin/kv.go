package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// KV is the store behind the kv capability. Each plugin sees only its own scope, its name. Values
// are opaque bytes. Implementations must be safe for concurrent use and must copy what they keep.
// The engine passes a persistent one in Config.KV; NewMemoryKV is the default.
type KV interface {
	// Get returns the value of key in scope, and whether it exists.
	Get(ctx context.Context, scope, key string) ([]byte, bool, error)
	// Set stores value under key in scope.
	Set(ctx context.Context, scope, key string, value []byte) error
	// Delete removes key from scope; deleting an absent key is not an error.
	Delete(ctx context.Context, scope, key string) error
	// List returns the keys of scope that start with prefix, sorted.
	List(ctx context.Context, scope, prefix string) ([]string, error)
}

// ErrKVFull is returned by a bounded KV when a Set would take a scope past its limit. The guest gets
// status 1 with code "full"; delete keys or raise the limit.
var ErrKVFull = errors.New("kv store full")

// DefaultKVLimit is NewMemoryKV's default bound per scope, keys and values counted: 8 MiB.
const DefaultKVLimit = 8 << 20

// maxKVKey bounds a key's length.
const maxKVKey = 1024

// NewMemoryKV returns an in-memory KV holding at most limit bytes (keys plus values) per scope;
// limit <= 0 means DefaultKVLimit. Its contents are lost when the process exits.
func NewMemoryKV(limit int64) KV {
	if limit <= 0 {
		limit = DefaultKVLimit
	}
	return &memoryKV{limit: limit, scopes: map[string]*kvScope{}}
}

type memoryKV struct {
	limit  int64
	mu     sync.Mutex
	scopes map[string]*kvScope
}

type kvScope struct {
	size int64
	data map[string][]byte
}

func (m *memoryKV) scope(name string) *kvScope {
	s := m.scopes[name]
	if s == nil {
		s = &kvScope{data: map[string][]byte{}}
		m.scopes[name] = s
	}
	return s
}

func (m *memoryKV) Get(_ context.Context, scope, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.scope(scope).data[key]
	return append([]byte(nil), v...), ok, nil
}

func (m *memoryKV) Set(_ context.Context, scope, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.scope(scope)
	size := s.size + int64(len(key)+len(value))
	if old, ok := s.data[key]; ok {
		size -= int64(len(key) + len(old))
	}
	if size > m.limit {
		return fmt.Errorf("%w: scope %s would hold %d bytes, limit %d", ErrKVFull, scope, size, m.limit)
	}
	s.data[key], s.size = append([]byte(nil), value...), size
	return nil
}

func (m *memoryKV) Delete(_ context.Context, scope, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.scope(scope)
	if old, ok := s.data[key]; ok {
		s.size -= int64(len(key) + len(old))
		delete(s.data, key)
	}
	return nil
}

func (m *memoryKV) List(_ context.Context, scope, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := []string{}
	for k := range m.scope(scope).data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// kvRequest is the input of every kv operation.
type kvRequest struct {
	Key    *string `json:"key"`
	Value  *string `json:"value"`
	Prefix string  `json:"prefix"`
}

// kvOp decodes a kv request, checks it and runs f with a context that ends with the call.
func kvOp(in *instance, input []byte, needKey, needValue bool, f func(ctx context.Context, kv KV, scope string, r kvRequest) (uint32, []byte, error)) (uint32, []byte) {
	var r kvRequest
	if err := json.Unmarshal(input, &r); err != nil {
		return errorResponse(hcFailed, "bad_message", "kv: input is not the JSON object the operation takes: "+err.Error())
	}
	switch {
	case needKey && (r.Key == nil || *r.Key == ""):
		return errorResponse(hcFailed, "bad_message", "kv: key is missing")
	case needKey && len(*r.Key) > maxKVKey:
		return errorResponse(hcFailed, "bad_message", fmt.Sprintf("kv: key longer than %d bytes", maxKVKey))
	case needValue && r.Value == nil:
		return errorResponse(hcFailed, "bad_message", "kv: value is missing")
	case in.core.desc == nil:
		return errorResponse(hcFailed, "unavailable", "kv: not available before the plugin's first fleet_init has named it")
	}
	ctx, cancel := in.cc.detached()
	defer cancel()
	status, resp, err := f(ctx, in.core.host.cfg.KV, in.core.name, r)
	if err != nil {
		code := "failed"
		if errors.Is(err, ErrKVFull) {
			code = "full"
		}
		return errorResponse(hcFailed, code, "kv: "+err.Error())
	}
	return status, resp
}

func kvGet(in *instance, input []byte) (uint32, []byte) {
	return kvOp(in, input, true, false, func(ctx context.Context, kv KV, scope string, r kvRequest) (uint32, []byte, error) {
		v, ok, err := kv.Get(ctx, scope, *r.Key)
		if err != nil || !ok {
			return hcNotFound, nil, err
		}
		return hcOK, v, nil
	})
}

func kvSet(in *instance, input []byte) (uint32, []byte) {
	return kvOp(in, input, true, true, func(ctx context.Context, kv KV, scope string, r kvRequest) (uint32, []byte, error) {
		return hcOK, nil, kv.Set(ctx, scope, *r.Key, []byte(*r.Value))
	})
}

func kvDelete(in *instance, input []byte) (uint32, []byte) {
	return kvOp(in, input, true, false, func(ctx context.Context, kv KV, scope string, r kvRequest) (uint32, []byte, error) {
		return hcOK, nil, kv.Delete(ctx, scope, *r.Key)
	})
}

func kvList(in *instance, input []byte) (uint32, []byte) {
	return kvOp(in, input, false, false, func(ctx context.Context, kv KV, scope string, r kvRequest) (uint32, []byte, error) {
		keys, err := kv.List(ctx, scope, r.Prefix)
		if err != nil {
			return 0, nil, err
		}
		b, err := json.Marshal(keys)
		return hcOK, b, err
	})
}
