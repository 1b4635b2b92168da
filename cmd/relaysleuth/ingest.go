package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/relaysleuth/relaysleuth/pipeline"
)

const ingestLong = `Reads Postfix, Exim or Exchange logs (plain or .gz, any order, - for stdin)
into the database, joins their lines into messages and recipients, and gives
each recipient a verdict. Reading a file again adds nothing; a file that
grew is read from where the last run stopped.`

func newIngestCmd(c *commonFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest [flags] PATH...",
		Short: "Read logs into the database",
		Long:  ingestLong,
		Args:  nArgs(1, -1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := ingest(cmd.Context(), c, args, c.stdin, cmd.ErrOrStderr())
			return err
		},
	}
	c.inputFlags(cmd.Flags())
	return cmd
}

// errInputs reports inputs that could not be (fully) read; the rest of the
// run went on.
var errInputs = pipeline.ErrInputs

// options returns the pipeline's options from the flags.
func (c *commonFlags) options() (pipeline.Options, error) {
	loc, err := c.location()
	if err != nil {
		return pipeline.Options{}, err
	}
	if c.inputFormat != "auto" {
		if _, ok := pipeline.FormatByName(c.inputFormat); !ok {
			return pipeline.Options{}, usagef("--input-format: unknown format %q", c.inputFormat)
		}
	}
	return pipeline.Options{Format: c.inputFormat, Year: c.year, Location: loc}, nil
}

// errNothingRead is the error of a run that read no input as a mail log.
var errNothingRead = pipeline.ErrNothingRead

// ingest reads paths into the database named by c, printing what it read
// on stderr (see pipeline.Batch).
func ingest(ctx context.Context, c *commonFlags, paths []string, stdin io.Reader, stderr io.Writer) (pipeline.Result, error) {
	policy, err := c.policy()
	if err != nil {
		return pipeline.Result{}, err
	}
	opts, err := c.options()
	if err != nil {
		return pipeline.Result{}, err
	}
	b := &pipeline.Batch{DB: c.db, Group: c.group, Policy: policy, PolicySource: c.policySource(), Options: opts,
		Stdin: stdin, Log: stderr, Verbose: c.verbose, Progress: newProgress(c.progress, stderr)}
	return b.Run(ctx, paths)
}

// showProgress says whether --progress mode shows a bar on stderr:
// always, or auto when stderr is a terminal.
func showProgress(mode string, stderr io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "auto":
		f, ok := stderr.(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
	return false
}

// progressBar shows an ingest's progress over the inputs' sizes.
type progressBar struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func (p *progressBar) Set(n int64) { _ = p.bar.Set64(n) }
func (p *progressBar) Clear()      { _ = p.bar.Clear() }
func (p *progressBar) Finish() {
	_ = p.bar.Finish()
	fmt.Fprintln(p.w)
}

// newProgress returns, for pipeline.Batch, a progress bar over the
// inputs' sizes on stderr, or nil when stderr is not a terminal (or
// --progress says so).
func newProgress(mode string, stderr io.Writer) func(total int64) pipeline.Progress {
	if !showProgress(mode, stderr) {
		return nil
	}
	return func(total int64) pipeline.Progress {
		if total == 0 {
			total = -1
		}
		return &progressBar{w: stderr, bar: newBar(stderr, total, "ingesting", progressbar.OptionShowBytes(true))}
	}
}

// newBar is a progress bar of total on stderr, drawn at most every 100
// ms, with the time left, cleared when it finishes: ingest's over bytes,
// report's over stored blocks.
func newBar(stderr io.Writer, total int64, description string, opts ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, append([]progressbar.Option{
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(description),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	}, opts...)...)
}
