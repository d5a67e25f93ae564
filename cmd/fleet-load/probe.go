package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is the server's and the load's state at one moment.
type sample struct {
	At          time.Time `json:"at"`
	RSS         int64     `json:"rss_bytes"`          // server resident set (/proc or /metrics)
	ServerCPU   float64   `json:"server_cpu_s"`       // server CPU time so far
	LoadCPU     float64   `json:"loadgen_cpu_s"`      // this tool's CPU time so far
	MachineCPU  float64   `json:"machine_cpu_s"`      // every process's CPU time so far
	HeapStack   float64   `json:"heap_stack_bytes"`   // server Go heap and stacks in use
	Goroutines  float64   `json:"goroutines"`         // go_goroutines of the server
	OpenStreams float64   `json:"open_streams"`       // fleet_open_streams, all transports
	WSConns     float64   `json:"websocket_conns"`    // fleet_websocket_connections
	Frames      int64     `json:"frames"`             // frames received so far
	Tokens      int64     `json:"tokens"`             // text deltas received so far
	Runs        int64     `json:"runs_done"`          // runs ended so far
	Streams     int       `json:"client_streams_now"` // streams this tool has open
	MetricsOK   bool      `json:"metrics_ok"`         // the server's /metrics answered
}

// probe reads a server's state: its process (when the tool knows its pid) and its /metrics.
type probe struct {
	pid    int
	base   string
	client *http.Client
}

// close releases the probe's connections.
func (p *probe) close() { p.client.CloseIdleConnections() }

func newProbe(pid int, base string) *probe {
	return &probe{pid: pid, base: base, client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}}
}

// metricsOf are the /metrics values the probe reads; a metric with several series is summed.
var metricsOf = []string{"go_goroutines", "fleet_open_streams", "fleet_websocket_connections",
	"process_resident_memory_bytes", "process_cpu_seconds_total", "go_memstats_heap_inuse_bytes",
	"go_memstats_stack_inuse_bytes"}

// promValues reads the named metrics from Prometheus text, summing each one's series.
func promValues(r io.Reader, names []string) (map[string]float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := map[string]float64{}
	for _, n := range names {
		f, ok := fams[n]
		if !ok {
			continue
		}
		var sum float64
		for _, m := range f.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetUntyped() != nil:
				sum += m.GetUntyped().GetValue()
			}
		}
		out[n] = sum
	}
	return out, nil
}

func (p *probe) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: http %d", resp.StatusCode)
	}
	return promValues(resp.Body, metricsOf)
}

// take samples the server now. Process figures come from /proc when the pid is known, else
// from the server's own process metrics.
func (p *probe) take(ctx context.Context, col *collector) sample {
	s := sample{At: time.Now(), LoadCPU: selfCPU(), MachineCPU: machineCPU()}
	if m, err := p.metrics(ctx); err == nil {
		s.MetricsOK = true
		s.Goroutines, s.OpenStreams, s.WSConns = m["go_goroutines"], m["fleet_open_streams"], m["fleet_websocket_connections"]
		s.RSS, s.ServerCPU = int64(m["process_resident_memory_bytes"]), m["process_cpu_seconds_total"]
		s.HeapStack = m["go_memstats_heap_inuse_bytes"] + m["go_memstats_stack_inuse_bytes"]
	}
	if p.pid > 0 {
		if rss, err := procRSS(p.pid); err == nil {
			s.RSS = rss
		}
		if cpu, err := procCPU(p.pid); err == nil {
			s.ServerCPU = cpu
		}
	}
	if col != nil {
		s.Frames, s.Tokens, s.Runs = col.frames.Load(), col.tokens.Load(), col.runs.Load()
		col.mu.Lock()
		s.Streams = col.streamsOpen
		col.mu.Unlock()
	}
	return s
}

// waitFor polls the server's metrics (there is no event to wait on) until cond holds or the
// timeout passes; it returns the last sample whose metrics answered (or the last one) and
// whether cond held.
func (p *probe) waitFor(ctx context.Context, timeout time.Duration, cond func(sample) bool) (sample, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var good sample
	for {
		s := p.take(ctx, nil)
		if s.MetricsOK || !good.MetricsOK {
			good = s
		}
		if cond(s) {
			return s, true
		}
		select {
		case <-ctx.Done():
			return good, false
		case <-tick.C:
		}
	}
}
