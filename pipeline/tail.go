package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nxadm/tail"
	"github.com/nxadm/tail/watch"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// commitInterval bounds how long read lines wait for their commit while
// lines keep coming; once every file is read to its end they are committed
// at once, so that a lone line's alert goes out as soon as it is read.
const commitInterval = 200 * time.Millisecond

// quietTick is how often the wall clock is checked for summaries whose
// quiet period has ended while no line came.
const quietTick = time.Second

// queueLifetime is how far back a restart looks for the earlier lines of a
// message still in flight (Postfix's maximal_queue_lifetime default).
const queueLifetime = 5 * 24 * time.Hour

// alertRetention is how long a sent alert stays in the outbox. Its key is
// needed only while the lines that decided it may be read again, that is
// until they are committed (a stored verdict is not alerted about again).
const alertRetention = 7 * 24 * time.Hour

// Tail follows live logs into the store and alerts on what they show, as
// 'relaysleuth tail' does: the same parsers, correlator and store as
// Ingest, through the same committer.
type Tail struct {
	Store  *schema.Store
	Policy analysis.Policy
	Options
	Rules   *analysis.AlertRules
	Alerts  *Alerter
	Metrics *Metrics // nil: none
	// Log receives notes on the files followed, errors of lines and the
	// summary.
	Log   io.Writer
	Stdin io.Reader // read for the path "-"
	// FromStart reads files never followed before from their beginning,
	// not their end.
	FromStart bool
	// Poll polls files for changes instead of using inotify.
	Poll bool
	// Replay is how far back the stored lines are read again on start to
	// rebuild the messages in flight; 0: not at all.
	Replay time.Duration
	// Crash, when not nil, is called at each point of a commit where a
	// crash leaves a state of its own; an error stops the run there as a
	// crash would. Tests only.
	Crash func(CrashPoint, []analysis.Alert) error
	// AccountsEvery is how often the accounts pass runs while mail from
	// SASL accounts comes in; 0: every 30 seconds (see accounts_tail.go).
	AccountsEvery time.Duration
}

// Run follows paths until ctx is done or every input has ended (standard
// input at its end, a file that can no longer be read).
func (tl *Tail) Run(ctx context.Context, paths []string) error {
	t := &tailer{
		opts:      tl.Options,
		store:     tl.Store,
		corr:      analysis.NewCorrelator(tl.Policy),
		rules:     tl.Rules,
		al:        tl.Alerts,
		m:         tl.Metrics,
		stderr:    tl.Log,
		loc:       tl.location(),
		fromStart: tl.FromStart,
		poll:      tl.Poll,
		sctx:      context.WithoutCancel(ctx),
		sent:      make(map[string]int),
		stdin:     tl.Stdin,
		crash:     tl.Crash,
		acct:      accountWatch{every: tl.AccountsEvery, policy: tl.Policy},
	}
	if err := t.startOutbox(ctx); err != nil {
		return err
	}
	for _, p := range paths {
		if p != "-" {
			// Evidence and the follow state name the file absolutely,
			// whatever directory a later run starts in.
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
		}
		t.files = append(t.files, &followed{path: p, name: p, stdin: p == "-"})
	}
	if err := t.replay(ctx, tl.Replay); err != nil {
		return fmt.Errorf("replay stored lines: %w", err)
	}
	return t.run(ctx)
}

