package schema

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// deferrable are the recipients' indexes that the ingest itself never
// reads: only reports, investigate, the accounts pass after the load and
// tail's look-ups do. Kept during a load: the primary keys (upserts), the
// recipients of a message (recipients_message_key) and messages by queue
// id (the correlator's resolver, across files).
var deferrable = []string{
	"recipients_ts", "recipients_client", "recipients_queue_id", "recipients_auth_user_ts",
	"recipients_sender_ts", "recipients_recipient_nocase", "recipients_message_id_ts", "recipients_verdict_ts",
	"recipients_relay_clients",
}

// dropReadIndexes drops, in tx, the recipients' indexes that only readers
// use (deferrable) and returns their names and the statements that build
// them again: rows written then go without them, and each index is built
// after by a sort (DeferIndexes for a first load, Rejudge). An index
// already deferred (deferred_indexes, a killed load's) is not there to
// drop; Open builds it.
func dropReadIndexes(ctx context.Context, tx *sql.Tx) (names, defs []string, err error) {
	for _, name := range deferrable {
		var def string
		err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&def)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, nil, wrapBusy(err)
		}
		// name is one of deferrable's constants, never input.
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			return nil, nil, wrapBusy(err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	return names, defs, nil
}

// DeferIndexes drops the indexes that only readers use when the database
// holds no recipient yet, remembering how to build each in
// deferred_indexes, and reports whether it did. A bulk load into the empty
// database then writes rows without them; RestoreIndexes builds them after
// by a sort, which costs a fraction of inserting every entry in random key
// order. A load that dies before that leaves them listed, and the next
// writer to open the database builds them (Open). Readers meanwhile get
// the same answers, slower.
func (s *Store) DeferIndexes(ctx context.Context) (bool, error) {
	if s.pg {
		// Other writers may be loading the same PostgreSQL database, and
		// readers querying it: its indexes stay.
		return false, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, wrapBusy(err)
	}
	defer tx.Rollback()
	var any int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM recipients)`).Scan(&any); err != nil {
		return false, wrapBusy(err)
	}
	if any != 0 {
		return false, nil
	}
	names, defs, err := dropReadIndexes(ctx, tx) // those listed already were deferred by another run
	if err != nil {
		return false, err
	}
	for i, name := range names {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO deferred_indexes (name, sql) VALUES (?, ?)`, name, defs[i]); err != nil {
			return false, wrapBusy(err)
		}
	}
	return len(names) > 0, wrapBusy(tx.Commit())
}

// RestoreIndexes builds the indexes DeferIndexes dropped, if any, in one
// transaction, and merges the keys loads staged (Writer.StageKeys). The sorts
// spill to temporary files, not memory: an index of tens of millions of
// rows is bigger than the memory a run may use.
func (s *Store) RestoreIndexes(ctx context.Context) error {
	if s.pg {
		return nil
	}
	return s.restoreIndexes(ctx, true)
}

// allEventKeys are the keys of stored lines as readers see them: merged
// (event_keys) and staged by a load not yet ended (event_keys_new, read
// whole: it is empty but while a load runs).
const allEventKeys = `(SELECT key, block_id, min_ts_ms, max_ts_ms FROM event_keys
 UNION ALL SELECT key, block_id, min_ts_ms, max_ts_ms FROM event_keys_new)`

// mergeKeys moves the staged keys into event_keys in key order, so that
// each page of event_keys is written once, not once per key. A key of a
// block is staged once (a block is stored once), so the conflict clause
// is never needed but keeps a merge from failing on an old copy.
const mergeKeys = `INSERT INTO event_keys (key, block_id, min_ts_ms, max_ts_ms)
 SELECT key, block_id, min_ts_ms, max_ts_ms FROM event_keys_new WHERE true ORDER BY key, block_id
 ON CONFLICT (key, block_id) DO UPDATE SET min_ts_ms = min(min_ts_ms, excluded.min_ts_ms),
 max_ts_ms = max(max_ts_ms, excluded.max_ts_ms)`

