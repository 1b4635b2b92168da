package schema

import (
	"context"
	"fmt"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// blocksOfSourceInRange are a source's event blocks that hold an event in
// [?, ?), in file order, found by the (source_id, first_offset) index.
const blocksOfSourceInRange = `SELECT id, data FROM event_blocks WHERE source_id = ? AND max_ts_ms >= ? AND min_ts_ms < ? ORDER BY first_offset, id`

// EachEvent calls fn with every stored event in r: the sources in the
// order they were written (oldest first), each in file order, rebuilt as
// the parser emitted them. It decodes every block of the span: report
// traffic's totals need every delivery line.
func (s *Store) EachEvent(ctx context.Context, r analysis.TimeRange, fn func(parsers.Event) error) error {
	srcs, err := s.readSources(ctx)
	if err != nil {
		return err
	}
	from, to := bounds(r)
	for _, src := range srcs {
		if err := s.eachEventInRange(ctx, src, from, to, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) eachEventInRange(ctx context.Context, src sourceRef, from, to int64, fn func(parsers.Event) error) error {
	rows, err := s.db.QueryContext(ctx, blocksOfSourceInRange, src.id, from, to)
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
			return fmt.Errorf("read events of %s: %w", src.path, err)
		}
		recs, err := blockRecords(data)
		if err == nil {
			err = decodeEvents(recs, src.path, func(ev parsers.Event) error {
				if ms := ev.Time.UnixMilli(); ms < from || ms >= to {
					return nil
				}
				return fn(ev)
			})
		}
		if err != nil {
			return fmt.Errorf("read events of %s: block %d: %w", src.path, block, err)
		}
	}
	return wrapBusy(rows.Err())
}
