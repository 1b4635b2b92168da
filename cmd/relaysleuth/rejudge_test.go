package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// recipientsJSON runs `report recipients --hops --format json`.
func recipientsJSON(t *testing.T, db string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &out, nil); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	return out.Bytes()
}

// TestRejudge: logs ingested with a wrong policy, then rejudged with the
// right one, give exactly the recipients of a scan with the right policy —
// for every MTA's corpus.
func TestRejudge(t *testing.T) {
	for _, run := range []corpusRun{
		{dir: "../../testdata/postfix/dev", logs: []string{"postfix.log"}},
		{dir: "../../testdata/exim/dev", logs: []string{"mainlog", "rejectlog"}},
		{dir: "../../testdata/exchange/dev", logs: []string{"EXSRV2"}},
	} {
		t.Run(filepath.Base(filepath.Dir(run.dir)), func(t *testing.T) {
			var logs []string
			for _, l := range run.logs {
				logs = append(logs, filepath.Join(run.dir, l))
			}
			cfg := filepath.Join(run.dir, "config.json")
			common := []string{"--timezone", "UTC", "--progress", "never"}

			right := filepath.Join(t.TempDir(), "right.db")
			runCLI(t, append(append([]string{"scan", "--db", right, "--config", cfg}, common...), logs...), &bytes.Buffer{}, nil)
			want := recipientsJSON(t, right)

			// The mistake that makes open relays invisible: trusting every
			// client as if it were ours.
			wrong := filepath.Join(t.TempDir(), "wrong.db")
			runCLI(t, append(append([]string{"scan", "--db", wrong, "--config", cfg, "--trusted-networks", "0.0.0.0/0,::/0"}, common...), logs...), &bytes.Buffer{}, nil)
			if bytes.Equal(recipientsJSON(t, wrong), want) {
				t.Fatal("the wrong policy gave the same verdicts: the test proves nothing")
			}
			schemaBefore := schemaOf(t, wrong)
			var stderr bytes.Buffer
			if err := runCLI(t, []string{"rejudge", "--db", wrong, "--config", cfg}, &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("rejudge: %v\n%s", err, stderr.String())
			}
			// Its indexes and triggers, dropped while it writes, are back
			// as they were.
			if after := schemaOf(t, wrong); after != schemaBefore {
				t.Errorf("the schema after rejudge differs:\n%s", firstDiff(after, schemaBefore))
			}
			// It says what changed: relay abuse the wrong policy hid.
			if !regexp.MustCompile(`relay_abuse +0 -> [1-9]`).MatchString(stderr.String()) {
				t.Errorf("rejudge does not say the relay_abuse count changed:\n%s", stderr.String())
			}
			if got := recipientsJSON(t, wrong); !bytes.Equal(got, want) {
				t.Errorf("recipients after rejudge differ from a scan with the right policy:\n%s", firstDiff(string(got), string(want)))
			}
			countsMatch(t, wrong)
		})
	}
}

// schemaOf lists the tables, indexes and triggers of the SQLite database
// db with their definitions.
func schemaOf(t *testing.T, db string) string {
	t.Helper()
	rows, err := openDB(t, db).Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, def string
		if err := rows.Scan(&typ, &name, &def); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s\n", typ, name, def)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "index recipients_ts ") || !strings.Contains(b.String(), "trigger recipients_count_delete ") {
		t.Fatalf("%s: no recipients_ts index or delete trigger in:\n%s", db, b.String())
	}
	return b.String()
}
