package plugin

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{
		"timeout: 5s\ninstances: 2\n",
		"capabilities:\n  log: true\n  http: {allow: [a.com], allow_private: true}\n  x: 1\n",
		"memory_limit: 64MiB\nmax_output: 1KB\nconfig: {a: [1, {b: c}]}\n",
		"sha256: " + string(bytes.Repeat([]byte("a"), 64)) + "\n",
		"- 1\n", "{", "timeout: 1s\n---\n", "config:\n  ? [a]\n  : b\n", "&a [*a]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, _, err := parseManifest("f.yaml", src)
		if err != nil {
			return
		}
		d, err := m.withDefaults()
		if err != nil {
			t.Fatalf("parsed manifest fails its defaults: %v", err)
		}
		if d.Instances < 1 || d.MemoryLimit < minMemoryLimit || d.Timeout <= 0 {
			t.Fatalf("limits out of range: %+v", d)
		}
		if _, err := json.Marshal(m.Config); err != nil {
			t.Fatalf("config does not encode: %v", err)
		}
	})
}

func FuzzParseDescriptor(f *testing.F) {
	for _, s := range []string{
		`{"abi_minor":0,"name":"calc","version":"1","kind":"tool","tools":[{"name":"calculate","parameters":{"type":"object"}}]}`,
		`{"name":"m","kind":"mapper","mapper":{"format":"agui"}}`,
		`{"name":"x","kind":"tool","tools":[{"name":"a"},{"name":"a"}]}`,
		`{"name":"x","kind":"tool","tools":[{"name":"a","parameters":{"$ref":"#/$defs/a","$defs":{"a":{"type":"object"}}}}]}`,
		`{"name":"x","kind":"tool","tools":[{"name":"a","parameters":{"required":["q"],"properties":{"q":{"pattern":"^a+$"}}}}]}`,
		`[]`, `null`, `{"name":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDescriptor(b)
		if err != nil {
			return
		}
		if !pluginNameRE.MatchString(d.Name) || d.ABIMinor < 0 {
			t.Fatalf("accepted %+v", d)
		}
		k, ok := kinds[d.Kind]
		if !ok || k.validate(d) != nil {
			return
		}
		for _, tool := range d.Tools {
			if !toolNameRE.MatchString(tool.Name) || len(tool.Parameters) == 0 {
				t.Fatalf("accepted tool %+v", tool)
			}
			v, err := compileSchema(tool.Name, tool.Parameters)
			if err != nil {
				continue
			}
			_ = v.check([]byte(`{"a":1}`))
			_ = v.check(nil)
		}
		c := d.clone()
		if !d.sameShape(&c) {
			t.Fatal("a clone differs in shape")
		}
	})
}

func FuzzParseRegion(f *testing.F) {
	for _, s := range []string{"\x00{}", "\x01{\"message\":\"m\",\"code\":\"c\"}", "\x02{\"message\":\"x\"}", "\x01{}", "\x03", "", "\x02nope"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, region []byte) {
		payload, gerr, problem := parseRegion(region)
		switch {
		case problem != "":
			if payload != nil || gerr != nil {
				t.Fatal("a problem with a result")
			}
		case gerr != nil:
			if gerr.message == "" || (gerr.status != 1 && gerr.status != 2) || region[0] != gerr.status {
				t.Fatalf("guest error %+v from %q", gerr, region)
			}
		default:
			if region[0] != 0 || !bytes.Equal(payload, region[1:]) {
				t.Fatalf("payload %q from %q", payload, region)
			}
		}
	})
}

func FuzzArguments(f *testing.F) {
	f.Add(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`, `{"n":1}`)
	f.Add(`{"type":"object"}`, ` { } `)
	f.Add(`true`, `{"a":[1,2,{"b":null}]}`)
	f.Add(`{"properties":{"s":{"type":"string","maxLength":2}}}`, `{"s":"abc"}`)
	f.Fuzz(func(t *testing.T, schema, args string) {
		v, err := compileSchema("t", json.RawMessage(schema))
		if err != nil {
			return
		}
		if err := v.check([]byte(args)); err == nil {
			var obj map[string]any
			if !isEmpty([]byte(args)) && json.Unmarshal([]byte(args), &obj) != nil {
				t.Fatalf("accepted arguments that are not a JSON object: %q", args)
			}
		}
	})
}
