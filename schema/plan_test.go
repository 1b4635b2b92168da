package schema

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// bigTable names the tables that grow with the logs (a query that reads one
// of them whole takes seconds on a year of logs) and the alias a query gives
// one ("FROM events e").
var (
	bigTable = regexp.MustCompile(`\b(events|event_blocks|event_keys|recipients|messages)(?:\s+(?:AS\s+)?(\w+))?`)
	scanStep = regexp.MustCompile(`^SCAN (\w+)(.*)$`)
)

// bigNames returns the names under which query reads a big table.
func bigNames(query string) map[string]bool {
	names := map[string]bool{}
	for _, m := range bigTable.FindAllStringSubmatch(query, -1) {
		names[m[1]] = true
		switch strings.ToUpper(m[2]) {
		case "", "WHERE", "JOIN", "ORDER", "GROUP", "LIMIT", "ON", "USING", "LEFT", "INNER", "SET", "VALUES":
		default:
			names[m[2]] = true
		}
	}
	return names
}

// plannedQuery is one query the commands make, with arguments of the right
// types.
type plannedQuery struct {
	name  string
	query string
	args  []any
	// all says the query's answer is the whole table (a listing of every
	// recipient, a count of every verdict): reading it whole is its job,
	// but through an index (in the order asked for, or covering the
	// columns counted), never the table itself.
	all bool
	// use is what the plan must search by, when the query has a key
	// ("queue_id=?"): a search by time alone reads every row in the range.
	use string
	// covering says the plan must read an index alone (no table row).
	covering bool
	// ordered says the index gives the rows in the order asked for: no
	// sort of them (a TEMP B-TREE) after reading.
	ordered bool
}

