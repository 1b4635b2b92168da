package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

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
	s, err := schema.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if res, err := s.IntegrityCheck(t.Context()); err != nil || res != "ok" {
		t.Fatalf("integrity check: %q %v", res, err)
	}
	rows, err := s.TableRows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rows)
	var b strings.Builder
	b.WriteString(string(js) + "\n")
	for _, args := range [][]string{{"--hops", "recipients"}, {"relay"}, {"auth"}, {"accounts"}} {
		b.WriteString(indentJSON(reportJSON(t, db, args...)) + "\n")
	}
	// The summary lists the files in the order they were first met:
	// writers at once meet them in any order.
	var sum map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSuffix(reportJSON(t, db, "summary"), "\nerr: none")), &sum); err != nil {
		t.Fatal(err)
	}
	files, _ := sum["files"].([]any)
	if len(files) == 0 {
		t.Fatalf("summary lists no files")
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
