package schema

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// Resolver looks up stored messages for the correlator (analysis.Resolver),
// so that a log read in pieces is joined as if read whole.
type Resolver struct {
	s   *Store
	ctx context.Context
}

// Resolver returns an analysis.Resolver reading this store with ctx.
func (s *Store) Resolver(ctx context.Context) *Resolver { return &Resolver{s: s, ctx: ctx} }

const messageColumns = `key, format, host, queue_id, message_id, ts_ms, client_ip, client_name, helo, auth_user,
 auth_method, origin, sender, parent_key, via, removed, rejected, evidence`

const messageByQueueID = `SELECT ` + messageColumns + ` FROM messages
 WHERE queue_id = ? AND removed = 0 AND ts_ms >= ? ORDER BY ts_ms DESC LIMIT 1`

const messageByKey = `SELECT ` + messageColumns + ` FROM messages WHERE key = ?`

const recipientsOfMessage = `SELECT key, message_key, recipient, status, deliveries, verdict, reason, evidence
 FROM recipients WHERE message_key = ? ORDER BY key`

// MessageByQueueID implements analysis.Resolver.
func (r *Resolver) MessageByQueueID(queueID string, since time.Time) (*analysis.Message, []*analysis.Recipient, error) {
	return r.load(messageByQueueID, queueID, since.UnixMilli())
}

// MessageByKey implements analysis.Resolver.
func (r *Resolver) MessageByKey(key string) (*analysis.Message, []*analysis.Recipient, error) {
	return r.load(messageByKey, key)
}

func (r *Resolver) load(query string, args ...any) (*analysis.Message, []*analysis.Recipient, error) {
	var (
		m        analysis.Message
		ts       int64
		ip, evid string
	)
	err := r.s.scanOne(r.ctx, query, args, &m.Key, &m.Format, &m.Host, &m.QueueID, &m.MessageID,
		&ts, &ip, &m.ClientName, &m.Helo, &m.AuthUser, &m.AuthMethod, &m.Origin, &m.Sender, &m.ParentKey, &m.Via,
		&m.Removed, &m.Rejected, &evid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, wrapBusy(err)
	}
	m.Time = time.UnixMilli(ts).UTC()
	// An empty sender is the null sender or not yet logged; let a later
	// line say which.
	m.SenderSet = m.Sender != ""
	m.ClientIP, _ = netip.ParseAddr(ip)
	for _, s := range decodeEvidence(evid) {
		m.Evidence = append(m.Evidence, analysis.ParsePos(s))
	}
	rows, err := r.s.query(r.ctx, recipientsOfMessage, m.Key)
	if err != nil {
		return nil, nil, wrapBusy(err)
	}
	defer rows.Close()
	var rs []*analysis.Recipient
	for rows.Next() {
		var (
			rc                   analysis.Recipient
			deliveries, evidence string
			verdict              string
		)
		if err := rows.Scan(&rc.Key, &rc.MessageKey, &rc.Recipient, &rc.Status, &deliveries, &verdict, &rc.Reason, &evidence); err != nil {
			return nil, nil, err
		}
		rc.Verdict = analysis.Verdict(verdict)
		rc.Deliveries = decodeDeliveries(deliveries)
		rc.Reason = decodePhrases(rc.Reason)
		rc.Evidence = decodeEvidence(evidence)
		analysis.RestoreRecipient(&rc, m.Evidence)
		rs = append(rs, &rc)
	}
	return &m, rs, rows.Err()
}
