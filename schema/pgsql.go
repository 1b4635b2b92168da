package schema

import "strings"

// pgStatements holds the PostgreSQL text of each statement the store
// writes differently for it, keyed by the SQLite text it replaces (see
// pgRewrite). Placeholders stay "?": pgRewrite numbers them.
var pgStatements = map[string]string{
	// "+auth_user" keeps SQLite's planner off the index of authenticated
	// recipients (which it would read whole, to filter by time);
	// PostgreSQL has no unary plus on text, and "auth_user || ''" does
	// the same: the partial index's condition no longer follows.
	accountNames: `SELECT DISTINCT auth_user FROM recipients WHERE ts_ms >= ? AND auth_user || '' <> '' ORDER BY auth_user`,
	// PostgreSQL 15 wants a name for a subquery in FROM.
	failuresFromAddress: `SELECT count(*) FROM (SELECT DISTINCT e.ts_ms, e.host, e.sasl_user, e.sasl_method FROM events e
 WHERE e.client_ip = ? AND e.kind = 'auth_failed' AND e.ts_ms >= ? AND e.ts_ms <= ?) AS f`,
	accountUpsert: `INSERT INTO accounts (account, verdict, signals, first_abuse_ms, last_abuse_ms, client_ips,
 recipients, messages, baseline, evidence, first_ms, last_ms, total, sessions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT (account) DO UPDATE SET verdict = excluded.verdict, signals = excluded.signals,
 first_abuse_ms = excluded.first_abuse_ms, last_abuse_ms = excluded.last_abuse_ms, client_ips = excluded.client_ips,
 recipients = excluded.recipients, messages = excluded.messages, baseline = excluded.baseline,
 evidence = excluded.evidence, first_ms = excluded.first_ms, last_ms = excluded.last_ms, total = excluded.total,
 sessions = excluded.sessions`,
	// PostgreSQL's indexes by these values do not begin with the hour
	// (SQLite's 0019; hoursIn): the value and the time range alone.
	recipientsByQueueID:   `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE queue_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, hop, recipient, key`,
	recipientsByMessageID: `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE message_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, hop, recipient, key`,
	recipientsByClientIP:  `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE client_ip = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, queue_id, hop, recipient, key`,
	// COLLATE NOCASE: lower() on both sides, served by the indexes on
	// lower(sender) and lower(recipient).
	recipientsBySender:    `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE lower(sender) = lower(?) AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, queue_id, hop, recipient, key`,
	recipientsByRecipient: `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE lower(recipient) = lower(?) AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, queue_id, hop, recipient, key`,
	// A parameter compared with nothing needs its type said.
	recipientsInRange: `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ?::text IS NOT NULL AND hop = 1 AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, queue_id, recipient, key`,
	serverEvents:      `SELECT ` + investigateEventColumns + ` WHERE e.kind = 'server' AND ?::text IS NOT NULL AND e.ts_ms >= ? AND e.ts_ms < ? ORDER BY e.ts_ms, e.id LIMIT ?`,
	pruneCounts:       `DELETE FROM recipient_counts WHERE n <= 0 AND ?1::bigint IS NOT NULL`,
	// The first and last recipient of a verdict: SQLite reads them from
	// recipients_verdict_ts, which orders recipients of the same
	// millisecond by client, then by rowid; PostgreSQL is told to.
	firstOfVerdict: `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE verdict = ? AND hop = 1 AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, client_ip, rowid LIMIT 1`,
	lastOfVerdict:  `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE verdict = ? AND hop = 1 AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms DESC, client_ip DESC, rowid DESC LIMIT 1`,
	// SQLite's two-argument max() is greatest().
	sourceUpdate: `UPDATE sources SET byte_offset = greatest(byte_offset, ?1),
 lines = CASE WHEN ?1 >= byte_offset THEN ?2 ELSE lines END, events = events + ?3, unsupported = unsupported + ?4,
 malformed = malformed + ?5, complete = CASE WHEN ?1 >= byte_offset THEN ?6 ELSE complete END,
 first_ts_ms = coalesce(first_ts_ms, ?7), last_ts_ms = coalesce(?8, last_ts_ms), ingested_ms = ?9 WHERE id = ?10`,
	// Writers of one source take turns: SQLite's writers do (one write
	// transaction at a time); PostgreSQL's lock the source's row until
	// they commit, so that the next one reads the offset the first
	// committed and skips the lines it stored.
	sourceOffset: `SELECT byte_offset FROM sources WHERE id = ? FOR UPDATE`,
	// The block's id, which SQLite gives as the last insert id.
	blockInsert: `INSERT INTO event_blocks (source_id, first_offset, min_ts_ms, max_ts_ms, n, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
	// The stored lines are partitioned by month (0017_partitions.sql):
	// a key carries its block's max_ts_ms, which names the block's
	// partition, and bounds the months of keys and blocks searched (a
	// block's newest event is no older than its key's).
	blocksByKey: `SELECT b.id, b.source_id, s.path, s.format, b.data FROM event_keys k
 JOIN event_blocks b ON b.id = k.block_id AND b.max_ts_ms = k.block_max_ts_ms AND b.max_ts_ms >= ?2
 JOIN sources s ON s.id = b.source_id WHERE k.key = ?1 AND k.max_ts_ms >= ?2 AND k.block_max_ts_ms >= ?2 AND k.min_ts_ms < ?3
 ORDER BY k.block_id LIMIT ?4`,
	earlierBlocks: `SELECT b.id, b.source_id, s.path, s.format, b.data FROM event_keys k
 JOIN event_blocks b ON b.id = k.block_id AND b.max_ts_ms = k.block_max_ts_ms AND b.max_ts_ms >= ?3
 JOIN sources s ON s.id = b.source_id
 WHERE k.key = ?1 AND k.block_id < ?2 AND k.max_ts_ms >= ?3 AND k.block_max_ts_ms >= ?3 ORDER BY k.block_id`,
	pruneKeys: `DELETE FROM event_keys WHERE block_max_ts_ms < ?1`,
	// PostgreSQL manages its own files: nothing to checkpoint or tune.
	"PRAGMA wal_checkpoint(TRUNCATE)": "",
	"PRAGMA temp_store = FILE":        "",
	"PRAGMA temp_store = MEMORY":      "",
}

// pgKeyInsert is ingest.go's insert of event keys, whose rows (the
// "(?,?,?,?),..." after VALUES) hold a key, its block's id and the key's
// time range: each key takes its block's max_ts_ms, the month of its
// partition, from the block inserted just before in the same transaction.
// Each block is found once per statement (its keys are one block's), by
// its id in each month's primary key, from the month of its keys' oldest
// newest event on (a block's newest event is no older than its keys'):
// the earlier months are pruned at run time. A key whose block is not
// found has no month: NOT NULL refuses it.
func pgKeyInsert(rows string) string {
	// The first row says the columns' types; the others follow them.
	rows = strings.Replace(rows, "(?,?,?,?)", "(?::text,?::bigint,?::bigint,?::bigint)", 1)
	return `WITH v (key, block_id, min_ts_ms, max_ts_ms) AS (VALUES ` + rows + `),
 b AS MATERIALIZED (SELECT d.block_id, (SELECT e.max_ts_ms FROM event_blocks e WHERE e.id = d.block_id AND e.max_ts_ms >= d.max_ts_ms) AS max_ts_ms
  FROM (SELECT block_id, min(max_ts_ms) AS max_ts_ms FROM v GROUP BY block_id) AS d)
 INSERT INTO event_keys (key, block_id, min_ts_ms, max_ts_ms, block_max_ts_ms)
 SELECT v.key, v.block_id, v.min_ts_ms, v.max_ts_ms, b.max_ts_ms FROM v JOIN b ON b.block_id = v.block_id`
}

// pgRelocate rewrites relocate.go's UPDATE (built per column): SQLite's
// instr is strpos.
func pgRelocate(q string) string {
	if strings.HasPrefix(q, "UPDATE ") && strings.Contains(q, " WHERE instr(") {
		return strings.Replace(q, " WHERE instr(", " WHERE strpos(", 1)
	}
	return q
}
