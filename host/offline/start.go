package offline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultAddr is where [Server.Start] listens when given no address: a free port on loopback.
const DefaultAddr = "127.0.0.1:0"

// Running is a server listening on a TCP address.
type Running struct {
	// BaseURL is the OpenAI base URL to configure clients with: "http://HOST:PORT/v1".
	BaseURL string
	// Addr is the address listened on, "HOST:PORT".
	Addr string

	srv    *http.Server
	served chan struct{}
	stop   func() bool
	once   sync.Once
	// conns counts open connections, so Close returns only once every connection goroutine
	// (handler included) has ended.
	conns sync.WaitGroup
}

// Start listens on addr (default [DefaultAddr]) and serves s until ctx is done or Close is
// called, whichever comes first.
func (s *Server) Start(ctx context.Context, addr string) (*Running, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("offline model: listen on %s: %w", addr, err)
	}
	r := &Running{
		BaseURL: "http://" + ln.Addr().String() + "/v1",
		Addr:    ln.Addr().String(),
		served:  make(chan struct{}),
	}
	// No WriteTimeout: it would cut long streams.
	r.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: r.connState}
	go func() {
		defer close(r.served)
		_ = r.srv.Serve(ln) // returns ErrServerClosed after Close
	}()
	r.stop = context.AfterFunc(ctx, func() { _ = r.Close() })
	return r, nil
}

// connState counts connections: StateNew is reported by the Serve goroutine before the
// connection's goroutine starts, and StateClosed or StateHijacked as it ends.
func (r *Running) connState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		r.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		r.conns.Done()
	}
}

// Close stops the server: it closes the listener and every connection (ending streams and hung
// requests) and returns once every connection's goroutine has ended. It is safe to call more
// than once and concurrently.
func (r *Running) Close() error {
	var err error
	r.once.Do(func() {
		r.stop()
		err = r.srv.Close()
		<-r.served // no StateNew after Serve returned, so Wait below cannot race an Add
		r.conns.Wait()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	})
	return err
}
