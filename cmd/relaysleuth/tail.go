package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

const tailSynopsis = `Usage: relaysleuth tail [flags] PATH...

Follows live mail logs (Postfix, Exim, Exchange; - for standard input, e.g.
journalctl -f -o json | relaysleuth tail -) into the database, and prints an
alert as soon as a recipient is relayed for a stranger (relay_abuse), or a
client makes too many refused relay attempts or failed logins.

Each file is followed across logrotate's rename-and-create, copytruncate and
truncation, and may not exist yet. Its position (the file's identity and the
byte after the last stored line) is committed with the lines' events, so a
restart, even after kill -9, resumes where it stopped: no line lost, none
stored twice. Alerts go to an outbox in the database before their lines are
committed and are marked sent once written: a restart first sends those a
crash left unsent, so none is lost, and only one being written at the
moment of a kill can be written twice. The first start begins at the end of
each file, unless --from-start.

Alerts: one line each on standard output (--format json: one JSON object),
and --exec CMD runs 'sh -c CMD' per alert with the alert as JSON on its
standard input. Alerts about one client within --quiet are summarised in
one line when the quiet period ends.

SIGINT or SIGTERM: commit and exit 0. SIGUSR1: print a summary on standard
error (also printed at exit).

Example:
  relaysleuth tail --config /etc/relaysleuth.json --db /var/lib/relaysleuth/relaysleuth.db \
      --exec '/usr/local/bin/notify-admin' --metrics 127.0.0.1:9787 /var/log/mail.log`

// commitInterval bounds how long read lines wait for their commit while
// lines keep coming; once every file is read to its end they are committed
// at once, so that a lone line's alert goes out as soon as it is read.
const commitInterval = 200 * time.Millisecond

// queueLifetime is how far back a restart looks for the earlier lines of a
// message still in flight (Postfix's maximal_queue_lifetime default).
const queueLifetime = 5 * 24 * time.Hour

// alertRetention is how long a sent alert stays in the outbox. Its key is
// needed only while the lines that decided it may be read again, that is
// until they are committed (a stored verdict is not alerted about again).
const alertRetention = 7 * 24 * time.Hour

func runTail(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runTailCrashing(ctx, args, stdin, stdout, stderr, nil)
}

