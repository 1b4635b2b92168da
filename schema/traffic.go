package schema

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// blocksOfSourceInRange are a source's event blocks that hold an event in
// [?, ?), in file order, found by the (source_id, first_offset) index.
const blocksOfSourceInRange = `SELECT id, data FROM event_blocks WHERE source_id = ? AND max_ts_ms >= ? AND min_ts_ms < ? ORDER BY first_offset, id`

// decodedAhead is how many decoded blocks EachEvent's reader may hold
// beyond the one fn is given (a block is at most blockEvents events).
const decodedAhead = 4

// EachEvent calls fn with every stored event in r: the sources in the
// order they were written (oldest first), each in file order, with the
// fields report traffic counts from (see eventDecoder.counting): no raw
// line, client or login. It decodes every block of the span: report
// traffic's totals need every delivery line. The blocks are read and
// decoded on a goroutine of their own while fn counts the ones before.
func (s *Store) EachEvent(ctx context.Context, r analysis.TimeRange, fn func(parsers.Event) error) error {
	srcs, err := s.readSources(ctx)
	if err != nil {
		return err
	}
	from, to := bounds(r)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	decoded := make(chan []parsers.Event, decodedAhead)
	free := make(chan []parsers.Event, decodedAhead+2) // emptied slices, for reuse
	readErr := make(chan error, 1)
	go func() {
		defer close(decoded)
		d := &eventDecoder{counting: true, names: map[string]string{}}
		for _, src := range srcs {
			d.file = src.path
			if err := s.eachBlockInRange(ctx, d, src, from, to, free, decoded); err != nil {
				readErr <- err
				return
			}
		}
		readErr <- nil
	}()
	for evs := range decoded {
		for i := range evs {
			if err := fn(evs[i]); err != nil {
				cancel()
				for range decoded {
				}
				<-readErr
				return err
			}
		}
		select {
		case free <- evs[:0]:
		default:
		}
	}
	return <-readErr
}

// eachBlockInRange sends the events in [from, to) of each of src's blocks
// that hold any, a block at a time, on out.
func (s *Store) eachBlockInRange(ctx context.Context, d *eventDecoder, src sourceRef, from, to int64, free <-chan []parsers.Event, out chan<- []parsers.Event) error {
	rows, err := s.db.QueryContext(ctx, blocksOfSourceInRange, src.id, from, to)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	// The blob is read in place and decompressed into buf, reused: the
	// decoder copies the fields it keeps.
	var buf []byte
	for rows.Next() {
		var (
			block int64
			data  sql.RawBytes
		)
		if err := rows.Scan(&block, &data); err != nil {
			return fmt.Errorf("read events of %s: %w", src.path, err)
		}
		var evs []parsers.Event
		select {
		case evs = <-free:
		default:
		}
		recs, err := blockRecordsInto(data, buf)
		if len(recs) > 0 && &data[0] != &recs[0] {
			buf = recs
		}
		if err == nil {
			err = d.decode(recs, func(ev parsers.Event) error {
				if ms := ev.Time.UnixMilli(); ms >= from && ms < to {
					evs = append(evs, ev)
				}
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("read events of %s: block %d: %w", src.path, block, err)
		}
		if len(evs) == 0 {
			continue
		}
		select {
		case out <- evs:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return wrapBusy(rows.Err())
}
