package llm_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
)

// startHandler serves h on 127.0.0.1 until the test ends and returns its base URL.
func startHandler(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Shutdown with a done context: close idle connections, then force-close the rest
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	})
	return "http://" + ln.Addr().String() + "/v1"
}
