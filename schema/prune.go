package schema

import (
	"context"
	"fmt"
	"time"
)

// Pruned counts what Prune deleted.
type Pruned struct {
	Recipients, Messages, Events, Blocks, Alerts, Accounts int64
	// BytesBefore and BytesAfter are the database's size around it.
	BytesBefore, BytesAfter int64
}

// The statements of Prune, in order; each takes the cutoff in Unix ms.
// Recipients go by their time (the count triggers follow); messages once
// older than the cutoff with no recipient left; event blocks whose newest
// event is older (a block straddling the cutoff stays whole), with their
// keys; the rows kept apart for failed logins, submissions and server
// events; alerts by when they were decided; accounts last seen before.
// Sources stay: they say how far each file was read, so reading it again
// does not bring the pruned lines back.
var pruneStmts = []struct{ what, sql string }{
	{"recipients", `DELETE FROM recipients WHERE ts_ms < ?1`},
	{"messages", `DELETE FROM messages WHERE ts_ms < ?1 AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_key = messages.key)`},
	{"keys", pruneKeys},
	{"blocks", `DELETE FROM event_blocks WHERE max_ts_ms < ?1`},
	{"events", `DELETE FROM events WHERE ts_ms < ?1`},
	{"alerts", `DELETE FROM alerts WHERE created_ms < ?1`},
	{"accounts", `DELETE FROM accounts WHERE last_ms < ?1`},
	{"counts", pruneCounts},
}

const pruneCounts = `DELETE FROM recipient_counts WHERE n <= 0 AND ?1 IS NOT NULL`

const pruneKeys = `DELETE FROM event_keys WHERE block_id IN (SELECT id FROM event_blocks WHERE max_ts_ms < ?1)`

// pruneStagedKeys: SQLite only (PostgreSQL stages none).
const pruneStagedKeys = `DELETE FROM event_keys_new WHERE block_id IN (SELECT id FROM event_blocks WHERE max_ts_ms < ?1)`

// Prune deletes what the store holds from before cutoff in one
// transaction, then gives the space back to the file system (VACUUM):
// retention as data-protection rules ask. What remains reads as a store
// that never held the older data: reports and investigations on the kept
// period are those of a fresh ingest of it. On PostgreSQL the months of
// stored lines (event_blocks, event_keys, events) that end before cutoff
// are dropped whole (pgDropMonths), their files with them.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (Pruned, error) {
	var p Pruned
	p.BytesBefore = s.size(ctx)
	// Deleting most of the database journals every page a statement
	// changes, and VACUUM copies the database: both in temporary storage,
	// which must be files. In memory, pruning 5M of 6M lines took 1.1 GB.
	c, done, err := s.tempOnDisk(ctx)
	if err != nil {
		return p, err
	}
	defer done()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return p, wrapBusy(err)
	}
	defer tx.Rollback()
	ms := cutoff.UnixMilli()
	if s.pg {
		// The months of stored lines that end before the cutoff go
		// whole; the statements below delete the rest row by row.
		if err := pgDropMonths(ctx, tx, ms, &p); err != nil {
			return p, err
		}
		defer s.pgForgetPartitions()
	} else {
		// Keys a load staged and has not merged yet (defer.go): those of
		// the blocks about to go, before the blocks.
		if _, err := tx.ExecContext(ctx, pruneStagedKeys, ms); err != nil {
			return p, fmt.Errorf("prune staged keys: %w", wrapBusy(err))
		}
	}
	for _, st := range pruneStmts {
		res, err := tx.ExecContext(ctx, st.sql, ms)
		if err != nil {
			return p, fmt.Errorf("prune %s: %w", st.what, wrapBusy(err))
		}
		n, _ := res.RowsAffected()
		switch st.what {
		case "recipients":
			p.Recipients = n
		case "messages":
			p.Messages = n
		case "blocks":
			p.Blocks += n
		case "events":
			p.Events += n
		case "alerts":
			p.Alerts = n
		case "accounts":
			p.Accounts = n
		}
	}
	if err := tx.Commit(); err != nil {
		return p, wrapBusy(err)
	}
	if _, err := c.ExecContext(ctx, "VACUUM"); err != nil {
		return p, fmt.Errorf("vacuum: %w", wrapBusy(err))
	}
	if _, err := c.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return p, wrapBusy(err)
	}
	p.BytesAfter = s.size(ctx)
	return p, nil
}

// size is the database's size in bytes (its pages), or 0.
func (s *Store) size(ctx context.Context) int64 {
	if s.pg {
		var n int64
		if s.db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n) != nil {
			return 0
		}
		return n
	}
	var pages, size int64
	if s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages) != nil || s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size) != nil {
		return 0
	}
	return pages * size
}
