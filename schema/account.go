package schema

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// The accounts pass's questions (see pipeline/accounts.go). Each is an
// indexed search: by account (recipients_auth_user_ts,
// events_auth_failed_user) or by client address (events_auth_failed).
const (
	// accountNames lists the accounts with mail since a time: through the
	// time index (the unary + keeps the planner off the account index,
	// which would read every authenticated recipient).
	accountNames = `SELECT DISTINCT auth_user FROM recipients WHERE ts_ms >= ? AND +auth_user <> '' ORDER BY auth_user`
	// accountNamesAll lists every account, from its index alone.
	accountNamesAll = `SELECT DISTINCT auth_user FROM recipients WHERE auth_user <> '' ORDER BY auth_user`
	// accountRows are an account's first-hop recipients in time order, a
	// message's recipients in a row, read from the account index alone
	// (migration 0020: every column here is in it).
	accountRows = `SELECT ts_ms, client_ip, message_key, sender, recipient, status FROM recipients
 WHERE auth_user = ? AND auth_user <> '' AND hop = 1 ORDER BY ts_ms, message_key`
	// failuresFromAddress counts failed logins from one address in a time
	// range, each once: Exim's rejectlog copy of a mainlog line, and a line
	// of a log read twice under two names (a copy, an uncompressed
	// rotation), are the same failure (same stamp, host, name, method).
	// Two failures in one millisecond count once: too few rather than an
	// alarm.
	failuresFromAddress = `SELECT count(*) FROM (SELECT DISTINCT e.ts_ms, e.host, e.sasl_user, e.sasl_method FROM events e
 WHERE e.client_ip = ? AND e.kind = 'auth_failed' AND e.ts_ms >= ? AND e.ts_ms <= ?)`
	failureLinesFromAddress = `SELECT e.line, s.path FROM events e JOIN sources s ON s.id = e.source_id
 WHERE e.client_ip = ? AND e.kind = 'auth_failed' AND e.ts_ms >= ? AND e.ts_ms <= ? ORDER BY e.ts_ms, e.id LIMIT 3`
	// failingAddresses counts the addresses that failed to log in as an
	// account, under either name it may be logged by.
	failingAddresses = `SELECT count(DISTINCT e.client_ip) FROM events e WHERE e.sasl_user IN (?, ?) AND e.sasl_user <> ''
 AND e.kind = 'auth_failed' AND e.ts_ms >= ? AND e.ts_ms <= ?`
	// abusedOf are an account's recipients judged account_abuse, to be
	// given their verdict back before it is judged again (found by the
	// verdict: account_abuse recipients are few).
	abusedOf = `SELECT key, reason FROM recipients WHERE auth_user = ? AND auth_user <> '' AND verdict = 'account_abuse'`
	// sessionRecipients are the recipients of one session: the account,
	// the client, the time range; later hops too (they carry the first
	// hop's client and account).
	sessionRecipients = `SELECT key, reason, hop, message_key, evidence FROM recipients
 WHERE auth_user = ? AND auth_user <> '' AND ts_ms >= ? AND ts_ms < ? AND client_ip = ? AND verdict = 'authenticated_outbound'
 ORDER BY ts_ms, key`
	setVerdict    = `UPDATE recipients SET verdict = ?, reason = ? WHERE key = ?`
	accountUpsert = `INSERT OR REPLACE INTO accounts (account, verdict, signals, first_abuse_ms, last_abuse_ms, client_ips,
 recipients, messages, baseline, evidence, first_ms, last_ms, total, sessions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	accountList = `SELECT account, verdict, signals, first_abuse_ms, last_abuse_ms, client_ips, recipients, messages,
 baseline, evidence, first_ms, last_ms, total, sessions FROM accounts ORDER BY
 CASE verdict WHEN 'compromised' THEN 0 WHEN 'suspicious' THEN 1 ELSE 2 END, recipients DESC, account`
)

// AccountNames returns the accounts (SASL user names, as logged) that sent
// mail at or after since; every account when since is zero.
func (s *Store) AccountNames(ctx context.Context, since time.Time) ([]string, error) {
	q, args := accountNamesAll, []any(nil)
	if !since.IsZero() {
		q, args = accountNames, []any{since.UnixMilli()}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, wrapBusy(rows.Err())
}

// AccountRows calls fn with a reader of account's first-hop recipients in
// time order, closed when fn returns.
func (s *Store) AccountRows(ctx context.Context, account string, fn func(next func() (analysis.AccountRow, bool, error)) error) error {
	rows, err := s.db.QueryContext(ctx, accountRows, account)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	next := func() (analysis.AccountRow, bool, error) {
		if !rows.Next() {
			return analysis.AccountRow{}, false, wrapBusy(rows.Err())
		}
		var (
			r  analysis.AccountRow
			ts int64
			ip string
		)
		if err := rows.Scan(&ts, &ip, &r.MessageKey, &r.Sender, &r.Recipient, &r.Status); err != nil {
			return r, false, err
		}
		r.Time = time.UnixMilli(ts).UTC()
		r.ClientIP, _ = netip.ParseAddr(ip) // an unknown client is its own "network"
		return r, true, nil
	}
	return fn(next)
}

// AccountFailures answers the account judge's questions about failed
// logins from the store.
type AccountFailures struct {
	Ctx   context.Context
	Store *Store
	// cache, when not nil, holds each address's failed logins as the
	// pass first asks about it (NewAccountFailures).
	cache *failureCache
}

// NewAccountFailures returns the AccountFailures of one accounts pass. A
// pass judges every session of every account (a 20M-line database: about
// 190k sessions, a count of failed logins each, a third of the pass's
// time); it reads each address's failed logins once instead, at its first
// session, and counts a session's in memory. Failures stored after that
// read count from the next pass on.
func NewAccountFailures(ctx context.Context, store *Store) AccountFailures {
	return AccountFailures{Ctx: ctx, Store: store, cache: &failureCache{byIP: map[string][]int64{}}}
}

// maxCachedFailures bounds the failed logins a pass holds (8 bytes each):
// past it (a botnet's guessing), the addresses not yet read are asked
// about session by session, as without the cache.
const maxCachedFailures = 1 << 20

// failureCache holds, per address, the times of its failed logins, each
// failure once (failuresFromAddress's DISTINCT), sorted.
type failureCache struct {
	mu   sync.Mutex
	byIP map[string][]int64
	n    int
}

// failuresOfAddress are an address's failed logins, each once, by time.
const failuresOfAddress = `SELECT ts_ms FROM (SELECT DISTINCT e.ts_ms, e.host, e.sasl_user, e.sasl_method FROM events e
 WHERE e.client_ip = ? AND e.kind = 'auth_failed') f ORDER BY ts_ms`

// cachedCount returns how many failed logins ip has in [from, to], and
// false when the cache cannot say (no cache, or full).
func (f AccountFailures) cachedCount(ip string, from, to int64) (int, bool, error) {
	c := f.cache
	if c == nil {
		return 0, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ts, ok := c.byIP[ip]
	if !ok {
		if c.n >= maxCachedFailures {
			return 0, false, nil
		}
		rows, err := f.Store.query(f.Ctx, failuresOfAddress, ip)
		if err != nil {
			return 0, false, err
		}
		for rows.Next() {
			var t int64
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return 0, false, err
			}
			ts = append(ts, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, false, wrapBusy(err)
		}
		c.byIP[ip] = ts
		c.n += len(ts) + 1
	}
	lo, _ := slices.BinarySearch(ts, from)
	hi, found := slices.BinarySearch(ts, to)
	for found && hi < len(ts) && ts[hi] == to {
		hi++
	}
	return hi - lo, true, nil
}

// FromAddress implements analysis.Failures.
func (f AccountFailures) FromAddress(ip netip.Addr, from, to time.Time) (int, []string, error) {
	if !ip.IsValid() {
		return 0, nil, nil
	}
	addr := ip.String()
	a := []any{addr, from.UnixMilli(), to.UnixMilli()}
	n, cached, err := f.cachedCount(addr, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return 0, nil, err
	}
	if !cached {
		if err := f.Store.scanOne(f.Ctx, failuresFromAddress, a, &n); err != nil {
			return 0, nil, wrapBusy(err)
		}
	}
	if n == 0 {
		return 0, nil, nil
	}
	rows, err := f.Store.query(f.Ctx, failureLinesFromAddress, a...)
	if err != nil {
		return 0, nil, wrapBusy(err)
	}
	defer rows.Close()
	var ev []string
	for rows.Next() {
		var (
			line int
			path string
		)
		if err := rows.Scan(&line, &path); err != nil {
			return 0, nil, err
		}
		ev = append(ev, path+":"+strconv.Itoa(line))
	}
	return n, ev, wrapBusy(rows.Err())
}

// Addresses implements analysis.Failures. A failed login names the account
// as typed: "CORP\alice" logs in, "alice" fails; both are asked.
func (f AccountFailures) Addresses(account string, from, to time.Time) (int, error) {
	short := account
	if i := strings.LastIndexByte(short, '\\'); i >= 0 {
		short = short[i+1:]
	}
	var n int
	err := f.Store.scanOne(f.Ctx, failingAddresses, []any{account, short, from.UnixMilli(), to.UnixMilli()}, &n)
	return n, wrapBusy(err)
}

// AccountsApplied is what ApplyAccounts changed.
type AccountsApplied struct {
	Abused   int // recipients now account_abuse
	Restored int // recipients given back their verdict
}

// ApplyAccounts writes the judged accounts in one transaction: each
// account's account_abuse recipients get their verdict back, then the
// recipients of its abusive sessions become account_abuse, and its row in
// accounts is replaced, with its counts of what is account_abuse now.
func (s *Store) ApplyAccounts(ctx context.Context, reps []analysis.AccountReport, gap time.Duration) (AccountsApplied, error) {
	if !s.pg {
		return s.applyAccounts(ctx, reps, gap)
	}
	var out AccountsApplied
	restore := keepEvidence(reps) // pgwrite.go
	err := pgRetry(ctx, func() (err error) {
		restore()
		out, err = s.applyAccounts(ctx, reps, gap)
		return err
	}, nil)
	return out, err
}

func (s *Store) applyAccounts(ctx context.Context, reps []analysis.AccountReport, gap time.Duration) (AccountsApplied, error) {
	var out AccountsApplied
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, wrapBusy(err)
	}
	defer tx.Rollback()
	upd, err := tx.PrepareContext(ctx, setVerdict)
	if err != nil {
		return out, wrapBusy(err)
	}
	defer upd.Close()
	type change struct{ key, reason string }
	for i := range reps {
		rep := &reps[i]
		var back []change
		err := eachRow(ctx, tx, abusedOf, []any{rep.Account}, func(rows *sql.Rows) error {
			var c change
			if err := rows.Scan(&c.key, &c.reason); err != nil {
				return err
			}
			c.reason = analysis.TrimAbuseReason(rep.Account, decodePhrases(c.reason))
			back = append(back, c)
			return nil
		})
		if err != nil {
			return out, err
		}
		for _, c := range back {
			if _, err := upd.ExecContext(ctx, string(analysis.AuthenticatedOutbound), encodePhrases(c.reason), c.key); err != nil {
				return out, wrapBusy(err)
			}
		}
		out.Restored += len(back)
		rep.Recipients, rep.Messages = 0, 0
		for k := range rep.Sessions {
			ss := &rep.Sessions[k]
			if !ss.Abusive {
				continue
			}
			var abused []change
			msgs := map[string]bool{}
			err := eachRow(ctx, tx, sessionRecipients, []any{rep.Account, ss.From.UnixMilli(), ss.To.Add(gap).UnixMilli(), ss.ClientIP}, func(rows *sql.Rows) error {
				var (
					c        change
					hop      int
					msg, evj string
				)
				if err := rows.Scan(&c.key, &c.reason, &hop, &msg, &evj); err != nil {
					return err
				}
				if len(abused) == 0 {
					if ev := decodeEvidence(evj); len(ev) > 0 {
						ss.Evidence = append(ss.Evidence, ev[0])
						if len(rep.Evidence) < 10 {
							rep.Evidence = append(rep.Evidence, ev[0])
						}
					}
				}
				c.reason = analysis.AbuseReason(rep.Account, *ss, decodePhrases(c.reason))
				abused = append(abused, c)
				if hop == 1 {
					rep.Recipients++
					msgs[msg] = true
				}
				return nil
			})
			if err != nil {
				return out, err
			}
			for _, c := range abused {
				if _, err := upd.ExecContext(ctx, string(analysis.AccountAbuse), encodePhrases(c.reason), c.key); err != nil {
					return out, wrapBusy(err)
				}
			}
			rep.Messages += len(msgs)
			out.Abused += len(abused)
		}
		if err := putAccount(ctx, tx, rep); err != nil {
			return out, err
		}
	}
	return out, wrapBusy(tx.Commit())
}

func eachRow(ctx context.Context, tx interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return wrapBusy(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return wrapBusy(rows.Err())
}

func putAccount(ctx context.Context, tx *sql.Tx, rep *analysis.AccountReport) error {
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	ms := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UnixMilli()
	}
	strs := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	_, err := tx.ExecContext(ctx, accountUpsert, rep.Account, rep.Verdict, js(strs(rep.Signals)), ms(rep.FirstAbuse), ms(rep.LastAbuse),
		js(strs(rep.ClientIPs)), rep.Recipients, rep.Messages, rep.Baseline, js(strs(rep.Evidence)),
		rep.First.UnixMilli(), rep.Last.UnixMilli(), rep.Total, js(rep.Sessions))
	return wrapBusy(err)
}

// Accounts returns every judged account: compromised first, then
// suspicious, then the rest, each by its abuse.
func (s *Store) Accounts(ctx context.Context) ([]analysis.AccountReport, error) {
	rows, err := s.db.QueryContext(ctx, accountList)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []analysis.AccountReport
	for rows.Next() {
		var (
			r                                     analysis.AccountReport
			signals, ips, evidence, sessions      string
			firstAbuse, lastAbuse, first, lastMsg sql.NullInt64
		)
		if err := rows.Scan(&r.Account, &r.Verdict, &signals, &firstAbuse, &lastAbuse, &ips, &r.Recipients, &r.Messages,
			&r.Baseline, &evidence, &first, &lastMsg, &r.Total, &sessions); err != nil {
			return nil, err
		}
		r.FirstAbuse, r.LastAbuse, r.First, r.Last = msTime(firstAbuse), msTime(lastAbuse), msTime(first), msTime(lastMsg)
		for _, f := range []struct {
			s string
			v any
		}{{signals, &r.Signals}, {ips, &r.ClientIPs}, {evidence, &r.Evidence}, {sessions, &r.Sessions}} {
			if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, wrapBusy(rows.Err())
}
