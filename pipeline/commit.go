package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// BatchEvents is how many events go into one batch: one per line is
// orders of magnitude slower, one per file holds the whole file in memory.
// Up to three batches are in memory at once (one read, one encoded, one
// stored); most are bounded by batchBytes first.
const BatchEvents = 10000

// batchBytes bounds a batch by the size of its lines too, and is what
// bounds a batch of syslog lines (about 3,800 Postfix lines, 3,000 Exim,
// 1,000 Exchange rows): a batch that stays in the processor's caches
// while it is parsed, correlated, encoded and stored beat bigger ones
// (measured against 2 MB, whole command, alternating runs: 1M lines of
// Postfix 8%, Exim 28%, Exchange 12% faster, 5M Postfix 3%, and 5–20 MB
// less peak memory; 256 KB was no faster than 512 KB).
const batchBytes = 512 << 10

// One transaction holds up to holdBatches batches (about 20 MB of log), or
// the batches of HoldTime (see schema.Writer.Hold): on a 1M-line log a
// commit per batch rewrote most index pages a hundred times, and 10 batches
// of 512 KB were 4% slower over 5M lines than 40.
const (
	holdBatches = 40
	HoldTime    = 3 * time.Second
)

// StoreError marks a failure of the database, which ends the run (unlike a
// bad input file, which only ends that file).
type StoreError struct{ Err error }

func (e StoreError) Error() string { return e.Err.Error() }
func (e StoreError) Unwrap() error { return e.Err }

// IsStoreError reports whether err is (or wraps) a StoreError.
func IsStoreError(err error) bool {
	var se StoreError
	return errors.As(err, &se)
}

// A commit is one step of the pipeline on its way to the store: each
// file's events with the position after them, the recipients and messages
// they changed (with the first file), and what to do once they are stored.
type commit struct {
	files []fileCommit
	// durable commits are committed before the next is taken and their
	// after runs then (tail: the alerts their lines decided go out only
	// once the lines are stored). Others may share a transaction with the
	// commits that follow (ingest: see holdBatches).
	durable bool
	after   func() error
	// keys are the queue ids ("q" + id) and message keys ("k" + key) of
	// the recipients and messages: a look-up of anything else needs no
	// wait for the store (see committer.isPending).
	keys []string
	// synced, if not nil, makes this a barrier: it is closed once every
	// commit sent before it is committed.
	synced chan struct{}
}

// fileCommit is one file's share of a commit.
type fileCommit struct {
	w      *schema.Writer
	path   string
	events []parsers.Event
	b      *schema.Batch // events, rs and ms encoded; nil until the encoder has
	rs     []analysis.Recipient
	ms     []analysis.Message
	p      schema.Progress
}

// newFileCommit encodes a file's batch for the committer: the encoding runs
// on the caller's goroutine, while the committer stores the commit before.
func newFileCommit(w *schema.Writer, path string, events []parsers.Event, rs []analysis.Recipient, ms []analysis.Message, p schema.Progress) fileCommit {
	return fileCommit{w: w, path: path, events: events, b: schema.Prepare(events, rs, ms), p: p}
}

// laterFileCommit is a file's batch the committer's encoder encodes on a
// goroutine of its own, so that the reader goes on parsing and correlating
// the next batch meanwhile (ingest: the reader was the slower of the two).
func laterFileCommit(w *schema.Writer, path string, events []parsers.Event, rs []analysis.Recipient, ms []analysis.Message, p schema.Progress) fileCommit {
	return fileCommit{w: w, path: path, events: events, rs: rs, ms: ms, p: p}
}

// commitKeys returns the queue ids ("q" + id) and message keys ("k" + key)
// of rs and ms.
func commitKeys(rs []analysis.Recipient, ms []analysis.Message) []string {
	keys := make([]string, 0, 2*(len(ms)+len(rs)))
	for i := range ms {
		keys = append(keys, "q"+ms[i].QueueID, "k"+ms[i].Key)
	}
	for i := range rs {
		keys = append(keys, "q"+rs[i].QueueID, "k"+rs[i].MessageKey)
	}
	return keys
}

// A committer is the one goroutine that writes to the store, for ingest,
// scan and tail alike: it stores commits in the order they were sent, so
// that parsing and correlating the next batch overlaps with SQLite storing
// this one. Each batch is stored with its source's position (crash
// safety). The channels are unbuffered: a slow store blocks the reader,
// and at most three batches are in memory (one being read or waiting, one
// being encoded or waiting, one being stored), plus emptied slices for
// reuse.
type committer struct {
	// in carries commits from the reader to the encoder, which encodes
	// the file commits not yet encoded (laterFileCommit) and passes every
	// commit on, in order, through ch to run. The reader closes in (in
	// close), the encoder then ch.
	in       chan commit
	ch       chan commit
	free     chan []parsers.Event // stored batches' slices, for reuse
	done     chan struct{}        // closed when run has returned
	err      error                // why run stopped early; read after done
	inFlight atomic.Int64         // commits sent and not yet committed
	closed   bool

	mu      sync.Mutex
	pending map[string]int // see commit.keys
}

// startCommitter starts the committer's goroutine; close ends it.
func startCommitter(ctx context.Context) *committer {
	c := &committer{
		in:      make(chan commit),
		ch:      make(chan commit),
		pending: make(map[string]int),
		free:    make(chan []parsers.Event, 2),
		done:    make(chan struct{}),
	}
	go c.encode(ctx)
	go c.run(ctx)
	return c
}

