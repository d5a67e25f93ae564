package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// trialOptions are what every trial of a command shares.
type trialOptions struct {
	URL      string // a running server; "" with Spawn
	PID      int    // its pid, when known, for /proc figures
	Spawn    *spawnConfig
	IdleWS   int    // open this many idle WebSocket connections first and measure them
	PprofDir string // save the server's profiles here (spawned with pprof)
	Progress io.Writer
	// QuietBelow: wait (at most QuietMax) before each trial until the machine's busy CPU is
	// below this many cores; 0: do not wait.
	QuietBelow float64
	QuietMax   time.Duration
}

// trialResult is one load against one server.
type trialResult struct {
	Label       string             `json:"label"`
	Rep         int                `json:"rep"`
	Metrics     map[string]float64 `json:"metrics"`
	Dists       map[string]Dist    `json:"distributions"`
	Errors      countList          `json:"errors"`
	Truncations countList          `json:"truncations"`
	Samples     []sample           `json:"samples"`
	Profiles    []string           `json:"profiles,omitempty"`
}

// runTrial starts a server (or uses the given one), measures it idle, optionally measures idle
// WebSocket connections, runs the load and measures the server after it.
func runTrial(ctx context.Context, to trialOptions, lc loadConfig, rep int) (*trialResult, error) {
	res := &trialResult{Label: lc.label(), Rep: rep, Metrics: map[string]float64{}, Dists: map[string]Dist{}}
	waitQuietBefore(ctx, to, res)
	base, pid, pprofURL, stop, err := to.server(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	lc.Base = base
	pr := newProbe(pid, lc.Base)
	defer pr.close()
	if err := warmUp(ctx, lc); err != nil {
		return nil, fmt.Errorf("warm-up run: %w", err)
	}
	idle := pr.take(ctx, nil)
	res.Metrics["server_rss_idle_mb"] = mb(idle.RSS)
	if idle.MetricsOK {
		res.Metrics["goroutines_idle"] = idle.Goroutines
	}
	var profiles profiler
	if pprofURL != "" && to.PprofDir != "" {
		profiles = profiler{url: pprofURL, dir: to.PprofDir, prefix: fmt.Sprintf("%s-%s-%d-%s-rep%d", lc.Transport, lc.Format, lc.Streams, lc.Delay, rep)}
	}
	if to.IdleWS > 0 {
		if err := measureIdleWS(ctx, pr, lc, to.IdleWS, res, &profiles); err != nil {
			return nil, err
		}
	}
	col, samples, win := runLoad(ctx, lc, pr, &profiles)
	res.Samples = samples
	res.Profiles = profiles.saved
	// Connections the load left idle close on their own; wait (bounded) for the server's
	// goroutines to come back near the idle count (a few kept-alive connections to the offline
	// model may stay), and report where they are: a leak of even one per stream shows.
	after, _ := pr.waitFor(ctx, 20*time.Second, func(s sample) bool {
		return s.MetricsOK && s.OpenStreams == 0 && s.WSConns == 0 && s.Goroutines <= idle.Goroutines+afterSlack
	})
	if profiles.url != "" {
		profiles.fetch(ctx, "goroutine-after", "/debug/pprof/goroutine?debug=1")
		res.Profiles = profiles.saved
	}
	if after.MetricsOK {
		res.Metrics["goroutines_after"] = after.Goroutines
	}
	summarize(res, col, samples, win)
	return res, nil
}

// waitQuietBefore waits, with QuietBelow, until the machine is quiet, and records how busy it was.
func waitQuietBefore(ctx context.Context, to trialOptions, res *trialResult) {
	if to.QuietBelow <= 0 {
		return
	}
	busy, waited, ok := waitQuiet(ctx, to.QuietBelow, to.QuietMax)
	res.Metrics["quiet_wait_s"], res.Metrics["busy_before_cores"] = waited.Seconds(), busy
	if !ok {
		fmt.Fprintf(to.Progress, "fleet-load: the machine stayed busy (%.2f cores) for %s: measuring anyway\n", busy, waited.Round(time.Second))
	}
}

// server spawns the server of a trial, or names the given one: its base URL, pid (0: unknown),
// pprof URL ("" without) and a stop function.
func (to trialOptions) server(ctx context.Context) (base string, pid int, pprofURL string, stop func(), err error) {
	if to.Spawn == nil {
		return to.URL, to.PID, "", func() {}, nil
	}
	s, err := spawn(ctx, *to.Spawn)
	if err != nil {
		return "", 0, "", nil, err
	}
	stop = func() {
		if err := s.stop(); err != nil {
			fmt.Fprintln(to.Progress, "fleet-load:", err)
		}
	}
	return s.base, s.pid, s.pprof, stop, nil
}

// afterSlack is how many goroutines above the idle count the server may keep after a load
// (kept-alive connections between the engine and the offline model, each a pair).
const afterSlack = 8

// warmUp runs one run on one stream, outside the measurement, so that the first runs measured
// do not pay for first-use costs (a mapper plugin's first instance, caches).
func warmUp(ctx context.Context, lc loadConfig) error {
	col := newCollector()
	w := newWorker(lc, col, newSSEClient(1), newDialer())
	defer w.close()
	w.one(ctx)
	if col.ok != 1 {
		return fmt.Errorf("%v %v", sortedCounts(col.errors), sortedCounts(col.truncations))
	}
	return nil
}

func newWorker(lc loadConfig, col *collector, client *http.Client, dialer *websocket.Dialer) worker {
	exp, hasExp := expectedAnswer(lc.Message)
	chk := runCheck{spec: formats[lc.Format], delay: lc.Delay, expect: exp, hasExp: hasExp}
	if lc.Transport == "ws" {
		return newWSWorker(lc, dialer, col, chk)
	}
	return newSSEWorker(lc, client, col, chk)
}

// window is the part of the load when every stream was open.
type window struct {
	start, end time.Time
}

// runLoad opens lc.Streams streams over lc.Ramp, each running runs until lc.Runs are done or
// lc.Duration after the ramp has passed, and samples the server every 500 ms meanwhile.
func runLoad(ctx context.Context, lc loadConfig, pr *probe, prof *profiler) (*collector, []sample, window) {
	col := newCollector()
	client := newSSEClient(lc.Streams)
	defer client.CloseIdleConnections()
	dialer := newDialer()
	start := time.Now()
	win := window{start: start.Add(lc.Ramp)}
	var stopAt time.Time
	if lc.Duration > 0 {
		stopAt = win.start.Add(lc.Duration)
	}
	// Hard bound: nothing runs past the last allowed start plus one run's timeout.
	limit := lc.Ramp + lc.RunTimeout + 5*time.Second
	if lc.Duration > 0 {
		limit += lc.Duration
	} else {
		limit += time.Duration(lc.Runs) * lc.RunTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	sampled := make(chan []sample, 1)
	sctx, stopSampling := context.WithCancel(lctx)
	go func() { sampled <- sampleEvery(sctx, pr, col, 500*time.Millisecond) }()
	if prof.url != "" {
		prof.start(sctx, win.start, lc.Duration)
	}
	var firstDone sync.Once
	var firstEnd time.Time
	var wg sync.WaitGroup
	for i := range lc.Streams {
		at := start.Add(lc.Ramp * time.Duration(i) / time.Duration(max(lc.Streams, 1)))
		wg.Go(func() {
			if !sleepUntil(lctx, at) {
				return
			}
			w := newWorker(lc, col, client, dialer)
			defer w.close()
			for n := 0; lc.Runs == 0 || n < lc.Runs; n++ {
				if lctx.Err() != nil || (!stopAt.IsZero() && time.Now().After(stopAt)) {
					break
				}
				w.one(lctx)
			}
			firstDone.Do(func() { firstEnd = time.Now() })
		})
	}
	wg.Wait()
	stopSampling()
	samples := <-sampled
	win.end = stopAt
	if stopAt.IsZero() || firstEnd.Before(stopAt) {
		win.end = firstEnd
	}
	prof.wait()
	return col, samples, win
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sampleEvery samples the server every d until ctx ends (the load's bound ends it too).
func sampleEvery(ctx context.Context, pr *probe, col *collector, d time.Duration) []sample {
	tick := time.NewTicker(d)
	defer tick.Stop()
	out := []sample{pr.take(context.WithoutCancel(ctx), col)}
	for {
		select {
		case <-ctx.Done():
			return append(out, pr.take(context.WithoutCancel(ctx), col))
		case <-tick.C:
			out = append(out, pr.take(ctx, col))
		}
	}
}

// measureIdleWS opens n WebSocket connections that start no run and measures what they cost the
// server: RSS and goroutines per connection. It closes them and waits until the server has.
func measureIdleWS(ctx context.Context, pr *probe, lc loadConfig, n int, res *trialResult, prof *profiler) error {
	prof.gc(ctx)
	before, ok := pr.waitFor(ctx, 10*time.Second, func(s sample) bool { return s.MetricsOK && s.WSConns == 0 })
	if !ok {
		return fmt.Errorf("idle websockets: the server's /metrics did not show 0 connections first")
	}
	dialer := newDialer()
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
				time.Now().Add(time.Second))
			c.Close()
		}
		pr.waitFor(ctx, 30*time.Second, func(s sample) bool { return s.MetricsOK && s.WSConns == 0 })
	}()
	for range n {
		c, resp, err := dialer.DialContext(ctx, wsURL(lc.Base, lc.Token), nil)
		if err != nil {
			return fmt.Errorf("idle websocket %d: %s", len(conns)+1, dialError(resp, err))
		}
		conns = append(conns, c)
	}
	if _, ok := pr.waitFor(ctx, 30*time.Second, func(s sample) bool { return s.MetricsOK && int(s.WSConns) >= n }); !ok {
		return fmt.Errorf("the server did not report %d websocket connections", n)
	}
	// Let the connections' goroutines and buffers settle before reading the figures.
	settle := time.NewTimer(2 * time.Second)
	select {
	case <-settle.C:
	case <-ctx.Done():
		settle.Stop()
		return ctx.Err()
	}
	prof.gc(ctx)
	open := pr.take(ctx, nil)
	if !open.MetricsOK {
		return fmt.Errorf("idle websockets: the server's /metrics did not answer")
	}
	res.Metrics["idle_ws_conns"] = float64(n)
	res.Metrics["idle_ws_kib_per_conn"] = float64(open.RSS-before.RSS) / 1024 / float64(n)
	res.Metrics["idle_ws_goroutines_per_conn"] = (open.Goroutines - before.Goroutines) / float64(n)
	res.Metrics["idle_ws_heap_kib_per_conn"] = (open.HeapStack - before.HeapStack) / 1024 / float64(n)
	if prof.url != "" {
		prof.fetch(ctx, "idle-ws-heap", "/debug/pprof/heap")
		prof.fetch(ctx, "idle-ws-goroutine", "/debug/pprof/goroutine?debug=1")
	}
	return nil
}

// profiler saves the pprof-enabled server's profiles while the load runs.
type profiler struct {
	url, dir, prefix string
	wg               sync.WaitGroup
	mu               sync.Mutex
	saved            []string
}

// start takes, in the background, goroutine, CPU (over the middle of the window) and heap
// profiles; wait waits for them.
func (p *profiler) start(ctx context.Context, winStart time.Time, dur time.Duration) {
	p.wg.Go(func() { p.during(ctx, winStart, dur) })
}

func (p *profiler) during(ctx context.Context, winStart time.Time, dur time.Duration) {
	secs := max(int(dur/time.Second)/2, 1)
	at := winStart.Add((dur - time.Duration(secs)*time.Second) / 2)
	if !sleepUntil(ctx, at) {
		return
	}
	p.fetch(ctx, "goroutine", "/debug/pprof/goroutine?debug=1")
	p.fetch(ctx, "cpu", fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs))
	p.fetch(ctx, "heap", "/debug/pprof/heap")
	p.fetch(ctx, "trace", "/debug/pprof/trace?seconds=2")
}