// bigIndexRows is the number of recipients above which two helper threads
// sort a deferred index's keys instead of one.
const bigIndexRows = 1_000_000

// restoreIndexes builds the deferred indexes and, with merge, merges the
// staged keys. Open builds the indexes a killed load left but does not
// merge: the keys staged are as likely another process's load in
// progress, which a merge holding the write lock for seconds would stop
// with "database is busy"; the next ingest's end merges every staged key,
// and readers find them meanwhile.
func (s *Store) restoreIndexes(ctx context.Context, merge bool) error {
	var n, staged int
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM deferred_indexes), EXISTS (SELECT 1 FROM event_keys_new)`).Scan(&n, &staged); err != nil {
		return wrapBusy(err)
	}
	if !merge {
		staged = 0
	}
	if n == 0 && staged == 0 {
		return nil
	}
	// The sorts spill to files (tempOnDisk), not memory.
	c, done, err := s.tempOnDisk(ctx)
	if err != nil {
		return err
	}
	defer done()
	// SQLite's sorter holds up to a page cache's worth of keys in memory
	// before it writes a sorted run to a temporary file: a small cache
	// keeps a build of millions of keys to a few MB more than the load
	// (a 16 MB cache took 32 MB of RSS more, measured), at the cost of
	// more runs to merge.
	// The sorter may sort and merge its runs on helper threads while the
	// main one reads the table: one, or two for a big table (a scan of 5M
	// lines, 1.4M recipients: 46.5 and 45.7 s with one, 44.2 and 43.3 s
	// with two; 20M lines: 206.5 s with one, 191.6 s with two; but 1M
	// lines, 280k recipients: 8.9 s with one, 9.2 s with two; the same
	// memory). The largest row id is the table's size near enough.
	var size sql.NullInt64
	if err := c.QueryRowContext(ctx, `SELECT max(rowid) FROM recipients`).Scan(&size); err != nil {
		return wrapBusy(err)
	}
	threads := 1
	if size.Int64 > bigIndexRows {
		threads = 2
	}
	if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -4096; PRAGMA threads = %d`, threads)); err != nil {
		return wrapBusy(err)
	}
	if staged != 0 {
		if err := mergeStaged(ctx, c); err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	rows, err := c.QueryContext(ctx, `SELECT name, sql FROM deferred_indexes ORDER BY name`)
	if err != nil {
		return wrapBusy(err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return wrapBusy(err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := rows.Close(); err != nil {
		return wrapBusy(err)
	}
	// An index a transaction: each commit lets the write-ahead log be
	// checkpointed before the next build. In one transaction the log held
	// every index's pages (gigabytes at 20M lines), and each page the
	// next build read was first looked for in it. A build interrupted
	// leaves the indexes not yet built listed, as before.
	for i, def := range defs {
		if err := buildIndex(ctx, c, names[i], def); err != nil {
			return err
		}
	}
	return nil
}

// buildIndex builds one deferred index and strikes it from the list, in
// one transaction.
func buildIndex(ctx context.Context, c *sql.Conn, name, def string) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return wrapBusy(err)
	}
	defer tx.Rollback()
	// def is the statement SQLite itself stored for the index.
	def = strings.Replace(def, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
	if _, err := tx.ExecContext(ctx, def); err != nil {
		return fmt.Errorf("build index %s: %w", name, wrapBusy(err))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deferred_indexes WHERE name = ?`, name); err != nil {
		return wrapBusy(err)
	}
	return wrapBusy(tx.Commit())
}

// mergeStaged merges event_keys_new into event_keys in one transaction.
func mergeStaged(ctx context.Context, c *sql.Conn) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return wrapBusy(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, mergeKeys); err != nil {
		return fmt.Errorf("merge the stored lines' keys: %w", wrapBusy(err))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_keys_new`); err != nil {
		return wrapBusy(err)
	}
	return wrapBusy(tx.Commit())
}
