package schema

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// The queries of `relaysleuth investigate`: one per correlation key, each an
// indexed equality plus a time range [?, ?). Values are always bound.

const investigateRecipientColumns = `ts_ms, mta, host, queue_id, message_id, client_ip, client_name, helo, authenticated,
 auth_user, sender, recipient, status, deliveries, verdict, reason, hop, origin_queue_id, evidence`

// hoursIn is the condition that a recipient's hour (ts_ms / 3600000, the
// first column of the indexes by client, queue id, sender, recipient and
// Message-ID: migration 0019) is one of the hours in [from, to) that hold a
// recipient, from and to the placeholders that bind them. The hours are
// found by seeking the time index from one to the next, a look-up each
// (an hour with no recipient costs nothing, a time far off in a hostile
// line one more); SQLite then searches each hour's part of the index for
// the value. Hours are integer divisions, which round toward zero: the
// hour before 0 begins one millisecond after its number times an hour.
func hoursIn(from, to string) string {
	return `ts_ms / 3600000 IN (WITH RECURSIVE hours(h) AS (
 SELECT (SELECT ts_ms FROM recipients WHERE ts_ms >= ` + from + ` AND ts_ms < ` + to + ` ORDER BY ts_ms LIMIT 1) / 3600000
 UNION ALL SELECT (SELECT ts_ms FROM recipients WHERE ts_ms >= CASE WHEN h >= 0 THEN (h + 1) * 3600000 ELSE h * 3600000 + 1 END
 AND ts_ms < ` + to + ` ORDER BY ts_ms LIMIT 1) / 3600000 FROM hours WHERE h IS NOT NULL) SELECT h FROM hours)`
}

