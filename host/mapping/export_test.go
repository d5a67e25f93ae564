package mapping

import "context"

// WithCall makes m call fn instead of its plugin: the adapter is then tested against a guest
// written in Go to the ABI's contract.
func WithCall(m *PluginMapper, fn func(ctx context.Context, input []byte) ([]byte, error)) *PluginMapper {
	c := *m
	c.callFn = fn
	return &c
}
