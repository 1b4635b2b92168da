package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// The same commands against PostgreSQL (issue 18): each test scans into a
// fresh database on RELAYSLEUTH_TEST_PG (skipped without it) and compares
// with the same run into SQLite, whose own tests check it against labels.

// pgCorpora are the labelled corpora of every format.
var pgCorpora = []corpusRun{
	{dir: "../../testdata/postfix/dev", logs: []string{"postfix.log"}},
	{dir: "../../testdata/postfix/dev-alt", logs: []string{"mail.log"}},
	{dir: "../../testdata/postfix/verbose", logs: []string{"postfix.log"}},
	{dir: "../../testdata/exim/dev", logs: []string{"mainlog", "rejectlog"}},
	{dir: "../../testdata/exim/dev-alt", logs: []string{"mainlog", "rejectlog"}},
	{dir: "../../testdata/exchange/dev", logs: []string{"EXSRV2"}},
	{dir: "../../testdata/exchange/verbose", logs: []string{"EXVB1"}},
}

// scanArgs is `relaysleuth scan` of run into db.
func scanArgs(run corpusRun, db string, extra ...string) []string {
	args := []string{"scan", "--db", db, "--config", filepath.Join(run.dir, "config.json"), "--timezone", "UTC", "--progress", "never"}
	args = append(args, extra...)
	for _, l := range run.logs {
		args = append(args, filepath.Join(run.dir, l))
	}
	return args
}

// pgReports are the report kinds compared between engines, as JSON.
var pgReports = [][]string{
	{"summary"}, {"relay"}, {"attempts"}, {"auth"}, {"recipients"}, {"--hops", "recipients"},
	{"timeline"}, {"traffic"}, {"accounts"}, {"forensic"},
	{"--verdict", "relay_abuse", "recipients"}, {"--since", "2026-01-01", "--until", "2027-01-01", "summary"},
}

// reportJSON runs `relaysleuth report --format json args...` on db; the
// error is part of the output (report relay exits 3 when it lists abuse).
func reportJSON(t *testing.T, db string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runCLI(t, append([]string{"report", "--db", db, "--format", "json"}, args...), &stdout, &stderr)
	if err != nil && !errors.Is(err, errRelayFound) {
		t.Fatalf("report %v on %s: %v\n%s", args, schema.DisplayName(db), err, stderr.String())
	}
	out := stdout.String()
	if args[len(args)-1] == "forensic" {
		out = withoutFields(t, out, "generated", "database")
	}
	return out + "\nerr: " + errString(err)
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// withoutFields drops the top-level fields that name the run, not the data.
func withoutFields(t *testing.T, js string, fields ...string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, js)
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Fatalf("no field %q in %s", f, js)
		}
		delete(m, f)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// sameReports checks that every report reads the same from both databases.
func sameReports(t *testing.T, sqlite, pg string) {
	t.Helper()
	for _, args := range pgReports {
		want, got := reportJSON(t, sqlite, args...), reportJSON(t, pg, args...)
		if got != want {
			t.Errorf("report %v: PostgreSQL differs from SQLite:\n%s", args, firstDiff(indentJSON(got), indentJSON(want)))
		}
	}
}

// indentJSON puts each JSON value on its own line, for firstDiff.
func indentJSON(s string) string {
	body, tail, _ := strings.Cut(s, "\nerr: ")
	var b bytes.Buffer
	if json.Indent(&b, []byte(body), "", " ") != nil {
		return s
	}
	return b.String() + "\nerr: " + tail
}

// TestPGCorpora scans every labelled corpus into PostgreSQL, checks each
// recipient's verdict against the labels, compares every report with a
// scan into SQLite, then scans again: nothing is added or changed.
func TestPGCorpora(t *testing.T) {
	for _, run := range pgCorpora {
		t.Run(strings.TrimPrefix(run.dir, "../../testdata/"), func(t *testing.T) {
			pg := pgtest.DB(t)
			checkLabelsIn(t, run, pg)

			sqlite := filepath.Join(t.TempDir(), "rs.db")
			var stderr bytes.Buffer
			if err := runCLI(t, scanArgs(run, sqlite), &bytes.Buffer{}, &stderr); err != nil && !errors.Is(err, errRelayFound) {
				t.Fatalf("scan into SQLite: %v\n%s", err, stderr.String())
			}
			sameReports(t, sqlite, pg)

			before := pgState(t, pg)
			stderr.Reset()
			if err := runCLI(t, scanArgs(run, pg), &bytes.Buffer{}, &stderr); err != nil && !errors.Is(err, errRelayFound) {
				t.Fatalf("second scan: %v\n%s", err, stderr.String())
			}
			if after := pgState(t, pg); after != before {
				t.Errorf("a second scan of the same logs changed the database:\n%s", firstDiff(after, before))
			}
		})
	}
}

