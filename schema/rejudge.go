package schema

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// A Judge is the correlator as Rejudge drives it: fed every stored event,
// flushed of what changed.
type Judge interface {
	Feed(ev parsers.Event)
	Flush() ([]analysis.Recipient, []analysis.Message)
}

// judgeBatch is how many events are fed between two flushes.
const judgeBatch = 10000

const sourcesInReadOrder = `SELECT id, path FROM sources ORDER BY coalesce(first_ts_ms, 0), id`

const blocksOfSource = `SELECT id, data FROM event_blocks WHERE source_id = ? ORDER BY first_offset, id`

// Rejudge replaces every stored verdict with those j gives: it deletes the
// recipients and messages, feeds j every stored event in the order the
// files were read, and writes what j flushes, all in one transaction — a
// failure leaves the old verdicts. It returns the number of events fed.
func (s *Store) Rejudge(ctx context.Context, j Judge) (int64, error) {
	stmts, err := s.writeStmts(ctx)
	if err != nil {
		return 0, err
	}
	// Events are read on their own connection (a WAL snapshot of events,
	// which the transaction does not change).
	srcs, err := s.readSources(ctx)
	if err != nil {
		return 0, err
	}
	// The index builds at the end sort every recipient: in temporary
	// files, as RestoreIndexes does, not in memory.
	c, done, err := s.tempOnDisk(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrapBusy(err)
	}
	defer tx.Rollback()
	var rebuild []string
	if s.pg {
		for _, table := range []string{"recipients", "messages"} {
			// Table names are constants.
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return 0, wrapBusy(err)
			}
		}
	} else {
		if err := clearJudgements(ctx, tx); err != nil {
			return 0, err
		}
		if _, rebuild, err = dropReadIndexes(ctx, tx); err != nil {
			return 0, err
		}
	}
	w := &Writer{s: s}
	var n int64
	flush := func() error {
		rs, ms := j.Flush()
		return w.writeJudgements(ctx, tx, stmts, Prepare(nil, rs, ms))
	}
	for _, src := range srcs {
		err := s.eachEvent(ctx, src.id, src.path, func(ev parsers.Event) error {
			j.Feed(ev)
			n++
			if n%judgeBatch == 0 {
				return flush()
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	if len(rebuild) > 0 {
		// SQLite's sorter keeps up to a page cache of keys in memory
		// before it writes a sorted run (see restoreIndexes).
		if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -4096`); err != nil {
			return n, wrapBusy(err)
		}
	}
	for _, def := range rebuild {
		// def is the statement SQLite itself stored for the index.
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return n, fmt.Errorf("build index: %w", wrapBusy(err))
		}
	}
	return n, wrapBusy(tx.Commit())
}

// countOnDelete is the trigger that keeps recipient_counts as recipients
// are deleted one by one.
const countOnDelete = "recipients_count_delete"

// clearJudgements empties recipients, messages and recipient_counts in tx
// (SQLite). Without the delete trigger, SQLite clears a table's pages
// whole instead of deleting row by row: on 6M lines (1.6M recipients),
// 23 s and 1.6 GB of memory (the statement's journal of every page it
// changed) against 5 s and 24 MB. The trigger is put back as it was, in
// the same transaction; the counts come back with the recipients written
// again (recipients_count_insert).
func clearJudgements(ctx context.Context, tx *sql.Tx) error {
	var trigger string
	err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`, countOnDelete).Scan(&trigger)
	if err != nil && err != sql.ErrNoRows {
		return wrapBusy(err)
	}
	if trigger != "" {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+countOnDelete); err != nil {
			return wrapBusy(err)
		}
	}
	for _, q := range []string{`DELETE FROM recipients`, `DELETE FROM messages`, `DELETE FROM recipient_counts`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return wrapBusy(err)
		}
	}
	if trigger != "" {
		// trigger is the statement SQLite itself stored.
		if _, err := tx.ExecContext(ctx, trigger); err != nil {
			return wrapBusy(err)
		}
	}
	return nil
}

type sourceRef struct {
	id   int64
	path string
}

func (s *Store) readSources(ctx context.Context) ([]sourceRef, error) {
	rows, err := s.db.QueryContext(ctx, sourcesInReadOrder)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []sourceRef
	for rows.Next() {
		var r sourceRef
		if err := rows.Scan(&r.id, &r.path); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// eachEvent calls fn for every stored event of one source, in file order,
// rebuilt as the parser emitted it.
func (s *Store) eachEvent(ctx context.Context, id int64, path string, fn func(parsers.Event) error) error {
	rows, err := s.db.QueryContext(ctx, blocksOfSource, id)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			block int64
			data  []byte
		)
		if err := rows.Scan(&block, &data); err != nil {
			return fmt.Errorf("read events of %s: %w", path, err)
		}
		recs, err := blockRecords(data)
		if err == nil {
			err = decodeEvents(recs, path, fn)
		}
		if err != nil {
			return fmt.Errorf("read events of %s: block %d: %w", path, block, err)
		}
	}
	return wrapBusy(rows.Err())
}
