package schema

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// pgRetries is how many times a PostgreSQL batch transaction is run again
// after a deadlock or a serialization failure, and pgRetryBase the first
// wait before it (doubled each time, with jitter: 25 ms to about 800 ms,
// 1.5 s in all). PostgreSQL ends one of two transactions that wait for
// each other (a batch's upserts and another host's accounts pass, which
// rewrites verdicts of every host's recipients): the one it ends is
// rolled back whole, and running it again from its prepared batch, once
// the other has committed, is what a single writer would have done.
const (
	pgRetries   = 5
	pgRetryBase = 25 * time.Millisecond
)

// pgHold is Hold on PostgreSQL: it makes the partitions b needs, then
// writes b and p in a transaction of their own and commits it, running it
// again after a deadlock (pgRetries). Unlike SQLite's, PostgreSQL's
// commits cost little (a WAL flush, no page rewrite), and a transaction
// holding many batches would hold its locks (recipients, counts) for
// seconds, making the other writers wait and deadlocks likelier. Only a
// transaction holding this batch alone can be run again: the batches
// before it are gone from memory once held. Held still counts the
// batches (committed) since the caller's last Flush, and since when, so
// that the caller's rhythm (what it does after a Flush) stays SQLite's.
func (w *Writer) pgHold(ctx context.Context, b *Batch, p Progress) error {
	held, began := w.held, w.began
	remade := false
	err := pgRetry(ctx, func() error {
		err := w.s.pgEnsurePartitions(ctx, b)
		if err == nil {
			err = w.hold(ctx, b, p)
		}
		if err == nil {
			tx := w.tx
			w.tx = nil
			if err = tx.Commit(); err != nil {
				tx.Rollback()
				err = wrapBusy(err)
			} else {
				w.src = w.next
			}
		}
		if err != nil {
			w.Abort()
		}
		return err
	}, func(err error) bool {
		// A month made before was dropped since, by a prune: make it
		// again (once).
		if remade || !noPartition(err) {
			return false
		}
		remade = true
		w.s.pgForgetPartitions()
		return true
	})
	if err == nil && held > 0 {
		w.held, w.began = held+1, began
	}
	return err
}

// pgRetry runs the transaction run, and runs it again while it fails
// with a deadlock or a serialization failure (ErrBusy on PostgreSQL, see
// wrapBusy), at most pgRetries times, waiting longer each time; or with
// an error again, when not nil, says to run it again after.
func pgRetry(ctx context.Context, run func() error, again func(error) bool) error {
	for attempt := 0; ; attempt++ {
		err := run()
		if err == nil {
			return nil
		}
		busy := errors.Is(err, ErrBusy)
		if (!busy || attempt >= pgRetries) && (again == nil || !again(err)) {
			return err
		}
		wait := pgRetryBase << min(attempt, pgRetries)
		wait += rand.N(wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// keepEvidence returns a function that gives reps back the evidence they
// have now: applyAccounts appends to the reports' and their sessions'
// evidence, and a pass run again must not list the lines of the one
// rolled back twice.
func keepEvidence(reps []analysis.AccountReport) (restore func()) {
	n := make([][]int, len(reps))
	for i := range reps {
		n[i] = make([]int, 1+len(reps[i].Sessions))
		n[i][0] = len(reps[i].Evidence)
		for k := range reps[i].Sessions {
			n[i][1+k] = len(reps[i].Sessions[k].Evidence)
		}
	}
	return func() {
		for i := range reps {
			reps[i].Evidence = reps[i].Evidence[:n[i][0]]
			for k := range reps[i].Sessions {
				reps[i].Sessions[k].Evidence = reps[i].Sessions[k].Evidence[:n[i][1+k]]
			}
		}
	}
}
