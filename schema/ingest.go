package schema

import (
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

// Source is one input as the store remembers it.
type Source struct {
	ID          int64
	Path        string
	Fingerprint string
	Format      string
	Offset      int64 // bytes read so far (of the uncompressed stream)
	Lines       int64 // lines read so far
	Complete    bool  // read to the end
	// First and Last are the times of the oldest and newest event stored
	// from it; zero when none is.
	First, Last time.Time
}

const sourceGet = `SELECT id, path, format, byte_offset, lines, complete, first_ts_ms, last_ts_ms FROM sources WHERE fingerprint = ?`

const sourceAdd = `INSERT OR IGNORE INTO sources (path, fingerprint, format, size, ingested_ms) VALUES (?, ?, ?, ?, ?)`

// Source returns the stored source with this fingerprint, adding it (under
// path) when new. The fingerprint identifies the content: rotation renames
// files and reuses names. The returned Path is the name it was first read
// under.
func (s *Store) Source(ctx context.Context, path, fingerprint, format string, size int64) (Source, error) {
	src := Source{Path: path, Fingerprint: fingerprint}
	// INSERT OR IGNORE first: two runs that meet the same new file at once
	// both end up with the one row.
	if _, err := s.db.ExecContext(ctx, sourceAdd, path, fingerprint, format, size, time.Now().UnixMilli()); err != nil {
		return src, wrapBusy(err)
	}
	var first, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, sourceGet, fingerprint).Scan(&src.ID, &src.Path, &src.Format, &src.Offset, &src.Lines, &src.Complete, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return src, fmt.Errorf("source %s vanished", path)
	}
	if first.Valid {
		src.First = time.UnixMilli(first.Int64).UTC()
	}
	if last.Valid {
		src.Last = time.UnixMilli(last.Int64).UTC()
	}
	return src, wrapBusy(err)
}

// Progress is how far a source has been read, committed with the events
// read up to there so that a restart resumes exactly.
type Progress struct {
	Offset   int64
	Lines    int64
	Stats    parsers.Stats // counts of this run, added to the stored ones
	Complete bool
}

// Writer writes one source's events in batches.
type Writer struct {
	s    *Store
	src  Source
	args []any // bind arguments, reused across statements
	// stage: the keys of the stored lines go to event_keys_new, merged
	// into event_keys by RestoreIndexes (see StageKeys).
	stage bool

	// tx is the open transaction holding batches not yet committed (see
	// Hold), held how many, since when; next is src once it commits.
	tx    *sql.Tx
	held  int
	began time.Time
	next  Source
}

// NewWriter returns a Writer for src.
func (s *Store) NewWriter(src Source) *Writer {
	return &Writer{s: s, src: src}
}

// StageKeys makes w append the keys of the lines it stores to
// event_keys_new instead of inserting each into event_keys where it
// belongs; the caller runs RestoreIndexes when its load ends, which
// merges every key staged (a killed load's too). Readers find staged keys
// as well, by a scan of the staged ones. For a bulk
// load (ingest), not for tail: a tail never ends, and its keys would pile
// up unmerged. PostgreSQL's writers insert into event_keys.
func (w *Writer) StageKeys() {
	w.stage = !w.s.pg
}

// rowsPerInsert is how many rows one INSERT statement writes: every
// statement is a round of cgo calls and a VDBE program start, and 50 rows
// of 29 columns stay far below SQLite's limit of 32766 bound variables.
const rowsPerInsert = 50

const eventInsertColumns = `source_id, line, byte_offset, seq, ts_ms, format, host, daemon, kind,
 queue_id, next_queue_id, prev_queue_id, message_id, client_ip, client_name, sasl_method, sasl_user, raw, detail`

const eventInsert = `INSERT INTO events (` + eventInsertColumns + `) VALUES `

const recipientInsertColumns = `key, message_key, ts_ms, mta, host, queue_id, message_id, client_ip,
 client_name, helo, authenticated, auth_user, sender, recipient, status, deliveries, verdict, reason, hop,
 origin_queue_id, evidence`

const recipientInsert = `INSERT INTO recipients (` + recipientInsertColumns + `) VALUES `

