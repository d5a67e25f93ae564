package llm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
)

// Example streams a tool call from the offline model through the adapter and accumulates its
// pieces by index, as the engine does.
func Example() {
	ctx := context.Background()
	run, err := offline.New(offline.Options{}).Start(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	defer run.Close()
	client, err := llm.New(llm.Config{Name: "offline", BaseURL: run.BaseURL})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	stream, err := client.Stream(ctx, engine.ModelRequest{
		Messages: []engine.Message{{Role: engine.RoleUser, Content: "What are 17*23 and 6 times 7?"}},
		Tools:    []engine.ToolDef{{Name: "calc.calculate", Description: "Evaluate arithmetic."}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	var names, args [2]strings.Builder
	for {
		ch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range ch.ToolCalls {
			names[d.Index].WriteString(d.Name)
			args[d.Index].WriteString(d.Arguments)
		}
		if ch.FinishReason != "" {
			fmt.Println("finish:", ch.FinishReason)
		}
		if ch.Usage != nil {
			fmt.Println("completion tokens:", ch.Usage.CompletionTokens)
		}
	}
	for i := range names {
		fmt.Println(i, names[i].String(), args[i].String())
	}
	// Output:
	// finish: tool_calls
	// completion tokens: 8
	// 0 calc.calculate {"expression":"17*23"}
	// 1 calc.calculate {"expression":"6*7"}
}

// ExampleFromEnv: with OPENAI_API_KEY unset, the default provider is the offline model.
func ExampleFromEnv() {
	providers, err := llm.FromEnv("http://127.0.0.1:8081/v1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer providers.Close()
	_, model, _ := providers.Model("")
	fmt.Println(providers.Default(), model)
}
