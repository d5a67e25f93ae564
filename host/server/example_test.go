package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/workflow"
	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
	"github.com/agentfleet/fleet/host/server"
	"github.com/agentfleet/fleet/host/store/sqlite"
)

// A server for an engine on the offline model and SQLite; a run streamed as SSE in the engine's
// own format, each frame with its resumable id.
func Example() {
	ctx := context.Background()
	model, _ := offline.New(offline.Options{}).Start(ctx, "127.0.0.1:0")
	defer model.Close()
	models, _ := llm.NewProviders("offline", llm.Config{Name: "offline", BaseURL: model.BaseURL})
	defer models.Close()
	dir, _ := os.MkdirTemp("", "fleet-example")
	defer os.RemoveAll(dir)
	st, _ := sqlite.Open(ctx, filepath.Join(dir, "fleet.db"))
	defer st.Close()
	wf, _ := workflow.Parse("echo.yaml", []byte(echoWorkflow))
	eng, _ := engine.New(engine.Config{Store: st, Models: models, Workflows: engine.WorkflowMap{"echo": wf}, Logger: quietLog()})
	defer eng.Close(ctx)

	srv, _ := server.New(server.Config{Engine: eng, Logger: quietLog()})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)

	body := `{"threadId":"thr_ex","runId":"run_ex","messages":[{"id":"u1","role":"user","content":"Say exactly: Hello, world"}]}`
	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/workflows/echo/runs?format=fleet", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			fmt.Print(id, " ")
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var e struct{ Type string }
			json.Unmarshal([]byte(data), &e)
			fmt.Println(e.Type)
		}
	}
	// Output:
	// run_ex:1 run.started
	// run_ex:2 step.started
	// run_ex:3 message.start
	// run_ex:4 message.delta
	// run_ex:5 message.delta
	// run_ex:6 message.end
	// run_ex:7 usage
	// run_ex:8 step.finished
	// run_ex:9 run.finished
}
