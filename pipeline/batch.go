package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// ErrNothingRead is the error of a run that read no input as a mail log:
// no all-clear is given for logs that were never read.
var ErrNothingRead = errors.New("no input was read as a mail log; nothing to report")

// A Batch reads log files into a database once, as ingest and scan do.
type Batch struct {
	DB, Group    string // the database and the group of a new file (see OpenStore)
	Policy       analysis.Policy
	PolicySource string // where Policy came from, for the closing lines
	Options      Options
	Stdin        io.Reader // what "-" reads
	Log          io.Writer // notes, skipped inputs, the totals
	Verbose      bool      // also say how each input is read
	// Progress, if not nil, returns what shows the progress over inputs
	// of total bytes, or nil for nothing.
	Progress func(total int64) Progress
}

// Run reads paths (files, .gz, directories, "-") into the database,
// printing what it read on b.Log. Inputs that cannot be read are reported
// and skipped, and Run then returns ErrInputs; a run that reads nothing as
// a mail log returns ErrNothingRead and creates no database.
func (b *Batch) Run(ctx context.Context, paths []string) (Result, error) {
	var res Result
	if len(b.Policy.TrustedNetworks) == 0 {
		fmt.Fprintln(b.Log, "relaysleuth: warning: no trusted networks given: every unauthenticated client counts as outside")
	}
	files, errs := Expand(paths)
	ins, perrs := Prepare(ctx, files, b.Options, b.Stdin)
	failed := len(errs)
	for _, e := range errs {
		fmt.Fprintf(b.Log, "relaysleuth: %s\n", parsers.Clean(e.Error()))
	}
	for _, e := range perrs {
		// An empty file (just rotated), or a file that is no mail log
		// found in a directory given (a config.json beside the logs), is
		// a note; a file named on the command line that cannot be read
		// is an error.
		// A syslog file of other programs' lines only (mail.err of
		// opendkim's) is a note too: 'scan /var/log/mail.*' reads it.
		note := errors.Is(e, ErrEmpty) || errors.Is(e, ErrNoMailLines) ||
			errors.Is(e, ErrNotMailLog) && !named(paths, e)
		if note {
			fmt.Fprintf(b.Log, "relaysleuth: note: %s\n", parsers.Clean(e.Error()))
			continue
		}
		fmt.Fprintf(b.Log, "relaysleuth: %s\n", parsers.Clean(e.Error()))
		failed++
	}
	if len(ins) == 0 {
		return res, ErrNothingRead
	}
	_, statErr := os.Stat(b.DB)
	existed := statErr == nil || schema.IsPostgres(b.DB)
	store, err := OpenStore(ctx, b.DB, b.Group, b.Log)
	if err != nil {
		return res, err
	}
	defer store.Close()
	var total int64
	for _, in := range ins {
		total += in.Size
		if b.Verbose {
			kind := in.Format.Name
			if in.Format.Kind != "" {
				kind += " (" + in.Format.Kind + ")"
			}
			fmt.Fprintf(b.Log, "relaysleuth: %s: read as %s: %s\n", parsers.Clean(in.Path), kind, parsers.Clean(in.Why))
		}
	}
	ing := &Ingest{Store: store, Policy: b.Policy, Options: b.Options, Log: b.Log}
	if b.Progress != nil {
		ing.Progress = b.Progress(total)
	}
	res, err = ing.Run(ctx, ins)
	if err != nil && !errors.Is(err, ErrInputs) {
		return res, err
	}
	fmt.Fprintf(b.Log, "total: %d files, %d lines, %d events, %d unsupported, %d malformed, %d skipped\n",
		len(ins), res.Stats.Lines, res.Stats.Events, res.Stats.Unsupported, res.Stats.Malformed, failed+res.Failed)
	fmt.Fprintf(b.Log, "policy from %s: %s\n", parsers.Clean(b.PolicySource), parsers.Clean(b.Policy.Describe()))
	if res.Stats.Events == 0 && res.Unchanged == 0 {
		if !existed {
			// Nothing of a mail log was read: leave no database behind.
			store.Close()
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(b.DB + suffix)
			}
		}
		return res, ErrNothingRead
	}
	if failed+res.Failed > 0 {
		return res, ErrInputs
	}
	return res, nil
}

// named reports whether the input a SkipError is about was named on the
// command line (rather than found in a directory).
func named(paths []string, err error) bool {
	var se *SkipError
	return errors.As(err, &se) && slices.Contains(paths, se.Path)
}
