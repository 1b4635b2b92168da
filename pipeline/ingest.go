package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// MaxShownErrors is how many malformed lines of one file are printed; the
// rest are counted.
const MaxShownErrors = 10

// ErrInputs reports inputs that could not be (fully) read; the rest of the
// run went on.
var ErrInputs = errors.New("some inputs could not be read")

// A Progress shows how far an ingest is. Set is called with the bytes read
// so far of total; Clear wipes it before a message is printed.
type Progress interface {
	Set(read int64)
	Clear()
	Finish()
}

// Ingest reads whole inputs into the store: parse, correlate, judge, and
// store on the committer's goroutine. It is what 'ingest' and 'scan' run.
type Ingest struct {
	Store  *schema.Store
	Policy analysis.Policy
	Options
	// Log receives a line per file read and the warnings of the run.
	Log io.Writer
	// Progress, if not nil, is moved as the inputs are read.
	Progress Progress
}

// Result is what an ingest run did.
type Result struct {
	Stats parsers.Stats
	Files int
	// Failed counts inputs read only in part or not at all.
	Failed int
	// Unchanged counts inputs read before by an earlier run, with nothing
	// new in them.
	Unchanged int
	// First and Last are the times of the oldest and newest event of the
	// inputs (those read by this run, and those stored from them before):
	// the span a report on what was read covers. Zero when there is none.
	First, Last time.Time
	Stale       int // messages that had no end in the log
}

// Run reads ins (from Prepare, in its order) from where the store says
// each stopped. An input that cannot be read is reported on Log and
// counted in Failed, and the run goes on: the error is then ErrInputs. A
// failure of the store or ctx ends the run.
func (ing *Ingest) Run(ctx context.Context, ins []*Input) (Result, error) {
	var res Result
	r := &ingestRun{Ingest: ing, corr: analysis.NewCorrelator(ing.Policy), res: &res}
	r.ov = newOverlap(ctx, ins)
	if n := r.ov.fullNote(); n != "" {
		fmt.Fprintf(ing.Log, "relaysleuth: %s\n", n)
	}
	// Into an empty database, the indexes only readers use are built after
	// the load, by a sort (schema.DeferIndexes).
	deferred, err := ing.Store.DeferIndexes(ctx)
	if err != nil {
		return res, err
	}
	r.cw = startCommitter(ctx)
	r.corr.Resolver = &syncedResolver{r: ing.Store.Resolver(ctx), cw: r.cw, ctx: ctx}
	ordered := inOrder(ins)
	var runErr error
	for i, in := range ins {
		if ordered {
			var next time.Time
			if i+1 < len(ins) {
				next = ins[i+1].First
			}
			r.corr.ReadingInput(next)
		}
		if err := r.file(ctx, in); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, schema.ErrBusy) || IsStoreError(err) {
				runErr = err
				break
			}
			r.clearBar()
			fmt.Fprintf(ing.Log, "relaysleuth: %s\n", parsers.Clean(err.Error()))
			res.Failed++
		}
		res.Files++
	}
	if err := r.cw.close(); err != nil && runErr == nil {
		runErr = err
	}
	if ing.Progress != nil {
		ing.Progress.Finish()
	}
	stale := r.corr.Stats().StaleMessages
	// The load's memory (its messages in the correlator, the committer's
	// spare batches) goes back to the system before the index build: the
	// build's sorts come on top of what the process holds, and the Go heap
	// does not shrink by itself for minutes (a 5M-line load: 130 MB during
	// the load, 146 MB during the build without this).
	r.corr, r.cw = nil, nil
	debug.FreeOSMemory()
	// Even after an interruption: readers need them, and what was stored
	// is whole. A kill leaves them to the next writer's Open.
	if deferred && res.Stats.Lines >= bigLoad {
		fmt.Fprintf(ing.Log, "relaysleuth: building the report indexes\n")
	}
	// The indexes deferred, and the stored lines' keys the writers staged
	// (schema.Writer.StageKeys).
	if err := ing.Store.RestoreIndexes(context.WithoutCancel(ctx)); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		runErr = ing.accounts(ctx)
	}
	if runErr != nil {
		return res, runErr
	}
	if stale > 0 {
		res.Stale = stale
		fmt.Fprintf(ing.Log, "relaysleuth: %d messages had no end in the log (cut log or crashed MTA); judged on what was there\n", stale)
	}
	if res.Failed > 0 {
		return res, ErrInputs
	}
	return res, nil
}

// bigLoad is the number of lines above which building the deferred indexes
// takes long enough to say so.
const bigLoad = 2_000_000