// The look-ups by a value take it, from and to as ?1, ?2, ?3.
var (
	recipientsByQueueID   = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ` + hoursIn("?2", "?3") + ` AND queue_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, hop, recipient, key`
	recipientsByMessageID = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ` + hoursIn("?2", "?3") + ` AND message_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, hop, recipient, key`
	recipientsByClientIP  = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ` + hoursIn("?2", "?3") + ` AND client_ip = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, queue_id, hop, recipient, key`
	recipientsBySender    = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ` + hoursIn("?2", "?3") + ` AND sender = ?1 COLLATE NOCASE AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, queue_id, hop, recipient, key`
	recipientsByRecipient = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ` + hoursIn("?2", "?3") + ` AND recipient = ?1 COLLATE NOCASE AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, queue_id, hop, recipient, key`
)

const (
	recipientsByAuthUser = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE auth_user = ? AND auth_user <> '' AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, queue_id, hop, recipient, key`
	// recipientsInRange ignores its first argument so that every key takes
	// the same three.
	recipientsInRange = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE ? IS NOT NULL AND hop = 1 AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, queue_id, recipient, key`
)

const investigateEventColumns = `e.ts_ms, s.path, e.line, e.byte_offset, e.format, e.host, e.daemon, e.kind, e.queue_id,
 e.next_queue_id, e.prev_queue_id, e.message_id, e.client_ip, e.client_name, e.sasl_method, e.sasl_user, e.raw, e.detail
 FROM events e JOIN sources s ON s.id = e.source_id`

// maxInvestigateEvents bounds one event query: a queue file has a few dozen
// lines; a Message-ID shared by a mass mailing could have millions.
const maxInvestigateEvents = 2000

// maxInvestigateBlocks bounds the event blocks one look-up decodes.
const maxInvestigateBlocks = 256

// blocksByKey finds the event blocks holding events with a key (see
// event_keys) in a time range.
const blocksByKey = `SELECT b.id, b.source_id, s.path, s.format, b.data FROM ` + allEventKeys + ` k JOIN event_blocks b ON b.id = k.block_id
 JOIN sources s ON s.id = b.source_id WHERE k.key = ? AND k.max_ts_ms >= ? AND k.min_ts_ms < ? ORDER BY k.block_id LIMIT ?`

const (
	loginsByUser       = `SELECT ` + investigateEventColumns + ` WHERE e.sasl_user = ? AND e.sasl_user <> '' AND e.kind = 'client' AND e.ts_ms >= ? AND e.ts_ms < ? ORDER BY e.ts_ms, e.id LIMIT ?`
	authFailuresByUser = `SELECT ` + investigateEventColumns + ` WHERE e.sasl_user = ? AND e.sasl_user <> '' AND e.kind = 'auth_failed' AND e.ts_ms >= ? AND e.ts_ms < ? ORDER BY e.ts_ms, e.id LIMIT ?`
	authFailuresByIP   = `SELECT ` + investigateEventColumns + ` WHERE e.client_ip = ? AND e.kind = 'auth_failed' AND e.ts_ms >= ? AND e.ts_ms < ? ORDER BY e.ts_ms, e.id LIMIT ?`
)

// bounds turns r into the [from, to) milliseconds the queries bind; an open
// end is the extreme integer.
func bounds(r analysis.TimeRange) (int64, int64) {
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !r.From.IsZero() {
		from = r.From.UnixMilli()
	}
	if !r.To.IsZero() {
		to = r.To.UnixMilli()
	}
	return from, to
}

// RecipientsBy calls fn for every recipient whose key field equals value,
// in r, in time order. Addresses are compared case-insensitively.
// analysis.KeyTime ignores value and returns the first hops in r.
func (s *Store) RecipientsBy(ctx context.Context, key analysis.Key, value string, r analysis.TimeRange, fn func(analysis.Recipient) error) error {
	var q string
	switch key {
	case analysis.KeyQueueID:
		q = recipientsByQueueID
	case analysis.KeyMessageID:
		q = recipientsByMessageID
	case analysis.KeyClientIP:
		q = recipientsByClientIP
	case analysis.KeyAuthUser:
		q = recipientsByAuthUser
	case analysis.KeySender:
		q = recipientsBySender
	case analysis.KeyRecipient:
		q = recipientsByRecipient
	case analysis.KeyTime:
		q = recipientsInRange
	default:
		return fmt.Errorf("recipients by %q: unknown key", key)
	}
	from, to := bounds(r)
	rows, err := s.db.QueryContext(ctx, q, value, from, to)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rc                   analysis.Recipient
			ts                   sql.NullInt64
			deliveries, evidence string
			verdict              string
		)
		if err := rows.Scan(&ts, &rc.MTA, &rc.Host, &rc.QueueID, &rc.MessageID, &rc.ClientIP, &rc.ClientName, &rc.Helo,
			&rc.Authenticated, &rc.AuthUser, &rc.Sender, &rc.Recipient, &rc.Status, &deliveries, &verdict, &rc.Reason,
			&rc.Hop, &rc.OriginQueueID, &evidence); err != nil {
			return err
		}
		rc.Time = msTime(ts)
		rc.Verdict = analysis.Verdict(verdict)
		rc.Deliveries = decodeDeliveries(deliveries)
		rc.Reason = decodePhrases(rc.Reason)
		rc.Evidence = decodeEvidence(evidence)
		if rc.Deliveries == nil {
			rc.Deliveries = []analysis.Delivery{}
		}
		if rc.Evidence == nil {
			rc.Evidence = []string{}
		}
		if err := fn(rc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EventsBy returns the events (at most a few thousand) whose queue id, next
// queue id or Message-ID is value, in r, in time order.
func (s *Store) EventsBy(ctx context.Context, field analysis.EventField, value string, r analysis.TimeRange) ([]parsers.Event, error) {
	var (
		prefix string
		match  func(ev *parsers.Event) bool
	)
	switch field {
	case analysis.ByQueueID:
		prefix, match = "q", func(ev *parsers.Event) bool { return ev.QueueID == value }
	case analysis.ByNextQueueID:
		prefix, match = "n", func(ev *parsers.Event) bool { return ev.NextQueueID == value }
	case analysis.ByMessageID:
		prefix, match = "m", func(ev *parsers.Event) bool { return ev.MessageID == value }
	default:
		return nil, fmt.Errorf("events by field %d: unknown field", field)
	}
	if value == "" {
		return nil, nil
	}
	from, to := bounds(r)
	blocks, err := s.blocks(ctx, blocksByKey, prefix+value, from, to, maxInvestigateBlocks)
	if err != nil {
		return nil, err
	}
	var out []parsers.Event
	for _, b := range blocks {
		err := b.each(func(ev parsers.Event) error {
			if ms := ev.Time.UnixMilli(); match(&ev) && ms >= from && ms < to {
				out = append(out, ev)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Blocks are in the order they were stored, events in each in file
	// order: a stable sort by time keeps that order within a millisecond.
	slices.SortStableFunc(out, func(a, b parsers.Event) int { return a.Time.Compare(b.Time) })
	if len(out) > maxInvestigateEvents {
		out = out[:maxInvestigateEvents]
	}
	return out, nil
}

// Logins returns the messages received from a client that authenticated as
// user, in r.
func (s *Store) Logins(ctx context.Context, user string, r analysis.TimeRange) ([]parsers.Event, error) {
	return s.events(ctx, loginsByUser, user, r)
}

// AuthFailuresBy returns the failed logins for a user name
// (analysis.KeyAuthUser) or from a client address (analysis.KeyClientIP), in r.
func (s *Store) AuthFailuresBy(ctx context.Context, key analysis.Key, value string, r analysis.TimeRange) ([]parsers.Event, error) {
	switch key {
	case analysis.KeyAuthUser:
		return s.events(ctx, authFailuresByUser, value, r)
	case analysis.KeyClientIP:
		return s.events(ctx, authFailuresByIP, value, r)
	}
	return nil, fmt.Errorf("auth failures by %q: unknown key", key)
}

func (s *Store) events(ctx context.Context, q, value string, r analysis.TimeRange) ([]parsers.Event, error) {
	return s.eventRows(ctx, q, value, r, maxInvestigateEvents)
}

// eventRows runs q, a query of events' rows by one value in r, keeping at
// most limit of them.
func (s *Store) eventRows(ctx context.Context, q, value string, r analysis.TimeRange, limit int) ([]parsers.Event, error) {
	from, to := bounds(r)
	rows, err := s.db.QueryContext(ctx, q, value, from, to, limit)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []parsers.Event
	for rows.Next() {
		var (
			ev             parsers.Event
			ts             int64
			kind, clientIP string
			detail         []byte
		)
		if err := rows.Scan(&ts, &ev.Pos.File, &ev.Pos.Line, &ev.Pos.Offset, &ev.Format, &ev.Host, &ev.Daemon, &kind,
			&ev.QueueID, &ev.NextQueueID, &ev.PrevQueueID, &ev.MessageID, &clientIP, &ev.ClientName, &ev.SASLMethod,
			&ev.SASLUser, &ev.Raw, &detail); err != nil {
			return nil, err
		}
		if err := decodeDetail(detail, &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", ev.Pos, err)
		}
		ev.Time = msTime(sql.NullInt64{Int64: ts, Valid: true})
		ev.Kind = parsers.ParseKind(kind)
		if a, err := netip.ParseAddr(clientIP); err == nil {
			ev.ClientIP = a
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}