func plannedQueries() []plannedQuery {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	from, to := day.UnixMilli(), day.Add(24*time.Hour).UnixMilli()
	recipients := func(name string, f analysis.Filter, all bool) plannedQuery {
		w, args := where(f, false)
		return plannedQuery{name: name, all: all,
			query: "SELECT " + recipientColumns + " FROM recipients" + w + " ORDER BY ts_ms, queue_id, hop, recipient, key", args: args}
	}
	// ByClient: from the partial covering index alone, no table row.
	clients := func(name string, f analysis.Filter) plannedQuery {
		q, args := clientRows(f, false)
		return plannedQuery{name: name, query: q, args: args, use: "verdict=?", covering: true, ordered: true}
	}
	ordered := func(q plannedQuery) plannedQuery {
		q.ordered = true
		return q
	}
	summary := func(name string, f analysis.Filter) plannedQuery {
		q, args := verdictCounts(f, false)
		return plannedQuery{name: name, query: q, args: args}
	}
	qs := []plannedQuery{
		// report and scan (schema/report.go)
		recipients("report recipients", analysis.Filter{}, true),
		recipients("report recipients --hops", analysis.Filter{IncludeHops: true}, true),
		ordered(recipients("report relay", analysis.Filter{Verdict: analysis.RelayAbuse}, false)),
		ordered(recipients("report attempts", analysis.Filter{Verdict: analysis.RelayAttemptRejected}, false)),
		recipients("report relay --since", analysis.Filter{Verdict: analysis.RelayAbuse, Since: day}, false),
		clients("report relay by client", analysis.Filter{Verdict: analysis.RelayAbuse}),
		clients("report relay by client --since", analysis.Filter{Verdict: analysis.RelayAbuse, Since: day, Until: day.Add(time.Hour)}),
		clients("report attempts by client", analysis.Filter{Verdict: analysis.RelayAttemptRejected}),
		func() plannedQuery {
			q := recipients("report recipients --client", analysis.Filter{ClientIP: "192.0.2.1"}, false)
			q.use = "<expr>=? AND client_ip=?" // by the hour, then the client (hoursIn)
			return q
		}(),
		recipients("report recipients --since --until", analysis.Filter{Since: day, Until: day.Add(time.Hour)}, false),
		summary("summary verdicts", analysis.Filter{}),
		summary("summary verdicts --hops", analysis.Filter{IncludeHops: true}),
		summary("summary verdicts --since", analysis.Filter{Since: day, Until: day.Add(time.Hour)}),
		// All failed logins: a scan of their partial index, never of events.
		{name: "summary auth failures", query: `SELECT count(*) FROM events WHERE kind = 'auth_failed'`, all: true},
		{name: "summary relay clients", query: `SELECT count(DISTINCT client_ip) FROM recipients WHERE verdict = ?`, args: []any{string(analysis.RelayAbuse)}},
		{name: "report auth", query: authFailures, all: true, covering: true},

		// the correlator's look-ups while ingesting (schema/resolve.go)
		// By the partial index of the messages not yet removed (0018).
		{name: "resolve by queue id", query: messageByQueueID, args: []any{"4B49DBC34B", from}, use: "queue_id=?"},
		{name: "resolve by key", query: messageByKey, args: []any{"4B49DBC34B@1.mail"}},
		{name: "resolve recipients", query: recipientsOfMessage, args: []any{"4B49DBC34B@1.mail"}},
	}
	// investigate (schema/investigate.go)
	for _, q := range []struct{ name, query, use string }{
		// By the hour, then the value (migration 0019, hoursIn).
		{"recipients by queue id", recipientsByQueueID, "<expr>=? AND queue_id=?"},
		{"recipients by message-id", recipientsByMessageID, "<expr>=? AND message_id=?"},
		{"recipients by client", recipientsByClientIP, "<expr>=? AND client_ip=?"},
		{"recipients by auth user", recipientsByAuthUser, "auth_user=?"},
		{"recipients by sender", recipientsBySender, "<expr>=? AND sender=?"},
		{"recipients by recipient", recipientsByRecipient, "<expr>=? AND recipient=?"},
		{"recipients in range", recipientsInRange, "ts_ms>?"},
	} {
		qs = append(qs, plannedQuery{name: "investigate " + q.name, query: q.query, args: []any{"x", from, to}, use: q.use})
	}
	for _, q := range []struct{ name, query, use string }{
		// By the account or the client: partial indexes hold only the
		// events that name an account, or only the failed logins.
		{"logins by user", loginsByUser, "sasl_user=?"},
		{"auth failures by user", authFailuresByUser, "sasl_user=?"},
		{"auth failures by client", authFailuresByIP, "client_ip=?"},
	} {
		qs = append(qs, plannedQuery{name: "investigate " + q.name, query: q.query, args: []any{"x", from, to, maxInvestigateEvents}, use: q.use})
	}
	// the accounts pass (schema/account.go): by account, or by client.
	qs = append(qs,
		plannedQuery{name: "accounts all names", query: accountNamesAll, all: true},
		plannedQuery{name: "accounts names since", query: accountNames, args: []any{from}, use: "ts_ms>?"},
		plannedQuery{name: "accounts rows", query: accountRows, args: []any{"x"}, use: "auth_user=?", covering: true},
		plannedQuery{name: "accounts failures from address", query: failuresFromAddress, args: []any{"192.0.2.1", from, to}, use: "client_ip=?"},
		plannedQuery{name: "accounts failures of address", query: failuresOfAddress, args: []any{"192.0.2.1"}, use: "client_ip=?"},
		plannedQuery{name: "accounts failure lines", query: failureLinesFromAddress, args: []any{"192.0.2.1", from, to}, use: "client_ip=?"},
		plannedQuery{name: "accounts failing addresses", query: failingAddresses, args: []any{"CORP\\x", "x", from, to}, use: "sasl_user=?", covering: true},
		plannedQuery{name: "accounts abused of", query: abusedOf, args: []any{"x"}, use: "verdict=?"},
		plannedQuery{name: "accounts session recipients", query: sessionRecipients, args: []any{"x", from, to, "192.0.2.1"}},
		plannedQuery{name: "accounts set verdict", query: setVerdict, args: []any{"account_abuse", "r", "k"}, use: "key=?"})
	// A message's trail: the blocks holding its events.
	qs = append(qs, plannedQuery{name: "investigate event blocks by key", query: blocksByKey,
		args: []any{"qX", from, to, maxInvestigateBlocks}, use: "key=?"})
	// rejudge: a source's blocks in file order.
	qs = append(qs, plannedQuery{name: "rejudge blocks of a source", query: blocksOfSource, args: []any{1}, use: "source_id=?"})
	// report timeline: the server's events by their partial index, the
	// first and last recipient of a verdict; report traffic: a source's
	// blocks in a range.
	qs = append(qs,
		plannedQuery{name: "timeline server events", query: serverEvents, args: []any{"server", from, to, maxServerEvents}, use: "ts_ms>?"},
		plannedQuery{name: "timeline first of verdict", query: firstOfVerdict, args: []any{"relay_abuse", from, to}, use: "verdict=?"},
		plannedQuery{name: "timeline last of verdict", query: lastOfVerdict, args: []any{"relay_abuse", from, to}, use: "verdict=?"},
		plannedQuery{name: "traffic blocks of a source", query: blocksOfSourceInRange, args: []any{1, from, to}, use: "source_id=?"},
		plannedQuery{name: "traffic blocks counted", query: blocksOfSourceCounted, args: []any{1, from, to}, use: "source_id=?"})
	// tail's replay: the blocks of the last window, the earlier blocks of
	// the queue ids they name.
	qs = append(qs,
		plannedQuery{name: "tail replay newest", query: newestEvent},
		plannedQuery{name: "tail replay window", query: recentBlocks, args: []any{from}, use: "max_ts_ms>?"},
		plannedQuery{name: "tail replay earlier", query: earlierBlocks, args: []any{"qX", 1000, from}, use: "key=?"})
	return qs
}

// TestQueryPlans asks SQLite how it would run every query report,
// investigate and the correlator make, and fails on a full scan of a big
// table: each must be an indexed search, or, for a query about the whole
// table, a scan of an index.
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range plannedQueries() {
		rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.query, q.args...)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		big := bigNames(q.query)
		for _, step := range plan {
			m := scanStep.FindStringSubmatch(step)
			if m == nil || !big[m[1]] {
				continue
			}
			if q.all && strings.Contains(m[2], " USING ") {
				continue
			}
			t.Errorf("%s: full scan %q\n  query: %s\n  plan: %s", q.name, step, oneLine(q.query), strings.Join(plan, " | "))
		}
		if all := strings.Join(plan, " | "); q.covering && !strings.Contains(all, "COVERING INDEX") {
			t.Errorf("%s: the plan reads table rows: %s", q.name, all)
		}
		if all := strings.Join(plan, " | "); q.ordered && strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: the plan sorts the rows it read: %s", q.name, all)
		}
		if all := strings.Join(plan, " | "); q.use != "" && !strings.Contains(all, "("+q.use) {
			t.Errorf("%s: the plan does not search by %s first: %s", q.name, q.use, all)
		}
		t.Logf("%-36s %s", q.name, strings.Join(plan, " | "))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
