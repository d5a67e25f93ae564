// Command sdkprobe is a test plugin, not shipped: its tools exercise every part of the SDK (result
// encoding, errors, panics, every capability) so that the end-to-end tests can run them in the real
// host. It lives under internal/ so `make plugins` does not build it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentfleet/fleet/sdk"
)

type kvArgs struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type kvResult struct {
	Before   *string  `json:"before"`
	After    string   `json:"after"`
	Keys     []string `json:"keys"`
	Deleted  bool     `json:"deleted"`
	Granted  bool     `json:"granted"`
	ErrorMsg string   `json:"error,omitempty"`
}

func kvTool(_ context.Context, a kvArgs) (kvResult, error) {
	r := kvResult{Granted: sdk.Granted(sdk.CapKV)}
	before, ok, err := sdk.KVGet(a.Key)
	if err != nil {
		return r, err
	}
	if ok {
		r.Before = &before
	}
	if err := sdk.KVSet(a.Key, a.Value); err != nil {
		return r, err
	}
	if r.After, _, err = sdk.KVGet(a.Key); err != nil {
		return r, err
	}
	if r.Keys, err = sdk.KVList(""); err != nil {
		return r, err
	}
	if err := sdk.KVDelete(a.Key); err != nil {
		return r, err
	}
	_, ok, err = sdk.KVGet(a.Key)
	r.Deleted = !ok
	return r, err
}

type configResult struct {
	Value    json.RawMessage            `json:"value"`
	Found    bool                       `json:"found"`
	Greeting string                     `json:"greeting"`
	All      map[string]json.RawMessage `json:"all"`
}

func configTool(context.Context, struct{}) (configResult, error) {
	var r configResult
	var err error
	if r.Value, r.Found, err = sdk.Config("limit"); err != nil {
		return r, err
	}
	if r.Greeting, err = sdk.ConfigString("greeting", "default"); err != nil {
		return r, err
	}
	r.All, err = sdk.ConfigAll()
	return r, err
}

type fetchArgs struct {
	URL string `json:"url"`
}

type fetchResult struct {
	Status    int    `json:"status"`
	URL       string `json:"url"`
	Body      string `json:"body"`
	Truncated bool   `json:"truncated"`
	Type      string `json:"type"`
}

func fetchTool(ctx context.Context, a fetchArgs) (fetchResult, error) {
	resp, err := sdk.Fetch(ctx, sdk.HTTPRequest{URL: a.URL, Headers: map[string]string{"X-Probe": "1"}, MaxBytes: 64})
	if err != nil {
		return fetchResult{}, err
	}
	return fetchResult{Status: resp.Status, URL: resp.URL, Body: string(resp.Body), Truncated: resp.Truncated, Type: resp.Headers["Content-Type"]}, nil
}

type bigArgs struct {
	Bytes int `json:"bytes"`
}

func capsTool(context.Context, struct{}) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range []sdk.Capability{sdk.CapLog, sdk.CapConfig, sdk.CapClock, sdk.CapRandom, sdk.CapHTTP, sdk.CapKV} {
		out[string(c)] = sdk.Granted(c)
	}
	return out, nil
}

func logTool(_ context.Context, a struct {
	Message string `json:"message"`
}) (bool, error) {
	for _, l := range []sdk.Level{sdk.LevelDebug, sdk.LevelInfo, sdk.LevelWarn, sdk.LevelError} {
		sdk.Logf(l, "%s at %s", a.Message, l)
	}
	return true, nil
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:         "sdkprobe",
		Version:      "0.0.1",
		Description:  "Exercises the SDK in tests.",
		Capabilities: []sdk.Capability{sdk.CapLog, sdk.CapConfig, sdk.CapKV, sdk.CapHTTP},
		Tools: []sdk.Tool{
			sdk.NewTool("noop", "Does nothing.", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil }),
			sdk.NewRawTool("echo", "Returns its arguments.", nil, func(_ context.Context, a json.RawMessage) (any, error) { return a, nil }),
			sdk.NewTool("fail", "Fails with a code.", func(context.Context, struct{}) (int, error) {
				return 0, sdk.Errorf("probe_failed", "failed on purpose: %q", "quoted")
			}),
			sdk.NewTool("reject", "Rejects its arguments.", func(context.Context, struct{}) (int, error) {
				return 0, fmt.Errorf("%w: rejected on purpose", sdk.ErrInvalidArguments)
			}),
			sdk.NewTool("panic", "Panics.", func(context.Context, struct{}) (int, error) { panic(errors.New("probe panic")) }),
			sdk.NewTool("big", "Returns a string of the given size.", func(_ context.Context, a bigArgs) (string, error) {
				return strings.Repeat("x", a.Bytes), nil
			}),
			sdk.NewTool("caps", "Reports the granted capabilities.", capsTool),
			sdk.NewTool("log", "Logs at every level.", logTool),
			sdk.NewTool("config", "Reads config.", configTool),
			sdk.NewTool("kv", "Exercises the kv store.", kvTool),
			sdk.NewTool("fetch", "Fetches a URL.", fetchTool),
		},
	})
}

func main() {}
