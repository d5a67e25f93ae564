// Command fleet runs multi-agent workflows, serves them over HTTP and WebSocket, and builds and
// inspects WebAssembly plugins. `fleet --help` lists the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// cli is the command line. Each command is a struct with a Run method (kong).
type cli struct {
	Verbose bool `short:"v" help:"Log debug messages to stderr."`

	Run       runCmd       `cmd:"" help:"Run a workflow on a message and stream it to the terminal."`
	Serve     serveCmd     `cmd:"" help:"Serve the HTTP/WebSocket API and the web chat page."`
	Workflows workflowsCmd `cmd:"" help:"List and validate workflows."`
	Plugin    pluginCmd    `cmd:"" help:"Inspect, call, map with and create WebAssembly plugins."`
	Version   versionCmd   `cmd:"" help:"Print the version."`
}

// env is what every command gets: the streams and a logger.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	log            *slog.Logger
}

// exitError carries a process exit code with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code: 0 on success, 1 on failure,
// 2 on a usage error, 3 when a run waits for approval.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var c cli
	parser, err := kong.New(&c, kong.Name("fleet"),
		kong.Description("Fleet: multi-agent workflows with WebAssembly plugins."),
		kong.Writers(stdout, stderr), kong.Exit(func(int) {}),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}), kong.BindTo(ctx, (*context.Context)(nil)))
	if err != nil {
		fmt.Fprintln(stderr, "fleet:", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		if len(args) == 0 || isHelp(args) {
			return 0
		}
		fmt.Fprintln(stderr, "fleet:", err)
		return 2
	}
	if kctx.Command() == "" || isHelp(args) {
		return 0
	}
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	e := &env{stdout: stdout, stderr: stderr, stdin: stdin,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	kctx.Bind(e)
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(stderr, "fleet:", strings.TrimPrefix(err.Error(), "fleet: "))
		var xe *exitError
		if errors.As(err, &xe) {
			return xe.code
		}
		return 1
	}
	return 0
}

func isHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "help" {
			return true
		}
	}
	return false
}

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	fmt.Fprintln(e.stdout, "fleet", version)
	return nil
}
