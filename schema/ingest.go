package schema

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
}

const sourceGet = `SELECT id, path, format, byte_offset, lines, complete FROM sources WHERE fingerprint = ?`

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
	err := s.db.QueryRowContext(ctx, sourceGet, fingerprint).Scan(&src.ID, &src.Path, &src.Format, &src.Offset, &src.Lines, &src.Complete)
	if errors.Is(err, sql.ErrNoRows) {
		return src, fmt.Errorf("source %s vanished", path)
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
	s          *Store
	src        Source
	lastOffset int64
	seq        int
}

// NewWriter returns a Writer for src.
func (s *Store) NewWriter(src Source) *Writer {
	return &Writer{s: s, src: src, lastOffset: -1}
}

const eventInsert = `INSERT OR IGNORE INTO events (source_id, line, byte_offset, seq, ts_ms, format, host, daemon, kind,
 session, queue_id, next_queue_id, prev_queue_id, message_id, client_ip, client_name, helo, proto, sasl_method,
 sasl_user, sender, rcpt, orig_rcpt, relay, status, dsn, reason, size, raw)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const recipientUpsert = `INSERT INTO recipients (key, message_key, ts_ms, mta, host, queue_id, message_id, client_ip,
 client_name, helo, authenticated, auth_user, sender, recipient, status, deliveries, verdict, reason, hop,
 origin_queue_id, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT (key) DO UPDATE SET ts_ms = excluded.ts_ms, message_id = excluded.message_id,
 client_ip = excluded.client_ip, client_name = excluded.client_name, helo = excluded.helo,
 authenticated = excluded.authenticated, auth_user = excluded.auth_user, sender = excluded.sender,
 status = excluded.status, deliveries = excluded.deliveries, verdict = excluded.verdict, reason = excluded.reason,
 hop = excluded.hop, origin_queue_id = excluded.origin_queue_id,
 evidence = CASE WHEN length(excluded.evidence) >= length(recipients.evidence) THEN excluded.evidence ELSE recipients.evidence END`

const messageUpsert = `INSERT INTO messages (key, format, host, queue_id, message_id, ts_ms, client_ip, client_name, helo,
 auth_user, auth_method, origin, sender, parent_key, via, removed, rejected, evidence)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id, client_ip = excluded.client_ip,
 client_name = excluded.client_name, helo = excluded.helo, auth_user = excluded.auth_user,
 auth_method = excluded.auth_method, origin = excluded.origin, sender = excluded.sender,
 parent_key = excluded.parent_key, via = excluded.via, removed = excluded.removed, rejected = excluded.rejected,
 evidence = excluded.evidence`

const sourceUpdate = `UPDATE sources SET byte_offset = ?, lines = ?, events = events + ?, unsupported = unsupported + ?,
 malformed = malformed + ?, complete = ?, first_ts_ms = coalesce(first_ts_ms, ?), last_ts_ms = coalesce(?, last_ts_ms),
 ingested_ms = ? WHERE id = ?`

// Commit writes events, the recipients and messages they changed, and the
// source's progress in one transaction: after a crash the database holds
// all of a batch or none of it, and the progress says where to resume.
func (w *Writer) Commit(ctx context.Context, events []parsers.Event, rs []analysis.Recipient, ms []analysis.Message, p Progress) error {
	tx, err := w.s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapBusy(err)
	}
	defer tx.Rollback()
	var firstTs, lastTs sql.NullInt64
	if len(events) > 0 {
		stmt, err := tx.PrepareContext(ctx, eventInsert)
		if err != nil {
			return wrapBusy(err)
		}
		defer stmt.Close()
		for i := range events {
			ev := &events[i]
			if ev.Pos.Offset == w.lastOffset {
				w.seq++
			} else {
				w.lastOffset, w.seq = ev.Pos.Offset, 0
			}
			ts := ev.Time.UnixMilli()
			if !firstTs.Valid {
				firstTs = sql.NullInt64{Int64: ts, Valid: true}
			}
			lastTs = sql.NullInt64{Int64: ts, Valid: true}
			_, err := stmt.ExecContext(ctx, w.src.ID, ev.Pos.Line, ev.Pos.Offset, w.seq, ts, ev.Format, ev.Host,
				ev.Daemon, ev.Kind.String(), ev.Session, ev.QueueID, ev.NextQueueID, ev.PrevQueueID, ev.MessageID,
				addrString(ev), ev.ClientName, ev.Helo, ev.Proto, ev.SASLMethod, ev.SASLUser, ev.From, ev.Rcpt,
				ev.OrigRcpt, ev.Relay, ev.Status, ev.DSN, ev.Reason, ev.Size, ev.Raw)
			if err != nil {
				return fmt.Errorf("store event %s: %w", ev.Pos, wrapBusy(err))
			}
		}
	}
	if err := upsertRecipients(ctx, tx, rs); err != nil {
		return err
	}
	if err := upsertMessages(ctx, tx, ms); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, sourceUpdate, p.Offset, p.Lines, p.Stats.Events, p.Stats.Unsupported,
		p.Stats.Malformed, p.Complete, firstTs, lastTs, time.Now().UnixMilli(), w.src.ID)
	if err != nil {
		return fmt.Errorf("update source %s: %w", w.src.Path, wrapBusy(err))
	}
	if err := tx.Commit(); err != nil {
		return wrapBusy(err)
	}
	w.src.Offset, w.src.Lines, w.src.Complete = p.Offset, p.Lines, p.Complete
	return nil
}

func addrString(ev *parsers.Event) string {
	if ev.ClientIP.IsValid() {
		return ev.ClientIP.String()
	}
	return ""
}

func upsertRecipients(ctx context.Context, tx *sql.Tx, rs []analysis.Recipient) error {
	if len(rs) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, recipientUpsert)
	if err != nil {
		return wrapBusy(err)
	}
	defer stmt.Close()
	for i := range rs {
		r := &rs[i]
		deliveries, _ := json.Marshal(nonNil(r.Deliveries))
		evidence, _ := json.Marshal(nonNilS(r.Evidence))
		_, err := stmt.ExecContext(ctx, r.Key, r.MessageKey, r.Time.UnixMilli(), r.MTA, r.Host, r.QueueID, r.MessageID,
			r.ClientIP, r.ClientName, r.Helo, r.Authenticated, r.AuthUser, r.Sender, r.Recipient, r.Status,
			string(deliveries), string(r.Verdict), r.Reason, r.Hop, r.OriginQueueID, string(evidence))
		if err != nil {
			return fmt.Errorf("store recipient %s: %w", r.Recipient, wrapBusy(err))
		}
	}
	return nil
}

func upsertMessages(ctx context.Context, tx *sql.Tx, ms []analysis.Message) error {
	if len(ms) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, messageUpsert)
	if err != nil {
		return wrapBusy(err)
	}
	defer stmt.Close()
	for i := range ms {
		m := &ms[i]
		ev := make([]string, len(m.Evidence))
		for j, p := range m.Evidence {
			ev[j] = p.String()
		}
		evidence, _ := json.Marshal(ev)
		ip := ""
		if m.ClientIP.IsValid() {
			ip = m.ClientIP.String()
		}
		_, err := stmt.ExecContext(ctx, m.Key, m.Format, m.Host, m.QueueID, m.MessageID, m.Time.UnixMilli(), ip,
			m.ClientName, m.Helo, m.AuthUser, m.AuthMethod, m.Origin, m.Sender, m.ParentKey, m.Via, m.Removed,
			m.Rejected, string(evidence))
		if err != nil {
			return fmt.Errorf("store message %s: %w", m.QueueID, wrapBusy(err))
		}
	}
	return nil
}

func nonNil(d []analysis.Delivery) []analysis.Delivery {
	if d == nil {
		return []analysis.Delivery{}
	}
	return d
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
