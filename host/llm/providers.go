package llm

import (
	"errors"
	"fmt"
	"os"

	"github.com/agentfleet/fleet/engine"
)

// OfflineProvider is the provider name [FromEnv] gives the offline model.
const OfflineProvider = "offline"

// Providers resolves provider names to clients. It implements [engine.Models] and is safe for
// concurrent use (it does not change after [NewProviders]).
type Providers struct {
	def     string
	order   []string
	clients map[string]*Client
}

var _ engine.Models = (*Providers)(nil)

// NewProviders builds a client per config (see [New]). defaultName names the provider used when
// a model spec names none; empty means the first config's. Names must be unique.
func NewProviders(defaultName string, cfgs ...Config) (*Providers, error) {
	return newProviders(defaultName, cfgs, os.Getenv)
}

func newProviders(defaultName string, cfgs []Config, getenv func(string) string) (*Providers, error) {
	if len(cfgs) == 0 {
		return nil, fmt.Errorf("%w: no providers configured", ErrConfig)
	}
	p := &Providers{def: or(defaultName, cfgs[0].Name), clients: map[string]*Client{}}
	for _, cfg := range cfgs {
		if _, dup := p.clients[cfg.Name]; dup {
			_ = p.Close()
			return nil, fmt.Errorf("%w: provider %q configured twice", ErrConfig, cfg.Name)
		}
		c, err := newClient(cfg, getenv)
		if err != nil {
			_ = p.Close()
			return nil, err
		}
		p.clients[cfg.Name] = c
		p.order = append(p.order, cfg.Name)
	}
	if _, ok := p.clients[p.def]; !ok {
		_ = p.Close()
		return nil, fmt.Errorf("%w: default provider %q is not configured", ErrConfig, p.def)
	}
	return p, nil
}

// FromEnv configures the usual providers: "openai" when OPENAI_API_KEY is set (with
// OPENAI_BASE_URL and OPENAI_ORG_ID), and "offline" pointing at offlineBaseURL (a running
// offline server's base URL, "http://127.0.0.1:PORT/v1") when it is not empty. The default is
// "openai" when its key is set, else "offline". It fails with ErrConfig when neither is
// available.
func FromEnv(offlineBaseURL string) (*Providers, error) {
	return fromEnv(offlineBaseURL, os.Getenv)
}

func fromEnv(offlineBaseURL string, getenv func(string) string) (*Providers, error) {
	var cfgs []Config
	def := OfflineProvider
	if getenv(EnvAPIKey) != "" {
		cfgs = append(cfgs, Config{Name: "openai"})
		def = "openai"
	}
	if offlineBaseURL != "" {
		cfgs = append(cfgs, Config{Name: OfflineProvider, BaseURL: offlineBaseURL})
	}
	if len(cfgs) == 0 {
		return nil, fmt.Errorf("%w: no model provider: set %s or start the offline model", ErrConfig, EnvAPIKey)
	}
	return newProviders(def, cfgs, getenv)
}

// Model returns the named provider's client and default model name; "" means the default
// provider. An unknown name fails with ErrUnknownProvider.
func (p *Providers) Model(provider string) (engine.Model, string, error) {
	c, err := p.Client(provider)
	if err != nil {
		return nil, "", err
	}
	return c, c.DefaultModel(), nil
}

// Client returns the named provider's client; "" means the default provider.
func (p *Providers) Client(provider string) (*Client, error) {
	c, ok := p.clients[or(provider, p.def)]
	if !ok {
		return nil, fmt.Errorf("%w %q (configured: %v)", ErrUnknownProvider, provider, p.order)
	}
	return c, nil
}

// Default returns the default provider's name.
func (p *Providers) Default() string { return p.def }

// Names returns the configured provider names in configuration order.
func (p *Providers) Names() []string { return append([]string(nil), p.order...) }

// Close closes every client (see [Client.Close]).
func (p *Providers) Close() error {
	var errs []error
	for _, c := range p.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
