package schema

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/internal/loggen"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/postfix"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// monthLog parses and correlates a generated Postfix log of n lines
// starting at start into batches of about 1,000 events, as ingest would
// commit them.
func monthLog(t testing.TB, start time.Time, n int, seed uint64) []batch {
	t.Helper()
	var log, truth bytes.Buffer
	if _, err := loggen.Generate(&log, &truth, loggen.Options{Format: "postfix", Lines: n, Seed: seed, Start: start}); err != nil {
		t.Fatal(err)
	}
	cfg := loggen.Policy()
	policy := analysis.Policy{}
	if err := policy.AddDomains(cfg.LocalDomains...); err != nil {
		t.Fatal(err)
	}
	if err := policy.AddNetworks(cfg.TrustedNetworks...); err != nil {
		t.Fatal(err)
	}
	corr := analysis.NewCorrelator(policy)
	p := postfix.NewParser(postfix.Options{Year: start.Year(), Location: time.UTC})
	var (
		out      []batch
		cur      []parsers.Event
		lastLine = -1
	)
	emit := func(ev parsers.Event) error {
		if ev.Pos.Line != lastLine && len(cur) >= 1000 {
			rs, ms := corr.Flush()
			out = append(out, batch{events: cur, rs: rs, ms: ms, p: Progress{Offset: ev.Pos.Offset, Lines: int64(ev.Pos.Line - 1)}})
			cur = nil
		}
		lastLine = ev.Pos.Line
		cur = append(cur, ev)
		corr.Feed(ev)
		return nil
	}
	st, err := parsers.Scan(context.Background(), bytes.NewReader(log.Bytes()), "mail.log", parsers.Start{}, p, emit, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, ms := corr.Flush()
	return append(out, batch{events: cur, rs: rs, ms: ms, p: Progress{Offset: st.Bytes, Lines: st.Lines, Stats: st, Complete: true}})
}

// pgMonths are the three months of the lines the tests here store, a
// generated log each (seeds 1 to 3), one source each.
var pgMonths = []time.Time{
	time.Date(2026, 1, 10, 6, 0, 0, 0, time.UTC),
	time.Date(2026, 2, 10, 6, 0, 0, 0, time.UTC),
	time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC),
}

// storeMonths writes the logs of pgMonths into s.
func storeMonths(t *testing.T, s *Store) {
	t.Helper()
	for i, start := range pgMonths {
		writeLog(t, s, fmt.Sprintf("mail.log.%d", i), monthLog(t, start, 3000, uint64(i+1)))
	}
}

// writeLog commits batches into s as the source file.
func writeLog(t testing.TB, s *Store, file string, batches []batch) {
	t.Helper()
	src, err := s.Source(t.Context(), file, "fp-"+file, "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(src)
	for _, b := range batches {
		if err := w.Commit(t.Context(), b.events, b.rs, b.ms, b.p); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
}

// openPGAt opens the PostgreSQL database dsn with its schema brought to
// version (an older one than this program's, for a migration's test).
func openPGAt(t *testing.T, dsn string, version int) *Store {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{db: sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*cfg)}), path: pgDescribe(cfg), pg: true, followPrefix: "test:"}
	t.Cleanup(func() { s.Close() })
	files, err := pgMigrationFiles()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.pgMigrateTo(t.Context(), files, version); err != nil {
		t.Fatal(err)
	}
	return s
}

