package schema

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

func msTime(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

// where builds the WHERE clause of a recipients query from f. Every value
// is a bound argument.
func where(f analysis.Filter, pg bool) (string, []any) {
	var conds []string
	var args []any
	if f.Verdict != "" {
		conds = append(conds, "verdict = ?")
		args = append(args, string(f.Verdict))
		if f.Verdict == analysis.RelayAbuse || f.Verdict == analysis.RelayAttemptRejected {
			// Lets the planner read the partial index of these verdicts,
			// in time order.
			conds = append(conds, relayClientsFilter)
		}
	}
	if f.ClientIP != "" {
		if !pg {
			// SQLite's index by client begins with the hour (hoursIn).
			from, to := bounds(analysis.TimeRange{From: f.Since, To: f.Until})
			conds = append(conds, hoursIn("?", "?"))
			args = append(args, from, to, to) // hoursIn binds from, to, to
		}
		conds = append(conds, "client_ip = ?")
		args = append(args, f.ClientIP)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "ts_ms >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		conds = append(conds, "ts_ms < ?")
		args = append(args, f.Until.UnixMilli())
	}
	if !f.IncludeHops {
		if pg {
			conds = append(conds, "hop = 1")
		} else {
			// "+hop": not a term SQLite may search or order by. As one, it
			// took hop out of the ORDER BY that the index by verdict
			// (recipients_relay_clients) gives in full, and SQLite sorted
			// each millisecond's rows again: report attempts on 20M lines
			// read its 582k recipients in 0.68 s, 0.47 s without the sort.
			conds = append(conds, "+hop = 1")
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const recipientColumns = `ts_ms, mta, host, queue_id, message_id, client_ip, client_name, helo, authenticated, auth_user,
 sender, recipient, status, deliveries, verdict, reason, hop, origin_queue_id, evidence`

// Recipients calls fn for every recipient matching f, in time order.
func (s *Store) Recipients(ctx context.Context, f analysis.Filter, fn func(analysis.Recipient) error) error {
	w, args := where(f, s.pg)
	rows, err := s.db.QueryContext(ctx, "SELECT "+recipientColumns+" FROM recipients"+w+" ORDER BY ts_ms, queue_id, hop, recipient, key", args...)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                    analysis.Recipient
			ts                   sql.NullInt64
			deliveries, evidence string
			verdict              string
		)
		if err := rows.Scan(&ts, &r.MTA, &r.Host, &r.QueueID, &r.MessageID, &r.ClientIP, &r.ClientName, &r.Helo,
			&r.Authenticated, &r.AuthUser, &r.Sender, &r.Recipient, &r.Status, &deliveries, &verdict, &r.Reason,
			&r.Hop, &r.OriginQueueID, &evidence); err != nil {
			return err
		}
		r.Time = msTime(ts)
		r.Verdict = analysis.Verdict(verdict)
		r.Deliveries = decodeDeliveries(deliveries)
		r.Reason = decodePhrases(r.Reason)
		r.Evidence = decodeEvidence(evidence)
		if r.Deliveries == nil {
			r.Deliveries = []analysis.Delivery{}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// verdictCounts is the query that counts recipients per verdict, host and
// MTA for f. Without a range or a client, the counts the triggers keep
// (recipient_counts) answer: a few rows, not every recipient.
func verdictCounts(f analysis.Filter, pg bool) (string, []any) {
	if f.Verdict != "" || f.ClientIP != "" || !f.Since.IsZero() || !f.Until.IsZero() {
		w, args := where(f, pg)
		return "SELECT verdict, host, mta, count(*) FROM recipients" + w + " GROUP BY verdict, host, mta", args
	}
	if f.IncludeHops {
		return `SELECT verdict, host, mta, sum(n) FROM recipient_counts GROUP BY verdict, host, mta HAVING sum(n) > 0`, nil
	}
	return `SELECT verdict, host, mta, sum(n) FROM recipient_counts WHERE hop = 1 GROUP BY verdict, host, mta HAVING sum(n) > 0`, nil
}

// Summary counts the whole store.
func (s *Store) Summary(ctx context.Context, f analysis.Filter) (analysis.Summary, error) {
	sum := analysis.Summary{Verdicts: map[analysis.Verdict]int{}, Hosts: map[string]int{}, MTAs: map[string]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT path, format, lines, events, unsupported, malformed, complete FROM sources ORDER BY id`)
	if err != nil {
		return sum, wrapBusy(err)
	}
	for rows.Next() {
		var ss analysis.SourceSummary
		if err := rows.Scan(&ss.Path, &ss.Format, &ss.Lines, &ss.Events, &ss.Unsupported, &ss.Malformed, &ss.Complete); err != nil {
			rows.Close()
			return sum, err
		}
		sum.Files = append(sum.Files, ss)
		sum.Sources++
		sum.Lines += ss.Lines
		sum.Events += ss.Events
		sum.Unsupported += ss.Unsupported
		sum.Malformed += ss.Malformed
	}
	rows.Close()
	var first, last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(first_ts_ms), max(last_ts_ms) FROM sources`).Scan(&first, &last); err != nil {
		return sum, wrapBusy(err)
	}
	sum.First, sum.Last = msTime(first), msTime(last)
	q, args := verdictCounts(f, s.pg)
	rows, err = s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return sum, wrapBusy(err)
	}
	for rows.Next() {
		var v, host, mta string
		var n int
		if err := rows.Scan(&v, &host, &mta, &n); err != nil {
			rows.Close()
			return sum, err
		}
		sum.Verdicts[analysis.Verdict(v)] += n
		sum.Hosts[host] += n
		sum.MTAs[mta] += n
	}
	rows.Close()
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events e WHERE kind = 'auth_failed' AND `+authFailureOnce).Scan(&sum.AuthFailures); err != nil {
		return sum, wrapBusy(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT client_ip) FROM recipients WHERE verdict = ?`, string(analysis.RelayAbuse)).Scan(&sum.RelayClients); err != nil {
		return sum, wrapBusy(err)
	}
	return sum, nil
}

// relayClientsFilter is the WHERE of the partial index
// recipients_relay_clients (migration 0015), word for word: SQLite uses a
// partial index only for a query that says what its WHERE says.
const relayClientsFilter = `verdict IN ('relay_abuse', 'relay_attempt_rejected')`

// clientRows is the query of ByClient: the columns it groups by, in the
// order of Recipients, with the row's id to read its evidence by.
func clientRows(f analysis.Filter, pg bool) (string, []any) {
	w, args := where(f, pg)
	return `SELECT rowid, ts_ms, queue_id, client_ip, client_name, sender, recipient FROM recipients` + w +
		` ORDER BY ts_ms, queue_id, hop, recipient, key`, args
}

// ByClient groups the recipients matching f (normally one verdict) by
// client address, most recipients first.
func (s *Store) ByClient(ctx context.Context, f analysis.Filter) ([]analysis.ClientReport, error) {
	// A message is its queue id, or, refused before it had one, its time
	// and sender.
	type msgKey struct {
		queueID string
		ts      int64
		sender  string
	}
	type acc struct {
		analysis.ClientReport
		// msgs are its messages, once or more each (counted once after
		// the grouping: appending and sorting cost a fraction of a map's
		// growth over hundreds of thousands of rows).
		msgs    []msgKey
		last    msgKey // the message of the client's row before
		lastTs  int64
		domains map[string]int
		senders map[string]bool
	}
	byIP := map[string]*acc{}
	var order []string
	// A client's evidence is the last line of its first three recipients
	// that have one: read for a few rows after the grouping, by row id.
	evidenceOf := map[string][]int64{}
	q, args := clientRows(f, s.pg)
	// The text columns are read in place (hundreds of thousands of rows
	// for report attempts) and copied only where they are kept.
	var (
		rowid, ts                            int64
		queueID, ip, name, sender, recipient sql.RawBytes
	)
	err := eachRow(ctx, s.db, q, args, func(rows *sql.Rows) error {
		if err := rows.Scan(&rowid, &ts, &queueID, &ip, &name, &sender, &recipient); err != nil {
			return err
		}
		a := byIP[string(ip)]
		if a == nil {
			a = &acc{domains: map[string]int{}, senders: map[string]bool{}}
			a.ClientIP, a.ClientName, a.First = string(ip), string(name), time.UnixMilli(ts).UTC()
			byIP[a.ClientIP] = a
			order = append(order, a.ClientIP)
		}
		a.Count++
		a.lastTs = ts
		if len(queueID) > 0 {
			if string(queueID) != a.last.queueID {
				a.last = msgKey{queueID: string(queueID)}
				a.msgs = append(a.msgs, a.last)
			}
		} else if ts != a.last.ts || a.last.queueID != "" || string(sender) != a.last.sender {
			a.last = msgKey{ts: ts, sender: string(sender)}
			a.msgs = append(a.msgs, a.last)
		}
		a.domains[analysis.RelayDomain(string(recipient))]++ // the domain relayed to, not a trick's local one
		if len(a.senders) < 20 && !a.senders[string(sender)] {
			a.senders[string(sender)] = true
		}
		if ids := evidenceOf[a.ClientIP]; len(ids) < 6 {
			evidenceOf[a.ClientIP] = append(ids, rowid)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, a := range byIP {
		a.Last = time.UnixMilli(a.lastTs).UTC()
		slices.SortFunc(a.msgs, func(x, y msgKey) int {
			return cmp.Or(strings.Compare(x.queueID, y.queueID), cmp.Compare(x.ts, y.ts), strings.Compare(x.sender, y.sender))
		})
		a.Messages = len(slices.Compact(a.msgs))
		a.msgs = nil
	}
	byRowID, err := s.evidenceByRowID(ctx, evidenceOf)
	if err != nil {
		return nil, err
	}
	for ip, ids := range evidenceOf {
		a := byIP[ip]
		for _, id := range ids {
			if ev := decodeEvidence(byRowID[id]); len(ev) > 0 && len(a.Evidence) < 3 {
				a.Evidence = append(a.Evidence, ev[len(ev)-1])
			}
		}
	}
	out := make([]analysis.ClientReport, 0, len(order))
	for _, ip := range order {
		a := byIP[ip]
		a.Domains = len(a.domains)
		a.TopDomains = analysis.TopKeys(a.domains, 5)
		for snd := range a.senders {
			a.Senders = append(a.Senders, snd)
		}
		sort.Strings(a.Senders)
		out = append(out, a.ClientReport)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out, nil
}

// evidenceByRowID reads the evidence of the recipients ByClient names by
// row id, up to 500 rows a query: report attempts on 20M lines names 18k
// rows, and a query for each took 0.2 s.
func (s *Store) evidenceByRowID(ctx context.Context, idsOf map[string][]int64) (map[int64]string, error) {
	var ids []int64
	for _, x := range idsOf {
		ids = append(ids, x...)
	}
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		var (
			q    string
			args []any
		)
		if s.pg {
			q, args = `SELECT rowid, evidence FROM recipients WHERE rowid = ANY(?::bigint[])`, []any{ids[:n]}
		} else {
			q = `SELECT rowid, evidence FROM recipients WHERE rowid IN (?` + strings.Repeat(`, ?`, n-1) + `)`
			for _, id := range ids[:n] {
				args = append(args, id)
			}
		}
		err := eachRow(ctx, s.db, q, args, func(rows *sql.Rows) error {
			var (
				id int64
				ev string
			)
			if err := rows.Scan(&id, &ev); err != nil {
				return err
			}
			out[id] = ev
			return nil
		})
		if err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// authFailureOnce keeps a failed login (events e) once: Exim writes it to
// the mainlog and again, with the same stamp, to the rejectlog, so a
// rejectlog copy with a mainlog twin is left out.
const authFailureOnce = `NOT (e.daemon = 'rejectlog' AND EXISTS (SELECT 1 FROM events m
 WHERE m.kind = 'auth_failed' AND m.ts_ms = e.ts_ms AND m.daemon = 'mainlog' AND m.format = e.format
 AND m.host = e.host AND m.client_ip = e.client_ip AND m.sasl_method = e.sasl_method AND m.sasl_user = e.sasl_user))`

// authFailures are the failed logins by client and time, from the failed
// logins' index alone (migration 0021): a client's failures come together
// and only those of one client in one millisecond are sorted, by row.
const authFailures = `SELECT e.id, ts_ms, client_ip, client_name, sasl_user, line, source_id FROM events e
 WHERE kind = 'auth_failed' AND ` + authFailureOnce + ` ORDER BY client_ip, ts_ms, e.id`

// AuthFailures groups failed SASL logins by client address: most failures
// first, then the client that failed first.
func (s *Store) AuthFailures(ctx context.Context) ([]analysis.ClientReport, error) {
	srcs, err := s.readSources(ctx)
	if err != nil {
		return nil, err
	}
	paths := make(map[int64]string, len(srcs))
	for _, src := range srcs {
		paths[src.id] = src.path
	}
	rows, err := s.db.QueryContext(ctx, authFailures)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	type client struct {
		analysis.ClientReport
		firstID int64
		users   map[string]bool
	}
	var (
		out             []*client
		c               *client
		id, line, srcID int64
		ts              sql.NullInt64
		ip, name, user  sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&id, &ts, &ip, &name, &user, &line, &srcID); err != nil {
			return nil, err
		}
		if c == nil || string(ip) != c.ClientIP {
			c = &client{ClientReport: analysis.ClientReport{ClientIP: string(ip), ClientName: string(name), First: msTime(ts)},
				firstID: id, users: map[string]bool{}}
			out = append(out, c)
		}
		c.Count++
		c.Last = msTime(ts)
		if len(user) > 0 && len(c.users) < 20 && !c.users[string(user)] {
			c.users[string(user)] = true
			c.Users = append(c.Users, string(user))
		}
		if len(c.Evidence) < 3 {
			c.Evidence = append(c.Evidence, paths[srcID]+":"+strconv.FormatInt(line, 10))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapBusy(err)
	}
	// The clients in the order they first failed, then the busiest first.
	slices.SortFunc(out, func(a, b *client) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.First.UnixMilli(), b.First.UnixMilli()), cmp.Compare(a.firstID, b.firstID))
	})
	reps := make([]analysis.ClientReport, len(out))
	for i, c := range out {
		reps[i] = c.ClientReport
	}
	return reps, nil
}
