package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/agentfleet/fleet/engine"
	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/plugin"
)

// Metrics are the server's Prometheus metrics (docs/api.md, "Health and metrics"). Make them before
// the engine when plugin calls should be counted: [Metrics.Tools] wraps the engine's tools.
type Metrics struct {
	reg           *prometheus.Registry
	runsStarted   prometheus.Counter
	runsFinished  *prometheus.CounterVec
	events        prometheus.Counter
	pluginCalls   *prometheus.CounterVec
	pluginSeconds *prometheus.HistogramVec
	openStreams   *prometheus.GaugeVec
	wsConns       prometheus.Gauge
	slowClients   prometheus.Counter
}

// NewMetrics registers the server's metrics on reg. A nil reg means a new registry with the Go
// runtime and process collectors.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Metrics{
		reg: reg,
		runsStarted: prometheus.NewCounter(prometheus.CounterOpts{Name: "fleet_runs_started_total",
			Help: "Runs started through the server."}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleet_runs_finished_total",
			Help: "Runs the server saw end, by final status."}, []string{"status"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "fleet_events_total",
			Help: "Events emitted by runs the server started or resumed."}),
		pluginCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleet_plugin_calls_total",
			Help: "Tool calls into plugins, by plugin, tool and result."}, []string{"plugin", "tool", "result"}),
		pluginSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fleet_plugin_call_seconds",
			Help: "Duration of tool calls into plugins.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)},
			[]string{"plugin", "tool"}),
		openStreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fleet_open_streams",
			Help: "Run streams being served, by transport (sse, websocket)."}, []string{"transport"}),
		wsConns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fleet_websocket_connections",
			Help: "Open WebSocket connections."}),
		slowClients: prometheus.NewCounter(prometheus.CounterOpts{Name: "fleet_websocket_slow_clients_total",
			Help: "WebSocket connections closed (1008) because the client read too slowly for its queue."}),
	}
	reg.MustRegister(m.runsStarted, m.runsFinished, m.events, m.pluginCalls, m.pluginSeconds, m.openStreams, m.wsConns,
		m.slowClients)
	m.openStreams.WithLabelValues(transportSSE)
	m.openStreams.WithLabelValues(transportWS)
	return m
}

// Transports, the label of fleet_open_streams.
const (
	transportSSE = "sse"
	transportWS  = "websocket"
)

// Registry returns the registry the metrics are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// finishedStatus names the final status of each terminal event type.
var finishedStatus = map[event.Type]string{
	event.RunFinished:  "succeeded",
	event.RunFailed:    "failed",
	event.RunCancelled: "cancelled",
}

// observe counts a tracked run's events and its end.
func (m *Metrics) observe(evs []event.Event) {
	m.events.Add(float64(len(evs)))
	for _, e := range evs {
		if st, ok := finishedStatus[e.Type]; ok {
			m.runsFinished.WithLabelValues(st).Inc()
		}
	}
}

// Tools wraps the engine's tools so that every call is counted and timed in
// fleet_plugin_calls_total and fleet_plugin_call_seconds.
func (m *Metrics) Tools(t engine.Tools) engine.Tools { return &meteredTools{t: t, m: m} }

type meteredTools struct {
	t engine.Tools
	m *Metrics
}

func (mt *meteredTools) Lookup(name string) (engine.ToolInfo, bool) { return mt.t.Lookup(name) }

func (mt *meteredTools) Call(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	start := time.Now()
	out, err := mt.t.Call(ctx, name, args)
	pl, tool, ok := strings.Cut(name, ".")
	if !ok {
		pl, tool = "", name
	}
	mt.m.pluginSeconds.WithLabelValues(pl, tool).Observe(time.Since(start).Seconds())
	mt.m.pluginCalls.WithLabelValues(pl, tool, callResult(ctx, err)).Inc()
	return out, err
}

// callResults classifies failed calls, in the order tested.
var callResults = []struct {
	err    error
	result string
}{
	{plugin.ErrTimeout, "timeout"},
	{plugin.ErrTrap, "trap"},
	{plugin.ErrInvalidArguments, "invalid_arguments"},
	{plugin.ErrToolNotFound, "not_found"},
	{plugin.ErrPlugin, "error"},
}

func callResult(ctx context.Context, err error) string {
	if err == nil {
		return "ok"
	}
	if ctx.Err() != nil {
		return "cancelled"
	}
	for _, r := range callResults {
		if errors.Is(err, r.err) {
			return r.result
		}
	}
	return "failed"
}