// recipientConflict keeps the longer evidence: a recipient restored from
// an earlier run may have lost lines the stored row still lists.
const recipientConflict = ` ON CONFLICT (key) DO UPDATE SET ts_ms = excluded.ts_ms, message_id = excluded.message_id,
 client_ip = excluded.client_ip, client_name = excluded.client_name, helo = excluded.helo,
 authenticated = excluded.authenticated, auth_user = excluded.auth_user, sender = excluded.sender,
 status = excluded.status, deliveries = excluded.deliveries, verdict = excluded.verdict, reason = excluded.reason,
 hop = excluded.hop, origin_queue_id = excluded.origin_queue_id,
 evidence = CASE WHEN length(excluded.evidence) >= length(recipients.evidence) THEN excluded.evidence ELSE recipients.evidence END`

const messageInsertColumns = `key, format, host, queue_id, message_id, ts_ms, client_ip, client_name, helo,
 auth_user, auth_method, origin, sender, parent_key, via, removed, rejected, evidence`

const messageInsert = `INSERT INTO messages (` + messageInsertColumns + `) VALUES `

const messageConflict = ` ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id, client_ip = excluded.client_ip,
 client_name = excluded.client_name, helo = excluded.helo, auth_user = excluded.auth_user,
 auth_method = excluded.auth_method, origin = excluded.origin, sender = excluded.sender,
 parent_key = excluded.parent_key, via = excluded.via, removed = excluded.removed, rejected = excluded.rejected,
 evidence = excluded.evidence`

const blockInsert = `INSERT INTO event_blocks (source_id, first_offset, min_ts_ms, max_ts_ms, n, data) VALUES (?, ?, ?, ?, ?, ?)`

const keyInsert = `INSERT INTO event_keys (key, block_id, min_ts_ms, max_ts_ms) VALUES `

const stagedKeyInsert = `INSERT INTO event_keys_new (key, block_id, min_ts_ms, max_ts_ms) VALUES `

const (
	keyCols       = 4
	eventCols     = 19
	recipientCols = 21
	messageCols   = 18
)

// multiInsert is one INSERT prepared twice: for one row and for
// rowsPerInsert rows.
type multiInsert struct {
	one, many *sql.Stmt
}

// writeStmts are the Writer's statements, prepared once per Store: a
// database/sql Stmt prepares itself again on each pooled connection that
// runs it, and Tx.StmtContext reuses the connection's.
type writeStmts struct {
	events, keys, recipients, messages multiInsert
	stagedKeys                         multiInsert // SQLite only
	block                              *sql.Stmt
}

// valuesSQL returns head followed by rows groups of cols "?" and tail.
func valuesSQL(head string, cols, rows int, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	b.WriteString(tail)
	return b.String()
}

// writeStmts prepares the Writer's statements on first use.
func (s *Store) writeStmts(ctx context.Context) (*writeStmts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmts != nil {
		return s.stmts, nil
	}
	var (
		ws   writeStmts
		all  []*sql.Stmt
		perr error
	)
	prepare := func(m *multiInsert, head string, cols int, tail string) {
		for _, st := range []struct {
			dst  **sql.Stmt
			rows int
		}{{&m.one, 1}, {&m.many, rowsPerInsert}} {
			if perr != nil {
				return
			}
			*st.dst, perr = s.db.PrepareContext(ctx, valuesSQL(head, cols, st.rows, tail))
			if perr == nil {
				all = append(all, *st.dst)
			}
		}
	}
	prepare(&ws.events, eventInsert, eventCols, "")
	prepare(&ws.keys, keyInsert, keyCols, "")
	if !s.pg {
		prepare(&ws.stagedKeys, stagedKeyInsert, keyCols, "")
	}
	if perr == nil {
		ws.block, perr = s.db.PrepareContext(ctx, blockInsert)
		if perr == nil {
			all = append(all, ws.block)
		}
	}
	prepare(&ws.recipients, recipientInsert, recipientCols, recipientConflict)
	prepare(&ws.messages, messageInsert, messageCols, messageConflict)
	if perr != nil {
		for _, st := range all {
			st.Close()
		}
		return nil, wrapBusy(perr)
	}
	s.stmts = &ws
	s.closers = append(s.closers, all...)
	return s.stmts, nil
}

