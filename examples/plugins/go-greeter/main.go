// Command go-greeter is the smallest complete Fleet tool plugin in Go: one tool, "greet", that
// greets someone by name. Build it as a WebAssembly reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o greeter.wasm .
package main

import (
	"context"
	"strings"

	"github.com/agentfleet/fleet/sdk"
)

// greetArgs are the tool's arguments; the JSON Schema the host sees is derived from them.
type greetArgs struct {
	Name     string `json:"name" desc:"Who to greet."`
	Language string `json:"language,omitempty" enum:"en,fr,de" desc:"Language of the greeting; default en."`
}

// greeting is the tool's result.
type greeting struct {
	Greeting string `json:"greeting"`
}

var hello = map[string]string{"en": "Hello", "fr": "Bonjour", "de": "Hallo"}

func greet(_ context.Context, a greetArgs) (greeting, error) {
	name := strings.TrimSpace(a.Name)
	if name == "" {
		return greeting{}, sdk.Errorf("empty_name", "name must not be empty")
	}
	word, ok := hello[a.Language]
	if !ok {
		word = hello["en"]
	}
	return greeting{Greeting: word + ", " + name + "!"}, nil
}

// init registers the plugin: a WebAssembly reactor runs package initialisers, never main.
func init() {
	sdk.Register(sdk.Plugin{
		Name:        "greeter",
		Version:     "1.0.0",
		Description: "Greets people.",
		Tools: []sdk.Tool{
			sdk.NewTool("greet", "Greet someone by name.", greet),
		},
	})
}

func main() {}
