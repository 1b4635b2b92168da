package schema

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// pgSeqScan is a plan step that reads a whole table; pgIndexScan one that
// reads an index of a table.
var (
	pgSeqScan   = regexp.MustCompile(`Seq Scan on (\w+)`)
	pgIndexScan = regexp.MustCompile(`Index (?:Only )?Scan (?:Backward )?(?:using |on )(\w+)(?: on (\w+))?`)
	pgIndexDef  = regexp.MustCompile(`USING btree \((lower\(\w+\)|\w+)`)
	// pgMonthPart is a month's partition of a partitioned table
	// (pgpart.go): the parent's name and the month.
	pgMonthPart = regexp.MustCompile(`^(event_blocks|event_keys|events)_(\d{6})$`)
	pgPartName  = regexp.MustCompile(`\b(?:event_blocks|event_keys|events)_\d{6}\b`)
)

// pgParent is the table a partition belongs to, or name itself.
func pgParent(name string) string {
	if m := pgMonthPart.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return name
}

// pgPruned are the queries that bound the month of a partitioned table
// they read: their plans must read fewer of its partitions than it has
// (the planner leaves the others out). The rest read every month's
// partition they may need, each by an index.
var pgPruned = map[string]bool{
	"investigate logins by user":          true,
	"investigate auth failures by user":   true,
	"investigate auth failures by client": true,
	"accounts failures from address":      true,
	"accounts failure lines":              true,
	"accounts failing addresses":          true,
	"investigate event blocks by key":     true,
	"timeline server events":              true,
	"traffic blocks of a source":          true,
	"tail replay window":                  true,
	"tail replay earlier":                 true,
}

// pgNodes splits an EXPLAIN's lines into its nodes: each the node's line,
// then its details (Index Cond, Filter, ...).
func pgNodes(plan []string) [][]string {
	var nodes [][]string
	for i, l := range plan {
		if i == 0 || strings.HasPrefix(l, "->") {
			nodes = append(nodes, []string{strings.TrimSpace(strings.TrimPrefix(l, "->"))})
			continue
		}
		nodes[len(nodes)-1] = append(nodes[len(nodes)-1], l)
	}
	return nodes
}