// execRows runs m in tx for n rows, rowsPerInsert at a time: row(i, args)
// appends row i's values to args. what(i, j) names rows i to j-1 in an
// error. repeats(i), when not nil, says whether row i has the key of row
// i-1: PostgreSQL refuses an upsert that meets one key twice, which SQLite
// applies in order, so there those rows go one at a time.
func (w *Writer) execRows(ctx context.Context, tx *sql.Tx, m multiInsert, n int, row func(i int, args []any) []any, what func(i, j int) string, repeats func(i int) bool) error {
	many := tx.StmtContext(ctx, m.many)
	defer many.Close()
	one := tx.StmtContext(ctx, m.one)
	defer one.Close()
	for i := 0; i < n; {
		st, k := many, rowsPerInsert
		if n-i < rowsPerInsert || (w.s.pg && repeats != nil && anyRepeat(repeats, i, i+rowsPerInsert)) {
			st, k = one, 1
		}
		args := w.args[:0]
		for j := i; j < i+k; j++ {
			args = row(j, args)
		}
		w.args = args
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store %s: %w", what(i, i+k), wrapBusy(err))
		}
		i += k
	}
	clear(w.args) // drop the batch's strings
	return nil
}

// anyRepeat reports whether repeats(j) for any j in (i, end).
func anyRepeat(repeats func(int) bool, i, end int) bool {
	for j := i + 1; j < end; j++ {
		if repeats(j) {
			return true
		}
	}
	return false
}

const sourceOffset = `SELECT byte_offset FROM sources WHERE id = ?`

// sourceUpdate never moves a source's offset back: another run reading the
// same file may have committed further.
const sourceUpdate = `UPDATE sources SET byte_offset = max(byte_offset, ?1),
 lines = CASE WHEN ?1 >= byte_offset THEN ?2 ELSE lines END, events = events + ?3, unsupported = unsupported + ?4,
 malformed = malformed + ?5, complete = CASE WHEN ?1 >= byte_offset THEN ?6 ELSE complete END,
 first_ts_ms = coalesce(first_ts_ms, ?7), last_ts_ms = coalesce(?8, last_ts_ms), ingested_ms = ?9 WHERE id = ?10`

// A Batch is one batch's rows, encoded for the store: its events in
// compressed blocks (and the detail values of those also kept in a row of
// their own), its recipients and messages in key order (rows in key order
// touch each page of those tables once) with their JSON columns.
// Prepare builds it; a caller that stores on another goroutine prepares on
// its own, so that the goroutine holding the database only binds and
// steps.
type Batch struct {
	events  []parsers.Event
	blocks  []block
	sparse  []int                 // indexes of the events also kept in a row of their own
	details [][]byte              // of the sparse events
	rs      []*analysis.Recipient // in key order
	rJSON   []string              // deliveries, evidence of rs[i] at 2i, 2i+1
	ms      []*analysis.Message   // in key order
	mText   []string              // client address, evidence of ms[i] at 2i, 2i+1
}

// Prepare encodes events, rs and ms for Hold or CommitBatch. A key given
// twice is written in the order given: the last one stays.
func Prepare(events []parsers.Event, rs []analysis.Recipient, ms []analysis.Message) *Batch {
	b := &Batch{events: events}
	b.encodeEvents()
	b.rs = byKey(rs, func(r *analysis.Recipient) string { return r.Key })
	b.rJSON = make([]string, 0, 2*len(rs))
	for _, r := range b.rs {
		b.rJSON = append(b.rJSON, encodeDeliveries(r.Deliveries), encodeEvidence(r.Evidence))
	}
	b.ms = byKey(ms, func(m *analysis.Message) string { return m.Key })
	b.mText = make([]string, 0, 2*len(ms))
	for _, m := range b.ms {
		ev := make([]string, len(m.Evidence))
		for j, p := range m.Evidence {
			ev[j] = p.String()
		}
		evidence := encodeEvidence(ev)
		ip := ""
		if m.ClientIP.IsValid() {
			ip = m.ClientIP.String()
		}
		b.mText = append(b.mText, ip, evidence)
	}
	return b
}

// encodeEvents encodes b.events into blocks and the sparse events' details.
func (b *Batch) encodeEvents() {
	b.blocks = encodeBlocks(b.events)
	b.sparse, b.details = b.sparse[:0], b.details[:0]
	for i := range b.events {
		if ev := &b.events[i]; sparse(ev) {
			b.sparse = append(b.sparse, i)
			b.details = append(b.details, appendDetail(nil, ev))
		}
	}
}

