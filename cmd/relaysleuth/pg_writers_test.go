package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// ingestArgs is `relaysleuth ingest` of run into db.
func ingestArgs(run corpusRun, db string) []string {
	args := []string{"ingest", "--db", db, "--config", filepath.Join(run.dir, "config.json"), "--timezone", "UTC", "--progress", "never"}
	for _, l := range run.logs {
		args = append(args, filepath.Join(run.dir, l))
	}
	return args
}

// TestPGManyWriters runs ingest processes at the same time into one
// PostgreSQL database, as the hosts of a fleet do: a Postfix host, an Exim
// host, and the Postfix host's logs a second time (a run retried while
// the first still goes). The database then holds what the two corpora
// read one after the other into SQLite hold, row for row and verdict for
// verdict, and each host's recipients are those of its corpus scanned
// alone, which the label tests check.
func TestPGManyWriters(t *testing.T) {
	pgtest.DB(t) // skips now when there is no server
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	postfix, exim := pgCorpora[0], pgCorpora[3]

	sqlite := filepath.Join(t.TempDir(), "rs.db")
	for _, run := range []corpusRun{postfix, exim} {
		var stderr bytes.Buffer
		if err := runCLI(t, ingestArgs(run, sqlite), &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("ingest into SQLite: %v\n%s", err, stderr.String())
		}
	}
	want := pgDump(t, sqlite)
	alone := map[string]string{}
	for mta, run := range map[string]corpusRun{"postfix": postfix, "exim": exim} {
		db := filepath.Join(t.TempDir(), mta+".db")
		runCLI(t, scanArgs(run, db), &bytes.Buffer{}, nil)
		alone[mta] = recipientsOf(t, db, mta)
	}

	for round := range 3 {
		pg := pgtest.DB(t)
		var wg sync.WaitGroup
		outs := make([]string, 3)
		for i, run := range []corpusRun{postfix, exim, postfix} {
			wg.Go(func() {
				out, err := exec.Command(bin, ingestArgs(run, pg)...).CombinedOutput()
				if err != nil {
					outs[i] = fmt.Sprintf("ingest %s: %v\n%s", run.dir, err, out)
				}
			})
		}
		wg.Wait()
		for _, o := range outs {
			if o != "" {
				t.Fatalf("round %d: %s", round, o)
			}
		}
		if got := pgDump(t, pg); got != want {
			t.Errorf("round %d: three writers at once differ from one after the other into SQLite:\n%s", round, firstDiff(got, want))
		}
		for mta, w := range alone {
			if got := recipientsOf(t, pg, mta); got != w {
				t.Errorf("round %d: %s recipients differ from its corpus scanned alone:\n%s", round, mta, firstDiff(got, w))
			}
		}
	}
}

// pgDump is what must be equal between engines and runs: row counts
// (source rows, events, recipients, messages) and the reports.
func pgDump(t *testing.T, db string) string {
	t.Helper()
	rows := checkedRows(t, db)
	js, _ := json.Marshal(rows)
	var b strings.Builder
	b.WriteString(string(js) + "\n")
	for _, args := range [][]string{{"--hops", "recipients"}, {"relay"}, {"auth"}, {"accounts"}} {
		b.WriteString(indentJSON(reportJSON(t, db, args...)) + "\n")
	}
	// The summary lists the files in the order they were first met:
	// writers at once meet them in any order. A followed file is never
	// complete: only ingest says a file was read to its end.
	var sum map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSuffix(reportJSON(t, db, "summary"), "\nerr: none")), &sum); err != nil {
		t.Fatal(err)
	}
	files, _ := sum["files"].([]any)
	if len(files) == 0 {
		t.Fatalf("summary lists no files")
	}
	for _, f := range files {
		delete(f.(map[string]any), "complete")
	}
	sort.Slice(files, func(i, j int) bool { return fmt.Sprint(files[i]) < fmt.Sprint(files[j]) })
	js, _ = json.MarshalIndent(sum, "", " ")
	b.Write(js)
	return b.String()
}

