package llm_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
)

func TestConfigErrors(t *testing.T) {
	t.Setenv(llm.EnvAPIKey, "")
	tests := []struct {
		name string
		cfg  llm.Config
		msg  string
	}{
		{"no name", llm.Config{BaseURL: "http://127.0.0.1:1/v1"}, "needs a name"},
		{"openai without key", llm.Config{Name: "openai"}, "no API key"},
		{"compatible without URL", llm.Config{Name: "mine"}, "no base URL"},
		{"azure without key", llm.Config{Name: "azure", BaseURL: "https://x.openai.azure.com"}, "azure needs"},
		{"unknown kind", llm.Config{Name: "x", Kind: "bedrock", BaseURL: "http://127.0.0.1:1"}, "unknown kind"},
		{"bad URL", llm.Config{Name: "x", BaseURL: "127.0.0.1:1/v1"}, "not an http(s) URL"},
		{"bad max tokens field", llm.Config{Name: "x", BaseURL: "http://h/v1", MaxTokensField: "max"}, "max tokens field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := llm.New(tt.cfg)
			if !errors.Is(err, llm.ErrConfig) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv(llm.EnvAPIKey, "")
	for name, model := range map[string]string{"offline": offline.DefaultModel, "ollama": "", "vllm": ""} {
		cfg := llm.Config{Name: name}
		if name == "offline" {
			cfg.BaseURL = "http://127.0.0.1:1/v1"
		}
		c, err := llm.New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.DefaultModel() != model {
			t.Fatalf("%s: default model %q", name, c.DefaultModel())
		}
		c.Close()
	}
	if llm.DefaultOfflineModel != offline.DefaultModel {
		t.Fatal("the offline default model names differ")
	}
}

func TestConfigHidesKey(t *testing.T) {
	cfg := llm.Config{Name: "openai", APIKey: key}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg)} {
		if strings.Contains(s, key) || !strings.Contains(s, "[redacted]") {
			t.Fatalf("%s", s)
		}
	}
}

func TestProviders(t *testing.T) {
	t.Setenv(llm.EnvAPIKey, "")
	p, err := llm.NewProviders("", llm.Config{Name: "offline", BaseURL: "http://127.0.0.1:1/v1"},
		llm.Config{Name: "ollama"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Default() != "offline" || strings.Join(p.Names(), ",") != "offline,ollama" {
		t.Fatalf("%q %v", p.Default(), p.Names())
	}
	m, name, err := p.Model("")
	if err != nil || name != offline.DefaultModel || m.(*llm.Client).Name() != "offline" {
		t.Fatalf("%v %q", err, name)
	}
	if _, name, err := p.Model("ollama"); err != nil || name != "" {
		t.Fatalf("%v %q", err, name)
	}
	if _, _, err := p.Model("anthropic"); !errors.Is(err, llm.ErrUnknownProvider) || !strings.Contains(err.Error(), "anthropic") {
		t.Fatalf("%v", err)
	}
	for _, bad := range [][]llm.Config{nil, {{Name: "ollama"}, {Name: "ollama"}}, {{Name: "openai"}}} {
		if _, err := llm.NewProviders("", bad...); !errors.Is(err, llm.ErrConfig) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
	if _, err := llm.NewProviders("vllm", llm.Config{Name: "ollama"}); !errors.Is(err, llm.ErrConfig) {
		t.Fatalf("missing default: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(llm.EnvAPIKey, "")
	t.Setenv(llm.EnvBaseURL, "")
	if _, err := llm.FromEnv(""); !errors.Is(err, llm.ErrConfig) {
		t.Fatalf("no provider: %v", err)
	}
	p, err := llm.FromEnv("http://127.0.0.1:1/v1")
	if err != nil || p.Default() != "offline" || len(p.Names()) != 1 {
		t.Fatalf("%v %v", err, p)
	}
	p.Close()
	t.Setenv(llm.EnvAPIKey, "sk-x")
	p, err = llm.FromEnv("http://127.0.0.1:1/v1")
	if err != nil || p.Default() != "openai" || strings.Join(p.Names(), ",") != "openai,offline" {
		t.Fatalf("%v %v", err, p.Names())
	}
	if _, name, _ := p.Model(""); name != llm.DefaultOpenAIModel {
		t.Fatalf("default model %q", name)
	}
	p.Close()
}
