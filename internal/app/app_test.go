package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/agentfleet/fleet/internal/app"
)

// TestOpenContextBoundsOpeningOnly: the context given to Open ending (fleet serve's signal
// context, at SIGTERM) must not stop what the App runs: the offline model keeps answering until
// Close, so runs still live stop through the engine (resumably), not on a refused connection.
func TestOpenContextBoundsOpeningOnly(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, app.Options{DataDir: t.TempDir(), NoPlugins: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		resp, err := client.Get(a.Offline.BaseURL + "/models")
		if err != nil {
			t.Fatalf("request %d after Open's context ended: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Get(a.Offline.BaseURL + "/models"); err == nil {
		resp.Body.Close()
		t.Fatal("the offline model still answers after Close")
	}
}
