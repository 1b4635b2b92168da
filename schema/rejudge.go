package schema

import (
	"context"
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrapBusy(err)
	}
	defer tx.Rollback()
	for _, table := range []string{"recipients", "messages"} {
		// Table names are constants.
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return 0, wrapBusy(err)
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
	return n, wrapBusy(tx.Commit())
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
