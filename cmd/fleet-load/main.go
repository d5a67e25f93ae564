// Command fleet-load puts `fleet serve` under load: many concurrent runs streamed over SSE or
// chats over WebSocket, on the offline model, and measures what each client sees and what the
// server spends.
//
// Usage (from the repository root, after `make build plugins` and
// `go build -o bin/fleet-load ./cmd/fleet-load`):
//
//	# 1,000 SSE streams, tokens paced at 50 ms, 3 fresh servers, medians, against 100 streams
//	bin/fleet-load --spawn --transport sse --streams 1000 --ramp 5s --duration 20s \
//	    --delay 50ms --words 100 --repeat 3 --baseline-streams 100
//
//	# 1,000 WebSocket chats unpaced (throughput), AG-UI (wasm mapper) against fleet (native)
//	bin/fleet-load --spawn --transport ws --streams 1000 --delay 0 --duration 15s \
//	    --repeat 3 --format agui --baseline-format fleet
//
//	# memory per idle WebSocket connection (5,000 connections that start no run), then a load
//	bin/fleet-load --spawn --idle-ws 5000 --streams 10 --runs 1
//
//	# a server already running (its tokens must be paced with the --delay given here)
//	FLEET_OFFLINE_DELAY=50ms bin/fleet serve --max-runs-per-client 0 &
//	bin/fleet-load --url http://127.0.0.1:8080 --pid $! --streams 200 --duration 10s
//
//	# profile the server under load: spawns this tool's own `serve` (the same wiring as
//	# `fleet serve`, plus pprof on another loopback port) and saves CPU, heap and goroutine
//	# profiles taken mid-load to the directory
//	bin/fleet-load --spawn --pprof /tmp/prof --streams 1000 --duration 20s
//
// --spawn starts `bin/fleet serve --addr 127.0.0.1:0 --data-dir <tmp> --max-runs-per-client 0`
// with FLEET_OFFLINE_DELAY=--delay (and without OPENAI_API_KEY, so the offline model answers),
// reads its address from the "fleet: serving http://…" line, and stops it (SIGINT) and removes
// its data at the end; each repetition gets a fresh server. Only loopback addresses are accepted.
// Every stream runs runs one after the other until --runs are done or --duration has passed after
// the ramp; nothing runs longer than the ramp, the duration and one --run-timeout.
//
// Measured per run: time to first token (request sent to the first text delta); for each later
// token its inter-arrival time and, with a delay, its lateness (arrival minus first token's
// arrival plus index x delay); with --format fleet also the delivery delay (arrival minus the
// event's time) and the model's own pacing drift (event time vs schedule). A run is truncated if
// its stream ends without the terminal frame, its seqs (runId:seq[:part], in SSE ids and in the
// WebSocket envelope) have a gap or go back, or its text differs from the "Say exactly:" answer.
// Measured on the server: RSS and CPU time (/proc when spawned or with --pid, else its /metrics),
// goroutines and open streams (/metrics) every 500 ms; this tool's own CPU time likewise. Rates,
// CPU and RSS under load are taken over the window when every stream was open.
//
// The output is a table of medians over the repetitions with [min, max], and the ratio of the
// last configuration to the first (the baseline) when a --baseline-* flag is given; --json
// prints everything, samples included.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
)

type cli struct {
	Run   runCmd   `cmd:"" default:"withargs" help:"Put a server under load and measure it (the default command)."`
	Serve serveCmd `cmd:"" hidden:"" help:"Serve like fleet serve, plus pprof (used by --pprof)."`
}

