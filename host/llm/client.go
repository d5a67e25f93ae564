// Package llm adapts OpenAI-compatible chat completion APIs to the engine's [engine.Model]
// through github.com/sashabaranov/go-openai: OpenAI, Azure OpenAI, and any compatible server
// (Ollama, vLLM, llama.cpp, Fleet's offline model).
//
// A [Client] streams one provider's completions; [Providers] resolves provider names for the
// engine ([engine.Models]) and [FromEnv] builds the usual setup: OpenAI when OPENAI_API_KEY is
// set, else the offline model.
//
// Requests always stream with stream_options.include_usage, so the last chunk reports usage.
// Field choices:
//   - temperature: sent when set; an explicit 0 is sent as the smallest positive float32,
//     because go-openai omits a zero temperature (and the API default is 1).
//   - completion cap: max_completion_tokens or max_tokens per [Config.MaxTokensField];
//     o1/o3/o4/gpt-5 models always get max_completion_tokens.
//   - tool_choice and parallel_tool_calls: sent only when tools are offered (the API rejects
//     them otherwise); a ToolChoice other than auto, none and required names a function to force.
//   - tool names the OpenAI API would reject (outside [a-zA-Z0-9_-], over 64 characters, such as
//     "plugin.tool") are rewritten on the wire ("plugin_tool") and mapped back in the stream.
//
// Errors are [*Error] values classified transient (wrapping [engine.ErrTransient]) or
// permanent; a cancelled context returns the context's error, wrapped. A stream that ends
// without a finish reason counts as broken (transient).
package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"

	"github.com/agentfleet/fleet/engine"
	openai "github.com/sashabaranov/go-openai"
)

// Client streams chat completions from one provider. It implements [engine.Model] and is safe
// for concurrent use.
type Client struct {
	cfg       Config
	api       *openai.Client
	transport *http.Transport // our own transport, closed by Close; nil with a caller's client
}

var _ engine.Model = (*Client)(nil)

// New returns a client for the provider cfg describes (see [Config] for defaults and the
// environment variables read).
func New(cfg Config) (*Client, error) {
	return newClient(cfg, os.Getenv)
}

func newClient(cfg Config, getenv func(string) string) (*Client, error) {
	cfg, err := cfg.resolve(getenv)
	if err != nil {
		return nil, err
	}
	var oc openai.ClientConfig
	if cfg.Kind == KindAzure {
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		oc.APIVersion = cfg.APIVersion
		oc.AzureModelMapperFunc = azureMapper(cfg.Deployments, oc.AzureModelMapperFunc)
	} else {
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = cfg.BaseURL
		oc.OrgID = cfg.Organization
	}
	c := &Client{cfg: cfg}
	if cfg.HTTPClient != nil {
		oc.HTTPClient = cfg.HTTPClient
	} else {
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
		oc.HTTPClient = &http.Client{Transport: c.transport} // no Timeout: it would cut streams
	}
	c.api = openai.NewClientWithConfig(oc)
	return c, nil
}

// azureMapper maps model names through the configured deployments, then go-openai's default.
func azureMapper(deployments map[string]string, fallback func(string) string) func(string) string {
	return func(model string) string {
		if d, ok := deployments[model]; ok {
			return d
		}
		return fallback(model)
	}
}

// Name returns the provider's configured name.
func (c *Client) Name() string { return c.cfg.Name }

// DefaultModel returns the model used when a request names none ("" when there is none).
func (c *Client) DefaultModel() string { return c.cfg.DefaultModel }

// Close releases the idle connections of the client's own transport. Streams in flight are not
// affected. It does nothing for a client built with [Config.HTTPClient].
func (c *Client) Close() error {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
	return nil
}

// Stream starts a streaming chat completion. The returned stream must be closed.
func (c *Client) Stream(ctx context.Context, req engine.ModelRequest) (engine.ModelStream, error) {
	if ctx.Err() != nil {
		return nil, c.ctxError(ctx)
	}
	oreq, names, err := c.request(req)
	if err != nil {
		return nil, err
	}
	s, err := c.api.CreateChatCompletionStream(ctx, oreq)
	if err != nil {
		return nil, c.classify(ctx, err, false)
	}
	return &stream{ctx: ctx, c: c, s: s, names: names, idx: newIndexer()}, nil
}

// zeroTemperature stands for an explicit temperature 0, which go-openai would omit.
const zeroTemperature = math.SmallestNonzeroFloat32

// defaultParameters is sent for a tool without a parameters schema.
var defaultParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// request builds the go-openai request and the map from wire tool names back to the engine's.
func (c *Client) request(req engine.ModelRequest) (openai.ChatCompletionRequest, map[string]string, error) {
	model := or(req.Model, c.cfg.DefaultModel)
	if model == "" {
		return openai.ChatCompletionRequest{}, nil, c.newError(class{detail: "no model name: set the agent's model " +
			"name or the provider's default model"}, fmt.Errorf("%w: no model name", ErrConfig))
	}
	names := newToolNames(req.Tools)
	o := openai.ChatCompletionRequest{
		Model:           model,
		Messages:        messages(req.Messages, names),
		StreamOptions:   &openai.StreamOptions{IncludeUsage: true},
		ReasoningEffort: req.ReasoningEffort,
	}
	if req.Temperature != nil {
		o.Temperature = *req.Temperature
		if o.Temperature == 0 {
			o.Temperature = zeroTemperature
		}
	}
	if req.MaxTokens > 0 {
		if c.cfg.MaxTokensField == MaxCompletionTokens || reasoningModel(model) {
			o.MaxCompletionTokens = req.MaxTokens
		} else {
			o.MaxTokens = req.MaxTokens
		}
	}
	c.addTools(&o, req, names)
	return o, names.back, nil
}

// addTools sets tools, tool_choice and parallel_tool_calls.
func (c *Client) addTools(o *openai.ChatCompletionRequest, req engine.ModelRequest, names *toolNames) {
	if len(req.Tools) == 0 {
		return
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = defaultParameters
		}
		o.Tools = append(o.Tools, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: names.wire(t.Name), Description: t.Description, Parameters: params}})
	}
	switch req.ToolChoice {
	case "":
	case engine.ToolChoiceAuto, engine.ToolChoiceNone, engine.ToolChoiceRequired:
		o.ToolChoice = req.ToolChoice
	default:
		o.ToolChoice = openai.ToolChoice{Type: openai.ToolTypeFunction, Function: openai.ToolFunction{Name: names.wire(req.ToolChoice)}}
	}
	if c.cfg.ParallelToolCalls != nil {
		o.ParallelToolCalls = *c.cfg.ParallelToolCalls
	}
}

// messages converts the engine's messages.
func messages(in []engine.Message, names *toolNames) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, len(in))
	for i, m := range in {
		om := openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			om.ToolCalls = append(om.ToolCalls, openai.ToolCall{ID: tc.ID, Type: openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: names.wire(tc.Name), Arguments: tc.Arguments}})
		}
		out[i] = om
	}
	return out
}