func (p *profiler) wait() { p.wg.Wait() }

// gc has a server with pprof collect its garbage (a heap profile with ?gc=1), so that heap
// figures read after it are live memory, not what the last collection left; without pprof it
// does nothing.
func (p *profiler) gc(ctx context.Context) {
	if p.url == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (p *profiler) fetch(ctx context.Context, name, path string) {
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := os.MkdirAll(p.dir, 0o755); err != nil {
			return err
		}
		file := filepath.Join(p.dir, p.prefix+"-"+name+".pprof")
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, resp.Body)
		err = errors.Join(err, f.Close())
		if err == nil {
			p.mu.Lock()
			p.saved = append(p.saved, file)
			p.mu.Unlock()
		}
		return err
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet-load: profile", name+":", err)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// waitQuiet waits until the machine's busy CPU over a 3 s window is below cores, at most max;
// it returns the last window's figure, the time waited and whether it got quiet.
func waitQuiet(ctx context.Context, cores float64, limit time.Duration) (busy float64, waited time.Duration, ok bool) {
	const win = 3 * time.Second
	start := time.Now()
	for {
		t0, c0 := time.Now(), machineCPU()
		if !sleepUntil(ctx, t0.Add(win)) {
			return busy, time.Since(start), false
		}
		busy = (machineCPU() - c0) / time.Since(t0).Seconds()
		if busy < cores {
			return busy, time.Since(start), true
		}
		if time.Since(start) >= limit {
			return busy, time.Since(start), false
		}
	}
}