// encode encodes the file commits that come unencoded from in and passes
// every commit on to run, in the order sent, until in is closed or run
// has stopped. With run storing one batch and the reader filling the next,
// one more batch is in memory here.
func (c *committer) encode(ctx context.Context) {
	defer close(c.ch)
	for cm := range c.in {
		for i := range cm.files {
			if fc := &cm.files[i]; fc.b == nil {
				fc.b = schema.Prepare(fc.events, fc.rs, fc.ms)
				fc.rs, fc.ms = nil, nil
			}
		}
		select {
		case c.ch <- cm:
		case <-c.done:
			// run has stopped: drop what the reader still sends (send
			// sees done and says why).
			for range c.in {
			}
			return
		case <-ctx.Done():
			for range c.in {
			}
			return
		}
	}
}

// held is a commit written in a transaction not yet committed.
type heldCommit struct {
	keys  []string
	after func() error
}

// run commits until ch is closed or a commit fails.
func (c *committer) run(ctx context.Context) {
	defer close(c.done)
	var (
		held []heldCommit
		w    *schema.Writer // whose transaction holds them
	)
	flush := func() bool {
		if w != nil {
			if err := w.Flush(); err != nil {
				c.err = StoreError{err}
				return false
			}
		}
		for _, h := range held {
			c.track(h.keys, -1)
			if h.after != nil && c.err == nil {
				if err := h.after(); err != nil {
					c.err = err
				}
			}
			// Only once after has run: sync returns at once when nothing
			// is in flight, and the sender must not go on while after
			// (the tail's sending of alerts) still runs.
			c.inFlight.Add(-1)
		}
		held, w = held[:0], nil
		return c.err == nil
	}
	defer func() {
		if w != nil {
			w.Abort() // after a failure or a cancel: nothing half-written
		}
	}()
	for {
		// A slow input (a pipe) must not keep a transaction open, and its
		// batches uncommitted, while it waits for its next batch.
		var due <-chan time.Time
		if w != nil {
			if _, open := w.Held(); len(held) > 0 {
				due = time.After(HoldTime - open)
			}
		}
		var (
			cm commit
			ok bool
		)
		select {
		case cm, ok = <-c.ch:
		case <-due:
			if !flush() {
				return
			}
			continue
		}
		if !ok {
			break
		}
		if cm.synced != nil {
			if !flush() {
				return
			}
			close(cm.synced)
			continue
		}
		if !c.store(ctx, cm, &held, &w, flush) {
			return
		}
	}
	flush()
}

// store writes cm, holding it in the open transaction unless it is durable.
func (c *committer) store(ctx context.Context, cm commit, held *[]heldCommit, w **schema.Writer, flush func() bool) bool {
	if cm.durable && len(*held) > 0 && !flush() {
		return false
	}
	for _, fc := range cm.files {
		if *w != nil && *w != fc.w {
			// One writer's transaction at a time: SQLite has one writer.
			if !flush() {
				return false
			}
		}
		if err := fc.w.Hold(ctx, fc.b, fc.p); err != nil {
			c.err = StoreError{fmt.Errorf("%s: %w", fc.path, err)}
			return false
		}
		*w = fc.w
		if cm.durable && !flush() {
			return false
		}
		clear(fc.events) // let the lines go before the slice is reused
		select {
		case c.free <- fc.events[:0]:
		default:
		}
	}
	*held = append(*held, heldCommit{keys: cm.keys, after: cm.after})
	if cm.durable {
		return flush()
	}
	if n, open := (*w).Held(); n >= holdBatches || open >= HoldTime {
		return flush()
	}
	return true
}

// newBatch returns an empty event slice, reusing a stored batch's.
func (c *committer) newBatch() []parsers.Event {
	select {
	case b := <-c.free:
		return b
	default:
		return make([]parsers.Event, 0, BatchEvents+BatchEvents/8)
	}
}

// track adds d to the pending counts of keys.
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

// isPending reports whether a commit not yet committed holds a message or
// recipient under this queue id (prefix "q") or message key ("k").
func (c *committer) isPending(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[k] > 0
}

// send hands cm to the committer, waiting while it stores the one before.
// It returns the error of a commit that failed before: nothing is stored
// after it.
func (c *committer) send(ctx context.Context, cm commit) error {
	if cm.synced == nil {
		c.inFlight.Add(1)
		c.track(cm.keys, 1)
	}
	var err error
	select {
	case c.in <- cm:
		return nil
	case <-c.done:
		err = c.err
		if err == nil {
			err = errors.New("committer stopped")
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	if cm.synced == nil {
		c.track(cm.keys, -1)
		c.inFlight.Add(-1)
	}
	return err
}

// sync waits until every commit sent so far is committed (and its after
// has run), and returns the error of the first that failed.
func (c *committer) sync(ctx context.Context) error {
	if c.inFlight.Load() == 0 {
		select {
		case <-c.done:
			return c.err
		default:
			return nil
		}
	}
	synced := make(chan struct{})
	if err := c.send(ctx, commit{synced: synced}); err != nil {
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

// close closes the channel and waits until every commit sent is
// committed, returning the first commit error.
func (c *committer) close() error {
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	<-c.done
	return c.err
}