// recipientsOf is the recipients of one MTA in db, as JSON lines.
func recipientsOf(t *testing.T, db, mta string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &stdout, &stderr); err != nil && !errors.Is(err, errRelayFound) {
		t.Fatalf("report recipients: %v\n%s", err, stderr.String())
	}
	var rs []analysis.Recipient
	if err := json.Unmarshal(stdout.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	for _, r := range rs {
		if r.MTA == mta {
			js, _ := json.Marshal(r)
			b.Write(append(js, '\n'))
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no %s recipients in %s", mta, schema.DisplayName(db))
	}
	return b.String()
}

// TestPGTailsAndIngests runs what a fleet runs, at once, into one
// PostgreSQL database: two tail processes (a Postfix host whose log grows
// while it is followed, an Exim host's mainlog and rejectlog) and two
// ingest processes (another Postfix and another Exim host). The database
// then holds what the four logs read one after the other into SQLite
// hold, and each relay_abuse recipient the tails met was alerted about
// once.
func TestPGTailsAndIngests(t *testing.T) {
	pg := pgtest.DB(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	// The followed logs: copies of the dev-alt corpora, the Postfix one
	// written while it is followed.
	plog := filepath.Join(dir, "postfix", "mail.log")
	emain, erej := filepath.Join(dir, "exim", "mainlog"), filepath.Join(dir, "exim", "rejectlog")
	for _, d := range []string{filepath.Dir(plog), filepath.Dir(emain)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for dst, src := range map[string]string{emain: "../../testdata/exim/dev-alt/mainlog", erej: "../../testdata/exim/dev-alt/rejectlog"} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("../../testdata/postfix/dev-alt/mail.log")
	if err != nil {
		t.Fatal(err)
	}
	var plines []string
	for l := range strings.Lines(string(data)) {
		plines = append(plines, l)
	}
	appendLines(t, plog, plines[:50])

	tailP := startTail(t, "--db", pg, "--from-start", "--quiet", "0", "--format", "json", plog)
	tailE := startTail(t, "--db", pg, "--from-start", "--quiet", "0", "--format", "json", emain, erej)
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i, run := range []corpusRun{pgCorpora[0], pgCorpora[3]} {
		wg.Go(func() {
			out, err := exec.Command(bin, ingestArgs(run, pg)...).CombinedOutput()
			if err != nil {
				outs[i] = fmt.Sprintf("ingest %s: %v\n%s", run.dir, err, out)
			}
		})
	}
	for i := 50; i < len(plines); i += 40 {
		appendLines(t, plog, plines[i:min(i+40, len(plines))])
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	for _, o := range outs {
		if o != "" {
			t.Fatal(o)
		}
	}

	sqlite := filepath.Join(t.TempDir(), "rs.db")
	for _, args := range [][]string{
		ingestArgs(pgCorpora[0], sqlite), ingestArgs(pgCorpora[3], sqlite),
		{"ingest", "--db", sqlite, "--config", devConfig, "--timezone", "UTC", "--year", "2026", "--progress", "never", plog, emain, erej},
	} {
		var stderr bytes.Buffer
		if err := runCLI(t, args, &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("ingest into SQLite: %v\n%s", err, stderr.String())
		}
	}
	want := pgDump(t, sqlite)
	events := func(db string) int64 {
		s, err := schema.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		n, err := s.TableRows(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n["events"]
	}
	all := events(sqlite)
	waitFor(t, "the tails to store every line", func() bool { return events(pg) >= all })
	// A tail judges accounts every 30 seconds and when it stops: stop
	// both, then the database is final.
	tailP.stop(t)
	tailE.stop(t)
	if got := pgDump(t, pg); got != want {
		t.Errorf("two tails and two ingests at once differ from the four logs read one after the other into SQLite:\n%s", firstDiff(got, want))
	}

	alerts := map[string]int{}
	for line := range strings.Lines(tailP.stdout.String() + tailE.stdout.String()) {
		var a analysis.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		if a.Kind == analysis.AlertRelayAbuse && !a.Summary {
			alerts[a.Recipient.QueueID+" "+a.Recipient.Recipient]++
		}
	}
	var rs []analysis.Recipient
	if err := json.Unmarshal([]byte(strings.TrimSuffix(reportJSON(t, pg, "--verdict", "relay_abuse", "recipients"), "\nerr: none")), &rs); err != nil {
		t.Fatal(err)
	}
	followed := 0
	for _, r := range rs {
		if len(r.Evidence) == 0 || !strings.HasPrefix(r.Evidence[0], dir) {
			continue // from an ingest: no alert
		}
		followed++
		if n := alerts[r.QueueID+" "+r.Recipient]; n != 1 {
			t.Errorf("relay_abuse %s %s: alerted %d times, want once", r.QueueID, r.Recipient, n)
		}
	}
	if followed == 0 || len(alerts) != followed {
		t.Errorf("%d alerts about %d relay_abuse recipients of the followed logs", len(alerts), followed)
	}
}
