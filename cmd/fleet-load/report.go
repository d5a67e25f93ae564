package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// metricDef is one row of the summary.
type metricDef struct {
	key, label, format string
}

// metricDefs are the summary's rows, in order; rows no configuration has are left out.
var metricDefs = []metricDef{
	{"streams_open_max", "streams open at once (max)", "%.0f"},
	{"runs_ok", "runs ok", "%.0f"},
	{"runs_truncated", "runs truncated (must be 0)", "%.0f"},
	{"runs_failed", "runs failed or refused", "%.0f"},
	{"ttft_p50_ms", "time to first token p50 (ms)", "%.2f"},
	{"ttft_p99_ms", "time to first token p99 (ms)", "%.2f"},
	{"delivery_p50_ms", "delivery delay p50 (ms, event time to arrival)", "%.2f"},
	{"delivery_p99_ms", "delivery delay p99 (ms)", "%.2f"},
	{"lateness_p50_ms", "lateness p50 (ms, arrival vs schedule)", "%.2f"},
	{"lateness_p99_ms", "lateness p99 (ms)", "%.2f"},
	{"lateness_max_ms", "lateness max (ms)", "%.1f"},
	{"source_lateness_p99_ms", "model pacing drift p99 (ms, event time vs schedule)", "%.2f"},
	{"inter_arrival_p50_ms", "inter-arrival p50 (ms)", "%.2f"},
	{"inter_arrival_p99_ms", "inter-arrival p99 (ms)", "%.2f"},
	{"frames_per_s", "frames/s (all streams open)", "%.0f"},
	{"tokens_per_s", "tokens/s (all streams open)", "%.0f"},
	{"runs_per_s", "runs/s (all streams open)", "%.1f"},
	{"server_cpu_cores", "server CPU (cores)", "%.2f"},
	{"loadgen_cpu_cores", "load generator CPU (cores)", "%.2f"},
	{"other_cpu_cores", "other processes' CPU (cores; the machine is shared)", "%.2f"},
	{"busy_before_cores", "machine busy before the load (cores, with --quiet-below)", "%.2f"},
	{"server_rss_idle_mb", "server RSS idle (MiB)", "%.1f"},
	{"server_rss_load_mb", "server RSS under load (MiB, median)", "%.1f"},
	{"server_rss_peak_mb", "server RSS peak (MiB)", "%.1f"},
	{"goroutines_idle", "server goroutines idle", "%.0f"},
	{"goroutines_load", "server goroutines under load (median)", "%.0f"},
	{"goroutines_after", "server goroutines after the load", "%.0f"},
	{"idle_ws_kib_per_conn", "idle WebSocket: server RSS per connection (KiB)", "%.1f"},
	{"idle_ws_heap_kib_per_conn", "idle WebSocket: server Go heap+stacks per connection (KiB)", "%.1f"},
	{"idle_ws_goroutines_per_conn", "idle WebSocket: server goroutines per connection", "%.2f"},
}

// report is everything a command measured.
type report struct {
	Date     time.Time          `json:"date"`
	Machine  string             `json:"machine"`
	CPUs     int                `json:"cpus"`
	Go       string             `json:"go"`
	Command  string             `json:"command"`
	Note     string             `json:"note"`
	Configs  []*aggregate       `json:"configs"`
	Baseline string             `json:"baseline,omitempty"`
	Ratios   map[string]float64 `json:"ratios,omitempty"`
}

// machineName is the CPU model from /proc/cpuinfo.
func machineName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// ratios are last/first for every metric both have (the first configuration is the baseline).
func (r *report) ratios() {
	if len(r.Configs) < 2 {
		return
	}
	base, cur := r.Configs[0].Medians, r.Configs[len(r.Configs)-1].Medians
	r.Baseline = r.Configs[0].Label
	r.Ratios = map[string]float64{}
	for k, v := range cur {
		if b, ok := base[k]; ok && b != 0 {
			r.Ratios[k] = v / b
		}
	}
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(w io.Writer) error {
	fmt.Fprintf(w, "fleet-load  %s  %s, %d CPUs (the load generator runs on the same CPUs)  %s\n",
		r.Date.Format("2006-01-02 15:04 MST"), r.Machine, r.CPUs, r.Go)
	fmt.Fprintf(w, "command: %s\n", r.Command)
	for i, a := range r.Configs {
		fmt.Fprintf(w, "config %c: %s (%d repetitions)\n", 'A'+i, a.Label, len(a.Trials))
	}
	fmt.Fprintln(w, "values: median over the repetitions [min, max]")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "metric")
	for i := range r.Configs {
		fmt.Fprintf(tw, "\t%c", 'A'+i)
	}
	if r.Ratios != nil {
		fmt.Fprintf(tw, "\t%c/A", 'A'+len(r.Configs)-1)
	}
	fmt.Fprintln(tw)
	for _, d := range metricDefs {
		r.row(tw, d)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, a := range r.Configs {
		writeCounts(w, fmt.Sprintf("config %c errors", 'A'+i), a.Trials, func(t *trialResult) countList { return t.Errors })
		writeCounts(w, fmt.Sprintf("config %c truncations", 'A'+i), a.Trials, func(t *trialResult) countList { return t.Truncations })
	}
	if r.Note != "" {
		fmt.Fprintln(w, r.Note)
	}
	return nil
}

func (r *report) row(w io.Writer, d metricDef) {
	any := false
	cells := make([]string, len(r.Configs))
	for i, a := range r.Configs {
		v, ok := a.Medians[d.key]
		if !ok {
			cells[i] = "-"
			continue
		}
		any = true
		cells[i] = fmt.Sprintf(d.format, v)
		if rg := a.Ranges[d.key]; len(a.Trials) > 1 && rg[0] != rg[1] {
			cells[i] += fmt.Sprintf(" ["+d.format+", "+d.format+"]", rg[0], rg[1])
		}
	}
	if !any {
		return
	}
	fmt.Fprintf(w, "%s\t%s", d.label, strings.Join(cells, "\t"))
	if r.Ratios != nil {
		if x, ok := r.Ratios[d.key]; ok {
			fmt.Fprintf(w, "\t%.2fx", x)
		} else {
			fmt.Fprint(w, "\t-")
		}
	}
	fmt.Fprintln(w)
}

// writeCounts lists the errors (or truncations) of a configuration's trials, summed.
func writeCounts(w io.Writer, title string, trials []*trialResult, get func(*trialResult) countList) {
	sum := map[string]int{}
	for _, t := range trials {
		for _, c := range get(t) {
			sum[c.What] += c.Count
		}
	}
	if len(sum) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, c := range sortedCounts(sum) {
		fmt.Fprintf(w, "  %6d  %s\n", c.Count, c.What)
	}
}