// byKey returns pointers to xs's elements in key order, equal keys in the
// order given (pointers sort faster than the structs they point to).
func byKey[T any](xs []T, key func(*T) string) []*T {
	out := make([]*T, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	slices.SortStableFunc(out, func(x, y *T) int { return strings.Compare(key(x), key(y)) })
	return out
}

// Commit prepares and commits one batch (see CommitBatch).
func (w *Writer) Commit(ctx context.Context, events []parsers.Event, rs []analysis.Recipient, ms []analysis.Message, p Progress) error {
	return w.CommitBatch(ctx, Prepare(events, rs, ms), p)
}

// CommitBatch writes b's events, the recipients and messages they changed,
// and the source's progress in one transaction: after a crash the database
// holds all of a batch or none of it, and the progress says where to
// resume.
func (w *Writer) CommitBatch(ctx context.Context, b *Batch, p Progress) error {
	if err := w.Hold(ctx, b, p); err != nil {
		return err
	}
	return w.Flush()
}

// Hold writes b and the progress p in the Writer's open transaction,
// beginning one if none is open; Flush commits it. A transaction holding
// several batches is as safe (the progress is in it too: after a crash the
// batches are read again) and much cheaper on a big database: each commit
// writes every page its batches changed, and the random inserts of the
// recipients' indexes change most of their pages in each batch. On an
// error the open transaction is rolled back, its batches lost.
func (w *Writer) Hold(ctx context.Context, b *Batch, p Progress) error {
	if w.s.pg {
		return w.pgHold(ctx, b, p) // a transaction per batch, run again after a deadlock (pgwrite.go)
	}
	err := w.hold(ctx, b, p)
	if err != nil {
		w.Abort()
	}
	return err
}

func (w *Writer) hold(ctx context.Context, b *Batch, p Progress) error {
	stmts, err := w.s.writeStmts(ctx)
	if err != nil {
		return err
	}
	if w.tx == nil {
		if w.tx, err = w.s.db.BeginTx(ctx, nil); err != nil {
			w.tx = nil
			return wrapBusy(err)
		}
		w.held, w.began, w.next = 0, time.Now(), w.src
	}
	tx := w.tx
	events := b.events
	var firstTs, lastTs sql.NullInt64
	if len(events) > 0 {
		firstTs = sql.NullInt64{Int64: events[0].Time.UnixMilli(), Valid: true}
		lastTs = sql.NullInt64{Int64: events[len(events)-1].Time.UnixMilli(), Valid: true}
	}
	// Another run reading the same file at the same time may have stored
	// some of these lines already: its committed offset says up to where.
	var stored int64
	if err := tx.QueryRowContext(ctx, sourceOffset, w.src.ID).Scan(&stored); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read source %s: %w", w.src.Path, wrapBusy(err))
	}
	if w.s.pg && p.Offset <= stored {
		// PostgreSQL's writers of one file do not wait for each other in
		// Source as SQLite's do: another run read these lines too and
		// committed them first, with their counts.
		p.Stats = parsers.Stats{}
	}
	if len(events) > 0 && events[0].Pos.Offset < stored {
		for len(events) > 0 && events[0].Pos.Offset < stored {
			events = events[1:]
		}
		b = &Batch{events: events, rs: b.rs, rJSON: b.rJSON, ms: b.ms, mText: b.mText}
		b.encodeEvents()
	}
	if err := w.writeEvents(ctx, tx, stmts, b); err != nil {
		return err
	}
	if err := w.writeJudgements(ctx, tx, stmts, b); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, sourceUpdate, p.Offset, p.Lines, p.Stats.Events, p.Stats.Unsupported,
		p.Stats.Malformed, p.Complete, firstTs, lastTs, time.Now().UnixMilli(), w.src.ID)
	if err != nil {
		return fmt.Errorf("update source %s: %w", w.src.Path, wrapBusy(err))
	}
	w.held++
	w.next.Offset, w.next.Lines, w.next.Complete = p.Offset, p.Lines, p.Complete
	return nil
}

// Held returns how many batches the open transaction holds and how long
// it has been open.
func (w *Writer) Held() (int, time.Duration) {
	if w.tx == nil && (!w.s.pg || w.held == 0) { // PostgreSQL's: committed, counted to the next Flush (pgHold)
		return 0, 0
	}
	return w.held, time.Since(w.began)
}