// tailer follows the files and owns everything they feed: the parsers, the
// correlator, the rules and the writers. One goroutine runs it; the files'
// readers hand it lines over a channel, and it hands each batch of events,
// judged and with its alerts in the outbox, to a committer goroutine that
// stores it and sends the alerts while the next batch is read (see
// tailCommit).
type tailer struct {
	opts      Options
	store     *schema.Store
	corr      *analysis.Correlator
	rules     *analysis.AlertRules
	al        *Alerter
	m         *Metrics
	stderr    io.Writer
	loc       *time.Location
	fromStart bool
	poll      bool
	sctx      context.Context // for commits: a shutdown still commits
	ctx       context.Context // the run's, for sending alerts

	// cw stores the commits; the tailer waits for the one in flight
	// (settle) before anything else touches the database.
	cw *committer

	files      []*followed
	batched    int              // events read and not yet taken for a commit
	dirtySince time.Time        // when the oldest uncommitted line was read
	pending    []analysis.Alert // decided by uncommitted lines: to the outbox before their commit
	unsent     bool             // the outbox may hold alerts not sent yet (the committer's while a commit is in flight)
	newest     time.Time        // stamp of the newest line read
	total      parsers.Stats
	sent       map[string]int // alerts sent per kind (the committer's while a commit is in flight)
	replayed   int
	shown      int // malformed lines printed
	dst        []parsers.Event
	start      time.Time
	stdin      io.Reader

	// crash, when not nil, is called at each point of a commit where a
	// crash leaves a state of its own (with the alerts the commit
	// decided, or the one just sent); an error stops the tailer there as a
	// crash would. Tests only.
	crash func(CrashPoint, []analysis.Alert) error

	acct accountWatch // when the accounts pass runs (accounts_tail.go)
}

// A CrashPoint is a step of a commit at which a crash is worth testing.
type CrashPoint int

// The crash points of a tail commit.
const (
	AfterQueue  CrashPoint = iota // the alerts are in the outbox, their lines not committed
	AfterCommit                   // the lines are committed, the alerts not sent
	AfterSend                     // one alert sent, not marked sent
)

// at calls t.crash, if any, at point p.
func (t *tailer) at(p CrashPoint, as []analysis.Alert) error {
	if t.crash == nil {
		return nil
	}
	return t.crash(p, as)
}

// followed is one PATH and the file it names now.
type followed struct {
	path  string // as the user gave it
	name  string // the file read now, for evidence (a rotated file's new name while draining it)
	stdin bool

	format Format
	parser parsers.Parser

	dev, ino uint64
	fp       string         // fingerprint of the first line; "" until read
	w        *schema.Writer // nil until the first line is known
	offset   int64          // byte after the last line read
	lines    int64          // lines read up to offset
	skipTo   int64          // lines starting before this are stored already
	size     int64          // the file's size when last looked at (see caughtUp)
	batch    []parsers.Event
	stats    parsers.Stats // since the last commit
	dirty    bool          // read lines not committed
	head     []heldLine    // "#" header lines before the file is known
	done     bool
	tl       *tail.Tail
}

// heldLine is a line read before its file is known.
type heldLine struct {
	text       []byte
	start, end int64
}

// lineItem is one line a reader hands to the tailer.
type lineItem struct {
	f    *followed
	text []byte
	end  int64 // byte offset after the line (and its newline)
	num  int   // line number within the current open of the file: 1 after a reopen
	eof  bool  // the reader stopped (err says why, nil at the end of stdin)
	err  error
}

