// Command nurture is the lead-nurturing engine: one binary that serves the API and
// console, works the job queue, migrates the database and imports leads.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(c.stderr, err))
}

// cli is one run of the command, with everything it touches outside the process
// passed in, so that tests run it whole.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// onListen, when set, is told the address the server listens on (tests use :0).
	onListen func(addr string)
}

// usageError is a command line that cannot be run; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errRejected means the command did its work but some input was refused; the details
// were printed already.
var errRejected = errors.New("some input was rejected")

func exitCode(stderr io.Writer, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "nurture:", err)
		fmt.Fprintln(stderr, "Run 'nurture help' for usage.")
		return 2
	case errors.Is(err, errRejected):
		return 1
	}
	fmt.Fprintln(stderr, "nurture:", err)
	return 1
}

type command struct {
	name, summary string
	run           func(c *cli, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server: API, tracking, console and job workers", (*cli).serve},
		{"migrate", "bring the database schema up to date", (*cli).migrate},
		{"import", "import leads from a CSV file (UTF-8 or Shift_JIS)", (*cli).importLeads},
		{"apikey", "create, list or revoke API keys", (*cli).apikey},
		{"user", "add, list or disable users (sales reps, marketers, admins); set their passwords", (*cli).user},
		{"check", "check templates and scenarios (every problem with file:line), run scenario tests", (*cli).check},
		{"simulate", "run a scenario for one lead on a virtual clock and print what happens", (*cli).simulate},
		{"send", "send one message to one address (a test send)", (*cli).send},
		{"preview", "render a template for a lead and for an empty lead, with no database", (*cli).preview},
		{"version", "print the version", (*cli).version},
	}
}

func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return c.run(ctx, []string{args[1], "--help"})
		}
		c.usage(c.stdout)
		if len(args) == 0 {
			return &usageError{"no command given"}
		}
		return nil
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] {
			return cmd.run(c, ctx, args[1:])
		}
	}
	return &usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "nurture: lead nurturing with scenario email.\n\nUsage: nurture <command> [flags]\n\nCommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, "\nRun 'nurture <command> --help' for a command's flags. Every flag can also be set\nby its NURTURE_* environment variable (--http-addr by NURTURE_HTTP_ADDR).\n")
}

// flagSet is a command's flags, with a usage message that says what it does.
func (c *cli) flagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: nurture %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a command's flags; a bad flag is a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	return nil
}

// parseMixed parses flags that may come before, between or after the positional
// arguments ("simulate FILE --lead …"), and returns the positional ones.
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// logger makes the process's logger from the configuration.
func (c *cli) logger(cfg *Config) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}