// Flush commits the open transaction, if any.
func (w *Writer) Flush() error {
	if w.tx == nil {
		w.held = 0
		return nil
	}
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return wrapBusy(err)
	}
	w.src = w.next
	return nil
}

// Abort rolls back the open transaction, if any.
func (w *Writer) Abort() {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
}

// writeEvents stores b's event blocks, their keys and the sparse events.
func (w *Writer) writeEvents(ctx context.Context, tx *sql.Tx, stmts *writeStmts, b *Batch) error {
	block := tx.StmtContext(ctx, stmts.block)
	defer block.Close()
	for _, bl := range b.blocks {
		first := &b.events[bl.start]
		res, err := block.ExecContext(ctx, w.src.ID, first.Pos.Offset, bl.minTs, bl.maxTs, bl.end-bl.start, bl.data)
		if err != nil {
			return fmt.Errorf("store events %s to %s: %w", first.Pos, b.events[bl.end-1].Pos, wrapBusy(err))
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		keys := stmts.keys
		if w.stage {
			keys = stmts.stagedKeys
		}
		err = w.execRows(ctx, tx, keys, len(bl.keys), func(i int, args []any) []any {
			k := &bl.keys[i]
			return append(args, k.key, id, k.minTs, k.maxTs)
		}, func(i, j int) string { return fmt.Sprintf("event keys of %s", first.Pos) }, nil)
		if err != nil {
			return err
		}
	}
	return w.execRows(ctx, tx, stmts.events, len(b.sparse), func(i int, args []any) []any {
		ev := &b.events[b.sparse[i]]
		return append(args, w.src.ID, ev.Pos.Line, ev.Pos.Offset, 0, ev.Time.UnixMilli(), ev.Format, ev.Host,
			ev.Daemon, ev.Kind.String(), ev.QueueID, ev.NextQueueID, ev.PrevQueueID, ev.MessageID, addrString(ev),
			ev.ClientName, ev.SASLMethod, ev.SASLUser, ev.Raw, b.details[i])
	}, func(i, j int) string {
		return fmt.Sprintf("events %s to %s", b.events[b.sparse[i]].Pos, b.events[b.sparse[j-1]].Pos)
	}, nil)
}

// writeJudgements upserts b's recipients and messages in tx.
func (w *Writer) writeJudgements(ctx context.Context, tx *sql.Tx, stmts *writeStmts, b *Batch) error {
	rs, ms := b.rs, b.ms
	err := w.execRows(ctx, tx, stmts.recipients, len(rs), func(i int, args []any) []any {
		r := rs[i]
		return append(args, r.Key, r.MessageKey, r.Time.UnixMilli(), r.MTA, r.Host, r.QueueID, r.MessageID,
			r.ClientIP, r.ClientName, r.Helo, r.Authenticated, r.AuthUser, r.Sender, r.Recipient, r.Status,
			b.rJSON[2*i], string(r.Verdict), encodePhrases(r.Reason), r.Hop, r.OriginQueueID, b.rJSON[2*i+1])
	}, func(i, j int) string { return "recipients " + rs[i].Recipient + " to " + rs[j-1].Recipient },
		func(i int) bool { return rs[i].Key == rs[i-1].Key })
	if err != nil {
		return err
	}
	return w.execRows(ctx, tx, stmts.messages, len(ms), func(i int, args []any) []any {
		m := ms[i]
		return append(args, m.Key, m.Format, m.Host, m.QueueID, m.MessageID, m.Time.UnixMilli(), b.mText[2*i],
			m.ClientName, m.Helo, m.AuthUser, m.AuthMethod, m.Origin, m.Sender, m.ParentKey, m.Via, m.Removed,
			m.Rejected, b.mText[2*i+1])
	}, func(i, j int) string { return "messages " + ms[i].QueueID + " to " + ms[j-1].QueueID },
		func(i int) bool { return ms[i].Key == ms[i-1].Key })
}

func origClient(ev *parsers.Event) string {
	if ev.OrigClientIP.IsValid() {
		return ev.OrigClientIP.String()
	}
	return ""
}

func addrString(ev *parsers.Event) string {
	if ev.ClientIP.IsValid() {
		return ev.ClientIP.String()
	}
	return ""
}
