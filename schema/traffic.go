package schema

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// blocksOfSourceInRange are a source's event blocks that hold an event in
// [?, ?), in file order, found by the (source_id, first_offset) index.
const blocksOfSourceInRange = `SELECT id, data FROM event_blocks WHERE source_id = ? AND max_ts_ms >= ? AND min_ts_ms < ? ORDER BY first_offset, id`

// decodedAhead is how many blocks EachEvent may have read, or decoded,
// beyond the ones being decoded and counted (a block is at most
// blockEvents events).
const decodedAhead = 8

// blockDecoders is how many goroutines decode EachEvent's blocks: with
// the reader and the counter, both cores of the machine measured busy
// (report traffic on 5M lines: 4.1-4.9 s with one decoder, 3.4 s with two).
const blockDecoders = 2

// A blockJob is one block for EachEvent's decoders, and where its events
// go.
type blockJob struct {
	file string
	id   int64
	data []byte
	out  chan blockResult
}

type blockResult struct {
	evs []parsers.Event
	err error
}

// EachEvent calls fn with every stored event in r: the sources in the
// order they were written (oldest first), each in file order, with the
// fields report traffic counts from (see eventDecoder.counting): no raw
// line, client or login. It decodes every block of the span: report
// traffic's totals need every delivery line. One goroutine reads the
// blocks and others decode them while fn counts the ones before.
func (s *Store) EachEvent(ctx context.Context, r analysis.TimeRange, fn func(parsers.Event) error) error {
	srcs, err := s.readSources(ctx)
	if err != nil {
		return err
	}
	from, to := bounds(r)
	progress := analysis.ReadProgressFrom(ctx)
	var done, total int64
	if progress != nil {
		if total, err = s.countBlocksInRange(ctx, srcs, from, to); err != nil {
			return err
		}
		progress(0, total)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan blockJob, decodedAhead)
	// order has each block's result channel, in file order. A block is
	// put there only once its job is handed to the decoders, so that
	// every result waited for comes.
	order := make(chan chan blockResult, decodedAhead)
	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		for _, src := range srcs {
			err := s.eachBlockInRange(ctx, src, from, to, func(id int64, data []byte) error {
				j := blockJob{file: src.path, id: id, data: bytes.Clone(data), out: make(chan blockResult, 1)}
				if err := sendCtx(ctx, jobs, j); err != nil {
					return err
				}
				return sendCtx(ctx, order, j.out)
			})
			if err != nil {
				readErr <- err
				return
			}
		}
		readErr <- nil
	}()
	free := make(chan []parsers.Event, decodedAhead+blockDecoders+1) // emptied slices, for reuse
	var wg sync.WaitGroup
	defer wg.Wait()
	for range blockDecoders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decodeBlocks(jobs, free, from, to)
		}()
	}
	fail := func(err error) error {
		cancel()
		for range order {
		}
		<-readErr
		return err
	}
	for out := range order {
		res := <-out
		if res.err == nil {
			res.err = ctx.Err() // the caller's, cancelled
		}
		if res.err != nil {
			return fail(res.err)
		}
		for i := range res.evs {
			if err := fn(res.evs[i]); err != nil {
				return fail(err)
			}
		}
		select {
		case free <- res.evs[:0]:
		default:
		}
		if progress != nil {
			done++
			progress(min(done, total), total)
		}
	}
	return <-readErr
}

// decodeBlocks decodes the blocks of jobs, each with its events in [from,
// to), in a slice from free if one is there. It has a zstd decoder of its
// own: the package's one decodes one block at a time.
func decodeBlocks(jobs <-chan blockJob, free <-chan []parsers.Event, from, to int64) {
	d := &eventDecoder{counting: true, names: map[string]string{}}
	zd, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	defer zd.Close()
	var buf []byte // decompressed records, reused: the decoder copies what it keeps
	for j := range jobs {
		var res blockResult
		select {
		case res.evs = <-free:
		default:
		}
		recs, err := j.data, error(nil)
		if bytes.HasPrefix(j.data, zstdMagic) {
			recs, err = zd.DecodeAll(j.data, buf[:0])
			buf = recs
		}
		if err == nil {
			d.file = j.file
			err = d.decode(recs, func(ev parsers.Event) error {
				if ms := ev.Time.UnixMilli(); ms >= from && ms < to {
					res.evs = append(res.evs, ev)
				}
				return nil
			})
		}
		if err != nil {
			res.err = fmt.Errorf("read events of %s: block %d: %w", j.file, j.id, err)
		}
		j.out <- res
	}
}

// sendCtx sends v on ch unless ctx is done first.
func sendCtx[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// eachBlockInRange calls fn with the id and stored data of each of src's
// blocks that hold an event in [from, to), in file order. data is valid
// until fn returns.
// blocksOfSourceCounted is how many blocks blocksOfSourceInRange reads.
const blocksOfSourceCounted = `SELECT count(*) FROM event_blocks WHERE source_id = ? AND max_ts_ms >= ? AND min_ts_ms < ?`

// countBlocksInRange is how many blocks EachEvent reads from srcs.
func (s *Store) countBlocksInRange(ctx context.Context, srcs []sourceRef, from, to int64) (int64, error) {
	var total int64
	for _, src := range srcs {
		var n int64
		if err := s.db.QueryRowContext(ctx, blocksOfSourceCounted, src.id, from, to).Scan(&n); err != nil {
			return 0, wrapBusy(err)
		}
		total += n
	}
	return total, nil
}

func (s *Store) eachBlockInRange(ctx context.Context, src sourceRef, from, to int64, fn func(id int64, data []byte) error) error {
	rows, err := s.db.QueryContext(ctx, blocksOfSourceInRange, src.id, from, to)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			block int64
			data  sql.RawBytes
		)
		if err := rows.Scan(&block, &data); err != nil {
			return fmt.Errorf("read events of %s: %w", src.path, err)
		}
		if err := fn(block, data); err != nil {
			return err
		}
	}
	return wrapBusy(rows.Err())
}
