// Package server serves the engine over HTTP and WebSocket (docs/api.md) with Fiber: runs streamed
// as Server-Sent Events in the client's format (AG-UI by default), resumable streams, run control,
// threads, workflows, plugins, health and Prometheus metrics, a WebSocket chat protocol, the web
// page, and hot loading of a plugin directory.
//
// Runs belong to no connection: a stream subscribes to a run, and a client that goes away only
// stops its own stream. Every frame of a stream carries its run's seq, so a client that reconnects
// resumes exactly where it was (Last-Event-ID) without starting a second run.
//
//	srv, err := server.New(server.Config{Engine: eng, Plugins: plugins})
//	go srv.Listen(ctx, "127.0.0.1:8080") // serves until ctx ends, then shuts down
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/store"
	"github.com/agentfleet/fleet/engine/workflow"
	"github.com/agentfleet/fleet/host/mapping"
	"github.com/agentfleet/fleet/host/plugin"
)

// Defaults of [Config].
const (
	DefaultHeartbeat          = 15 * time.Second
	DefaultPingInterval       = 20 * time.Second
	DefaultPongTimeout        = 60 * time.Second
	DefaultStreamWriteTimeout = 30 * time.Second
	DefaultShutdownTimeout    = 10 * time.Second
	DefaultMaxBodyBytes       = 1 << 20
	DefaultWSReadLimit        = 1 << 20
	DefaultWSQueue            = 256
	DefaultPluginDebounce     = 250 * time.Millisecond
)

// bodyReadFactor: bodies up to this many times Config.MaxBodyBytes are read before the 413.
const bodyReadFactor = 4

// WorkflowLister lists the workflows GET /v1/workflows shows (internal/app's Workflows).
type WorkflowLister interface {
	List() []*workflow.Workflow
}

// PluginProblem is a plugin file that did not load, with why; GET /v1/plugins shows it.
type PluginProblem struct {
	File string
	Err  string
}

// Config configures a [Server]. Engine is required; everything else has a default.
type Config struct {
	// Engine runs the workflows.
	Engine *engine.Engine
	// Store defaults to Engine.Store().
	Store store.Store
	// Plugins is the plugin registry GET /v1/plugins lists and mapper plugins come from; may be nil.
	Plugins *plugin.Registry
	// Mappers finds a stream's mapper by ?format=; default mapping.NewRegistry(Plugins).
	Mappers *mapping.Registry
	// Workflows lists the workflows for GET /v1/workflows; nil lists none.
	Workflows WorkflowLister
	// Token, when set, is required as "Authorization: Bearer <token>" on /v1/* (or ?token= on the
	// WebSocket and on GET /v1/runs/{id}/events, for browsers).
	Token string
	// AllowedOrigins are the origins allowed besides the server's own: CORS on /v1/* and the
	// WebSocket's Origin check. Empty: same origin only. "*" allows any.
	AllowedOrigins []string
	// MaxRunsPerClient bounds the runs one client (its remote IP) has running at once; 0: no bound.
	MaxRunsPerClient int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics default to NewMetrics(nil).
	Metrics *Metrics
	// Web is served at "/"; default the embedded web page (web/).
	Web fs.FS
	// PluginsDir, when set with PluginHost, is watched: plugins dropped in, replaced or removed
	// are loaded, swapped or unloaded without a restart.
	PluginsDir string
	// PluginHost loads the plugins of PluginsDir.
	PluginHost *plugin.Host
	// PluginProblems are plugin files that failed to load before the server started.
	PluginProblems []PluginProblem
	// PluginDebounce is how long a plugin file must be quiet before it is (re)loaded (default 250 ms).
	PluginDebounce time.Duration
	// Heartbeat is the silence after which an SSE stream gets a ": ping" comment (default 15 s).
	Heartbeat time.Duration
	// PingInterval is how often a WebSocket is pinged (default 20 s); PongTimeout how long the
	// server waits for any frame or pong before dropping it (default 60 s).
	PingInterval, PongTimeout time.Duration
	// StreamWriteTimeout bounds each write of a stream to a client (default 30 s): a client that
	// reads nothing for that long is dropped. It is per write, never a deadline for the stream.
	StreamWriteTimeout time.Duration
	// ShutdownTimeout bounds the shutdown Listen does when its context ends (default 10 s).
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds request bodies (default 1 MiB; larger gets 413). A body of up to
	// 4 times this is read to its end before the 413, so the client sees the answer
	// and the connection stays usable; a larger one is refused from its Content-Length and the
	// connection closed (a client still writing it may see a reset instead of the 413).
	MaxBodyBytes int
	// WSReadLimit bounds WebSocket messages (default 1 MiB; larger closes with 1009).
	WSReadLimit int64
	// WSQueue bounds the batches of frames waiting for a WebSocket's writer (default 256); a client
	// that lets it fill is disconnected (1008).
	WSQueue int
}

