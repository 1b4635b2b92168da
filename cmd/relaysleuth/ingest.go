package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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

// errNothingRead is the error of a run that read no input as a mail log:
// no all-clear is given for logs that were never read.
var errNothingRead = errors.New("no input was read as a mail log; nothing to report")

// ingest reads paths into the database named by c, printing what it read
// on stderr. A run that reads nothing as a mail log is an error, and
// creates no database.
func ingest(ctx context.Context, c *commonFlags, paths []string, stdin io.Reader, stderr io.Writer) (pipeline.Result, error) {
	var res pipeline.Result
	policy, err := c.policy()
	if err != nil {
		return res, err
	}
	opts, err := c.options()
	if err != nil {
		return res, err
	}
	if len(policy.TrustedNetworks) == 0 {
		fmt.Fprintln(stderr, "relaysleuth: warning: no trusted networks given: every unauthenticated client counts as outside")
	}
	files, errs := pipeline.Expand(paths)
	ins, perrs := pipeline.Prepare(ctx, files, opts, stdin)
	failed := len(errs)
	for _, e := range errs {
		fmt.Fprintf(stderr, "relaysleuth: %s\n", clean(e.Error()))
	}
	for _, e := range perrs {
		// An empty file (just rotated), or a file that is no mail log
		// found in a directory given (a config.json beside the logs), is
		// a note; a file named on the command line that cannot be read
		// is an error.
		// A syslog file of other programs' lines only (mail.err of
		// opendkim's) is a note too: 'scan /var/log/mail.*' reads it.
		note := errors.Is(e, pipeline.ErrEmpty) || errors.Is(e, pipeline.ErrNoMailLines) ||
			errors.Is(e, pipeline.ErrNotMailLog) && !named(paths, e)
		if note {
			fmt.Fprintf(stderr, "relaysleuth: note: %s\n", clean(e.Error()))
			continue
		}
		fmt.Fprintf(stderr, "relaysleuth: %s\n", clean(e.Error()))
		failed++
	}
	if len(ins) == 0 {
		return res, errNothingRead
	}
	_, statErr := os.Stat(c.db)
	existed := statErr == nil || isPostgres(c.db)
	store, err := openStore(ctx, c, stderr)
	if err != nil {
		return res, err
	}
	defer store.Close()
	for _, in := range ins {
		if c.verbose {
			kind := in.Format.Name
			if in.Format.Kind != "" {
				kind += " (" + in.Format.Kind + ")"
			}
			fmt.Fprintf(stderr, "relaysleuth: %s: read as %s: %s\n", clean(in.Path), kind, clean(in.Why))
		}
	}
	ing := &pipeline.Ingest{Store: store, Policy: policy, Options: opts, Log: stderr}
	if bar := newProgress(c.progress, ins, stderr); bar != nil {
		ing.Progress = bar
	}
	res, err = ing.Run(ctx, ins)
	if err != nil && !errors.Is(err, pipeline.ErrInputs) {
		return res, err
	}
	fmt.Fprintf(stderr, "total: %d files, %d lines, %d events, %d unsupported, %d malformed, %d skipped\n",
		len(ins), res.Stats.Lines, res.Stats.Events, res.Stats.Unsupported, res.Stats.Malformed, failed+res.Failed)
	fmt.Fprintf(stderr, "policy from %s: %s\n", clean(c.policySource()), clean(describePolicy(policy)))
	if res.Stats.Events == 0 && res.Unchanged == 0 {
		if !existed {
			// Nothing of a mail log was read: leave no database behind.
			store.Close()
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(c.db + suffix)
			}
		}
		return res, errNothingRead
	}
	if failed+res.Failed > 0 {
		return res, errInputs
	}
	return res, nil
}

// named reports whether the input a SkipError is about was named on the
// command line (rather than found in a directory).
func named(paths []string, err error) bool {
	var se *pipeline.SkipError
	return errors.As(err, &se) && slices.Contains(paths, se.Path)
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

// newProgress returns a progress bar over the inputs' sizes on stderr, or
// nil when stderr is not a terminal (or --progress says so).
func newProgress(mode string, ins []*pipeline.Input, stderr io.Writer) *progressBar {
	show := false
	switch mode {
	case "always":
		show = true
	case "auto":
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			show = true
		}
	}
	if !show {
		return nil
	}
	var total int64
	for _, in := range ins {
		total += in.Size
	}
	if total == 0 {
		total = -1
	}
	return &progressBar{w: stderr, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("ingesting"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)}
}
