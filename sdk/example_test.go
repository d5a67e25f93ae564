package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/agentfleet/fleet/sdk"
)

// A complete tool plugin. In a real plugin this is the main package: Register runs in init (a
// WebAssembly reactor never runs main.main) and main is empty.

type greetArgs struct {
	Name    string `json:"name" desc:"Who to greet."`
	Excited bool   `json:"excited,omitempty" desc:"End with an exclamation mark."`
}

type greeting struct {
	Greeting string `json:"greeting"`
}

// greet reads its greeting word from the manifest's config (capability "config"), default "Hello".
func greet(_ context.Context, a greetArgs) (greeting, error) {
	word, err := sdk.ConfigString("greeting", "Hello")
	if err != nil {
		return greeting{}, err
	}
	end := "."
	if a.Excited {
		end = "!"
	}
	return greeting{Greeting: word + ", " + a.Name + end}, nil
}

type divideArgs struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

// divide fails with a tool error, which the model sees, when asked to divide by zero.
func divide(_ context.Context, a divideArgs) (float64, error) {
	if a.B == 0 {
		return 0, sdk.Errorf("division_by_zero", "cannot divide %g by zero", a.A)
	}
	return a.A / a.B, nil
}

type rememberArgs struct {
	Note string `json:"note" desc:"Text to remember."`
}

type remembered struct {
	Notes int `json:"notes"`
}

// remember keeps notes in the plugin's kv store (capability "kv") and logs (capability "log").
func remember(_ context.Context, a rememberArgs) (remembered, error) {
	keys, err := sdk.KVList("note/")
	if err != nil {
		return remembered{}, err
	}
	if err := sdk.KVSet(fmt.Sprintf("note/%04d", len(keys)), a.Note); err != nil {
		return remembered{}, err
	}
	sdk.Logf(sdk.LevelInfo, "remembered note %d", len(keys)+1)
	return remembered{Notes: len(keys) + 1}, nil
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:         "demo",
		Version:      "1.0.0",
		Description:  "Shows the SDK.",
		Capabilities: []sdk.Capability{sdk.CapConfig, sdk.CapKV, sdk.CapLog},
		Tools: []sdk.Tool{
			sdk.NewTool("greet", "Greet someone by name.", greet),
			sdk.NewTool("divide", "Divide a by b.", divide),
			sdk.NewTool("remember", "Remember a note.", remember),
		},
	})
}

// Example shows a complete tool plugin (the declarations above), called in-process with Invoke as a
// native test would.
func Example() {
	out, err := sdk.Invoke(context.Background(), "greet", []byte(`{"name":"Ada","excited":true}`))
	fmt.Println(string(out), err)
	// Output: {"greeting":"Hello, Ada!"} <nil>
}

// Example_toolError shows a tool error: the caller gets the message and the code.
func Example_toolError() {
	_, err := sdk.Invoke(context.Background(), "divide", []byte(`{"a":1,"b":0}`))
	var te *sdk.ToolError
	if errors.As(err, &te) {
		fmt.Printf("code %s: %s\n", te.Code, te.Message)
	}
	_, err = sdk.Invoke(context.Background(), "divide", []byte(`{"a":1,"c":0}`))
	fmt.Println(errors.Is(err, sdk.ErrInvalidArguments), err)
	// Output:
	// code division_by_zero: cannot divide 1 by zero
	// true sdk: invalid arguments: json: unknown field "c"
}

// Example_capabilities shows capabilities served by the stand-in host: config values, the kv store
// and log messages (sent to stdout here; stderr by default).
func Example_capabilities() {
	defer sdk.SetLocalHost(sdk.LocalHost{
		Config:    map[string]any{"greeting": "Bonjour"},
		LogOutput: os.Stdout,
	})()
	ctx := context.Background()
	out, _ := sdk.Invoke(ctx, "greet", []byte(`{"name":"Ada"}`))
	fmt.Println(string(out))
	for _, note := range []string{"buy milk", "call Bob"} {
		out, _ = sdk.Invoke(ctx, "remember", []byte(`{"note":"`+note+`"}`))
		fmt.Println(string(out))
	}
	second, _, _ := sdk.KVGet("note/0001")
	fmt.Println(second)

	sdk.SetLocalHost(sdk.LocalHost{Grants: []sdk.Capability{}})
	_, err := sdk.Invoke(ctx, "remember", []byte(`{"note":"x"}`))
	fmt.Println(errors.Is(err, sdk.ErrDenied), err)
	// Output:
	// {"greeting":"Bonjour, Ada."}
	// INFO: remembered note 1
	// {"notes":1}
	// INFO: remembered note 2
	// {"notes":2}
	// call Bob
	// true kv list: capability kv not granted
}

// ExampleNewTool shows the parameters schema NewTool derives from the arguments type.
func ExampleNewTool() {
	type args struct {
		Query string   `json:"query" desc:"What to search for."`
		Limit int      `json:"limit,omitempty" desc:"At most this many results; default 10."`
		Sort  string   `json:"sort,omitempty" enum:"relevance,date"`
		Tags  []string `json:"tags,omitempty"`
	}
	tool := sdk.NewTool("search", "Search the notes.", func(_ context.Context, a args) ([]string, error) {
		return nil, nil
	})
	fmt.Println(string(tool.Parameters()))
	// Output: {"type":"object","properties":{"query":{"type":"string","description":"What to search for."},"limit":{"type":"integer","description":"At most this many results; default 10."},"sort":{"type":"string","enum":["relevance","date"]},"tags":{"type":"array","items":{"type":"string"}}},"required":["query"],"additionalProperties":false}
}