// runCmd is the load command.
type runCmd struct {
	URL      string `help:"Base URL of a running fleet serve (loopback only)." placeholder:"URL"`
	PID      int    `name:"pid" help:"Pid of the server at --url, to read its RSS and CPU from /proc."`
	Spawn    bool   `help:"Start the server (--fleet-bin serve) for each repetition and stop it after."`
	FleetBin string `name:"fleet-bin" default:"bin/fleet" help:"The fleet binary --spawn starts."`
	Plugins  string `help:"Plugins directory for the spawned server (default: its own default)." placeholder:"DIR"`
	Pprof    string `help:"With --spawn: start this tool's pprof-enabled serve instead and save profiles taken mid-load here." placeholder:"DIR"`

	Transport  string        `enum:"sse,ws" default:"sse" help:"sse: a POST per run, streamed as Server-Sent Events; ws: one WebSocket per stream, chats one after the other."`
	Streams    int           `default:"100" help:"Concurrent streams (SSE runs or WebSocket connections)."`
	Ramp       time.Duration `default:"2s" help:"Time over which the streams are opened, evenly."`
	Duration   time.Duration `default:"20s" help:"How long after the ramp streams keep starting runs (0: only --runs)."`
	Runs       int           `default:"0" help:"Runs per stream (0: until --duration)."`
	RunTimeout time.Duration `name:"run-timeout" default:"60s" help:"Bound on one run (request to last frame)."`
	Workflow   string        `default:"assistant" help:"Workflow to run."`
	Message    string        `help:"The user message (default: 'Say exactly:' and --words words, which the offline model streams back word by word)."`
	Words      int           `default:"100" help:"Words of the default message's answer."`
	Format     string        `default:"agui" help:"Frame format (?format=): agui, fleet or vercel."`
	Delay      time.Duration `default:"50ms" help:"The offline model's delay per token (FLEET_OFFLINE_DELAY of the spawned server; must match the server's with --url)."`
	Token      string        `help:"Bearer token of the server at --url."`

	Repeat          int    `default:"1" help:"Repetitions of each configuration (medians are reported)."`
	BaselineFormat  string `name:"baseline-format" help:"Also run the same load with this format, as the baseline of the ratios."`
	BaselineStreams int    `name:"baseline-streams" help:"Also run the same load with this many streams, as the baseline of the ratios."`
	IdleWS          int    `name:"idle-ws" help:"Before each load, open this many WebSocket connections that start no run and measure the server's RSS per connection."`
	JSON            bool   `name:"json" help:"Print the full results as JSON instead of the table."`

	QuietBelow float64       `name:"quiet-below" help:"Before each repetition, wait until the machine's other processes use less than this many cores (0: do not wait); their CPU during the load is reported either way."`
	QuietMax   time.Duration `name:"quiet-max" default:"10m" help:"Longest wait for --quiet-below; the repetition then runs anyway (and says so)."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c cli
	parser, err := kong.New(&c, kong.Name("fleet-load"),
		kong.Description("Put fleet serve under load over SSE or WebSocket and measure it."),
		kong.Writers(stdout, stderr), kong.Exit(func(int) {}), kong.BindTo(ctx, (*context.Context)(nil)),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}))
	if err != nil {
		fmt.Fprintln(stderr, "fleet-load:", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "fleet-load:", err)
		return 2
	}
	if isHelp(args) {
		return 0
	}
	kctx.BindTo(stdout, (*io.Writer)(nil))
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(stderr, "fleet-load:", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func isHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

// errUsage marks a bad combination of flags.
var errUsage = errors.New("usage")

func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// Bounds of the flags: every loop of the tool is bounded in count and time.
const (
	maxStreams  = 100_000
	maxRepeat   = 20
	maxDuration = time.Hour
	maxRuns     = 1_000_000
)

// checks are the flag rules, each an error message for when it is broken.
func (c *runCmd) checks() []struct {
	bad bool
	msg string
} {
	_, known := formats[c.Format]
	return []struct {
		bad bool
		msg string
	}{
		{c.URL == "" == !c.Spawn, "give exactly one of --url and --spawn"},
		{c.Streams < 1 || c.Streams > maxStreams, fmt.Sprintf("--streams: 1 to %d", maxStreams)},
		{c.Duration <= 0 && c.Runs <= 0, "give --duration or --runs"},
		{c.Duration < 0 || c.Duration > maxDuration, "--duration: 0 to 1h"},
		{c.Runs < 0 || c.Runs > maxRuns, fmt.Sprintf("--runs: 0 to %d", maxRuns)},
		{c.Ramp < 0 || c.Ramp > maxDuration, "--ramp: 0 to 1h"},
		{c.RunTimeout <= 0 || c.RunTimeout > maxDuration, "--run-timeout: more than 0, at most 1h"},
		{c.Repeat < 1 || c.Repeat > maxRepeat, fmt.Sprintf("--repeat: 1 to %d", maxRepeat)},
		{!known, "--format: one of " + strings.Join(formatNames(), ", ")},
		{c.Pprof != "" && !c.Spawn, "--pprof needs --spawn"},
		{c.IdleWS < 0 || c.IdleWS > maxStreams, fmt.Sprintf("--idle-ws: 0 to %d", maxStreams)},
		{c.BaselineFormat != "" && c.BaselineStreams != 0, "give one --baseline-* flag"},
		{c.Delay < 0, "--delay: not negative"},
		{c.Words < 1 && c.Message == "", "--words: at least 1"},
		{c.QuietBelow < 0 || c.QuietMax < 0 || c.QuietMax > maxDuration, "--quiet-below: not negative; --quiet-max: 0 to 1h"},
	}
}

func (c *runCmd) validate() error {
	for _, ch := range c.checks() {
		if ch.bad {
			return usage("%s", ch.msg)
		}
	}
	if _, ok := formats[c.BaselineFormat]; c.BaselineFormat != "" && !ok {
		return usage("--baseline-format: one of %s", strings.Join(formatNames(), ", "))
	}
	if c.BaselineStreams < 0 || c.BaselineStreams > maxStreams {
		return usage("--baseline-streams: 0 to %d", maxStreams)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || u.Scheme != "http" {
			return usage("--url: want http://127.0.0.1:PORT")
		}
		if err := checkLoopback(u.Hostname()); err != nil {
			return usage("--url: %v", err)
		}
		c.URL = strings.TrimSuffix(c.URL, "/")
	}
	return nil
}

// configs are the loads to measure: the baseline first when there is one.
func (c *runCmd) configs() []loadConfig {
	msg := c.Message
	if msg == "" {
		msg = longMessage(c.Words)
	}
	lc := loadConfig{Token: c.Token, Transport: c.Transport, Streams: c.Streams, Ramp: c.Ramp, Duration: c.Duration,
		Runs: c.Runs, RunTimeout: c.RunTimeout, Workflow: c.Workflow, Message: msg, Format: c.Format, Delay: c.Delay}
	if c.Message == "" {
		lc.Words = c.Words
	}
	base := lc
	switch {
	case c.BaselineFormat != "":
		base.Format = c.BaselineFormat
	case c.BaselineStreams != 0:
		base.Streams = c.BaselineStreams
	default:
		return []loadConfig{lc}
	}
	return []loadConfig{base, lc}
}

func (c *runCmd) trialOptions(stderr io.Writer) (trialOptions, error) {
	to := trialOptions{URL: c.URL, PID: c.PID, IdleWS: c.IdleWS, PprofDir: c.Pprof, Progress: stderr,
		QuietBelow: c.QuietBelow, QuietMax: c.QuietMax}
	if !c.Spawn {
		return to, nil
	}
	sc := &spawnConfig{Bin: c.FleetBin, Delay: c.Delay, Plugins: c.Plugins, Timeout: 2 * time.Minute}
	if c.Pprof != "" {
		exe, err := os.Executable()
		if err != nil {
			return to, err
		}
		sc.Bin, sc.Pprof = exe, true
	}
	to.Spawn = sc
	return to, nil
}

// Run measures every configuration --repeat times, interleaved (A B A B …) so that slow drift
// of the machine touches both alike, and prints the report.
func (c *runCmd) Run(ctx context.Context, stdout io.Writer) error {
	if err := c.validate(); err != nil {
		return err
	}
	stderr := os.Stderr
	if lim, err := raiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "fleet-load: cannot raise the open file limit:", err)
	} else if need := uint64(3*max(c.Streams, c.BaselineStreams, c.IdleWS) + 256); lim < need && c.Spawn {
		fmt.Fprintf(stderr, "fleet-load: open file limit %d may be too low for this load (about %d)\n", lim, need)
	}
	to, err := c.trialOptions(stderr)
	if err != nil {
		return err
	}
	cfgs := c.configs()
	aggs := make([]*aggregate, len(cfgs))
	for i, lc := range cfgs {
		aggs[i] = &aggregate{Config: lc, Label: lc.label()}
	}
	for rep := 1; rep <= c.Repeat; rep++ {
		for i, lc := range cfgs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			t, err := runTrial(ctx, to, lc, rep)
			if err != nil {
				return fmt.Errorf("%s, repetition %d: %w", lc.label(), rep, err)
			}
			progress(stderr, rep, i, t)
			aggs[i].Trials = append(aggs[i].Trials, t)
		}
	}
	r := &report{Date: time.Now(), Machine: machineName(), CPUs: runtime.NumCPU(), Go: runtime.Version(),
		Command: "fleet-load " + strings.Join(os.Args[1:], " "), Configs: aggs,
		Note: "The load generator and the server share the same CPUs."}
	for _, a := range aggs {
		a.medians()
	}
	r.ratios()
	if c.JSON {
		return r.writeJSON(stdout)
	}
	return r.writeText(stdout)
}

func progress(w io.Writer, rep, cfg int, t *trialResult) {
	m := t.Metrics
	fmt.Fprintf(w, "fleet-load: rep %d config %c (%s): ok %.0f truncated %.0f failed %.0f, ttft p99 %.1f ms, lateness p99 %.1f ms, %.0f frames/s, server %.2f cores, %.0f MiB\n",
		rep, 'A'+cfg, t.Label, m["runs_ok"], m["runs_truncated"], m["runs_failed"], m["ttft_p99_ms"], m["lateness_p99_ms"],
		m["frames_per_s"], m["server_cpu_cores"], m["server_rss_load_mb"])
}