// pgState is what a database holds: its row counts and every recipient,
// after checking the invariants the store keeps (IntegrityCheck).
func pgState(t *testing.T, db string) string {
	t.Helper()
	rows := checkedRows(t, db)
	js, _ := json.Marshal(rows)
	return string(js) + "\n" + indentJSON(reportJSON(t, db, "--hops", "recipients"))
}

// TestPGInvestigate follows every complaint of testdata/investigate, and
// each kind of key, in both engines: the same investigation.
func TestPGInvestigate(t *testing.T) {
	run := pgCorpora[0]
	pg, sqlite := pgtest.DB(t), filepath.Join(t.TempDir(), "rs.db")
	for _, db := range []string{pg, sqlite} {
		var stderr bytes.Buffer
		if err := runCLI(t, scanArgs(run, db), &bytes.Buffer{}, &stderr); !errors.Is(err, errRelayFound) {
			t.Fatalf("scan: %v\n%s", err, stderr.String())
		}
	}
	cases := [][]string{
		{"--client-ip", "127.57.158.214"},
		{"--client-ip", "127.249.101.59"},
		{"--sender", "ALICE@corp.example"},
		{"--recipient", "MMueller@victim.example"},
		{"--account", "dave"},
		{"--since", "2026-11-27T19:28:00Z", "--until", "2026-11-27T19:29:00Z", "--client-ip", "127.198.128.166"},
	}
	files, err := filepath.Glob(filepath.Join(complaintsDir, "*.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no complaints in %s: %v", complaintsDir, err)
	}
	for _, f := range files {
		cases = append(cases, []string{f})
	}
	for _, args := range cases {
		want, werr := investigate(t, sqlite, append([]string{"--format", "json"}, args...)...)
		got, gerr := investigate(t, pg, append([]string{"--format", "json"}, args...)...)
		if got != want || errString(gerr) != errString(werr) {
			t.Errorf("investigate %v: PostgreSQL (err %v) differs from SQLite (err %v):\n%s", args, gerr, werr, firstDiff(got, want))
		}
	}
}

// TestPGRejudge: a PostgreSQL database scanned with the wrong policy and
// rejudged with the right one holds what a scan with the right one does.
func TestPGRejudge(t *testing.T) {
	for _, run := range []corpusRun{pgCorpora[0], pgCorpora[3]} {
		t.Run(strings.TrimPrefix(run.dir, "../../testdata/"), func(t *testing.T) {
			right := filepath.Join(t.TempDir(), "right.db")
			runCLI(t, scanArgs(run, right), &bytes.Buffer{}, nil)
			want := reportJSON(t, right, "--hops", "recipients")

			wrong := pgtest.DB(t)
			runCLI(t, scanArgs(run, wrong, "--trusted-networks", "0.0.0.0/0,::/0"), &bytes.Buffer{}, nil)
			if reportJSON(t, wrong, "--hops", "recipients") == want {
				t.Fatal("the wrong policy gave the same verdicts: the test proves nothing")
			}
			var stderr bytes.Buffer
			if err := runCLI(t, []string{"rejudge", "--db", wrong, "--config", filepath.Join(run.dir, "config.json")}, &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("rejudge: %v\n%s", err, stderr.String())
			}
			if got := reportJSON(t, wrong, "--hops", "recipients"); got != want {
				t.Errorf("recipients after rejudge differ from a scan with the right policy:\n%s", firstDiff(indentJSON(got), indentJSON(want)))
			}
			pgState(t, wrong) // the counts follow the new verdicts
		})
	}
}

