// Command relaysleuth reads mail server logs (Postfix, Exim, Exchange) and
// answers, with evidence: is this server relaying mail for strangers?
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets one: the
// garbage collector works harder near it instead of letting garbage grow
// to twice the live heap (issue 8: under 150 MB of RSS on a 5M-line log,
// SQLite's page caches included). Soft: a run that needs more gets more.
const memoryLimit = 96 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit statuses, documented in usage.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitRelay  = 3 // relay abuse found (scan), or a probe case was accepted
	exitSignal = 130
)

// errRelayFound is returned by commands whose exit status says that relay
// abuse was found.
var errRelayFound = errors.New("relay abuse found")

// usageError is a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errRelayFound):
		return exitRelay
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "relaysleuth: %s\nRun 'relaysleuth help' for usage.\n", clean(err.Error()))
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "relaysleuth: interrupted")
		return exitSignal
	}
	fmt.Fprintf(stderr, "relaysleuth: %s\n", clean(err.Error()))
	return exitError
}

const usage = `relaysleuth reads mail server logs and finds the mail your server relayed
for strangers: recipients accepted for an external domain from an
unauthenticated client outside your trusted networks ("relay_abuse").

Usage:
  relaysleuth scan [flags] PATH...      ingest logs, then print the relay report
  relaysleuth ingest [flags] PATH...    read logs into the database
  relaysleuth report [flags] KIND       summary | relay | attempts | recipients | auth
  relaysleuth rejudge [flags]           verdicts again from stored events, with a new policy
  relaysleuth investigate [flags] [FILE] follow an abuse report (ARF, .eml) back to its client
  relaysleuth tail [flags] PATH...      follow live logs, alert on relaying as it happens
  relaysleuth probe [flags] HOST[:PORT] test a server you run for open relaying
  relaysleuth help [COMMAND]

PATH is a Postfix, Exim or Exchange log file, a rotated .gz, a directory
(every file in it), or - for standard input. Files may be given in any order.

"Local" and "trusted" come from you, never from the server's configuration:
  --local-domains corp.example,corp-mail.example --trusted-networks 192.0.2.0/24
or --config FILE with {"local_domains": [...], "trusted_networks": [...]}
(default: relaysleuth.json in the working directory, if present).

Exit status: 0 nothing found, 1 error, 2 usage error,
3 relay abuse found (scan) or a probe case was accepted (probe).
Run 'relaysleuth COMMAND -h' for a command's flags.
`

// run runs the command line args with the process's standard input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWithStdin(ctx, args, os.Stdin, stdout, stderr)
}

// runWithStdin runs the command line args; "-" inputs read stdin.
func runWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "scan":
		return runScan(ctx, rest, stdin, stdout, stderr)
	case "ingest":
		return runIngest(ctx, rest, stdin, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "rejudge":
		return runRejudge(ctx, rest, stdout, stderr)
	case "investigate":
		return runInvestigate(ctx, rest, stdin, stdout, stderr)
	case "tail":
		return runTail(ctx, rest, stdin, stdout, stderr)
	case "probe":
		return runProbe(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q", cmd)
}
