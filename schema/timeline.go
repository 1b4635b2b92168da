package schema

import (
	"context"
	"database/sql"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// The queries of report timeline. serverEvents reads the server's own
// events (a row each in events, see sparse) through their partial index
// (migration 0013); its first argument is ignored, so that it binds like
// the other event queries.
const (
	serverEvents = `SELECT ` + investigateEventColumns + ` WHERE e.kind = 'server' AND ? IS NOT NULL AND e.ts_ms >= ? AND e.ts_ms < ? ORDER BY e.ts_ms, e.id LIMIT ?`
	// The first and last first-hop recipient of a verdict in a range, by
	// the (verdict, ts_ms) index.
	firstOfVerdict = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE verdict = ? AND hop = 1 AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms LIMIT 1`
	lastOfVerdict  = `SELECT ` + investigateRecipientColumns + ` FROM recipients WHERE verdict = ? AND hop = 1 AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms DESC LIMIT 1`
)

// maxServerEvents bounds the server events one report reads: a server
// that logs a warning per connection has millions; the timeline shows
// repeats as one entry anyway.
const maxServerEvents = 100000

// ServerEvents returns the MTAs' own events (parsers.KindServer) in r, in
// time order, at most maxServerEvents of them.
func (s *Store) ServerEvents(ctx context.Context, r analysis.TimeRange) ([]parsers.Event, error) {
	return s.eventRows(ctx, serverEvents, "server", r, maxServerEvents)
}

// VerdictSpan returns the first and last first-hop recipient of verdict v
// in r; count is left for the caller (Summary has it). ok is false when
// there is none.
func (s *Store) VerdictSpan(ctx context.Context, v analysis.Verdict, r analysis.TimeRange) (span analysis.VerdictSpan, ok bool, err error) {
	span.Verdict = v
	from, to := bounds(r)
	for i, q := range []string{firstOfVerdict, lastOfVerdict} {
		rc, found, err := s.oneRecipient(ctx, q, string(v), from, to)
		if err != nil || !found {
			return span, false, err
		}
		if i == 0 {
			span.First = rc
		} else {
			span.Last = rc
		}
	}
	return span, true, nil
}

func (s *Store) oneRecipient(ctx context.Context, q string, args ...any) (analysis.Recipient, bool, error) {
	var (
		rc                   analysis.Recipient
		ts                   sql.NullInt64
		deliveries, evidence string
		verdict              string
	)
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&ts, &rc.MTA, &rc.Host, &rc.QueueID, &rc.MessageID, &rc.ClientIP,
		&rc.ClientName, &rc.Helo, &rc.Authenticated, &rc.AuthUser, &rc.Sender, &rc.Recipient, &rc.Status, &deliveries,
		&verdict, &rc.Reason, &rc.Hop, &rc.OriginQueueID, &evidence)
	if err == sql.ErrNoRows {
		return rc, false, nil
	}
	if err != nil {
		return rc, false, wrapBusy(err)
	}
	rc.Time = msTime(ts)
	rc.Verdict = analysis.Verdict(verdict)
	rc.Deliveries = decodeDeliveries(deliveries)
	rc.Reason = decodePhrases(rc.Reason)
	rc.Evidence = decodeEvidence(evidence)
	if rc.Evidence == nil {
		rc.Evidence = []string{}
	}
	return rc, true, nil
}
