package offline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/agentfleet/fleet/host/offline"
)

// ask posts a non-streaming chat completion and prints the reply.
func ask(client *http.Client, baseURL, body string) {
	resp, err := client.Post(baseURL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
		return
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function struct{ Name, Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		log.Fatal(err)
	}
	m := out.Choices[0].Message
	for _, c := range m.ToolCalls {
		fmt.Println("call", c.Function.Name, c.Function.Arguments)
	}
	if m.Content != nil {
		fmt.Println(*m.Content)
	}
}

// Example shows the offline model's policy over plain HTTP: a tool call, an answer from the
// tool's result, and an injected fault.
func Example() {
	srv := offline.New(offline.Options{})
	run, err := srv.Start(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	defer run.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	tools := `"tools":[{"type":"function","function":{"name":"now"}}]`
	ask(client, run.BaseURL, `{"messages":[{"role":"user","content":"What time is it in Tokyo?"}],`+tools+`}`)
	ask(client, run.BaseURL, `{"messages":[{"role":"user","content":"What time is it in Tokyo?"},
		{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c1","content":"{\"time\":\"2026-12-05T05:48:11+09:00\",\"timezone\":\"Asia/Tokyo\"}"}],`+tools+`}`)
	ask(client, run.BaseURL, `{"messages":[{"role":"system","content":"You are the writer."},{"role":"user","content":"A haiku about rain"}]}`)

	srv.InjectFault(offline.Fault{Kind: offline.FaultHTTP, Status: 429, Message: "slow down"})
	ask(client, run.BaseURL, `{"messages":[{"role":"user","content":"hi"}]}`)
	fmt.Println("completed:", srv.Requests(), "received:", srv.Received())
	// Output:
	// call now {"timezone":"Asia/Tokyo"}
	// It is 2026-12-05T05:48:11+09:00 in Asia/Tokyo.
	// As the writer: here is my response to "A haiku about rain".
	// 429 {"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}
	// completed: 3 received: 4
}
