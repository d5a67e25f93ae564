package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// spawnConfig says how to start a server.
type spawnConfig struct {
	Bin     string        // the fleet binary (or this tool, for its pprof-enabled "serve")
	Args    []string      // extra arguments after "serve"
	Delay   time.Duration // FLEET_OFFLINE_DELAY
	Plugins string        // --plugins, when set
	Pprof   bool          // Bin is this tool: ask its serve for a pprof listener
	Timeout time.Duration // to start and be ready
	Stderr  io.Writer     // where the server's own output goes besides its log file
}

// spawned is a server this tool started: it owns the process and its temporary data directory.
type spawned struct {
	cmd     *exec.Cmd
	pid     int
	base    string
	pprof   string
	dir     string
	logPath string
	exited  chan struct{}
	waitErr error
}

// cleanEnv is the environment of a spawned server: ours, without what would make it leave the
// machine (a real model's key) or need a token, plus the offline model's pacing.
func cleanEnv(delay time.Duration) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "OPENAI_API_KEY", "OPENAI_BASE_URL", "FLEET_TOKEN", "FLEET_OFFLINE_DELAY", "FLEET_DATA_DIR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "FLEET_OFFLINE_DELAY="+delay.String())
}

// spawn starts `BIN serve --addr 127.0.0.1:0 --data-dir <tmp> --max-runs-per-client 0` and
// returns once it printed its address and /readyz answers 200.
func spawn(ctx context.Context, sc spawnConfig) (*spawned, error) {
	dir, err := os.MkdirTemp("", "fleet-load-")
	if err != nil {
		return nil, err
	}
	s := &spawned{dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	err = s.start(sc)
	if err == nil {
		err = s.waitReady(ctx, sc.Timeout)
	}
	if err != nil {
		tail := s.tail()
		return nil, errors.Join(fmt.Errorf("%w (server log: %s)", err, tail), s.stop())
	}
	return s, nil
}

func (s *spawned) start(sc spawnConfig) error {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(s.dir, "data"), "--max-runs-per-client", "0"}
	if sc.Plugins != "" {
		args = append(args, "--plugins", sc.Plugins)
	}
	if sc.Pprof {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	args = append(args, sc.Args...)
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(sc.Bin, args...)
	s.cmd.Env = cleanEnv(sc.Delay)
	s.cmd.Stderr = logf
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", sc.Bin, err)
	}
	s.pid = s.cmd.Process.Pid
	// One goroutine copies stdout to the log and hands over the lines that carry an address;
	// when stdout ends it reaps the process.
	addrs := make(chan string, 8)
	go func() {
		defer close(s.exited)
		defer logf.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if isAddrLine(sc.Text()) {
				select {
				case addrs <- sc.Text():
				default:
				}
			}
		}
		close(addrs)
		s.waitErr = s.cmd.Wait()
	}()
	return s.readAddrs(addrs, sc)
}

func isAddrLine(line string) bool {
	return strings.HasPrefix(line, servingPrefix) || strings.HasPrefix(line, pprofPrefix)
}

// readAddrs waits until the server printed the address(es) it serves on.
func (s *spawned) readAddrs(lines <-chan string, sc spawnConfig) error {
	timeout := time.NewTimer(sc.Timeout)
	defer timeout.Stop()
	for s.base == "" || (sc.Pprof && s.pprof == "") {
		select {
		case line, ok := <-lines:
			if !ok {
				return fmt.Errorf("%s exited before serving (log %s)", sc.Bin, s.logPath)
			}
			if err := s.takeLine(line); err != nil {
				return err
			}
		case <-timeout.C:
			return fmt.Errorf("%s did not print %q within %s", sc.Bin, servingPrefix, sc.Timeout)
		}
	}
	return nil
}

func (s *spawned) takeLine(line string) error {
	if base, ok, err := parseServing(line); ok {
		s.base = base
		return err
	}
	if rest, ok := strings.CutPrefix(line, pprofPrefix); ok {
		s.pprof = strings.TrimSpace(rest)
	}
	return nil
}

// waitReady polls /readyz (there is no event to wait on) until 200 or the timeout.
func (s *spawned) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w", ctx.Err())
		case <-s.exited:
			return fmt.Errorf("server exited: %v", s.waitErr)
		case <-tick.C:
		}
	}
}

// stop interrupts the server (a graceful shutdown), kills it after 30 s, and removes its data.
func (s *spawned) stop() error {
	if s.cmd == nil || s.cmd.Process == nil || s.pid == 0 {
		return os.RemoveAll(s.dir)
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	var err error
	select {
	case <-s.exited:
	case <-t.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		err = errors.New("server did not stop within 30 s after SIGINT: killed")
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// tail is the end of the server's log, for error messages.
func (s *spawned) tail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// raiseFileLimit raises this process's soft RLIMIT_NOFILE to its hard limit. Setting it
// explicitly (the Go runtime's own raise is undone for children) makes a spawned server inherit it.
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// procRSS is a process's resident set in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}

// procCPU is a process's user+system CPU time in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// selfCPU is this process's user+system CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// machineCPU is the machine's busy CPU time in seconds, all processes together.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	v, _ := parseMachineCPU(string(b))
	return v
}
