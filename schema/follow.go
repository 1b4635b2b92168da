package schema

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// Follow is the file a followed path named when it was last looked at.
type Follow struct {
	Path        string
	Device      uint64
	Inode       uint64
	Fingerprint string // of the first line; "" while the file had none
}

const followGet = `SELECT device, inode, fingerprint FROM follows WHERE path = ?`

const followSet = `INSERT INTO follows (path, device, inode, fingerprint, updated_ms) VALUES (?, ?, ?, ?, ?)
 ON CONFLICT (path) DO UPDATE SET device = excluded.device, inode = excluded.inode,
 fingerprint = excluded.fingerprint, updated_ms = excluded.updated_ms`

// Follow returns what path was when it was last followed; ok is false for
// a path never followed.
func (s *Store) Follow(ctx context.Context, path string) (f Follow, ok bool, err error) {
	f.Path = path
	var dev, ino int64
	err = s.db.QueryRowContext(ctx, followGet, s.followPrefix+path).Scan(&dev, &ino, &f.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, wrapBusy(err)
	}
	f.Device, f.Inode = uint64(dev), uint64(ino)
	return f, true, nil
}

// SetFollow records which file f.Path now names.
func (s *Store) SetFollow(ctx context.Context, f Follow) error {
	_, err := s.db.ExecContext(ctx, followSet, s.followPrefix+f.Path, int64(f.Device), int64(f.Inode), f.Fingerprint, time.Now().UnixMilli())
	return wrapBusy(err)
}

const sourceByFingerprint = `SELECT id, path, format, byte_offset, lines, complete FROM sources WHERE fingerprint = ?`

// SourceByFingerprint returns the stored source with this fingerprint
// without adding one; ok is false when there is none.
func (s *Store) SourceByFingerprint(ctx context.Context, fingerprint string) (src Source, ok bool, err error) {
	src.Fingerprint = fingerprint
	err = s.db.QueryRowContext(ctx, sourceByFingerprint, fingerprint).Scan(&src.ID, &src.Path, &src.Format, &src.Offset, &src.Lines, &src.Complete)
	if errors.Is(err, sql.ErrNoRows) {
		return src, false, nil
	}
	if err != nil {
		return src, false, wrapBusy(err)
	}
	return src, true, nil
}

const recipientVerdicts = `SELECT key, verdict FROM recipients WHERE key IN (`

// RecipientVerdicts returns the stored verdict of each of keys that is in
// the database.
func (s *Store) RecipientVerdicts(ctx context.Context, keys []string) (map[string]analysis.Verdict, error) {
	out := make(map[string]analysis.Verdict, len(keys))
	const chunk = 500 // below SQLite's limit on bound parameters
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		args := make([]any, n)
		for i, k := range keys[:n] {
			args[i] = k
		}
		q := recipientVerdicts + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, wrapBusy(err)
		}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = analysis.Verdict(v)
		}
		if err := rows.Close(); err != nil {
			return nil, wrapBusy(err)
		}
		if err := rows.Err(); err != nil {
			return nil, wrapBusy(err)
		}
		keys = keys[n:]
	}
	return out, nil
}

// StoredLine is one log line whose events are in the store.
type StoredLine struct {
	SourceID int64
	File     string // the source's path
	Format   string
	Line     int
	Offset   int64
	Time     time.Time
	Raw      string
}

const newestEvent = `SELECT max(max_ts_ms) FROM event_blocks`

// recentBlocks are the blocks holding events of the last window (sorted
// into the order they were stored by RecentLines: asked for in rowid
// order, SQLite would read every block rather than the index on time).
const recentBlocks = `SELECT b.id, b.source_id, s.path, s.format, b.data FROM event_blocks b
 JOIN sources s ON s.id = b.source_id WHERE b.max_ts_ms >= ?`

// earlierBlocks are the blocks before the window holding a queue id's
// events back to the horizon.
const earlierBlocks = `SELECT b.id, b.source_id, s.path, s.format, b.data FROM ` + allEventKeys + ` k
 JOIN event_blocks b ON b.id = k.block_id JOIN sources s ON s.id = b.source_id
 WHERE k.key = ? AND k.block_id < ? AND k.max_ts_ms >= ? ORDER BY k.block_id`

