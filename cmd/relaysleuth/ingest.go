package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// batchEvents is how many events go into one transaction: one per line is
// orders of magnitude slower, one per file holds the whole file in memory.
const batchEvents = 20000

// maxShownErrors is how many malformed lines of one file are printed; the
// rest are counted.
const maxShownErrors = 10

const ingestSynopsis = `Usage: relaysleuth ingest [flags] PATH...

Reads Postfix, Exim or Exchange logs (plain or .gz, any order, - for stdin)
into the database, joins their lines into messages and recipients, and gives
each recipient a verdict. Reading a file again adds nothing; a file that
grew is read from where the last run stopped.`

func runIngest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("ingest", ingestSynopsis, stderr)
	c.dbFlag(fs)
	c.policyFlags(fs)
	c.inputFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("ingest: no PATH given")
	}
	_, err := ingest(ctx, &c, fs.Args(), stdin, stderr)
	return err
}

// ingestResult is what an ingest run did.
type ingestResult struct {
	stats   parsers.Stats
	skipped int // inputs that could not be read at all
	failed  int // inputs read only in part
}

// errInputs reports inputs that could not be (fully) read; the rest of the
// run went on.
var errInputs = errors.New("some inputs could not be read")

// ingest reads paths into the database named by c.
func ingest(ctx context.Context, c *commonFlags, paths []string, stdin io.Reader, stderr io.Writer) (ingestResult, error) {
	var res ingestResult
	policy, err := c.policy()
	if err != nil {
		return res, err
	}
	if _, err := c.location(); err != nil {
		return res, err
	}
	if len(policy.TrustedNetworks) == 0 {
		fmt.Fprintln(stderr, "relaysleuth: warning: no trusted networks given: every unauthenticated client counts as outside")
	}
	files, errs := expandPaths(paths)
	ins, perrs := prepare(ctx, files, c, stdin)
	for _, e := range append(errs, perrs...) {
		var ue usageError
		if errors.As(e, &ue) {
			return res, e
		}
		fmt.Fprintf(stderr, "relaysleuth: %s\n", clean(e.Error()))
		res.skipped++
	}
	store, err := schema.Open(ctx, c.db)
	if err != nil {
		return res, err
	}
	defer store.Close()

	corr := analysis.NewCorrelator(policy)
	corr.Resolver = store.Resolver(ctx)
	ing := &ingester{store: store, corr: corr, c: c, stderr: stderr}
	ing.bar = newProgress(c.progress, ins, stderr)
	for _, in := range ins {
		if err := ing.file(ctx, in); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, schema.ErrBusy) || isStoreError(err) {
				ing.finishBar()
				return res, err
			}
			fmt.Fprintf(stderr, "relaysleuth: %s\n", clean(err.Error()))
			res.failed++
		}
	}
	ing.finishBar()
	res.stats = ing.total
	if st := ing.corr.Stats(); st.StaleMessages > 0 {
		fmt.Fprintf(stderr, "relaysleuth: %d messages had no end in the log (cut log or crashed MTA); judged on what was there\n", st.StaleMessages)
	}
	fmt.Fprintf(stderr, "total: %d files, %d lines, %d events, %d unsupported, %d malformed, %d skipped\n",
		len(ins), res.stats.Lines, res.stats.Events, res.stats.Unsupported, res.stats.Malformed, res.skipped+res.failed)
	if res.skipped+res.failed > 0 {
		return res, errInputs
	}
	return res, nil
}

// storeError marks a failure of the database, which ends the run (unlike a
// bad input file, which only ends that file).
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

func isStoreError(err error) bool {
	var se storeError
	return errors.As(err, &se)
}

type ingester struct {
	store  *schema.Store
	corr   *analysis.Correlator
	c      *commonFlags
	stderr io.Writer
	total  parsers.Stats
	bar    *progressbar.ProgressBar
	done   int64 // bytes of finished inputs, for the bar
}

