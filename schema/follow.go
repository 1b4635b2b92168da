package schema

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
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
	err = s.db.QueryRowContext(ctx, followGet, path).Scan(&dev, &ino, &f.Fingerprint)
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
	_, err := s.db.ExecContext(ctx, followSet, f.Path, int64(f.Device), int64(f.Inode), f.Fingerprint, time.Now().UnixMilli())
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

const recentLast = `SELECT id, ts_ms FROM events ORDER BY id DESC`

// recentLines reads the window by rowid: NOT INDEXED keeps SQLite from
// reading a whole partial index whose condition the subqueries imply.
const recentLines = `SELECT e.id, e.source_id, s.path, e.format, e.line, e.byte_offset, e.ts_ms, e.raw
 FROM events e JOIN sources s ON s.id = e.source_id WHERE e.id >= ?1
 UNION ALL
 SELECT e.id, e.source_id, s.path, e.format, e.line, e.byte_offset, e.ts_ms, e.raw
 FROM events e JOIN sources s ON s.id = e.source_id
 WHERE e.id < ?1 AND e.ts_ms >= ?2 AND e.queue_id <> '' AND e.queue_id IN (
   SELECT queue_id FROM events NOT INDEXED WHERE id >= ?1 AND queue_id <> ''
   UNION SELECT next_queue_id FROM events NOT INDEXED WHERE id >= ?1 AND next_queue_id <> ''
   UNION SELECT prev_queue_id FROM events NOT INDEXED WHERE id >= ?1 AND prev_queue_id <> '')
 ORDER BY 1`

// RecentLines returns, in the order they were stored, the lines of the
// events stored in the last window before the newest event, and the earlier
// lines about the queue ids those events name (back to horizon before the
// newest event), each once, to fn. Replaying them rebuilds what a
// streaming reader knew of the messages still in flight when it stopped.
func (s *Store) RecentLines(ctx context.Context, window, horizon time.Duration, fn func(StoredLine) error) error {
	rows, err := s.db.QueryContext(ctx, recentLast)
	if err != nil {
		return wrapBusy(err)
	}
	var (
		start  int64 = -1
		newest int64
		first  = true
	)
	for rows.Next() {
		var id, ts int64
		if err := rows.Scan(&id, &ts); err != nil {
			rows.Close()
			return err
		}
		if first {
			newest, first = ts, false
		}
		newest = max(newest, ts)
		// Lines are stored in log order, and logs are only out of order by
		// seconds: the first line well before the window ends the search.
		if ts < newest-window.Milliseconds()-time.Minute.Milliseconds() {
			break
		}
		start = id
	}
	if err := rows.Close(); err != nil {
		return wrapBusy(err)
	}
	if start < 0 {
		return wrapBusy(rows.Err())
	}
	rows, err = s.db.QueryContext(ctx, recentLines, start, newest-horizon.Milliseconds())
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	type lineKey struct {
		src int64
		off int64
	}
	var last lineKey
	for rows.Next() {
		var (
			id, ts int64
			l      StoredLine
		)
		if err := rows.Scan(&id, &l.SourceID, &l.File, &l.Format, &l.Line, &l.Offset, &ts, &l.Raw); err != nil {
			return err
		}
		// The events of one line were stored one after another.
		if k := (lineKey{l.SourceID, l.Offset}); k != last {
			last = k
			l.Time = time.UnixMilli(ts).UTC()
			if err := fn(l); err != nil {
				return err
			}
		}
	}
	return wrapBusy(rows.Err())
}
