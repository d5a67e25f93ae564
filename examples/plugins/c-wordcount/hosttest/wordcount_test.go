// Package hosttest tests the committed wordcount.wasm, built from wordcount.c, in Fleet's real plugin
// host: the C plugin against the same ABI as the Go ones.
package hosttest

import (
	"errors"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/host/plugin"
	"github.com/agentfleet/fleet/sdk/plugintest"
)

func TestCharStats(t *testing.T) {
	p := plugintest.Load(t, "../wordcount.wasm", plugintest.Grant("log"))
	tests := []struct {
		args, want string
	}{
		{`{"text":"Hello wide world.\nSecond line 42"}`,
			`{"bytes":32,"characters":32,"words":6,"lines":2,"spaces":5,"digits":2,"uppercase":2,"lowercase":22,"non_ascii":0}`},
		{`{"text":""}`,
			`{"bytes":0,"characters":0,"words":0,"lines":0,"spaces":0,"digits":0,"uppercase":0,"lowercase":0,"non_ascii":0}`},
		{`{"text":"caf\u00e9 \ud83d\ude00 \ud800x"}`,
			`{"bytes":15,"characters":9,"words":3,"lines":1,"spaces":2,"digits":0,"uppercase":0,"lowercase":4,"non_ascii":3}`},
		{`{ "text" : "tab\there\r\nquote \" and \\ slash \/" }`,
			`{"bytes":31,"characters":31,"words":8,"lines":2,"spaces":8,"digits":0,"uppercase":0,"lowercase":20,"non_ascii":0}`},
		{`{"text":"` + strings.Repeat("ab ", 100000) + `"}`,
			`{"bytes":300000,"characters":300000,"words":100000,"lines":1,"spaces":100000,"digits":0,"uppercase":0,"lowercase":200000,"non_ascii":0}`},
	}
	for _, tt := range tests {
		if out := p.Call("char_stats", tt.args); string(out) != tt.want {
			t.Errorf("char_stats(%.60s) = %s\nwant %s", tt.args, out, tt.want)
		}
	}
	if logs := p.Logs(); !strings.Contains(logs, "char_stats: 32 bytes") {
		t.Errorf("the plugin's debug log is missing from the host log:\n%s", logs)
	}
}

func TestErrors(t *testing.T) {
	p := plugintest.Load(t, "../wordcount.wasm")
	if err := p.CallErr("char_stats", `{"text":1}`); !errors.Is(err, plugin.ErrInvalidArguments) {
		t.Errorf("a number for text: err = %v, want ErrInvalidArguments", err)
	}
	if err := p.CallErr("words", `{}`); !errors.Is(err, plugin.ErrToolNotFound) {
		t.Errorf("unknown tool: err = %v, want ErrToolNotFound", err)
	}
	d := p.Plugin().Descriptor()
	if d.Name != "wordcount" || len(d.Tools) != 1 || d.Tools[0].Name != "char_stats" {
		t.Errorf("descriptor %+v", d)
	}
}
