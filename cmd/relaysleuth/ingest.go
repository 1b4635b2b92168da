package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// batchEvents is how many events go into one transaction: one per line is
// orders of magnitude slower, one per file holds the whole file in memory.
// Two batches are in memory at once (one read, one stored); 10,000 keeps a
// 1M-line Exim ingest near 140 MB max RSS, where 20,000 took 270 MB for
// about 10% more speed.
const batchEvents = 10000

// batchBytes bounds a batch by the size of its lines too: an Exchange row
// is several times a syslog line, and 10,000 of its events held in two
// batches (each with its line, its CSV fields and its encoding) were most
// of a 1M-line Exchange ingest's memory. 10,000 Postfix or Exim events stay
// under it.
const batchBytes = 2 << 20

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
	ing := &ingester{store: store, corr: corr, c: c, stderr: stderr}
	corr.Resolver = &syncedResolver{r: store.Resolver(ctx), ing: ing, ctx: ctx}
	ing.bar = newProgress(c.progress, ins, stderr)
	ordered := inOrder(ins)
	for i, in := range ins {
		if ordered {
			var next time.Time
			if i+1 < len(ins) {
				next = ins[i+1].first
			}
			corr.ReadingInput(next)
		}
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

// inOrder reports whether prepare could sort the inputs oldest first: each
// is a file whose first line's time it read. The correlator is then told
// where each next input begins (Correlator.ReadingInput).
func inOrder(ins []*input) bool {
	for _, in := range ins {
		if in.stdin != nil || in.first.IsZero() {
			return false
		}
	}
	return true
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
	// cw commits the batches of the file being read, nil between files.
	cw *committer
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
	cw := startCommitter(ctx, ing.store.NewWriter(src), in.path)
	defer cw.stop()
	ing.cw = cw
	defer func() { ing.cw = nil }()
	var (
		batch    = cw.newBatch()
		size     int // bytes of the lines in batch
		shown    int
		lastLine = -1
		progress = schema.Progress{Offset: start.Offset, Lines: int64(start.Line)}
		// committed counts what earlier commits of this file stored, so
		// that the source's counts stay right across a crash.
		committed parsers.Stats
	)
	commit := func(final schema.Progress) error {
		rs, ms := ing.corr.Flush()
		if err := cw.send(ctx, pendingCommit{events: batch, rs: rs, ms: ms, b: schema.Prepare(batch, rs, ms), p: final}); err != nil {
			return err
		}
		batch, size = cw.newBatch(), 0
		return nil
	}
	emit := func(ev parsers.Event) error {
		if ev.Pos.Line != lastLine {
			// A new line starts: every event of the lines before it is in
			// the batch, so it can be committed with its position.
			if len(batch) >= batchEvents || size >= batchBytes {
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
			size += len(ev.Raw)
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
	if err := cw.wait(); err != nil {
		return err
	}
	ing.total.Add(st)
	ing.done += in.size
	ing.tick(in)
	ing.clearBar()
	fmt.Fprintf(ing.stderr, "%s: %d lines, %d events, %d unsupported, %d malformed\n",
		in.path, st.Lines, st.Events, st.Unsupported, st.Malformed)
	if scanErr == nil && st.Lines > 0 && st.Events == 0 && st.Malformed*2 > st.Lines {
		// Most lines are not this format at all: a wrong --input-format or
		// a damaged file. Counted as an input that could not be read.
		return fmt.Errorf("%s: no line could be read as %s (%d of %d malformed): wrong --input-format?", in.path, in.format.name, st.Malformed, st.Lines)
	}
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

// pendingCommit is one batch on its way from the reader to the committer:
// the events, the recipients and messages they changed, and the position
// the source is read up to once they are stored.
type pendingCommit struct {
	events []parsers.Event
	rs     []analysis.Recipient
	ms     []analysis.Message
	b      *schema.Batch // events, rs and ms encoded, on the reader's goroutine
	p      schema.Progress
	keys   []string // rs's and ms's queue ids and message keys (see track)
	// synced, if not nil, makes this a barrier: it is closed once every
	// batch sent before it is committed.
	synced chan struct{}
}

// A committer stores one file's batches on its own goroutine, in the order
// they were sent, so that parsing and correlating the next batch overlaps
// with SQLite storing this one. Each batch is still one transaction with
// its source's position (crash safety). The channel is unbuffered: a slow
// store blocks the reader, and at most two batches are in memory (one
// being read or waiting, one being stored), plus one emptied slice.
type committer struct {
	w    *schema.Writer
	path string
	// ch carries batches to store; the reader sends and closes it (in wait).
	ch       chan pendingCommit
	free     chan []parsers.Event // stored batches' slices, for reuse
	done     chan struct{}        // closed when run has returned
	err      error                // why run stopped early; read after done
	inFlight atomic.Int64         // batches sent and not yet committed
	closed   bool

	// pending counts, per queue id ("q" + id) and message key ("k" +
	// key), the recipients and messages of the batches sent and not yet
	// committed: a look-up of anything else needs no wait for the store.
	mu      sync.Mutex
	pending map[string]int
}

func startCommitter(ctx context.Context, w *schema.Writer, path string) *committer {
	c := &committer{
		w:       w,
		path:    path,
		ch:      make(chan pendingCommit),
		pending: make(map[string]int),
		free:    make(chan []parsers.Event, 1),
		done:    make(chan struct{}),
	}
	go c.run(ctx)
	return c
}

// run commits batches until ch is closed or a commit fails.
func (c *committer) run(ctx context.Context) {
	defer close(c.done)
	var held [][]string // the keys of the batches written, not yet committed
	flush := func() bool {
		if err := c.w.Flush(); err != nil {
			c.err = storeError{fmt.Errorf("%s: %w", c.path, err)}
			return false
		}
		for _, keys := range held {
			c.track(keys, -1)
			c.inFlight.Add(-1)
		}
		held = held[:0]
		return true
	}
	defer c.w.Abort() // after a failure or a cancel: nothing half-written
	for {
		// A slow input (a pipe) must not keep a transaction open, and its
		// batches uncommitted, while it waits for its next batch.
		var due <-chan time.Time
		if _, open := c.w.Held(); len(held) > 0 {
			due = time.After(holdTime - open)
		}
		var (
			pc pendingCommit
			ok bool
		)
		select {
		case pc, ok = <-c.ch:
		case <-due:
			if !flush() {
				return
			}
			continue
		}
		if !ok {
			break
		}
		if pc.synced != nil {
			if !flush() {
				return
			}
			close(pc.synced)
			continue
		}
		if err := c.w.Hold(ctx, pc.b, pc.p); err != nil {
			c.err = storeError{fmt.Errorf("%s: %w", c.path, err)}
			return
		}
		held = append(held, pc.keys)
		clear(pc.events) // let the lines go before the slice is reused
		select {
		case c.free <- pc.events[:0]:
		default:
		}
		if n, open := c.w.Held(); n >= holdBatches || open >= holdTime {
			if !flush() {
				return
			}
		}
	}
	flush()
}

// One transaction holds up to holdBatches batches, or the batches of
// holdTime (see schema.Writer.Hold): on a 1M-line log a commit per batch
// rewrote most index pages a hundred times.
const (
	holdBatches = 10
	holdTime    = 3 * time.Second
)

// newBatch returns an empty event slice, reusing a stored batch's.
func (c *committer) newBatch() []parsers.Event {
	select {
	case b := <-c.free:
		return b
	default:
		return make([]parsers.Event, 0, batchEvents+batchEvents/8)
	}
}

// pendingKeys returns the queue ids ("q" + id) and message keys ("k" +
// key) of pc's recipients and messages.
func pendingKeys(pc pendingCommit) []string {
	keys := make([]string, 0, 2*(len(pc.ms)+len(pc.rs)))
	for i := range pc.ms {
		keys = append(keys, "q"+pc.ms[i].QueueID, "k"+pc.ms[i].Key)
	}
	for i := range pc.rs {
		keys = append(keys, "q"+pc.rs[i].QueueID, "k"+pc.rs[i].MessageKey)
	}
	return keys
}

// track adds d to the pending counts of keys (see pendingKeys).
func (c *committer) track(keys []string, d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if n := c.pending[k] + d; n > 0 {
			c.pending[k] = n
		} else {
			delete(c.pending, k)
		}
	}
}

// isPending reports whether a batch not yet committed holds a message or
// recipient under this queue id (prefix "q") or message key ("k").
func (c *committer) isPending(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[k] > 0
}

// send hands a batch to the committer, waiting while one is already queued.
func (c *committer) send(ctx context.Context, pc pendingCommit) error {
	if pc.synced == nil {
		c.inFlight.Add(1)
		pc.keys = pendingKeys(pc)
		c.track(pc.keys, 1)
	}
	var err error
	select {
	case c.ch <- pc:
		return nil
	case <-c.done:
		err = c.err
	case <-ctx.Done():
		err = ctx.Err()
	}
	if pc.synced == nil {
		c.track(pc.keys, -1)
		c.inFlight.Add(-1)
	}
	return err
}

// sync waits until every batch sent so far is committed.
func (c *committer) sync(ctx context.Context) error {
	if c.inFlight.Load() == 0 {
		return nil
	}
	synced := make(chan struct{})
	if err := c.send(ctx, pendingCommit{synced: synced}); err != nil {
		return err
	}
	select {
	case <-synced:
		return nil
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait closes the channel and waits until every batch sent is committed,
// returning the first commit error.
func (c *committer) wait() error {
	if !c.closed {
		c.closed = true
		close(c.ch)
	}
	<-c.done
	return c.err
}

// stop ends the committer on any return from ingester.file: the batches
// already sent are committed (or fail fast once ctx is canceled).
func (c *committer) stop() { _ = c.wait() }

// syncedResolver is the correlator's view of the store during ingest. A
// look-up of a message that a batch on its way to the store holds first
// waits for that batch, so that it sees what a reader that committed in
// line would have seen: the correlator's verdicts do not depend on how far
// the committer lags. Other look-ups do not wait (waiting on each would
// stop the reader every time a line names a message it never saw, and
// parsing would no longer overlap storing).
type syncedResolver struct {
	r   *schema.Resolver
	ing *ingester
	ctx context.Context
}

func (s *syncedResolver) sync(k string) {
	if cw := s.ing.cw; cw != nil && cw.isPending(k) {
		// A failed commit ends the run at the next send; the look-up
		// itself may still go ahead.
		_ = cw.sync(s.ctx)
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
