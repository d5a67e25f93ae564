package main

import (
	"context"
	"errors"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/plugins/internal/mapperkit/mappertest"
	"github.com/agentfleet/fleet/sdk"
)

// TestGoldenNative maps every event log of testdata natively, through the SDK's fleet_map code
// path, checks the frames against AG-UI's rules and compares them with the golden files.
func TestGoldenNative(t *testing.T) {
	mappertest.Golden(t, "testdata", mappertest.Native, checkAGUI)
}

// TestGoldenWasm maps the same logs with the plugin built as WebAssembly, calling its fleet_map
// export directly: the same frames must come out.
func TestGoldenWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the go command; skipped with -short")
	}
	m := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{})
	mappertest.Golden(t, "testdata", m.Map, checkAGUI)
}

// TestGoldenHost maps the logs through the real plugin host, once it runs mapper plugins.
func TestGoldenHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the go command; skipped with -short")
	}
	mapFn := mappertest.HostMap(t, ".", plugin.Manifest{})
	mappertest.Golden(t, "testdata", mapFn, checkAGUI)
}

func TestDescriptor(t *testing.T) {
	m := mappertest.LoadWasm(t, ".", mappertest.WasmOptions{})
	want := `{"abi_minor":1,"name":"agui","version":"1.0.0","kind":"mapper","description":"Maps engine events to AG-UI protocol events (Server-Sent Events).","capabilities":[],"mapper":{"format":"agui","content_type":"text/event-stream","framing":"sse","events":["approval.requested","approval.resolved","message.delta","message.end","message.start","reasoning.delta","reasoning.end","reasoning.start","route","run.cancelled","run.failed","run.finished","run.interrupted","run.resumed","run.started","state.snapshot","step.finished","step.started","tool.args","tool.end","tool.result","tool.start","usage"]}}`
	if got := string(m.Descriptor); got != want {
		t.Errorf("descriptor\n got %s\nwant %s", got, want)
	}
}

// TestBadInput checks that what the host would never send is refused with a clear error.
func TestBadInput(t *testing.T) {
	_, err := sdk.InvokeMapRaw(context.Background(), []byte(`{"op":"events","state":{"p":"x"},"events":[]}`))
	if !errors.Is(err, sdk.ErrBadMessage) {
		t.Errorf("bad state: %v", err)
	}
	_, err = sdk.InvokeMapRaw(context.Background(), []byte(`{"op":"events","state":null,"events":[{"v":1,"type":"message.delta","data":{"delta":1}}]}`))
	if !errors.Is(err, sdk.ErrBadMessage) {
		t.Errorf("bad payload: %v", err)
	}
}