// storedBlock is one event block read back.
type storedBlock struct {
	id, source   int64
	path, format string
	data         []byte
}

// RecentLines returns, in the order they were stored, the lines of the
// events stored in the last window before the newest event, and the earlier
// lines about the queue ids those events name (back to horizon before the
// newest event), each once, to fn. Replaying them rebuilds what a
// streaming reader knew of the messages still in flight when it stopped.
func (s *Store) RecentLines(ctx context.Context, window, horizon time.Duration, fn func(StoredLine) error) error {
	var newest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, newestEvent).Scan(&newest); err != nil {
		return wrapBusy(err)
	}
	if !newest.Valid {
		return nil
	}
	// Logs are only out of order by seconds: a minute of slack.
	recent, err := s.blocks(ctx, recentBlocks, newest.Int64-window.Milliseconds()-time.Minute.Milliseconds())
	if err != nil || len(recent) == 0 {
		return err
	}
	slices.SortFunc(recent, func(a, b *storedBlock) int { return cmp.Compare(a.id, b.id) })
	ids := map[string]bool{}
	for _, b := range recent {
		err := b.each(func(ev parsers.Event) error {
			for _, id := range [...]string{ev.QueueID, ev.NextQueueID, ev.PrevQueueID} {
				if id != "" {
					ids[id] = true
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The earlier blocks, each once, with the queue ids to take from each.
	first := recent[0].id
	earlier := map[int64]*storedBlock{}
	wanted := map[int64]map[string]bool{}
	for id := range ids {
		bs, err := s.blocks(ctx, earlierBlocks, "q"+id, first, newest.Int64-horizon.Milliseconds())
		if err != nil {
			return err
		}
		for _, b := range bs {
			if earlier[b.id] == nil {
				earlier[b.id], wanted[b.id] = b, map[string]bool{}
			}
			wanted[b.id][id] = true
		}
	}
	order := make([]*storedBlock, 0, len(earlier))
	for _, b := range earlier {
		order = append(order, b)
	}
	slices.SortFunc(order, func(a, b *storedBlock) int { return cmp.Compare(a.id, b.id) })
	type lineKey struct {
		src, off int64
	}
	last := lineKey{-1, -1}
	emit := func(b *storedBlock, keep func(*parsers.Event) bool) error {
		return b.each(func(ev parsers.Event) error {
			// The events of one line are stored one after another.
			if k := (lineKey{b.source, ev.Pos.Offset}); k != last && keep(&ev) {
				last = k
				return fn(StoredLine{SourceID: b.source, File: b.path, Format: b.format, Line: ev.Pos.Line,
					Offset: ev.Pos.Offset, Time: ev.Time, Raw: ev.Raw})
			}
			return nil
		})
	}
	for _, b := range order {
		w := wanted[b.id]
		if err := emit(b, func(ev *parsers.Event) bool { return ev.QueueID != "" && w[ev.QueueID] }); err != nil {
			return err
		}
	}
	for _, b := range recent {
		if err := emit(b, func(*parsers.Event) bool { return true }); err != nil {
			return err
		}
	}
	return nil
}

// blocks runs a query for event blocks.
func (s *Store) blocks(ctx context.Context, q string, args ...any) ([]*storedBlock, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []*storedBlock
	for rows.Next() {
		b := &storedBlock{}
		if err := rows.Scan(&b.id, &b.source, &b.path, &b.format, &b.data); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, wrapBusy(rows.Err())
}

// each calls fn with each event of b.
func (b *storedBlock) each(fn func(parsers.Event) error) error {
	recs, err := blockRecords(b.data)
	if err == nil {
		err = decodeEvents(recs, b.path, fn)
	}
	if err != nil {
		return fmt.Errorf("event block %d of %s: %w", b.id, b.path, err)
	}
	return nil
}