// runTailCrashing is runTail with a crash func for the tailer (nil but in
// tests).
func runTailCrashing(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, crash func(tailPoint, []alert) error) error {
	var c commonFlags
	fs := newFlagSet("tail", tailSynopsis, stderr)
	c.dbFlag(fs)
	c.policyFlags(fs)
	c.inputFlags(fs)
	format := fs.String("format", "text", "alert `format` on standard output: text or json")
	fromStart := fs.Bool("from-start", false, "on the first start, read files from their beginning, not their end")
	execCmd := fs.String("exec", "", "run 'sh -c `CMD`' for every alert, with the alert as JSON on its standard input")
	execJobs := fs.Int("exec-jobs", 4, "most --exec commands running at once")
	execTimeout := fs.Duration("exec-timeout", 30*time.Second, "kill an --exec command after this `duration`")
	attempts := fs.Int("attempts", 20, "alert when a client makes `N` refused relay attempts within --attempts-window (0: never)")
	attemptsWindow := fs.Duration("attempts-window", 10*time.Minute, "window of --attempts")
	authFailures := fs.Int("auth-failures", 10, "alert when a client fails `N` SASL logins within --auth-window (0: never)")
	authWindow := fs.Duration("auth-window", 10*time.Minute, "window of --auth-failures")
	quiet := fs.Duration("quiet", time.Hour, "after an alert about a client, summarise further alerts of its kind about it for this `duration` (0: alert every time)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on `ADDR` (host:port) at /metrics")
	replay := fs.Duration("replay", 6*time.Hour, "on start, re-read the stored lines of this last `duration` to rebuild the messages in flight")
	// nxadm/tail's inotify watcher adds its watch after reading to the end
	// of a newly opened file: a line written in between waits for the next
	// write. Polling compares sizes, so it misses nothing; 250 ms apart.
	poll := fs.Bool("poll", true, "poll files for changes every 250 ms; --poll=false uses inotify, which can leave a line written just after a file is (re)opened unread until the next one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("tail: no PATH given")
	}
	switch *format {
	case "text", "table", "json":
	default:
		return usagef("tail: --format must be text or json, not %q", *format)
	}
	if *execJobs < 1 || *execTimeout <= 0 || *attempts < 0 || *authFailures < 0 || *quiet < 0 ||
		*attemptsWindow <= 0 || *authWindow <= 0 || *replay < 0 {
		return usagef("tail: --exec-jobs, --exec-timeout and the windows must be positive, the thresholds and --quiet not negative")
	}
	if c.inputFormat != "auto" {
		if _, ok := formatByName(c.inputFormat); !ok {
			return usagef("--input-format: unknown format %q", c.inputFormat)
		}
	}
	policy, err := c.policy()
	if err != nil {
		return err
	}
	loc, err := c.location()
	if err != nil {
		return err
	}
	stdins := 0
	for _, p := range fs.Args() {
		if p == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return usagef("tail: - given more than once")
	}

	store, err := schema.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()

	m := newTailMetrics()
	if *metricsAddr != "" {
		stop, err := serveMetrics(ctx, *metricsAddr, m, stderr)
		if err != nil {
			return err
		}
		defer stop()
	}
	t := &tailer{
		c:         &c,
		store:     store,
		corr:      analysis.NewCorrelator(policy),
		rules:     newAlertRules(*attempts, *attemptsWindow, *authFailures, *authWindow, *quiet),
		m:         m,
		stderr:    stderr,
		loc:       loc,
		fromStart: *fromStart,
		poll:      *poll,
		sctx:      context.WithoutCancel(ctx),
		sent:      make(map[string]int),
		stdin:     stdin,
		crash:     crash,
	}
	t.al = &alerter{out: stdout, stderr: stderr, json: *format == "json", cmd: *execCmd, timeout: *execTimeout,
		slots: make(chan struct{}, *execJobs), m: m}
	defer t.al.wait()
	if err := t.startOutbox(ctx); err != nil {
		return err
	}
	for _, p := range fs.Args() {
		t.files = append(t.files, &followed{path: p, name: p, stdin: p == "-"})
	}
	window := max(*replay, *quiet, *attemptsWindow, *authWindow, t.corr.StaleAfter)
	if *replay == 0 {
		window = 0
	}
	if err := t.replay(ctx, window); err != nil {
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
	c         *commonFlags
	store     *schema.Store
	corr      *analysis.Correlator
	rules     *alertRules
	al        *alerter
	m         *tailMetrics
	stderr    io.Writer
	loc       *time.Location
	fromStart bool
	poll      bool
	sctx      context.Context // for commits: a shutdown still commits

	// The committer: the tailer sends a commit on commits (and closes it)
	// only while none is in flight, and receives its result on
	// committed before anything else touches the database.
	commits   chan tailCommit
	committed chan commitResult
	inFlight  bool  // a commit was sent and its result not received
	commitErr error // the first commit that failed: nothing is stored after it
	free      [][]parsers.Event

	files      []*followed
	batched    int       // events read and not yet taken for a commit
	dirtySince time.Time // when the oldest uncommitted line was read
	pending    []alert   // decided by uncommitted lines: to the outbox before their commit
	unsent     bool      // the outbox may hold alerts not sent yet (the committer's while a commit is in flight)
	newest     time.Time // stamp of the newest line read
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
	crash func(tailPoint, []alert) error
}

// A tailPoint is a step of a commit at which a crash is worth testing.
type tailPoint int

const (
	afterQueue  tailPoint = iota // the alerts are in the outbox, their lines not committed
	afterCommit                  // the lines are committed, the alerts not sent
	afterSend                    // one alert sent, not marked sent
)

// at calls t.crash, if any, at point p.
func (t *tailer) at(p tailPoint, as []alert) error {
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

	format logFormat
	parser parsers.Parser

	dev, ino uint64
	fp       string         // fingerprint of the first line; "" until read
	w        *schema.Writer // nil until the first line is known
	offset   int64          // byte after the last line read
	lines    int64          // lines read up to offset
	skipTo   int64          // lines starting before this are stored already
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

// headFingerprint identifies a file by its first lines as ingest does: the
// first line, or a "#" header block and the line after it.
func headFingerprint(lines [][]byte) string {
	n := 1
	for n < len(lines) && isHeader(lines[n-1]) {
		n++
	}
	sum := sha256.Sum256(bytes.Join(lines[:n], []byte("\n")))
	return hex.EncodeToString(sum[:16])
}

func isHeader(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimPrefix(line, []byte("\ufeff")), []byte("#"))
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

	t.commits, t.committed = make(chan tailCommit), make(chan commitResult, 1)
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		t.committer(ctx)
	}()
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
		t.settle()
		close(t.commits)
		<-committerDone
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
	active := len(t.files)
	var runErr error
	// take handles one item, and commits once a batch is full or its
	// oldest line has waited commitInterval.
	take := func(it lineItem) error {
		if err := t.handle(ctx, it, &active); err != nil {
			return err
		}
		if t.batched >= batchEvents || t.overdue() {
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
		var done <-chan commitResult
		if t.inFlight {
			done = t.committed
		}
		select {
		case it := <-items:
			runErr = take(it)
		case <-due:
			runErr = t.commit()
		case res := <-done:
			runErr = t.received(res)
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
	t.summary()
	return runErr
}

// overdue reports whether the oldest line not committed has waited
// commitInterval.
func (t *tailer) overdue() bool {
	return !t.dirtySince.IsZero() && time.Since(t.dirtySince) >= commitInterval
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
		fi, err := os.Stat(f.path)
		if err != nil || !sameFile(fi, f.dev, f.ino) || fi.Size() > f.offset {
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

// readLines calls fn with every line of r, r being at byte offset start,
// with the line's offsets; a line is passed without its line end. A final
// line without a newline is passed too. A line over parsers.MaxLineBytes is
// cut to MaxLineBytes+1 bytes (and found malformed).
func readLines(r io.Reader, start int64, fn func(line []byte, start, end int64) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	off := start
	lineStart := start
	for {
		chunk, err := br.ReadSlice('\n')
		off += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= parsers.MaxLineBytes {
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		if len(long) > 0 {
			if len(long) <= parsers.MaxLineBytes {
				long = append(long, chunk...)
			}
			line = long
		}
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			if len(line) > parsers.MaxLineBytes+1 {
				line = line[:parsers.MaxLineBytes+1]
			}
			if ferr := fn(line, lineStart, off); ferr != nil {
				return ferr
			}
		}
		long, lineStart = long[:0], off
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
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
		t.pending = append(t.pending, t.rules.event(&ev)...)
	}
}

func (t *tailer) bad(f *followed, err error) {
	f.stats.Malformed++
	t.m.parseError(f.path, "malformed")
	t.shown++
	if t.shown <= maxShownErrors {
		fmt.Fprintf(t.stderr, "relaysleuth: %s\n", clean(err.Error()))
	}
}

// trimLineEnd drops a CR and the NUL bytes a crashed syslog daemon leaves at
// the start of a line, as parsers.Scan does.
func trimLineEnd(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line[len(line)-len(bytes.TrimLeft(line, "\x00")):]
}

func (t *tailer) setFormat(f *followed, lf logFormat) {
	f.format = lf
	f.parser = lf.new(parserOptions{path: f.path, modTime: time.Now(), year: t.c.year, location: t.loc})
}

// identify makes first, the first lines of f's current file (from byte
// start), its identity: the source its events are stored under.
func (t *tailer) identify(ctx context.Context, f *followed, first [][]byte, start int64) error {
	// The new file's follow row goes after the commit in flight, which
	// may hold the rest of the file f.path named before.
	if err := t.settle(); err != nil {
		return err
	}
	if t.c.inputFormat != "auto" {
		lf, _ := formatByName(t.c.inputFormat)
		t.setFormat(f, lf)
	} else if lf, ok := detectFormat(first); ok {
		t.setFormat(f, lf)
	}
	f.fp = headFingerprint(first)
	name := f.format.name
	if name == "" {
		name = "unknown"
	}
	src, err := t.store.Source(t.sctx, f.path, f.fp, name, 0)
	if err != nil {
		return storeError{err}
	}
	f.w = t.store.NewWriter(src)
	f.offset, f.lines, f.skipTo = start, 0, start
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
		return storeError{err}
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
	if t.c.inputFormat != "auto" {
		lf, _ := formatByName(t.c.inputFormat)
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
	name := f.format.name
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
	if lf, ok := formatByName(src.Format); ok {
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
	if err := t.drain(ctx, f); err != nil {
		return err
	}
	if err := t.commitDrained(f); err != nil {
		return err
	}
	fmt.Fprintf(t.stderr, "%s: rotated or truncated at line %d; following the new file\n", f.path, f.lines)
	f.name = f.path
	f.w, f.fp, f.offset, f.lines, f.skipTo = nil, "", 0, 0, 0
	if t.c.inputFormat == "auto" {
		f.parser, f.format = nil, logFormat{}
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
		if len(old.batch) >= batchEvents {
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

// findRotated returns the file beside path (path.1, path-20240101, ...;
// not a compressed one) that has inode ino or, failing that, whose first
// line has fingerprint fp; or "".
func findRotated(path string, dev, ino uint64, fp string) string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var byPrint string
	for _, e := range entries {
		n := e.Name()
		if n == base || !strings.HasPrefix(n, base) || !e.Type().IsRegular() {
			continue
		}
		switch filepath.Ext(n) {
		case ".gz", ".bz2", ".xz", ".zst", ".lz4":
			continue
		}
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		d, i := fileID(fi)
		if fp == "" {
			if d == dev && i == ino {
				return p
			}
			continue
		}
		if _, got, err := headPrint(p); err != nil || got != fp {
			continue
		}
		if d == dev && i == ino {
			return p
		}
		if byPrint == "" {
			byPrint = p // a copytruncate copy: a new inode, the same lines
		}
	}
	return byPrint
}

// headPrint returns the first complete lines of the file at path (up to
// sniffLines) and the fingerprint ingest gives the file; "" while the file
// has no complete line, or only a "#" header.
func headPrint(path string) (head [][]byte, fp string, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer fh.Close()
	buf := make([]byte, 64<<10)
	n, err := io.ReadFull(fh, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, "", err
	}
	rest := buf[:n]
	for len(head) < sniffLines {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if l := trimLineEnd(rest[:i]); len(l) > 0 {
			head = append(head, l)
		}
		rest = rest[i+1:]
	}
	for _, l := range head {
		if !isHeader(l) {
			return head, headFingerprint(head), nil
		}
	}
	return head, "", nil
}

// endOfLastLine returns the byte after the last complete line of the file
// at path and the number of lines up to there.
func endOfLastLine(path string) (offset, lines int64, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	buf := make([]byte, 256<<10)
	var pos int64
	for {
		n, err := fh.Read(buf)
		for i := 0; i < n; {
			j := bytes.IndexByte(buf[i:n], '\n')
			if j < 0 {
				break
			}
			lines++
			offset = pos + int64(i+j+1)
			i += j + 1
		}
		pos += int64(n)
		if errors.Is(err, io.EOF) {
			return offset, lines, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// fileID returns the device and inode of fi.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

func sameFile(fi os.FileInfo, dev, ino uint64) bool {
	d, i := fileID(fi)
	return d == dev && i == ino
}

// A tailCommit is one commit on its way to the committer: each file's
// events with the position after them, the recipients and messages they
// changed (with the first file), and the alerts they decided, already in
// the outbox.
type tailCommit struct {
	files  []fileCommit
	as     []alert
	newest time.Time // stamp of the newest line read
}

// fileCommit is one file's share of a tailCommit.
type fileCommit struct {
	w      *schema.Writer
	path   string
	events []parsers.Event
	b      *schema.Batch // events, rs and ms encoded, on the tailer's goroutine
	p      schema.Progress
}

// commitResult is what the committer says of a tailCommit: why it failed,
// and the event slices it is done with, for the next batches.
type commitResult struct {
	err   error
	spent [][]parsers.Event
}

// committer stores the commits sent on t.commits, one at a time, and
// answers each on t.committed, until t.commits is closed. Storing a batch
// overlaps with reading, parsing and correlating the next; the tailer
// waits for the answer before it judges the next batch against the stored
// verdicts, writes the outbox or learns a new file, so the database sees
// one writer at a time and every step in the order a crash test expects.
func (t *tailer) committer(ctx context.Context) {
	for tc := range t.commits {
		res := commitResult{err: t.store1(ctx, tc)}
		for _, fc := range tc.files {
			clear(fc.events) // let the lines go before the slice is reused
			res.spent = append(res.spent, fc.events[:0])
		}
		t.committed <- res
	}
}

// store1 commits tc's files, then sends the alerts their lines decided.
func (t *tailer) store1(ctx context.Context, tc tailCommit) error {
	for _, fc := range tc.files {
		if err := fc.w.CommitBatch(t.sctx, fc.b, fc.p); err != nil {
			return storeError{fmt.Errorf("%s: %w", fc.path, err)}
		}
	}
	t.m.committed(tc.newest, time.Now())
	if err := t.at(afterCommit, tc.as); err != nil {
		return err
	}
	_, err := t.sendQueued(ctx)
	return err
}

// settle waits for the commit in flight, if any, and returns the error of
// the first commit that failed: after it nothing more is stored.
func (t *tailer) settle() error {
	if t.inFlight {
		return t.received(<-t.committed)
	}
	return t.commitErr
}

// received takes the committer's answer to the commit in flight.
func (t *tailer) received(res commitResult) error {
	t.inFlight = false
	if res.err != nil && t.commitErr == nil {
		t.commitErr = res.err
	}
	t.free = append(t.free, res.spent...)
	return t.commitErr
}

// commit hands what was read since the last commit, with the files'
// positions, to the committer, which stores it and then sends the alerts
// those lines decided. The batches are taken and encoded while the commit
// before is still in flight; the alerts are decided once it is stored
// (see hand).
func (t *tailer) commit() error {
	if t.commitErr != nil {
		return t.commitErr
	}
	rs, ms := t.corr.Flush()
	tc := tailCommit{newest: t.newest}
	judged := rs
	for _, f := range t.files {
		if f.dirty && f.w != nil {
			tc.files = append(tc.files, t.take(f, rs, ms))
			rs, ms = nil, nil
		}
	}
	if len(rs)+len(ms) > 0 {
		// Changes decided by a file committed already (while draining).
		for _, f := range t.files {
			if f.w != nil {
				tc.files = append(tc.files, t.take(f, rs, ms))
				break
			}
		}
	}
	t.dirtySince = time.Time{}
	return t.hand(tc, judged)
}

// commitDrained hands what was read from f's file, rotated away, to the
// committer with the recipients it changed, which then sends the alerts
// they decided: a crash after its commit must not leave a verdict that
// nothing stores.
func (t *tailer) commitDrained(f *followed) error {
	if t.commitErr != nil {
		return t.commitErr
	}
	rs, ms := t.corr.Flush()
	tc := tailCommit{newest: t.newest}
	if f.w != nil {
		tc.files = append(tc.files, t.take(f, rs, ms))
	}
	return t.hand(tc, rs)
}

// hand waits for the commit in flight, judges rs (the recipients tc's
// lines changed) against the verdicts stored now, puts the alerts decided
// in the outbox, and hands tc to the committer. The alerts go to the
// outbox in a transaction of their own, before their lines are
// committed: whether a crash comes before the commit or after it, the
// restart sends them (and lines read again decide them again, find them
// there and send nothing).
func (t *tailer) hand(tc tailCommit, rs []analysis.Recipient) error {
	if err := t.settle(); err != nil {
		return err
	}
	as, err := t.decide(rs)
	if err != nil {
		return err
	}
	tc.as = as
	t.send(tc)
	return nil
}

// send hands tc to the committer, which waits for it: none is in flight.
func (t *tailer) send(tc tailCommit) {
	t.commits <- tc
	t.inFlight = true
}

// take takes f's batch and position for a commit, with rs and ms, and
// encodes them.
func (t *tailer) take(f *followed, rs []analysis.Recipient, ms []analysis.Message) fileCommit {
	fc := fileCommit{w: f.w, path: f.path, events: f.batch, b: schema.Prepare(f.batch, rs, ms),
		p: schema.Progress{Offset: f.offset, Lines: f.lines, Stats: f.stats}}
	t.batched -= len(f.batch)
	t.total.Add(f.stats)
	t.m.read(f.path, f.format.name, f.stats)
	f.batch, f.stats, f.dirty = t.newBatch(), parsers.Stats{}, false
	return fc
}

// newBatch returns an empty event slice, reusing a committed batch's.
func (t *tailer) newBatch() []parsers.Event {
	if n := len(t.free); n > 0 {
		b := t.free[n-1]
		t.free = t.free[:n-1]
		return b
	}
	return nil
}

// decide judges rs, the recipients the correlator changed, and puts the
// alerts decided since the last commit in the outbox. The caller commits
// rs next.
func (t *tailer) decide(rs []analysis.Recipient) ([]alert, error) {
	if err := t.judge(rs); err != nil {
		return nil, err
	}
	as := append(t.pending, t.rules.due()...)
	t.pending = nil
	if err := t.enqueue(as); err != nil {
		return nil, err
	}
	return as, t.at(afterQueue, as)
}

// enqueue puts as in the outbox. One decided before (from lines read again
// after a crash) is there already, sent or about to be: it is not sent
// again.
func (t *tailer) enqueue(as []alert) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]schema.Alert, len(as))
	for i := range as {
		body, err := json.Marshal(as[i])
		if err != nil {
			return err
		}
		rows[i] = schema.Alert{Key: as[i].outboxKey(), JSON: body}
	}
	n, err := t.store.AddAlerts(t.sctx, rows)
	if err != nil {
		return storeError{err}
	}
	t.m.redecided(len(as) - n)
	if n > 0 {
		t.unsent = true
	}
	return nil
}

// sendQueued sends the outbox's alerts not sent yet, in the order they
// were decided, and returns how many it sent. Each is marked sent as soon
// as it is out: a crash in between, the only window for a duplicate,
// repeats that one alert on restart.
func (t *tailer) sendQueued(ctx context.Context) (int, error) {
	if !t.unsent {
		return 0, nil
	}
	queued, err := t.store.PendingAlerts(t.sctx)
	if err != nil {
		return 0, storeError{err}
	}
	for i, q := range queued {
		var a alert
		if err := json.Unmarshal(q.JSON, &a); err != nil {
			// Written by us, so never; if it were, retrying could not help.
			fmt.Fprintf(t.stderr, "relaysleuth: alert %s in the outbox: %v; dropped\n", clean(q.Key), err)
		} else {
			t.sent[a.Kind]++
			if err := t.al.send(ctx, a); err != nil {
				return i, err
			}
			if err := t.at(afterSend, []alert{a}); err != nil {
				return i, err
			}
		}
		if err := t.store.MarkSent(t.sctx, q.Key); err != nil {
			return i, storeError{err}
		}
	}
	t.unsent = false
	return len(queued), nil
}

// startOutbox sends, before any line is read, the alerts that an earlier
// run decided and did not send (it stopped in between), and forgets the
// alerts sent long ago.
func (t *tailer) startOutbox(ctx context.Context) error {
	if _, err := t.store.PruneAlerts(ctx, time.Now().Add(-alertRetention)); err != nil {
		return err
	}
	t.unsent = true
	n, err := t.sendQueued(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(t.stderr, "relaysleuth: sent %d alerts decided before the restart\n", n)
	}
	return nil
}

// judge compares the changed recipients with their stored verdicts (before
// this commit) and asks the rules about those whose verdict changed: a
// verdict stored already was alerted about already, even before a restart.
func (t *tailer) judge(rs []analysis.Recipient) error {
	if len(rs) == 0 {
		return nil
	}
	keys := make([]string, len(rs))
	for i := range rs {
		keys[i] = rs[i].Key
	}
	was, err := t.store.RecipientVerdicts(t.sctx, keys)
	if err != nil {
		return storeError{err}
	}
	for i := range rs {
		r := &rs[i]
		if was[r.Key] == r.Verdict {
			continue
		}
		t.m.verdict(string(r.Verdict), r.MTA)
		t.pending = append(t.pending, t.rules.recipient(r, was[r.Key])...)
	}
	return nil
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
			t.rules.recipient(r, was[r.Key])
			was[r.Key] = r.Verdict
		}
		t.rules.due()
	}
	var dst []parsers.Event
	err := t.store.RecentLines(ctx, window, max(window, queueLifetime), func(l schema.StoredLine) error {
		p, ok := ps[l.SourceID]
		if !ok {
			lf, found := formatByName(l.Format)
			if !found {
				return nil
			}
			p = lf.new(parserOptions{path: l.File, modTime: l.Time, year: l.Time.Year(), location: t.loc})
			ps[l.SourceID] = p
		}
		dst, _ = p.Parse(dst[:0], []byte(l.Raw), parsers.Pos{File: l.File, Line: l.Line, Offset: l.Offset})
		for i := range dst {
			ev := dst[i]
			ev.Time = l.Time // the parser's year guess may differ from the first read's
			t.corr.Feed(ev)
			t.rules.event(&ev)
		}
		t.replayed++
		if t.replayed%batchEvents == 0 {
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
	for _, a := range t.rules.gate.pending() {
		fmt.Fprintf(t.stderr, "  held back (quiet period): %s %s: %s\n", a.Kind, clean(a.Client), clean(a.Text))
	}
}