// file reads one input from where the store says it stopped.
func (ing *ingester) file(ctx context.Context, in *input) error {
	src, err := ing.store.Source(ctx, in.path, in.finger, in.format.name, in.size)
	if err != nil {
		return storeError{err}
	}
	if src.Complete && (in.gz || in.stdin != nil || src.Offset >= in.size) {
		fmt.Fprintf(ing.stderr, "%s: already ingested (as %s), nothing new\n", in.path, src.Path)
		ing.done += in.size
		return nil
	}
	if !in.gz && in.stdin == nil && src.Offset > in.size {
		// Same first line, less content: a shorter copy of a file read before.
		fmt.Fprintf(ing.stderr, "%s: already ingested (a longer copy was read as %s), nothing new\n", in.path, src.Path)
		ing.done += in.size
		return nil
	}
	rc, seeked, err := openInputAt(in, src.Offset)
	if err != nil {
		return err
	}
	defer rc.Close()
	start := parsers.Start{}
	if src.Offset > 0 {
		if !seeked {
			_, err = io.CopyN(io.Discard, rc, src.Offset)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			fmt.Fprintf(ing.stderr, "%s: already ingested (a longer copy was read as %s), nothing new\n", in.path, src.Path)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: resume at byte %d: %w", in.path, src.Offset, err)
		}
		start = parsers.Start{Offset: src.Offset, Line: int(src.Lines)}
		fmt.Fprintf(ing.stderr, "%s: resuming at line %d\n", in.path, src.Lines+1)
	}
	loc, _ := ing.c.location()
	p := in.format.new(parserOptions{path: in.path, modTime: in.modTime, year: ing.c.year, location: loc})
	w := ing.store.NewWriter(src)
	var (
		batch    []parsers.Event
		shown    int
		lastLine = -1
		progress = schema.Progress{Offset: start.Offset, Lines: int64(start.Line)}
		// committed counts what earlier commits of this file stored, so
		// that the source's counts stay right across a crash.
		committed parsers.Stats
	)
	commit := func(final schema.Progress) error {
		rs, ms := ing.corr.Flush()
		if err := w.Commit(ctx, batch, rs, ms, final); err != nil {
			return storeError{fmt.Errorf("%s: %w", in.path, err)}
		}
		batch = batch[:0]
		return nil
	}
	emit := func(ev parsers.Event) error {
		if ev.Pos.Line != lastLine {
			// A new line starts: every event of the lines before it is in
			// the batch, so it can be committed with its position.
			if len(batch) >= batchEvents {
				progress.Offset, progress.Lines = ev.Pos.Offset, int64(ev.Pos.Line-1)
				progress.Stats = parsers.Stats{Events: int64(len(batch)), Malformed: int64(shown) - committed.Malformed}
				if err := commit(progress); err != nil {
					return err
				}
				committed.Events += progress.Stats.Events
				committed.Malformed += progress.Stats.Malformed
				ing.tick(in)
			}
			lastLine = ev.Pos.Line
		}
		batch = append(batch, ev)
		ing.corr.Feed(ev)
		return nil
	}
	bad := func(err error) {
		shown++
		if shown <= maxShownErrors {
			ing.clearBar()
			fmt.Fprintf(ing.stderr, "relaysleuth: %s\n", clean(err.Error()))
		}
	}
	st, scanErr := parsers.Scan(ctx, rc, in.path, start, p, emit, bad)
	if shown > maxShownErrors {
		fmt.Fprintf(ing.stderr, "relaysleuth: %s: %d more malformed lines not shown\n", in.path, shown-maxShownErrors)
	}
	if isStoreError(scanErr) || errors.Is(scanErr, context.Canceled) {
		return scanErr
	}
	final := schema.Progress{
		Offset: start.Offset + st.Bytes,
		Lines:  int64(start.Line) + st.Lines,
		Stats: parsers.Stats{
			Events:      st.Events - committed.Events,
			Malformed:   st.Malformed - committed.Malformed,
			Unsupported: st.Unsupported,
		},
		Complete: scanErr == nil,
	}
	if err := commit(final); err != nil {
		return err
	}
	ing.total.Add(st)
	ing.done += in.size
	ing.tick(in)
	ing.clearBar()
	fmt.Fprintf(ing.stderr, "%s: %d lines, %d events, %d unsupported, %d malformed\n",
		in.path, st.Lines, st.Events, st.Unsupported, st.Malformed)
	if st.Lines > 0 && st.Events == 0 {
		fmt.Fprintf(ing.stderr, "relaysleuth: %s: warning: no %s lines of interest found\n", in.path, in.format.name)
	}
	if scanErr != nil {
		if errors.Is(scanErr, io.ErrUnexpectedEOF) {
			scanErr = fmt.Errorf("truncated (unexpected end of compressed data)")
		}
		return fmt.Errorf("%s:%d: read error after %d lines (kept): %w", in.path, final.Lines, st.Lines, scanErr)
	}
	return nil
}

// newProgress returns a progress bar over the inputs' sizes on stderr, or
// nil when stderr is not a terminal (or --progress says so).
func newProgress(mode string, ins []*input, stderr io.Writer) *progressbar.ProgressBar {
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
		total += in.size
	}
	if total == 0 {
		total = -1
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("ingesting"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
}

// clearBar wipes the progress bar's line so that a message printed next
// starts at the left margin; the next tick draws the bar again.
func (ing *ingester) clearBar() {
	if ing.bar != nil {
		_ = ing.bar.Clear()
	}
}

func (ing *ingester) tick(in *input) {
	if ing.bar != nil {
		_ = ing.bar.Set64(ing.done + in.readSoFar.Load())
	}
}

func (ing *ingester) finishBar() {
	if ing.bar != nil {
		_ = ing.bar.Finish()
		fmt.Fprintln(ing.stderr)
	}
}
