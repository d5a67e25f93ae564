package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/mapping"
	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/internal/app"
)

// frameSink maps a run's events through a mapper and prints each frame on its own line (NDJSON).
type frameSink struct {
	ctx    context.Context
	format string
	stream mapping.Stream
	w      io.Writer
	close  func()
	failed bool
}

// newFrameSink finds the mapper: a format name (agui, legacy, vercel, fleet, or a loaded mapper
// plugin's format) or a mapper plugin file (.wasm, with its NAME.yaml manifest when present).
func newFrameSink(ctx context.Context, a *app.App, format string, w io.Writer) (sink, error) {
	m, closeFn, err := findMapper(ctx, a.Host, a.Plugins, format)
	if err != nil {
		return nil, err
	}
	return &frameSink{ctx: ctx, format: m.Format().Name, stream: m.NewStream(engine.NewID("cli")), w: w, close: closeFn}, nil
}

func findMapper(ctx context.Context, h *plugin.Host, plugins *plugin.Registry, format string) (mapping.Mapper, func(), error) {
	if !strings.HasSuffix(format, ".wasm") {
		m, err := mapping.NewRegistry(plugins).Lookup(format)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (formats: %s)", err, strings.Join(mapping.NewRegistry(plugins).Formats(), ", "))
		}
		return m, func() {}, nil
	}
	p, err := h.LoadFile(ctx, format)
	if err != nil {
		return nil, nil, err
	}
	reg := plugin.NewRegistry()
	closeFn := func() { _ = reg.Close(context.Background()) }
	if err := reg.Add(p); err != nil {
		_ = p.Close(context.Background())
		return nil, nil, err
	}
	m, err := mapping.NewPluginMapper(reg, p.Descriptor())
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return m, closeFn, nil
}

func (f *frameSink) events(evs []event.Event) error {
	if f.failed {
		return nil
	}
	frames, err := f.stream.Map(f.ctx, evs)
	if err != nil {
		return f.fail(err)
	}
	return f.write(frames)
}

func (f *frameSink) write(frames []mapping.Frame) error {
	for _, fr := range frames {
		if _, err := fmt.Fprintf(f.w, "%s\n", fr.Data); err != nil {
			return err
		}
	}
	return nil
}

// fail prints the error as a frame of the client's format and reports it.
func (f *frameSink) fail(err error) error {
	f.failed = true
	fmt.Fprintf(f.w, "%s\n", mapping.ErrorFrame(f.format, mapping.CodeMapper, err.Error()))
	return fmt.Errorf("mapper %s: %w", f.format, err)
}

func (f *frameSink) end() error {
	defer f.close()
	if f.failed {
		return nil
	}
	frames, err := f.stream.End(f.ctx)
	if err != nil {
		return f.fail(err)
	}
	return f.write(frames)
}

var errNoEvents = errors.New("no events on standard input")