func (t *tailer) run(ctx context.Context) error {
	t.start = time.Now()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)

	t.ctx = ctx
	t.cw = startCommitter(t.sctx)
	readCtx, stopReading := context.WithCancel(ctx)
	items := make(chan lineItem, 1024)
	var wg sync.WaitGroup
	defer func() {
		stopReading()
		for _, f := range t.files {
			if f.tl != nil {
				f.tl.Stop()
				f.tl.Cleanup()
			}
		}
		wg.Wait()
		_ = t.cw.close()
	}()
	for _, f := range t.files {
		if f.stdin {
			wg.Add(1)
			go func() {
				defer wg.Done()
				readStdin(readCtx, t.stdin, f, items)
			}()
			continue
		}
		seek, err := t.open(ctx, f)
		if err != nil {
			return err
		}
		setPollInterval()
		f.tl, err = tail.TailFile(f.path, tail.Config{
			Follow: true, ReOpen: true, CompleteLines: true, Location: seek, Poll: t.poll,
			Logger: tail.DiscardingLogger,
		})
		if err != nil {
			return fmt.Errorf("follow %s: %w", f.path, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			follow(readCtx, f, items)
		}()
	}
	if err := t.commit(); err != nil { // positions of files started at their end
		return err
	}
	deadline := time.NewTimer(commitInterval)
	deadline.Stop()
	// The quiet period's summaries are also due on the wall clock: a
	// quiet server's log brings no line to end the period.
	tick := time.NewTicker(quietTick)
	defer tick.Stop()
	active := len(t.files)
	var runErr error
	// take handles one item, and commits once a batch is full or its
	// oldest line has waited commitInterval.
	take := func(it lineItem) error {
		t.rules.Clock(time.Now())
		if err := t.handle(ctx, it, &active); err != nil {
			return err
		}
		if t.batched >= BatchEvents || t.overdue() {
			return t.commit()
		}
		return nil
	}
loop:
	for active > 0 {
		select {
		case it := <-items:
			if runErr = take(it); runErr != nil {
				break loop
			}
			continue
		case <-ctx.Done():
			break loop
		default:
		}
		if !t.dirtySince.IsZero() && t.caughtUp() {
			// Every file is read to its end: commit now, so that alerts
			// go out at once. While a file is still being read, its
			// lines join the batch until it is full or commitInterval
			// has passed: a burst is stored in big transactions.
			if runErr = t.commit(); runErr != nil {
				break loop
			}
			continue
		}
		var due <-chan time.Time
		if !t.dirtySince.IsZero() {
			deadline.Reset(commitInterval - time.Since(t.dirtySince))
			due = deadline.C
		}
		select {
		case it := <-items:
			runErr = take(it)
		case <-due:
			runErr = t.commit()
		case <-t.cw.done:
			// A commit failed: nothing more can be stored.
			runErr = t.cw.err
		case <-tick.C:
			t.rules.Clock(time.Now())
			if t.rules.SummaryDue() {
				runErr = t.commit()
			}
		case <-usr1:
			runErr = t.settle()
			t.summary()
		case <-ctx.Done():
			break loop
		}
		deadline.Stop()
		if runErr != nil {
			break loop
		}
	}
	if err := t.commit(); err != nil && runErr == nil {
		runErr = err
	}
	if err := t.settle(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		runErr = t.releaseHeld()
	}
	t.summary()
	return runErr
}

// overdue reports whether the oldest line not committed has waited
// commitInterval.
func (t *tailer) overdue() bool {
	return !t.dirtySince.IsZero() && time.Since(t.dirtySince) >= commitInterval
}

// pollInterval is how often nxadm/tail's polling watcher looks at a file
// at its end for new lines (its default: 250 ms). A line waits up to this
// long before it is read: most of an alert's latency, and of a burst's
// first commit. A stat of each followed file this often costs nothing
// measurable.
const pollInterval = 50 * time.Millisecond

var pollOnce sync.Once

// setPollInterval sets nxadm/tail's poll interval (a package variable of
// its watch package, read by its watchers) before the first file is
// followed.
func setPollInterval() {
	pollOnce.Do(func() { watch.POLL_DURATION = pollInterval })
}

// caughtUp reports whether every file with lines not committed has been
// read to its end, so that no more lines are coming for now. A file's
// reader does not say when it reaches the end; its size does: more than
// the byte after the last line read means lines are on their way (or a
// line is half written, which waits for commitInterval). Standard input,
// read as it comes, is at its end when no line is waiting.
func (t *tailer) caughtUp() bool {
	for _, f := range t.files {
		if !f.dirty || f.stdin {
			continue
		}
		if f.offset < f.size {
			// Known to be there already: no need to look again (while a
			// burst was read, a stat per line read was 43,000 stats per
			// 100,000 lines).
			return false
		}
		fi, err := os.Stat(f.path)
		if err != nil || !sameFile(fi, f.dev, f.ino) {
			return false
		}
		if f.size = fi.Size(); f.size > f.offset {
			return false
		}
	}
	return true
}

// follow hands f's lines from its tail to items. The tail's goroutine
// closes the Lines channel when it stops.
func follow(ctx context.Context, f *followed, items chan<- lineItem) {
	for l := range f.tl.Lines {
		it := lineItem{f: f, text: []byte(l.Text), end: l.SeekInfo.Offset, num: l.Num, err: l.Err}
		select {
		case items <- it:
		case <-ctx.Done():
			return
		}
	}
	select {
	case items <- lineItem{f: f, eof: true, err: f.tl.Err()}:
	case <-ctx.Done():
	}
}

