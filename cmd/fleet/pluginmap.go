package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentfleet/fleet/engine/event"
)

type pluginMapCmd struct {
	File  string `arg:"" help:"The mapper plugin's .wasm file, or a built-in format name (fleet)." placeholder:"FILE.wasm|FORMAT"`
	Batch int    `default:"256" help:"Events per call of the mapper."`
}

// Run maps an engine event log (NDJSON, e.g. from `fleet run --json`) read from stdin.
func (c *pluginMapCmd) Run(ctx context.Context, e *env) error {
	h, err := newHost(ctx, e)
	if err != nil {
		return err
	}
	defer h.Close(context.Background())
	m, closeFn, err := findMapper(ctx, h, nil, c.File)
	if err != nil {
		return err
	}
	out := &frameSink{ctx: ctx, format: m.Format().Name, stream: m.NewStream("cli"), w: e.stdout, close: closeFn}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var batch []event.Event
	line, n := 0, 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			out.close()
			return &exitError{code: 2, err: fmt.Errorf("stdin line %d: %w", line, err)}
		}
		batch = append(batch, ev)
		n++
		if len(batch) >= max(c.Batch, 1) {
			if err := out.events(batch); err != nil {
				out.close()
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		out.close()
		return err
	}
	if n == 0 {
		out.close()
		return &exitError{code: 2, err: errNoEvents}
	}
	if err := out.events(batch); err != nil {
		out.close()
		return err
	}
	return out.end()
}