// inOrder reports whether Prepare could sort the inputs oldest first: each
// is a file whose first line's time it read. The correlator is then told
// where each next input begins (Correlator.ReadingInput).
func inOrder(ins []*Input) bool {
	for _, in := range ins {
		if in.stdin != nil || in.First.IsZero() {
			return false
		}
	}
	return true
}

// ingestRun is one Run's state.
type ingestRun struct {
	*Ingest
	corr *analysis.Correlator
	cw   *committer
	res  *Result
	done int64    // bytes of finished inputs, for the bar
	ov   *overlap // lines also in other files of the run (see overlap.go)
}

// span widens the result's span to t.
func (r *ingestRun) span(t time.Time) {
	if r.res.First.IsZero() || t.Before(r.res.First) {
		r.res.First = t
	}
	if t.After(r.res.Last) {
		r.res.Last = t
	}
}

func (r *ingestRun) clearBar() {
	if r.Progress != nil {
		r.Progress.Clear()
	}
}

func (r *ingestRun) tick(in *Input) {
	if r.Progress != nil {
		r.Progress.Set(r.done + in.readSoFar.Load())
	}
}

// file reads one input from where the store says it stopped.
func (r *ingestRun) file(ctx context.Context, in *Input) error {
	// The committer may hold the last file's batches in an open write
	// transaction: commit them first, or adding this source would wait
	// for that transaction's hold time (seconds per file).
	if err := r.cw.sync(ctx); err != nil {
		return err
	}
	if in.stdin == nil {
		// Files logrotate renamed since an earlier run: their stored
		// lines are found where they are now, before a new file under an
		// old name adds its own (see relocateFamily).
		moves, err := relocateFamily(ctx, ctx, r.Store, in.evidencePath(), nil)
		if err != nil {
			return err
		}
		r.corr.RenameFiles(renames(moves))
		for _, m := range moves {
			r.clearBar()
			fmt.Fprintf(r.Log, "%s: now %s: its stored lines point there\n", parsers.Clean(m.From), parsers.Clean(m.To))
		}
	}
	src, err := r.Store.Source(ctx, in.evidencePath(), in.finger, in.Format.Name, in.Size)
	if err != nil {
		return StoreError{err}
	}
	if !src.First.IsZero() {
		r.span(src.First)
		r.span(src.Last)
	}
	if src.Complete && (in.gz || in.stdin != nil || src.Offset >= in.Size) {
		r.res.Unchanged++
		r.clearBar()
		fmt.Fprintf(r.Log, "%s: already ingested (as %s), nothing new\n", parsers.Clean(in.Path), parsers.Clean(src.Path))
		r.done += in.Size
		return nil
	}
	if !in.gz && in.stdin == nil && src.Offset > in.Size {
		// Same first line, less content: a shorter copy of a file read before.
		r.res.Unchanged++
		r.clearBar()
		fmt.Fprintf(r.Log, "%s: already ingested (a longer copy was read as %s), nothing new\n", parsers.Clean(in.Path), parsers.Clean(src.Path))
		r.done += in.Size
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
			r.res.Unchanged++
			fmt.Fprintf(r.Log, "%s: already ingested (a longer copy was read as %s), nothing new\n", parsers.Clean(in.Path), parsers.Clean(src.Path))
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: resume at byte %d: %w", in.Path, src.Offset, err)
		}
		start = parsers.Start{Offset: src.Offset, Line: int(src.Lines)}
		r.clearBar()
		fmt.Fprintf(r.Log, "%s: resuming at line %d\n", parsers.Clean(in.Path), src.Lines+1)
	}
	if in.Warning != "" {
		r.clearBar()
		fmt.Fprintf(r.Log, "relaysleuth: %s: warning: %s\n", parsers.Clean(in.Path), parsers.Clean(in.Warning))
	}
	p := r.ov.wrap(in.Format.New(ParserOptions{Path: in.Path, ModTime: in.ModTime, Year: r.Year, Location: r.location()}), in)
	w := r.Store.NewWriter(src)
	w.StageKeys()
	var (
		batch    = r.cw.newBatch()
		size     int // bytes of the lines in batch
		shown    int
		lastLine = -1
		progress = schema.Progress{Offset: start.Offset, Lines: int64(start.Line)}
		// committed counts what earlier commits of this file stored, so
		// that the source's counts stay right across a crash.
		committed parsers.Stats
	)
	send := func(final schema.Progress) error {
		rs, ms := r.corr.Flush()
		cm := commit{files: []fileCommit{laterFileCommit(w, in.Path, batch, rs, ms, final)}, keys: commitKeys(rs, ms)}
		if err := r.cw.send(ctx, cm); err != nil {
			return err
		}
		batch, size = r.cw.newBatch(), 0
		return nil
	}
	emit := func(ev parsers.Event) error {
		if ev.Pos.Line != lastLine {
			// A new line starts: every event of the lines before it is in
			// the batch, so it can be committed with its position.
			if len(batch) >= BatchEvents || size >= batchBytes {
				progress.Offset, progress.Lines = ev.Pos.Offset, int64(ev.Pos.Line-1)
				progress.Stats = parsers.Stats{Events: int64(len(batch)), Malformed: int64(shown) - committed.Malformed}
				if err := send(progress); err != nil {
					return err
				}
				committed.Events += progress.Stats.Events
				committed.Malformed += progress.Stats.Malformed
				r.tick(in)
			}
			lastLine = ev.Pos.Line
			size += len(ev.Raw)
		}
		r.span(ev.Time)
		batch = append(batch, ev)
		r.corr.Feed(ev)
		return nil
	}
	bad := func(err error) {
		shown++
		if shown <= MaxShownErrors {
			r.clearBar()
			fmt.Fprintf(r.Log, "relaysleuth: %s\n", parsers.Clean(err.Error()))
		}
	}
	st, scanErr := parsers.Scan(ctx, rc, in.evidencePath(), start, p, emit, bad)
	if shown > MaxShownErrors {
		fmt.Fprintf(r.Log, "relaysleuth: %s: %d more malformed lines not shown\n", parsers.Clean(in.Path), shown-MaxShownErrors)
	}
	if IsStoreError(scanErr) || errors.Is(scanErr, context.Canceled) {
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
	if err := send(final); err != nil {
		return err
	}
	r.res.Stats.Add(st)
	r.done += in.Size
	r.tick(in)
	r.clearBar()
	fmt.Fprintf(r.Log, "%s: %d lines, %d events, %d unsupported, %d malformed\n",
		parsers.Clean(in.Path), st.Lines, st.Events, st.Unsupported, st.Malformed)
	if n := r.ov.note(in); n != "" {
		fmt.Fprintf(r.Log, "relaysleuth: %s\n", n)
	}
	if scanErr == nil && st.Lines > 0 && st.Events == 0 && st.Malformed*2 > st.Lines {
		// Most lines are not this format at all: a wrong --input-format or
		// a damaged file. Counted as an input that could not be read.
		return fmt.Errorf("%s: no line could be read as %s (%d of %d malformed): wrong --input-format?", in.Path, in.Format.Name, st.Malformed, st.Lines)
	}
	if st.Lines > 0 && st.Events == 0 {
		fmt.Fprintf(r.Log, "relaysleuth: %s: warning: no %s lines of interest found\n", parsers.Clean(in.Path), in.Format.Name)
	}
	if scanErr != nil {
		if errors.Is(scanErr, io.ErrUnexpectedEOF) {
			scanErr = fmt.Errorf("truncated (unexpected end of compressed data)")
		}
		return fmt.Errorf("%s:%d: read error after %d lines (kept): %w", in.Path, final.Lines, st.Lines, scanErr)
	}
	return nil
}

// syncedResolver is the correlator's view of the store during a run. A
// look-up of a message that a commit on its way to the store holds first
// waits for that commit, so that it sees what a reader that committed in
// line would have seen: the correlator's verdicts do not depend on how far
// the committer lags. Other look-ups do not wait (waiting on each would
// stop the reader every time a line names a message it never saw, and
// parsing would no longer overlap storing).
type syncedResolver struct {
	r   *schema.Resolver
	cw  *committer
	ctx context.Context
}

func (s *syncedResolver) sync(k string) {
	if s.cw.isPending(k) {
		// A failed commit ends the run at the next send; the look-up
		// itself may still go ahead.
		_ = s.cw.sync(s.ctx)
	}
}

// MessageByQueueID implements analysis.Resolver.
func (s *syncedResolver) MessageByQueueID(queueID string, since time.Time) (*analysis.Message, []*analysis.Recipient, error) {
	s.sync("q" + queueID)
	return s.r.MessageByQueueID(queueID, since)
}

// MessageByKey implements analysis.Resolver.
func (s *syncedResolver) MessageByKey(key string) (*analysis.Message, []*analysis.Recipient, error) {
	s.sync("k" + key)
	return s.r.MessageByKey(key)
}
