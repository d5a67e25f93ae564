package main

// summarize turns a load's collector and samples into the trial's metrics.
func summarize(res *trialResult, col *collector, samples []sample, win window) {
	col.mu.Lock()
	defer col.mu.Unlock()
	m := res.Metrics
	m["streams_open_max"] = float64(col.streamsOpenMax)
	m["runs_ok"] = float64(col.ok)
	m["runs_truncated"] = float64(col.truncated)
	m["runs_failed"] = float64(col.failed)
	for name, h := range map[string]*signedHist{"ttft": &col.ttft, "lateness": &col.late, "inter_arrival": &col.inter,
		"delivery": &col.deliver, "source_lateness": &col.source} {
		if h.count() == 0 {
			continue
		}
		d := h.dist()
		res.Dists[name] = d
		m[name+"_p50_ms"], m[name+"_p99_ms"], m[name+"_max_ms"] = d.P50, d.P99, d.Max
	}
	res.Errors = sortedCounts(col.errors)
	res.Truncations = sortedCounts(col.truncations)
	if !col.firstSent.IsZero() && col.lastFrame.After(col.firstSent) {
		m["frames_per_s_overall"] = float64(col.frames.Load()) / col.lastFrame.Sub(col.firstSent).Seconds()
	}
	windowRates(m, samples, win)
	processFigures(m, samples, win)
}

// inWindow returns the first and last samples taken within win (ok false if fewer than two).
func inWindow(samples []sample, win window) (first, last sample, ok bool) {
	n := 0
	for _, s := range samples {
		if s.At.Before(win.start) || s.At.After(win.end) {
			continue
		}
		if n == 0 {
			first = s
		}
		last = s
		n++
	}
	return first, last, n >= 2 && last.At.After(first.At)
}

// windowRates are the rates while every stream was open: frames, tokens and runs per second,
// and each process's CPU in cores (CPU seconds per second).
func windowRates(m map[string]float64, samples []sample, win window) {
	first, last, ok := inWindow(samples, win)
	if !ok {
		return
	}
	dt := last.At.Sub(first.At).Seconds()
	m["window_s"] = dt
	m["frames_per_s"] = float64(last.Frames-first.Frames) / dt
	m["tokens_per_s"] = float64(last.Tokens-first.Tokens) / dt
	m["runs_per_s"] = float64(last.Runs-first.Runs) / dt
	m["server_cpu_cores"] = (last.ServerCPU - first.ServerCPU) / dt
	m["loadgen_cpu_cores"] = (last.LoadCPU - first.LoadCPU) / dt
	// What the machine spent besides the two: other people's work on a shared machine.
	m["other_cpu_cores"] = max(0, (last.MachineCPU-first.MachineCPU)/dt-m["server_cpu_cores"]-m["loadgen_cpu_cores"])
}

// processFigures are the server's memory and goroutines under load: the median over the
// window and the peak over the whole load; and the CPU seconds of both processes over the load.
func processFigures(m map[string]float64, samples []sample, win window) {
	if len(samples) == 0 {
		return
	}
	var rss, gor []float64
	var peakRSS int64
	var peakG float64
	for _, s := range samples {
		peakRSS, peakG = max(peakRSS, s.RSS), max(peakG, s.Goroutines)
		if !s.At.Before(win.start) && !s.At.After(win.end) {
			rss = append(rss, mb(s.RSS))
			if s.MetricsOK {
				gor = append(gor, s.Goroutines)
			}
		}
	}
	m["server_rss_peak_mb"], m["goroutines_peak"] = mb(peakRSS), peakG
	if len(rss) > 0 {
		m["server_rss_load_mb"] = median(rss)
	}
	if len(gor) > 0 {
		m["goroutines_load"] = median(gor)
	}
	failed := 0
	for _, s := range samples {
		if !s.MetricsOK {
			failed++
		}
	}
	m["metrics_scrapes_failed"] = float64(failed)
	first, last := samples[0], samples[len(samples)-1]
	m["server_cpu_s"] = last.ServerCPU - first.ServerCPU
	m["loadgen_cpu_s"] = last.LoadCPU - first.LoadCPU
	m["load_s"] = last.At.Sub(first.At).Seconds()
}

// aggregate is one configuration's trials and their medians.
type aggregate struct {
	Config  loadConfig            `json:"config"`
	Label   string                `json:"label"`
	Trials  []*trialResult        `json:"trials"`
	Medians map[string]float64    `json:"medians"`
	Ranges  map[string][2]float64 `json:"ranges"`
}

// medians sets the median of each metric over the trials that have it, and its range.
func (a *aggregate) medians() {
	vals := map[string][]float64{}
	for _, t := range a.Trials {
		for k, v := range t.Metrics {
			vals[k] = append(vals[k], v)
		}
	}
	a.Medians = map[string]float64{}
	a.Ranges = map[string][2]float64{}
	for k, vs := range vals {
		a.Medians[k] = median(vs)
		lo, hi := vs[0], vs[0]
		for _, v := range vs {
			lo, hi = min(lo, v), max(hi, v)
		}
		a.Ranges[k] = [2]float64{lo, hi}
	}
}
