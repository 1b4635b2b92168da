package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// Exit statuses, documented in the root command's help.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitRelay  = 3 // relay abuse found (scan, report relay), or a probe case was accepted
	exitSignal = 130
)

// errRelayFound is returned by commands whose exit status says that relay
// abuse was found.
var errRelayFound = errors.New("relay abuse found")

// usageError is a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitCode prints err, if any, on stderr and returns the exit status.
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
		fmt.Fprintf(stderr, "relaysleuth: %s\nRun 'relaysleuth --help' for usage.\n", clean(err.Error()))
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "relaysleuth: interrupted; what was read so far is stored, and running the same command again continues from there")
		return exitSignal
	}
	fmt.Fprintf(stderr, "relaysleuth: %s\n", clean(err.Error()))
	return exitError
}

const rootLong = `relaysleuth reads mail server logs and finds the mail your server relayed
for strangers: recipients accepted for an external domain from an
unauthenticated client outside your trusted networks ("relay_abuse").

PATH is a Postfix, Exim or Exchange log file, a rotated .gz, a directory
(every file in it), or - for standard input. Files may be given in any order.

"Local" and "trusted" come from you, never from the server's configuration:
  --local-domains corp.example,corp-mail.example --trusted-networks 192.0.2.0/24
or --config FILE with {"local_domains": [...], "trusted_networks": [...]}
(default: relaysleuth.json in the working directory, if present).

Exit status: 0 nothing found, 1 error, 2 usage error,
3 relay abuse found (scan, report relay) or a probe case was accepted (probe).`

// newRootCmd builds the command line; "-" inputs read stdin.
func newRootCmd(stdin io.Reader) *cobra.Command { return buildRoot(stdin, nil) }

// buildRoot builds the command line with a crash func for tail's tailer
// (nil but in tests).
func buildRoot(stdin io.Reader, tailCrash func(pipeline.CrashPoint, []analysis.Alert) error) *cobra.Command {
	c := &commonFlags{stdin: stdin}
	root := &cobra.Command{
		Use:                        "relaysleuth",
		Short:                      "Find the mail your server relayed for strangers, with the log lines that prove it",
		Long:                       rootLong,
		Version:                    version,
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
		Args:                       cobra.ArbitraryArgs,
		// Without a command, or with one that does not exist: a usage
		// error that suggests the nearest command.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cmd.SetOut(cmd.ErrOrStderr())
				_ = cmd.Usage()
				return usagef("no command given")
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageError{msg}
		},
	}
	root.PersistentPreRun = func(*cobra.Command, []string) {
		zone := time.UTC
		if c.localTime {
			zone = time.Local
		}
		// Written only when it changes: a test runs commands side by
		// side in one process (tail beside ingest), all with one zone.
		if displayZone != zone {
			displayZone = zone
		}
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	c.persistentFlags(root)
	root.AddCommand(
		newScanCmd(c),
		newIngestCmd(c),
		newReportCmd(c),
		newRejudgeCmd(c),
		newInvestigateCmd(c),
		newTailCmd(c, tailCrash),
		newProbeCmd(c),
		newPruneCmd(c),
		newMigrateCmd(c),
	)
	root.SetIn(stdin)
	return root
}

// run runs the command line args as main does, with the process's standard
// input; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWithStdin(ctx, args, os.Stdin, stdout, stderr)
}

// runWithStdin runs the command line args; "-" inputs read stdin.
func runWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRootCmd(stdin)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// nArgs is cobra's argument check, giving a usage error.
func nArgs(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usagef("%s: no %s given", cmd.Name(), what)
		case max >= 0 && len(args) > max:
			return usagef("%s: want at most %d %s, got %d", cmd.Name(), max, what, len(args))
		}
		return nil
	}
}