// readStdin hands the lines of standard input to items, then an eof item.
func readStdin(ctx context.Context, stdin io.Reader, f *followed, items chan<- lineItem) {
	err := readLines(stdin, 0, func(line []byte, start, end int64) error {
		select {
		case items <- lineItem{f: f, text: bytes.Clone(line), end: end}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if errors.Is(err, context.Canceled) {
		return
	}
	select {
	case items <- lineItem{f: f, eof: true, err: err}:
	case <-ctx.Done():
	}
}

// handle takes one item from a reader.
func (t *tailer) handle(ctx context.Context, it lineItem, active *int) error {
	f := it.f
	if it.eof {
		f.done = true
		*active--
		if it.err != nil {
			fmt.Fprintf(t.stderr, "relaysleuth: %s: %v; no longer followed\n", f.path, it.err)
		}
		return nil
	}
	if it.err != nil {
		fmt.Fprintf(t.stderr, "relaysleuth: %s: %v\n", f.path, it.err)
		return nil
	}
	start := it.end - int64(len(it.text))
	if !f.stdin {
		start-- // the newline tail took off
	}
	if !f.stdin && it.num == 1 && f.w != nil {
		// The tail opened the file: at our start, or after a rotation or
		// a truncation.
		fi, err := os.Stat(f.path)
		moved := err == nil && !sameFile(fi, f.dev, f.ino)
		if start < f.offset || moved {
			if err := t.rotated(ctx, f); err != nil {
				return err
			}
		}
	}
	return t.process(ctx, f, it.text, start, it.end)
}

// process reads one line of f that starts at byte start and ends before end.
func (t *tailer) process(ctx context.Context, f *followed, text []byte, start, end int64) error {
	if start < f.skipTo {
		return nil
	}
	line := trimLineEnd(text)
	if f.w == nil {
		if len(line) == 0 {
			f.offset = end
			return nil
		}
		if isHeader(line) && len(f.head) < sniffLines {
			// An Exchange or IIS "#" header is the same in every file:
			// the file is known by the header and the line after it.
			f.head = append(f.head, heldLine{bytes.Clone(text), start, end})
			return nil
		}
		head := f.head
		f.head = nil
		first := make([][]byte, 0, len(head)+1)
		for _, h := range head {
			first = append(first, trimLineEnd(h.text))
		}
		first = append(first, line)
		at := start
		if len(head) > 0 {
			at = head[0].start
		}
		if err := t.identify(ctx, f, first, at); err != nil {
			return err
		}
		for _, h := range head {
			if err := t.process(ctx, f, h.text, h.start, h.end); err != nil {
				return err
			}
		}
		if start < f.skipTo {
			return nil
		}
	}
	f.offset, f.lines = end, f.lines+1
	f.stats.Lines++
	f.stats.Bytes += end - start
	f.dirty = true
	if t.dirtySince.IsZero() {
		t.dirtySince = time.Now()
	}
	if len(line) == 0 {
		return nil
	}
	pos := parsers.Pos{File: f.name, Line: int(f.lines), Offset: start}
	if len(line) > parsers.MaxLineBytes {
		t.bad(f, &parsers.ParseError{Pos: pos, Format: "input", Err: parsers.ErrLineTooLong})
		return nil
	}
	if f.parser == nil {
		lf, ok := detectFormat([][]byte{line})
		if !ok {
			f.stats.Unsupported++
			t.m.parseError(f.path, "unsupported")
			return nil
		}
		t.setFormat(f, lf)
	}
	// A bare CR splits a line, as in parsers.Scan: nothing hides behind one.
	partOff := int64(0)
	for part := range bytes.SplitSeq(line, []byte{'\r'}) {
		partPos := pos
		partPos.Offset += partOff
		partOff += int64(len(part)) + 1
		if len(part) == 0 {
			continue
		}
		t.parse(f, part, partPos)
	}
	return nil
}

// parse parses one line (or CR-separated part) of f and feeds its events.
func (t *tailer) parse(f *followed, line []byte, pos parsers.Pos) {
	var err error
	t.dst, err = f.parser.Parse(t.dst[:0], line, pos)
	switch {
	case err == nil:
	case errors.Is(err, parsers.ErrUnsupported):
		f.stats.Unsupported++
		t.m.parseError(f.path, "unsupported")
	default:
		t.bad(f, err)
	}
	for i := range t.dst {
		ev := t.dst[i]
		f.stats.Events++
		if ev.Time.After(t.newest) {
			t.newest = ev.Time
		}
		f.batch = append(f.batch, ev)
		t.batched++
		t.corr.Feed(ev)
		t.pending = append(t.pending, t.rules.Event(&ev)...)
	}
}

func (t *tailer) bad(f *followed, err error) {
	f.stats.Malformed++
	t.m.parseError(f.path, "malformed")
	t.shown++
	if t.shown <= MaxShownErrors {
		fmt.Fprintf(t.stderr, "relaysleuth: %s\n", parsers.Clean(err.Error()))
	}
}

func (t *tailer) setFormat(f *followed, lf Format) {
	f.format = lf
	f.parser = lf.New(ParserOptions{Path: f.path, ModTime: time.Now(), Year: t.opts.Year, Location: t.loc})
}

// identify makes first, the first lines of f's current file (from byte
// start), its identity: the source its events are stored under.
func (t *tailer) identify(ctx context.Context, f *followed, first [][]byte, start int64) error {
	// The new file's follow row goes after the commit in flight, which
	// may hold the rest of the file f.path named before.
	if err := t.settle(); err != nil {
		return err
	}
	if !t.opts.auto() {
		lf, _ := FormatByName(t.opts.Format)
		t.setFormat(f, lf)
	} else if lf, ok := detectFormat(first); ok {
		t.setFormat(f, lf)
	}
	f.fp = headFingerprint(first)
	name := f.format.Name
	if name == "" {
		name = "unknown"
	}
	src, err := t.store.Source(t.sctx, f.path, f.fp, name, 0)
	if err != nil {
		return StoreError{err}
	}
	f.w = t.store.NewWriter(src)
	f.offset, f.lines, f.skipTo, f.size = start, 0, start, 0
	if src.Offset > start {
		// Read before (the same first line, so the same file): go on
		// where that stopped.
		f.offset, f.lines, f.skipTo = src.Offset, src.Lines, src.Offset
	}
	if f.stdin {
		return nil
	}
	if fi, err := os.Stat(f.path); err == nil {
		f.dev, f.ino = fileID(fi)
	}
	if err := t.store.SetFollow(t.sctx, schema.Follow{Path: f.path, Device: f.dev, Inode: f.ino, Fingerprint: f.fp}); err != nil {
		return StoreError{err}
	}
	return nil
}

// open decides where to start reading f's file, and reads what was written
// to the file f.path named before, if that was rotated away while we were
// not running. A nil SeekInfo means the beginning.
func (t *tailer) open(ctx context.Context, f *followed) (*tail.SeekInfo, error) {
	prev, had, err := t.store.Follow(ctx, f.path)
	if err != nil {
		return nil, err
	}
	fi, statErr := os.Stat(f.path)
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return nil, statErr
	}
	var (
		dev, ino uint64
		fp       string
		head     [][]byte
	)
	if statErr == nil {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", f.path)
		}
		dev, ino = fileID(fi)
		if head, fp, err = headPrint(f.path); err != nil {
			return nil, err
		}
	}
	// Rotations while we were not running: the stored lines of the files
	// renamed or compressed since are found where they are now.
	if err := t.relocate(ctx, f.path); err != nil {
		return nil, err
	}
	if had {
		same := statErr == nil && (fp != "" && fp == prev.Fingerprint ||
			prev.Fingerprint == "" && dev == prev.Device && ino == prev.Inode)
		if !same {
			if err := t.drainAway(ctx, f, prev); err != nil {
				return nil, err
			}
			if err := t.settle(); err != nil {
				return nil, err
			}
		}
	}
	f.dev, f.ino = dev, ino
	if statErr != nil || fp == "" {
		// Not there yet, or no line yet: read it all when lines come.
		fmt.Fprintf(t.stderr, "%s: no line yet; following from the start\n", f.path)
		if statErr == nil {
			err := t.store.SetFollow(ctx, schema.Follow{Path: f.path, Device: dev, Inode: ino})
			return nil, err
		}
		return nil, nil
	}
	if !t.opts.auto() {
		lf, _ := FormatByName(t.opts.Format)
		t.setFormat(f, lf)
	} else if lf, ok := detectFormat(head); ok {
		t.setFormat(f, lf)
	}
	src, known, err := t.store.SourceByFingerprint(ctx, fp)
	if err != nil {
		return nil, err
	}
	var offset, lines int64
	switch {
	case known && src.Offset <= fi.Size():
		offset, lines = src.Offset, src.Lines // where we (or ingest) stopped
	case known:
		fmt.Fprintf(t.stderr, "relaysleuth: %s: shorter than the %d bytes read before: reading it again\n", f.path, src.Offset)
	case !had && !t.fromStart:
		offset, lines, err = endOfLastLine(f.path)
		if err != nil {
			return nil, err
		}
	}
	name := f.format.Name
	if name == "" {
		name = "unknown"
	}
	src, err = t.store.Source(ctx, f.path, fp, name, fi.Size())
	if err != nil {
		return nil, err
	}
	f.fp, f.w = fp, t.store.NewWriter(src)
	f.offset, f.lines, f.skipTo = offset, lines, offset
	if offset != src.Offset {
		f.dirty = true
		t.dirtySince = time.Now()
	}
	if offset > 0 {
		fmt.Fprintf(t.stderr, "%s: following from line %d (byte %d)\n", f.path, lines+1, offset)
	} else {
		fmt.Fprintf(t.stderr, "%s: following from the start\n", f.path)
	}
	if err := t.store.SetFollow(ctx, schema.Follow{Path: f.path, Device: dev, Inode: ino, Fingerprint: fp}); err != nil {
		return nil, err
	}
	if offset == 0 {
		return nil, nil
	}
	return &tail.SeekInfo{Offset: offset, Whence: io.SeekStart}, nil
}

// drainAway reads the rest of the file f.path named when we stopped, found
// by its identity among the files beside it, before f's new file.
func (t *tailer) drainAway(ctx context.Context, f *followed, prev schema.Follow) error {
	if prev.Fingerprint == "" {
		// It had no line then; any it got were read with the new file's
		// name only if it still has it.
		old := &followed{path: f.path, name: f.path, dev: prev.Device, ino: prev.Inode}
		return t.drain(ctx, old)
	}
	src, known, err := t.store.SourceByFingerprint(ctx, prev.Fingerprint)
	if err != nil || !known {
		return err
	}
	old := &followed{path: f.path, name: f.path, dev: prev.Device, ino: prev.Inode, fp: prev.Fingerprint,
		w: t.store.NewWriter(src), offset: src.Offset, lines: src.Lines, skipTo: src.Offset}
	if lf, ok := FormatByName(src.Format); ok {
		t.setFormat(old, lf)
	}
	if err := t.drain(ctx, old); err != nil {
		return err
	}
	return t.commitDrained(old)
}

// rotated is called when f.path names another file than the one being
// read (or the same file, truncated): the rest of the old one is read
// first, then f starts over with the new one.
func (t *tailer) rotated(ctx context.Context, f *followed) error {
	// What was read before is stored under the old name first; then the
	// family's files are found again (mail.log is mail.log.1 now), before
	// the rest of the old file is read under its new name and before any
	// line of the new file is stored under the old one.
	if err := t.commitDrained(f); err != nil {
		return err
	}
	if err := t.settle(); err != nil {
		return err
	}
	if err := t.relocate(ctx, f.path); err != nil {
		return err
	}
	if err := t.drain(ctx, f); err != nil {
		return err
	}
	if err := t.commitDrained(f); err != nil {
		return err
	}
	fmt.Fprintf(t.stderr, "%s: rotated or truncated at line %d; following the new file\n", f.path, f.lines)
	f.name = f.path
	f.w, f.fp, f.offset, f.lines, f.skipTo, f.size = nil, "", 0, 0, 0, 0
	if t.opts.auto() {
		f.parser, f.format = nil, Format{}
	} else {
		t.setFormat(f, f.format) // a new file: a new year
	}
	if fi, err := os.Stat(f.path); err == nil {
		f.dev, f.ino = fileID(fi)
	}
	return nil
}

// drain reads what was written to old's file after old.offset, finding it
// among the files beside old.path by its inode or first line.
func (t *tailer) drain(ctx context.Context, old *followed) error {
	path := findRotated(old.path, old.dev, old.ino, old.fp)
	if path == "" {
		return nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil // rotated away again, or compressed: nothing to do
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || fi.Size() <= old.offset {
		return nil
	}
	if _, err := fh.Seek(old.offset, io.SeekStart); err != nil {
		return nil
	}
	before := old.lines
	name := old.name
	old.name = path
	defer func() { old.name = name }()
	err = readLines(fh, old.offset, func(line []byte, start, end int64) error {
		if err := t.process(ctx, old, line, start, end); err != nil {
			return err
		}
		if len(old.batch) >= BatchEvents {
			// Much was written after the rotation: store it in batches,
			// as lines read while following are, not all at once.
			return t.commitDrained(old)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n := old.lines - before; n > 0 {
		fmt.Fprintf(t.stderr, "%s: read %d lines written after %s was rotated\n", path, n, old.path)
	}
	return nil
}

// settle waits for the commit in flight, if any, and returns the error of
// the first commit that failed: after it nothing more is stored.
func (t *tailer) settle() error { return t.cw.sync(t.sctx) }

// commit hands what was read since the last commit, with the files'
// positions, to the committer, which stores it and then sends the alerts
// those lines decided. The batches are taken and encoded while the commit
// before is still in flight; the alerts are decided once it is stored
// (see hand).
func (t *tailer) commit() error {
	rs, ms := t.corr.Flush()
	var files []fileCommit
	judged := rs
	for _, f := range t.files {
		if f.dirty && f.w != nil {
			files = append(files, t.take(f, rs, ms))
			rs, ms = nil, nil
		}
	}
	if len(rs)+len(ms) > 0 {
		// Changes decided by a file committed already (while draining).
		for _, f := range t.files {
			if f.w != nil {
				files = append(files, t.take(f, rs, ms))
				break
			}
		}
	}
	t.dirtySince = time.Time{}
	return t.hand(files, judged)
}

// commitDrained hands what was read from f's file, rotated away, to the
// committer with the recipients it changed, which then sends the alerts
// they decided: a crash after its commit must not leave a verdict that
// nothing stores.
func (t *tailer) commitDrained(f *followed) error {
	rs, ms := t.corr.Flush()
	var files []fileCommit
	if f.w != nil {
		files = append(files, t.take(f, rs, ms))
	}
	return t.hand(files, rs)
}

// hand waits for the commit in flight, judges rs (the recipients the
// files' lines changed) against the verdicts stored now, puts the alerts
// decided in the outbox, and hands the files to the committer, which
// stores them and then sends the alerts. The alerts go to the outbox in a
// transaction of their own, before their lines are committed: whether a
// crash comes before the commit or after it, the restart sends them (and
// lines read again decide them again, find them there and send nothing).
func (t *tailer) hand(files []fileCommit, rs []analysis.Recipient) error {
	if err := t.settle(); err != nil {
		return err
	}
	as, err := t.decide(rs)
	if err != nil {
		return err
	}
	newest := t.newest
	acctSince, acctDue := t.acct.due(rs, time.Now(), t.ctx.Err() != nil)
	after := func() error {
		t.m.committed(newest, time.Now())
		if err := t.at(AfterCommit, as); err != nil {
			return err
		}
		if acctDue {
			if err := t.accountPass(acctSince); err != nil {
				return err
			}
		}
		_, err := t.sendQueued(t.ctx)
		return err
	}
	return t.cw.send(t.sctx, commit{files: files, durable: true, after: after})
}

// take takes f's batch and position for a commit, with rs and ms, and
// encodes them.
func (t *tailer) take(f *followed, rs []analysis.Recipient, ms []analysis.Message) fileCommit {
	fc := newFileCommit(f.w, f.path, f.batch, rs, ms, schema.Progress{Offset: f.offset, Lines: f.lines, Stats: f.stats})
	t.batched -= len(f.batch)
	t.total.Add(f.stats)
	t.m.read(f.path, f.format.Name, f.stats)
	f.batch, f.stats, f.dirty = t.cw.newBatch(), parsers.Stats{}, false
	return fc
}

// replay feeds the correlator and the rules the stored lines of the last
// window (and the earlier lines of the messages they are about), so that
// a message whose first lines were read before a restart and whose last
// ones after still gets one verdict, and alerts are not repeated. Nothing
// is stored or sent.
func (t *tailer) replay(ctx context.Context, window time.Duration) error {
	if window <= 0 {
		return nil
	}
	ps := make(map[int64]parsers.Parser)
	was := make(map[string]analysis.Verdict)
	flush := func() {
		rs, _ := t.corr.Flush()
		for i := range rs {
			r := &rs[i]
			t.rules.Recipient(r, was[r.Key])
			was[r.Key] = r.Verdict
		}
		t.rules.Due()
	}
	var dst []parsers.Event
	err := t.store.RecentLines(ctx, window, max(window, queueLifetime), func(l schema.StoredLine) error {
		p, ok := ps[l.SourceID]
		if !ok {
			lf, found := FormatByName(l.Format)
			if !found {
				return nil
			}
			p = lf.New(ParserOptions{Path: l.File, ModTime: l.Time, Year: l.Time.Year(), Location: t.loc})
			ps[l.SourceID] = p
		}
		dst, _ = p.Parse(dst[:0], []byte(l.Raw), parsers.Pos{File: l.File, Line: l.Line, Offset: l.Offset})
		for i := range dst {
			ev := dst[i]
			ev.Time = l.Time // the parser's year guess may differ from the first read's
			t.corr.Feed(ev)
			t.rules.Event(&ev)
		}
		t.replayed++
		if t.replayed%BatchEvents == 0 {
			flush()
		}
		return ctx.Err()
	})
	flush()
	if t.replayed > 0 {
		fmt.Fprintf(t.stderr, "relaysleuth: replayed %d stored lines to rebuild the messages in flight\n", t.replayed)
	}
	return err
}

// summary prints what was read and sent so far on standard error.
func (t *tailer) summary() {
	st := t.total
	for _, f := range t.files {
		st.Add(f.stats)
	}
	var kinds []string
	n := 0
	for k, c := range t.sent {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, c))
		n += c
	}
	sort.Strings(kinds)
	fmt.Fprintf(t.stderr, "tail: %s: %d lines, %d events, %d unsupported, %d malformed; %d alerts",
		time.Since(t.start).Round(time.Second), st.Lines, st.Events, st.Unsupported, st.Malformed, n)
	if len(kinds) > 0 {
		fmt.Fprintf(t.stderr, " (%s)", strings.Join(kinds, ", "))
	}
	fmt.Fprintln(t.stderr)
	for _, f := range t.files {
		state := fmt.Sprintf("line %d (byte %d)", f.lines, f.offset)
		if f.w == nil {
			state = "no line yet"
		}
		if f.done {
			state += ", stopped"
		}
		fmt.Fprintf(t.stderr, "  %s: %s\n", f.path, state)
	}
	for _, a := range t.rules.Pending() {
		fmt.Fprintf(t.stderr, "  held back (quiet period): %s %s: %s\n", a.Kind, parsers.Clean(a.Client), parsers.Clean(a.Text))
	}
}
