package plugin

import (
	"context"
	"errors"
	"testing"
)

func TestMapperKind(t *testing.T) {
	ctx := context.Background()
	h, _ := newTestHost(t, Config{})
	p, err := h.Load(ctx, fixture(t, "mapper"), Manifest{})
	if err != nil {
		t.Fatalf("a mapper plugin must load: %v", err)
	}
	defer p.Close(ctx)
	if d := p.Descriptor(); d.Kind != "mapper" || len(d.Tools) != 0 {
		t.Fatalf("descriptor %+v", d)
	}
	out, err := p.Map(ctx, []byte(`{"stream":"s","op":"start","state":null,"events":[]}`))
	if err != nil || len(out) != 0 {
		t.Fatalf("Map = %q, %v", out, err)
	}
	if _, err := p.Call(ctx, "anything", nil); !errors.Is(err, ErrToolNotFound) {
		t.Fatalf("Call on a mapper: %v", err)
	}
	good, err := h.Load(ctx, fixture(t, "good"), Manifest{})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close(ctx)
	if _, err := good.Map(ctx, []byte(`{}`)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Map on a tool plugin: %v", err)
	}
	big := make([]byte, DefaultMaxInput+1)
	if _, err := p.Map(ctx, big); !errors.Is(err, ErrInvalidArguments) {
		t.Fatalf("oversize batch: %v", err)
	}
}

func TestMapperDescriptorRules(t *testing.T) {
	for _, c := range []struct {
		name string
		d    Descriptor
		ok   bool
	}{
		{"ok", Descriptor{Kind: "mapper", Mapper: []byte(`{"format":"agui"}`)}, true},
		{"no mapper object", Descriptor{Kind: "mapper"}, false},
		{"bad json", Descriptor{Kind: "mapper", Mapper: []byte(`{"format":`)}, false},
		{"bad format", Descriptor{Kind: "mapper", Mapper: []byte(`{"format":"Bad Name"}`)}, false},
		{"tools", Descriptor{Kind: "mapper", Mapper: []byte(`{"format":"x"}`), Tools: []Tool{{Name: "t"}}}, false},
	} {
		if err := validateMapper(&c.d); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
