package main

import (
	"context"
	"fmt"
	"io"

	"github.com/agentfleet/fleet/internal/app"
)

// newFrameSink maps a run's events through a mapper and prints the frames as NDJSON.
func newFrameSink(ctx context.Context, a *app.App, format string, w io.Writer) (sink, error) {
	return nil, fmt.Errorf("--format %s: mappers are not wired yet", format)
}