// TestPGPasswordNeverShown: a password in --db appears in no output.
func TestPGPasswordNeverShown(t *testing.T) {
	dsn := pgtest.DB(t)
	bad := dsn + " password=s3cret-pw port=1"
	if strings.HasPrefix(dsn, "postgres") {
		bad = strings.Replace(dsn, "://", "://nobody:s3cret-pw@", 1)
	}
	for _, args := range [][]string{
		{"report", "--db", bad, "summary"},
		{"ingest", "--db", bad, "--progress", "never", "--config", "../../testdata/postfix/dev/config.json", "../../testdata/postfix/dev/postfix.log"},
		{"rejudge", "--db", bad, "--config", "../../testdata/postfix/dev/config.json"},
	} {
		var stdout, stderr bytes.Buffer
		err := runCLI(t, args, &stdout, &stderr)
		if err == nil {
			t.Errorf("%v: no error", args[0])
			continue
		}
		if all := stdout.String() + stderr.String() + err.Error(); strings.Contains(all, "s3cret-pw") {
			t.Errorf("%v shows the password:\n%s", args[0], all)
		}
	}
}

// TestPGHostileInput scans the attacker's log of TestHostileInput into
// PostgreSQL: into a SQL_ASCII database every report reads as from SQLite;
// into a UTF8 one the scan works too, the bytes that are not UTF-8 read
// as U+FFFD.
func TestPGHostileInput(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "mail.log")
	if err := os.WriteFile(log, hostileLog(), 0o644); err != nil {
		t.Fatal(err)
	}
	scan := func(db string) {
		t.Helper()
		var stderr bytes.Buffer
		err := runCLI(t, []string{"scan", "--db", db, "--local-domains", "corp.example", "--timezone", "UTC",
			"--progress", "never", "--year", "2026", log}, &bytes.Buffer{}, &stderr)
		if !errors.Is(err, errRelayFound) {
			t.Fatalf("scan into %s: err = %v, want relay abuse found\n%s", schema.DisplayName(db), err, stderr.String())
		}
	}
	sqlite, ascii, utf := filepath.Join(dir, "rs.db"), pgtest.DB(t), pgtest.DBUTF8(t)
	for _, db := range []string{sqlite, ascii, utf} {
		scan(db)
	}
	sameReports(t, sqlite, ascii)

	// encoding/json writes each byte that is not UTF-8 as \ufffd, which
	// the UTF8 database stores instead: decoded, the same.
	want := reportJSON(t, sqlite, "--hops", "recipients")
	var w, g []map[string]any
	for _, x := range []struct {
		js  string
		dst *[]map[string]any
	}{{want, &w}, {reportJSON(t, utf, "--hops", "recipients"), &g}} {
		body, _, _ := strings.Cut(x.js, "\nerr: ")
		if err := json.Unmarshal([]byte(body), x.dst); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("recipients in a UTF8 database:\n%v\nwant (SQLite's, not UTF-8 as U+FFFD):\n%v", g, w)
	}
}

// TestPGPrune is TestPrune's pruned database against PostgreSQL: prune
// deletes the same, and the reports after it read as SQLite's.
func TestPGPrune(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.log")
	writeFile(t, clean, []byte(cleanLog))
	args := append([]string{"--year", "2026"}, sampleArgs...)
	sqlite, pg := filepath.Join(dir, "rs.db"), pgtest.DB(t)
	var said []string
	for _, db := range []string{sqlite, pg} {
		var stderr bytes.Buffer
		if err := runCLI(t, append(append([]string{"ingest", "--db", db}, args...), sampleLog, clean), &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("ingest: %v\n%s", err, stderr.String())
		}
		var out bytes.Buffer
		if err := runCLI(t, []string{"prune", "--db", db, "--before", "2026-11-30"}, &out, &stderr); err != nil {
			t.Fatalf("prune: %v\n%s", err, stderr.String())
		}
		said = append(said, strings.SplitN(out.String(), "; database", 2)[0])
	}
	if said[0] != said[1] || !strings.Contains(said[1], "168 recipients, 87 messages, 1 blocks") {
		t.Errorf("prune says on PostgreSQL %q, on SQLite %q", said[1], said[0])
	}
	sameReports(t, sqlite, pg)
	pgState(t, pg) // the counts follow the deleted recipients
}