// TestPGQueryPlans is TestQueryPlans on PostgreSQL: with sequential scans
// made as dear as the planner allows (enable_seqscan off), a plan that
// still reads a big table whole, or one of its indexes from end to end,
// has no index to search. Which of a query's indexes PostgreSQL picks on
// empty tables says little, so unlike SQLite's test this one does not
// name it. The stored lines span six months, each a partition
// (pgpart.go): a partition is read by an index too, and a query bounded
// in time reads only the months it needs (pgPruned).
func TestPGQueryPlans(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	c, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Rows shaped like a mail log's, so that the planner's estimates are
	// not those of empty tables: many recipients, few authenticated, a
	// failed login now and then.
	for _, q := range pgPlanRows {
		if _, err := c.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	if _, err := c.ExecContext(t.Context(), `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	// The first column of each index, by name.
	leading := map[string]string{}
	defs, err := c.QueryContext(t.Context(), `SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{}
	for defs.Next() {
		var name, tab, def string
		if err := defs.Scan(&name, &tab, &def); err != nil {
			t.Fatal(err)
		}
		if m := pgIndexDef.FindStringSubmatch(def); m != nil {
			leading[name], table[name] = m[1], pgParent(tab)
		}
	}
	defs.Close()
	parts := map[string]int{}
	for _, tab := range pgPartitioned {
		var n int
		if err := c.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_inherits WHERE inhparent = ?::regclass`, tab).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 6 {
			t.Fatalf("%s has %d partitions, want the six months of pgPlanRows", tab, n)
		}
		parts[tab] = n
	}
	for _, q := range append(plannedQueries(), pgPlannedQueries()...) {
		text := pgRewrite(q.query).sql
		rows, err := c.QueryContext(t.Context(), "EXPLAIN "+text, q.args...)
		if err != nil {
			t.Errorf("%s: %v\n  query: %s", q.name, err, oneLine(text))
			continue
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		all := strings.Join(plan, " | ")
		big := bigNames(q.query)
		for name := range bigNames(text) { // the tables PostgreSQL's text reads besides
			big[name] = true
		}
		read := map[string]map[string]bool{} // partitions read, by parent
		for _, name := range pgPartName.FindAllString(all, -1) {
			tab := pgParent(name)
			if read[tab] == nil {
				read[tab] = map[string]bool{}
			}
			read[tab][name] = true
		}
		var readOf []string
		for _, tab := range pgPartitioned {
			if read[tab] != nil {
				readOf = append(readOf, fmt.Sprintf("%s %d/%d", tab, len(read[tab]), parts[tab]))
				if pgPruned[q.name] && len(read[tab]) >= parts[tab] {
					t.Errorf("%s: reads every partition of %s, want only the months it asks for\n  query: %s\n  plan: %s", q.name, tab, oneLine(text), all)
				}
			}
		}
		if pgPruned[q.name] && len(readOf) == 0 {
			t.Errorf("%s: reads no partition\n  plan: %s", q.name, all)
		}
		for _, m := range pgSeqScan.FindAllStringSubmatch(all, -1) {
			if big[pgParent(m[1])] {
				t.Errorf("%s: full scan of %s\n  query: %s\n  plan: %s", q.name, m[1], oneLine(text), all)
			}
		}
		// An index read from end to end is a full scan too, unless the
		// answer is the whole table: every index search of a big table
		// must bound the index's first column.
		for _, n := range pgNodes(plan) {
			m := pgIndexScan.FindStringSubmatch(n[0])
			if m == nil || q.all {
				continue
			}
			if tab := pgParent(cmp.Or(m[2], table[m[1]])); !big[tab] {
				continue
			}
			lead := leading[m[1]]
			if lead == "" {
				t.Fatalf("%s: no index %s", q.name, m[1])
			}
			if !slices.ContainsFunc(n[1:], func(l string) bool {
				return strings.HasPrefix(l, "Index Cond:") && strings.Contains(l, "("+lead+" ")
			}) {
				t.Errorf("%s: %s does not search by the index's first column (%s)\n  query: %s\n  plan: %s", q.name, n[0], lead, oneLine(text), all)
			}
		}
		t.Logf("%-36s [partitions read: %s] %s", q.name, strings.Join(readOf, ", "), all)
	}
}

// TestPGKeyInsertProbesOnce: the insert of a block's event keys finds
// the block once per statement, not once per key, by its id in the
// primary key of each month from the keys' on; the months before are
// pruned (which EXPLAIN without ANALYZE cannot show).
func TestPGKeyInsertProbesOnce(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	ctx := t.Context()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range pgPlanRows {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var id, minTs int64
	if err := tx.QueryRowContext(ctx, `SELECT id, min_ts_ms FROM event_blocks WHERE max_ts_ms >= ? ORDER BY id LIMIT 1`,
		time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixMilli()).Scan(&id, &minTs); err != nil {
		t.Fatal(err)
	}
	text := pgRewrite(valuesSQL(keyInsert, keyCols, rowsPerInsert, "")).sql
	var args []any
	for i := range rowsPerInsert {
		args = append(args, fmt.Sprintf("qplan%d", i), id, minTs, minTs)
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "+text, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, strings.TrimSpace(l))
	}
	rows.Close()
	all := strings.Join(plan, "\n")
	probes := regexp.MustCompile(`Index (?:Only )?Scan using event_blocks_(\d{6})_pkey on \S+ \w+ \(actual rows=\d+ loops=(\d+)\)`)
	months := map[string]bool{}
	for _, m := range probes.FindAllStringSubmatch(all, -1) {
		if m[2] != "1" {
			t.Errorf("month %s probed %s times for %d keys of one block, want once:\n%s", m[1], m[2], rowsPerInsert, all)
		}
		months[m[1]] = true
	}
	if !months["202603"] || months["202512"] || months["202601"] || months["202602"] {
		t.Errorf("months probed %v, want March's and none before:\n%s", months, all)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM event_keys WHERE key LIKE 'qplan%' AND block_max_ts_ms = (SELECT max_ts_ms FROM event_blocks WHERE id = ?)`, id).Scan(&n); err != nil || n != rowsPerInsert {
		t.Errorf("%d keys stored with their block's month, %v; want %d", n, err, rowsPerInsert)
	}
	t.Logf("%s", all)
}

// pgPlannedQueries are the statements written for PostgreSQL alone whose
// plans TestPGQueryPlans checks besides: the insert of a batch's event
// keys, each finding its block's month by the block's id (its months are
// pruned at run time: TestPGKeyInsertProbesOnce).
func pgPlannedQueries() []plannedQuery {
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixMilli()
	return []plannedQuery{
		{name: "store event keys", query: valuesSQL(keyInsert, keyCols, 1, ""), args: []any{"qX", 1000, from, from}},
	}
}

// pgPlanRows fill the tables for TestPGQueryPlans: the stored lines from
// December 2025 to May 2026, six monthly partitions of each table
// (plannedQueries asks about 2 March 2026).
var pgPlanRows = []string{
	`SELECT relaysleuth_partition(t, 1764547200000 + m * 2678400000) FROM unnest(ARRAY['events', 'event_blocks', 'event_keys']) t,
 generate_series(0, 5) m`,
	`INSERT INTO sources (path, fingerprint, ingested_ms) SELECT 'mail.log.' || i, 'fp' || i, 0 FROM generate_series(1, 20) i`,
	`INSERT INTO recipients (key, message_key, ts_ms, mta, host, queue_id, message_id, client_ip, client_name, helo,
 authenticated, auth_user, sender, recipient, status, deliveries, verdict, reason, hop, origin_queue_id, evidence)
 SELECT 'k' || i, 'm' || (i / 3), 1772409600000 + i * 1000, 'postfix', 'mx' || (i % 4), 'Q' || (i / 3), '<' || (i / 3) || '@x>',
  '198.51.' || (i % 200) || '.' || (i % 250), 'c' || i, 'h', (i % 20 = 0)::int, CASE WHEN i % 20 = 0 THEN 'user' || (i % 50) ELSE '' END,
  's' || (i % 1000) || '@example.net', 'r' || i || '@example.org', 'sent', '[]',
  (ARRAY['inbound', 'relay_abuse', 'relay_attempt_rejected', 'authenticated_outbound', 'local'])[1 + i % 5], '', 1 + i % 2, '', '[]'
 FROM generate_series(1, 50000) i`,
	`INSERT INTO messages (key, format, host, queue_id, message_id, ts_ms, client_ip, client_name, helo, auth_user, auth_method,
 origin, sender, parent_key, via, removed, rejected, evidence)
 SELECT 'm' || i, 'postfix', 'mx1', 'Q' || i, '', 1772409600000 + i * 3000, '', '', '', '', '', '', '', '', '', 0, '', '[]'
 FROM generate_series(1, 17000) i`,
	// A failed login, a submission or a server event every 12 minutes.
	`INSERT INTO events (source_id, line, byte_offset, seq, ts_ms, format, host, daemon, kind, queue_id, next_queue_id, prev_queue_id,
 message_id, client_ip, client_name, sasl_method, sasl_user, raw, detail)
 SELECT 1 + i % 20, i, i * 100, 0, 1764547200000 + i * 720000::bigint, 'postfix', 'mx1', 'smtpd',
  (ARRAY['auth_failed', 'client', 'server'])[1 + i % 3], '', '', '', '', '203.0.113.' || (i % 250), '', 'LOGIN',
  CASE WHEN i % 3 = 2 THEN '' ELSE 'user' || (i % 500) END, 'line', ''::bytea
 FROM generate_series(1, 20000) i`,
	// A block every two hours, each with 20 keys.
	`INSERT INTO event_blocks (source_id, first_offset, min_ts_ms, max_ts_ms, n, data)
 SELECT 1 + i % 20, i * 100000, 1764547200000 + i * 7200000::bigint, 1764547200000 + i * 7200000::bigint + 7199999, 2048, ''::bytea
 FROM generate_series(1, 2000) i`,
	`INSERT INTO event_keys (key, block_id, min_ts_ms, max_ts_ms, block_max_ts_ms)
 SELECT 'q' || (b.id * 20 + j), b.id, b.min_ts_ms, b.max_ts_ms, b.max_ts_ms FROM event_blocks b, generate_series(1, 20) j`,
	`ANALYZE`,
}