func (c Config) withDefaults() (Config, error) {
	if c.Engine == nil {
		return c, errors.New("server: Config.Engine is required")
	}
	if c.Store == nil {
		c.Store = c.Engine.Store()
	}
	if c.Mappers == nil {
		c.Mappers = mapping.NewRegistry(c.Plugins)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.Web == nil {
		c.Web = defaultWeb()
	}
	if c.PluginsDir != "" && (c.PluginHost == nil || c.Plugins == nil) {
		return c, errors.New("server: Config.PluginsDir needs PluginHost and Plugins")
	}
	setDefault(&c.PluginDebounce, DefaultPluginDebounce)
	setDefault(&c.Heartbeat, DefaultHeartbeat)
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.PongTimeout, DefaultPongTimeout)
	setDefault(&c.StreamWriteTimeout, DefaultStreamWriteTimeout)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.WSReadLimit, DefaultWSReadLimit)
	setDefault(&c.WSQueue, DefaultWSQueue)
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// errShutdown is the cause of the streams' context when the server shuts down.
var errShutdown = errors.New("server shutting down")

// Server is Fleet's HTTP and WebSocket server. Make one with [New].
type Server struct {
	cfg     Config
	app     *fiber.App
	eng     *engine.Engine
	log     *slog.Logger
	metrics *Metrics
	limits  *limiter
	plugins *pluginDir

	// ctx is the streams' and trackers' context: cancelled with errShutdown by Shutdown.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// streams counts SSE streams and WebSocket connections; trackers the run trackers.
	streams  *activeSet
	trackers *activeSet

	// firstSlow is closed when the server first disconnects a WebSocket client for being slow.
	firstSlow     chan struct{}
	firstSlowOnce sync.Once

	serving      atomic.Bool
	closing      atomic.Bool
	shutdownOnce sync.Once
	shutdownErr  error
}

