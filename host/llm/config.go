package llm

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Provider kinds: the API flavour a provider speaks.
const (
	// KindOpenAI is api.openai.com (or a proxy of it): bearer key, organization header,
	// max_completion_tokens.
	KindOpenAI = "openai"
	// KindAzure is Azure OpenAI: api-key header, deployments in the URL, an api-version.
	KindAzure = "azure"
	// KindCompatible is any OpenAI-compatible server: Ollama, vLLM, llama.cpp, the offline
	// model. A base URL is required; a key is optional.
	KindCompatible = "compatible"
)

// Default model names and API values.
const (
	// DefaultOpenAIModel is the "openai" provider's default model.
	DefaultOpenAIModel = "gpt-4o-mini"
	// DefaultOfflineModel is the "offline" provider's default model (the offline server's name).
	DefaultOfflineModel = "fleet-offline"
	// DefaultOpenAIBaseURL is the "openai" kind's base URL when neither the config nor
	// OPENAI_BASE_URL sets one.
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	// DefaultAzureAPIVersion is the "azure" kind's api-version: the GA version that accepts
	// stream_options and max_completion_tokens.
	DefaultAzureAPIVersion = "2024-10-21"
)

// Environment variables the "openai" kind falls back to. Other kinds read no environment, so an
// OpenAI key is never sent to another server.
const (
	EnvAPIKey  = "OPENAI_API_KEY"
	EnvBaseURL = "OPENAI_BASE_URL"
	EnvOrgID   = "OPENAI_ORG_ID"
)

// Values of [Config.MaxTokensField].
const (
	MaxCompletionTokens = "max_completion_tokens"
	MaxTokens           = "max_tokens"
)

// Config configures one named provider. Only Name is required for the well-known names
// ("openai", "azure", "offline", "ollama", "vllm"), whose presets fill Kind, BaseURL and
// DefaultModel; a field set here always wins over a preset and the environment.
type Config struct {
	// Name is how agents' model specs refer to the provider ("openai", "offline", "ollama", ...).
	Name string
	// Kind is KindOpenAI, KindAzure or KindCompatible. Default: the preset's kind for a
	// well-known Name, else KindCompatible.
	Kind string
	// BaseURL is the API base URL. Defaults: OPENAI_BASE_URL or DefaultOpenAIBaseURL for
	// KindOpenAI; http://127.0.0.1:11434/v1 for "ollama"; http://127.0.0.1:8000/v1 for "vllm".
	// For KindAzure it is the resource endpoint (https://NAME.openai.azure.com). Required
	// otherwise.
	BaseURL string
	// APIKey authenticates requests. Default OPENAI_API_KEY for KindOpenAI (where a key is
	// required); required for KindAzure; optional for KindCompatible. Never logged or put in
	// errors.
	APIKey string
	// Organization is the OpenAI organization header. Default OPENAI_ORG_ID for KindOpenAI.
	Organization string
	// APIVersion is KindAzure's api-version. Default DefaultAzureAPIVersion.
	APIVersion string
	// Deployments maps model names to Azure deployment names (KindAzure). Unmapped names use
	// go-openai's mapping (the model name without ":" and, for 3.5 models, ".").
	Deployments map[string]string
	// DefaultModel is the model used when a request names none. Default DefaultOpenAIModel for
	// "openai", DefaultOfflineModel for "offline", none otherwise.
	DefaultModel string
	// MaxTokensField is the request field a completion cap is sent in: MaxCompletionTokens or
	// MaxTokens. Default MaxCompletionTokens for KindOpenAI, MaxTokens for the others (what
	// older Azure API versions and compatible servers accept). Models named o1*, o3*, o4* or
	// gpt-5* always get max_completion_tokens, the only field they accept.
	MaxTokensField string
	// ParallelToolCalls, when set, is sent as parallel_tool_calls on requests that offer tools.
	// Default: not sent (the provider's default, true on OpenAI).
	ParallelToolCalls *bool
	// HTTPClient makes the requests. Default: a client of its own with no overall Timeout
	// (which would cut long streams; a call's context bounds it instead).
	HTTPClient *http.Client
}