// storeAnswers is what the store answers about its lines and verdicts,
// as text to compare: the reports, a look-up of events by queue id and
// by Message-ID for some of each month, tail's replay and every stored
// event.
func storeAnswers(t *testing.T, s *Store) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	put := func(what string, v any) {
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", what, js)
	}
	sum, err := s.Summary(ctx, analysis.Filter{IncludeHops: true})
	if err != nil {
		t.Fatal(err)
	}
	put("summary", sum)
	clients, err := s.ByClient(ctx, analysis.Filter{Verdict: analysis.RelayAbuse})
	if err != nil {
		t.Fatal(err)
	}
	put("relay", clients)
	var qids, mids []string
	err = s.Recipients(ctx, analysis.Filter{IncludeHops: true}, func(r analysis.Recipient) error {
		put("recipient", r)
		if r.QueueID != "" {
			qids = append(qids, r.QueueID)
		}
		if r.MessageID != "" {
			mids = append(mids, r.MessageID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 60 of each, from the first month to the last.
	qids, mids = spread(qids, 60), spread(mids, 60)
	if len(qids) == 0 || len(mids) == 0 {
		t.Fatal("no recipient with a queue id and a Message-ID")
	}
	for _, q := range qids {
		evs, err := s.EventsBy(ctx, analysis.ByQueueID, q, analysis.TimeRange{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Errorf("no events of queue id %s", q)
		}
		put("events of "+q, evs)
	}
	for _, m := range mids {
		evs, err := s.EventsBy(ctx, analysis.ByMessageID, m, analysis.TimeRange{From: pgMonths[0]})
		if err != nil {
			t.Fatal(err)
		}
		put("events of "+m, evs)
	}
	err = s.RecentLines(ctx, time.Hour, 24*time.Hour, func(l StoredLine) error {
		put("replay", l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.EachEvent(ctx, analysis.TimeRange{}, func(parsers.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	put("events", n)
	rows, err := s.TableRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	put("rows", rows)
	return b.String()
}

// spread returns n of xs, evenly spaced from the first on.
func spread(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	out := make([]string, n)
	for i := range out {
		out[i] = xs[i*len(xs)/n]
	}
	return out
}

// pgPartitionNames lists the partitions of the partitioned tables.
func pgPartitionNames(t *testing.T, s *Store) []string {
	t.Helper()
	parts, err := pgPartitions(t.Context(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range parts {
		out = append(out, p.name)
	}
	slices.Sort(out)
	return out
}

// TestPGMigrate16To17: a database made by the version 16 schema, with
// three months of lines, is converted into monthly partitions keeping
// every row: the store answers as a database made at version 17 from the
// same data does, and as SQLite does; the ids go on; a new month's lines
// go in.
func TestPGMigrate16To17(t *testing.T) {
	ctx := t.Context()
	pg16, pg17 := pgtest.DB(t), pgtest.DB(t)
	lite := openEngine(t, filepath.Join(t.TempDir(), "rs.db"))
	storeMonths(t, lite)
	want := storeAnswers(t, lite)

	old := openPGAt(t, pg16, 16)
	if _, err := lite.CopyTo(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	var blocks16 int64
	var keys16 string
	if err := old.db.QueryRowContext(ctx, `SELECT count(*), string_agg(key || '/' || block_id, ',' ORDER BY key, block_id) FROM event_keys`).Scan(&blocks16, &keys16); err != nil {
		t.Fatal(err)
	}
	old.Close()

	migrated := openEngine(t, pg16) // brings it to the newest version
	files, _ := pgMigrationFiles()
	if v, err := pgVersion(ctx, migrated.db); err != nil || v != files[len(files)-1].version {
		t.Fatalf("version after migration = %d, %v", v, err)
	}
	if res, err := migrated.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("IntegrityCheck after migration = %q, %v", res, err)
	}
	var n int64
	var keys string
	if err := migrated.db.QueryRowContext(ctx, `SELECT count(*), string_agg(key || '/' || block_id, ',' ORDER BY key, block_id) FROM event_keys`).Scan(&n, &keys); err != nil {
		t.Fatal(err)
	}
	if n != blocks16 || keys != keys16 {
		t.Errorf("event keys after migration: %d, want the %d of version 16", n, blocks16)
	}
	wantParts := []string{"event_blocks_202601", "event_blocks_202602", "event_blocks_202603", "event_keys_202601", "event_keys_202602",
		"event_keys_202603", "events_202601", "events_202602", "events_202603"}
	if got := pgPartitionNames(t, migrated); !slices.Equal(got, wantParts) {
		t.Errorf("partitions after migration = %v, want %v", got, wantParts)
	}
	if got := storeAnswers(t, migrated); got != want {
		t.Errorf("the migrated database answers differently from SQLite:\n%s", firstLineDiff(got, want))
	}

	fresh := openEngine(t, pg17)
	if _, err := lite.CopyTo(ctx, fresh, nil); err != nil {
		t.Fatal(err)
	}
	if got := storeAnswers(t, fresh); got != want {
		t.Errorf("a database copied at version 17 answers differently from SQLite:\n%s", firstLineDiff(got, want))
	}
	if got := pgPartitionNames(t, fresh); !slices.Equal(got, wantParts) {
		t.Errorf("partitions of a copy = %v, want %v", got, wantParts)
	}

	// April's lines: a new month's partitions, and ids after the
	// migrated ones.
	var maxID int64
	if err := migrated.db.QueryRowContext(ctx, `SELECT max(id) FROM event_blocks`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	april := monthLog(t, time.Date(2026, 4, 2, 6, 0, 0, 0, time.UTC), 1500, 4)
	for _, s := range []*Store{lite, migrated} {
		writeLog(t, s, "mail.log.4", april)
	}
	var minNew int64
	if err := migrated.db.QueryRowContext(ctx, `SELECT min(id) FROM event_blocks WHERE max_ts_ms >= ?`, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).UnixMilli()).Scan(&minNew); err != nil {
		t.Fatal(err)
	}
	if minNew <= maxID {
		t.Errorf("April's first block has id %d, not after the migrated %d", minNew, maxID)
	}
	if got, want := storeAnswers(t, migrated), storeAnswers(t, lite); got != want {
		t.Errorf("after April's lines, the migrated database answers differently from SQLite:\n%s", firstLineDiff(got, want))
	}
}

// firstLineDiff shows the first line where got and want differ.
func firstLineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %.600s\nwant: %.600s", i+1, gl, wl)
		}
	}
	return "(same)"
}

// TestPGWritersRaceIntoNewMonth: four writers (four processes' stores)
// whose first lines are of months with no partition yet, at once, make
// each month's partitions once and store every line.
func TestPGWritersRaceIntoNewMonth(t *testing.T) {
	db := pgtest.DB(t)
	ctx := t.Context()
	// Each log starts a minute before June and runs into it.
	logs := make([][]batch, 4)
	for i := range logs {
		logs[i] = monthLog(t, time.Date(2026, 5, 31, 23, 59, 0, 0, time.UTC), 4000, uint64(10+i))
	}
	stores := make([]*Store, 4)
	for i := range stores {
		stores[i] = openEngine(t, db)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() {
			<-start
			src, err := stores[i].Source(ctx, fmt.Sprintf("mx%d/mail.log", i), fmt.Sprintf("fp-mx%d", i), "postfix", 0)
			if err != nil {
				errs[i] = err
				return
			}
			w := stores[i].NewWriter(src)
			for _, b := range logs[i] {
				if err := w.Commit(ctx, b.events, b.rs, b.ms, b.p); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	s := stores[0]
	got := pgPartitionNames(t, s)
	var months []string
	for _, p := range got {
		if strings.HasPrefix(p, "event_blocks_") {
			months = append(months, strings.TrimPrefix(p, "event_blocks_"))
		}
	}
	if !slices.Contains(months, "202605") || !slices.Contains(months, "202606") {
		t.Errorf("partitions = %v, want May's and June's", got)
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("IntegrityCheck = %q, %v", res, err)
	}
	var events int64
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM event_blocks`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, l := range logs {
		for _, b := range l {
			want += int64(len(b.events))
		}
	}
	if events != want {
		t.Errorf("stored %d events, want %d", events, want)
	}
	var june int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM event_blocks_202606`).Scan(&june); err != nil || june == 0 {
		t.Errorf("June's partition holds %d blocks, %v", june, err)
	}
}

// TestPGPruneDropsMonths: prune on PostgreSQL drops the months of stored
// lines that end before its cutoff and deletes the month holding it row
// by row, deleting what SQLite's prune deletes: the same counts, the same
// answers after. A writer that made January's partitions before another
// process's prune dropped them makes them again for January's lines.
func TestPGPruneDropsMonths(t *testing.T) {
	cutoff := time.Date(2026, 2, 10, 6, 1, 0, 0, time.UTC) // a minute into February's log
	late := monthLog(t, time.Date(2026, 1, 20, 6, 0, 0, 0, time.UTC), 1500, 7)
	var pruned [2]Pruned
	var answers [2]string
	for i, db := range []string{filepath.Join(t.TempDir(), "rs.db"), pgtest.DB(t)} {
		writer, pruner := openEngine(t, db), openEngine(t, db)
		storeMonths(t, writer)
		p, err := pruner.Prune(t.Context(), cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if p.Blocks == 0 || p.Recipients == 0 {
			t.Fatalf("prune deleted nothing: %+v", p)
		}
		p.BytesBefore, p.BytesAfter = 0, 0
		pruned[i] = p
		if writer.pg {
			want := []string{"event_blocks_202602", "event_blocks_202603", "event_keys_202602", "event_keys_202603", "events_202602", "events_202603"}
			if got := pgPartitionNames(t, writer); !slices.Equal(got, want) {
				t.Errorf("partitions after prune = %v, want %v", got, want)
			}
		}
		writeLog(t, writer, "mail.log.late", late)
		if res, err := writer.IntegrityCheck(t.Context()); err != nil || res != "ok" {
			t.Fatalf("IntegrityCheck = %q, %v", res, err)
		}
		answers[i] = storeAnswers(t, writer)
	}
	if pruned[0] != pruned[1] {
		t.Errorf("prune on PostgreSQL = %+v, on SQLite %+v", pruned[1], pruned[0])
	}
	if answers[0] != answers[1] {
		t.Errorf("after prune, PostgreSQL answers differently from SQLite:\n%s", firstLineDiff(answers[1], answers[0]))
	}
}

// TestPGCopyStagedKeys: migrate copies the keys a SQLite load staged and
// did not merge (it was killed) with the merged ones: investigate finds
// the same lines on both.
func TestPGCopyStagedKeys(t *testing.T) {
	ctx := t.Context()
	lite := openEngine(t, filepath.Join(t.TempDir(), "rs.db"))
	writeLog(t, lite, "mail.log.0", monthLog(t, pgMonths[0], 3000, 1))
	src, err := lite.Source(ctx, "mail.log.1", "fp-mail.log.1", "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	w := lite.NewWriter(src)
	w.StageKeys()
	for _, b := range monthLog(t, pgMonths[1], 3000, 2) {
		if err := w.Commit(ctx, b.events, b.rs, b.ms, b.p); err != nil {
			t.Fatal(err)
		}
	}
	var staged int
	if err := lite.db.QueryRowContext(ctx, `SELECT count(*) FROM event_keys_new`).Scan(&staged); err != nil || staged == 0 {
		t.Fatalf("%d staged keys, %v: the test stages none", staged, err)
	}
	want := storeAnswers(t, lite)
	pg := openEngine(t, pgtest.DB(t))
	if _, err := lite.CopyTo(ctx, pg, nil); err != nil {
		t.Fatal(err)
	}
	if got := storeAnswers(t, pg); got != want {
		t.Errorf("after copying staged keys, PostgreSQL answers differently:\n%s", firstLineDiff(got, want))
	}
}