// New returns a server for cfg. With cfg.PluginsDir it starts watching that directory; Shutdown
// stops it.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &Server{cfg: cfg, eng: cfg.Engine, log: cfg.Logger, metrics: cfg.Metrics, ctx: ctx, cancel: cancel, firstSlow: make(chan struct{}),
		limits: newLimiter(cfg.MaxRunsPerClient), streams: newActiveSet(), trackers: newActiveSet()}
	s.app = fiber.New(fiber.Config{
		AppName:               "fleet",
		DisableStartupMessage: true,
		BodyLimit:             cfg.MaxBodyBytes * bodyReadFactor,
		ErrorHandler:          s.handleError,
		// No WriteTimeout: it is an absolute deadline that cuts streams (StreamWriteTimeout
		// bounds each write instead). Read and idle timeouts let shutdown close idle connections.
		ReadTimeout:     30 * time.Second,
		IdleTimeout:     120 * time.Second,
		ReadBufferSize:  16 << 10,
		WriteBufferSize: 16 << 10,
	})
	s.app.Server().ContinueHandler = refuseOversizeEarly(cfg.MaxBodyBytes)
	s.routes()
	s.plugins = newPluginDir(s)
	if cfg.PluginsDir != "" {
		if err := s.plugins.start(); err != nil {
			s.plugins.stop()
			cancel(err)
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) routes() {
	s.app.Use(recover.New(), s.bodyLimit)
	if len(s.cfg.AllowedOrigins) > 0 {
		s.app.Use("/v1", cors.New(cors.Config{
			AllowOriginsFunc: s.allowedOrigin,
			AllowMethods:     "GET,POST,DELETE,OPTIONS",
			AllowHeaders:     "Authorization,Content-Type,Last-Event-ID,Accept",
		}))
	}
	v1 := s.app.Group("/v1", s.auth)
	v1.Post("/workflows/:workflow/runs", s.postRun)
	v1.Get("/runs/:id/events", s.getEvents)
	v1.Get("/runs/:id", s.getRun)
	v1.Post("/runs/:id/cancel", s.cancelRun)
	v1.Post("/runs/:id/approvals/:approval", s.answerApproval)
	v1.Get("/threads", s.listThreads)
	v1.Get("/threads/:id", s.getThread)
	v1.Delete("/threads/:id", s.deleteThread)
	v1.Get("/workflows", s.listWorkflows)
	v1.Get("/plugins", s.listPlugins)
	v1.Get("/chat", s.wsGate, websocket.New(s.serveWS, websocket.Config{
		ReadBufferSize: 4096, WriteBufferSize: 4096, RecoverHandler: s.wsRecover,
	}))
	v1.Use(func(c *fiber.Ctx) error {
		return newError(http.StatusNotFound, codeNotFound, "no endpoint %s %s", c.Method(), c.Path())
	})
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.app.Get("/readyz", s.readyz)
	s.app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	s.app.Use("/", filesystem.New(filesystem.Config{Root: http.FS(s.cfg.Web), Index: "index.html"}))
}

// refuseOversizeEarly answers a request that says "Expect: 100-continue" with a body over limit
// 417 before the client sends it (fasthttp would otherwise say "100 Continue" and stop reading at
// the limit, a reset for the client). The answer closes the connection: a client that got a final
// status without "Connection: close" must send the body anyway (Go's does), which nobody reads.
func refuseOversizeEarly(limit int) func(*fasthttp.RequestHeader) bool {
	return func(h *fasthttp.RequestHeader) bool {
		if h.ContentLength() <= limit {
			return true
		}
		h.SetConnectionClose() // fasthttp closes after answering a request that asked it to
		return false
	}
}

// bodyLimit answers 413 to a body over MaxBodyBytes that fasthttp has read to its end (up to
// 4 times the limit), so the client gets the answer rather than a reset.
func (s *Server) bodyLimit(c *fiber.Ctx) error {
	if len(c.Request().Body()) > s.cfg.MaxBodyBytes {
		return newError(http.StatusRequestEntityTooLarge, codeTooLarge,
			"the request body is over %d bytes", s.cfg.MaxBodyBytes)
	}
	return c.Next()
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if !s.serving.Load() || s.closing.Load() {
		return c.Status(http.StatusServiceUnavailable).SendString("not ready")
	}
	return c.SendString("ready")
}

// Serve serves on ln until Shutdown. It returns nil after a shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if s.closing.Load() {
		ln.Close()
		return nil
	}
	s.serving.Store(true)
	if err := s.app.Listener(ln); err != nil && !s.closing.Load() {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Listen serves on addr until ctx ends, then shuts down within Config.ShutdownTimeout.
func (s *Server) Listen(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = s.Shutdown(sctx)
	return errors.Join(err, <-errc)
}

// Shutdown stops the server: it stops accepting connections and watching the plugin directory,
// tells every open stream it is shutting down (SSE: a ": shutdown" comment and an error frame with
// code "shutdown"; WebSocket: {"type":"shutdown"} and close 1001), waits for the streams to end
// and the connections to close, and returns. Runs go on: closing the engine (so that they
// checkpoint) is the caller's job, after Shutdown. If ctx ends first, Shutdown returns its error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.plugins.stop()
	s.streams.close()
	s.cancel(errShutdown)
	var errs []error
	if err := s.streams.wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("server: streams still open: %w", err))
	}
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("server: %w", err))
	}
	s.trackers.close()
	if err := s.trackers.wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("server: run trackers: %w", err))
	}
	return errors.Join(errs...)
}

// activeSet counts running things (streams, trackers) that Shutdown waits for. Once closed it
// admits nothing new.
type activeSet struct {
	mu     sync.Mutex
	n      int
	closed bool
	zero   chan struct{}
}

func newActiveSet() *activeSet { return &activeSet{} }

// add admits one more; false once closed.
func (a *activeSet) add() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.n++
	return true
}

func (a *activeSet) done() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n--
	if a.n == 0 && a.zero != nil {
		close(a.zero)
		a.zero = nil
	}
}

func (a *activeSet) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
}

// wait blocks until nothing is running or ctx ends.
func (a *activeSet) wait(ctx context.Context) error {
	a.mu.Lock()
	if a.n == 0 {
		a.mu.Unlock()
		return nil
	}
	if a.zero == nil {
		a.zero = make(chan struct{})
	}
	ch, n := a.zero, a.n
	a.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d still running: %w", n, ctx.Err())
	}
}