// String describes the config without its key.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("llm.Config{Name:%q Kind:%q BaseURL:%q APIKey:%q DefaultModel:%q}",
		c.Name, c.Kind, c.BaseURL, key, c.DefaultModel)
}

// GoString is String, so %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// presets are the defaults of well-known provider names.
var presets = map[string]Config{
	"openai":  {Kind: KindOpenAI, DefaultModel: DefaultOpenAIModel},
	"azure":   {Kind: KindAzure},
	"offline": {Kind: KindCompatible, DefaultModel: DefaultOfflineModel},
	"ollama":  {Kind: KindCompatible, BaseURL: "http://127.0.0.1:11434/v1"},
	"vllm":    {Kind: KindCompatible, BaseURL: "http://127.0.0.1:8000/v1"},
}

// kindDefaults fill a kind's remaining fields and check what it requires.
var kindDefaults = map[string]func(c *Config, getenv func(string) string) error{
	KindOpenAI: func(c *Config, getenv func(string) string) error {
		c.APIKey = or(c.APIKey, getenv(EnvAPIKey))
		c.BaseURL = or(c.BaseURL, getenv(EnvBaseURL), DefaultOpenAIBaseURL)
		c.Organization = or(c.Organization, getenv(EnvOrgID))
		c.MaxTokensField = or(c.MaxTokensField, MaxCompletionTokens)
		if c.APIKey == "" {
			return fmt.Errorf("no API key: set %s or the provider's api key", EnvAPIKey)
		}
		return nil
	},
	KindAzure: func(c *Config, _ func(string) string) error {
		c.APIVersion = or(c.APIVersion, DefaultAzureAPIVersion)
		c.MaxTokensField = or(c.MaxTokensField, MaxTokens)
		if c.APIKey == "" || c.BaseURL == "" {
			return fmt.Errorf("azure needs an api key and a base URL (the resource endpoint)")
		}
		return nil
	},
	KindCompatible: func(c *Config, _ func(string) string) error {
		c.MaxTokensField = or(c.MaxTokensField, MaxTokens)
		if c.BaseURL == "" {
			return fmt.Errorf("no base URL: an OpenAI-compatible provider needs one (for example http://127.0.0.1:11434/v1)")
		}
		return nil
	},
}

// resolve applies presets, the environment and kind defaults, and validates.
func (c Config) resolve(getenv func(string) string) (Config, error) {
	if c.Name == "" {
		return c, fmt.Errorf("%w: a provider needs a name", ErrConfig)
	}
	p := presets[c.Name]
	c.Kind = or(c.Kind, p.Kind, KindCompatible)
	c.BaseURL = or(c.BaseURL, p.BaseURL)
	c.DefaultModel = or(c.DefaultModel, p.DefaultModel)
	fill, ok := kindDefaults[c.Kind]
	if !ok {
		return c, fmt.Errorf("%w: provider %q: unknown kind %q (want openai, azure or compatible)", ErrConfig, c.Name, c.Kind)
	}
	if err := fill(&c, getenv); err != nil {
		return c, fmt.Errorf("%w: provider %q: %w", ErrConfig, c.Name, err)
	}
	if c.MaxTokensField != MaxTokens && c.MaxTokensField != MaxCompletionTokens {
		return c, fmt.Errorf("%w: provider %q: max tokens field %q is not %s or %s", ErrConfig, c.Name,
			c.MaxTokensField, MaxCompletionTokens, MaxTokens)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("%w: provider %q: base URL %q is not an http(s) URL", ErrConfig, c.Name, c.BaseURL)
	}
	return c, nil
}

// or returns the first non-empty string.
func or(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// reasoningModel reports whether a model only accepts max_completion_tokens.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}
