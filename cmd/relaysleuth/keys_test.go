package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestOldMessageKeysContinue: a database written by a version that keyed
// messages "QID@TS.host" (before keys began with their time) is read on by
// this one. The first half of a log is ingested and its keys turned into
// the old shape, as the older version stored them; then the log grows and
// is ingested again. Every recipient must have the verdict and status a
// single run over the whole log gives, and no message or recipient may be
// stored twice (once under each shape of key).
func TestOldMessageKeysContinue(t *testing.T) {
	dir := "../../testdata/postfix/dev"
	cfg := filepath.Join(dir, "config.json")
	whole, err := os.ReadFile(filepath.Join(dir, "postfix.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(whole, []byte("\n"))
	// Cut the log just before a delivery, so that its message was begun
	// (and stored under an old key) in the first half.
	cut := len(lines) / 2
	for cut < len(lines) && !bytes.Contains(lines[cut], []byte("status=sent")) {
		cut++
	}
	half := bytes.Join(lines[:cut], nil)

	tmp := t.TempDir()
	log := filepath.Join(tmp, "mail.log")
	db := filepath.Join(tmp, "old.db")
	ingest := func(db string) {
		t.Helper()
		var stderr bytes.Buffer
		args := []string{"ingest", "--db", db, "--config", cfg, "--timezone", "UTC", "--progress", "never", log}
		if err := runCLI(t, args, &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("ingest: %v\n%s", err, stderr.String())
		}
	}
	if err := os.WriteFile(log, half, 0o600); err != nil {
		t.Fatal(err)
	}
	ingest(db)
	if n := oldKeys(t, db); n == 0 {
		t.Fatal("no message key was turned into the old shape: the test tests nothing")
	}
	if err := os.WriteFile(log, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	ingest(db)

	fresh := filepath.Join(tmp, "fresh.db")
	ingest(fresh)

	got, want := recipientRows(t, db), recipientRows(t, fresh)
	if !slices.Equal(got, want) {
		t.Errorf("recipients after the old keys (%d) differ from one run over the whole log (%d):\n%s",
			len(got), len(want), firstDiff(strings.Join(got, "\n"), strings.Join(want, "\n")))
	}
	for _, table := range []string{"messages", "recipients"} {
		q := `SELECT count(*) FROM ` + table // table is one of the test's constants
		if g, w := countRows(t, openDB(t, db), q), countRows(t, openDB(t, fresh), q); g != w {
			t.Errorf("%s: %d rows, one run over the whole log stores %d", table, g, w)
		}
	}
}

// oldKeys rewrites every Postfix message key "TS.QID@host" in db (and the
// recipients' keys and references built on it) into the shape older
// versions stored, "QID@TS.host", and returns how many messages it changed.
func oldKeys(t *testing.T, db string) int {
	t.Helper()
	conn := openDB(t, db)
	rows, err := conn.Query(`SELECT key FROM messages WHERE format = 'postfix'`)
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		ts, rest, ok1 := strings.Cut(k, ".")
		qid, host, ok2 := strings.Cut(rest, "@")
		if !ok1 || !ok2 {
			t.Fatalf("message key %q is not TS.QID@host", k)
		}
		old[k] = qid + "@" + ts + "." + host
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for k, o := range old {
		for _, q := range []string{
			`UPDATE messages SET key = ?2 WHERE key = ?1`,
			`UPDATE messages SET parent_key = ?2 WHERE parent_key = ?1`,
			`UPDATE recipients SET key = ?2 || substr(key, length(?1) + 1), message_key = ?2 WHERE message_key = ?1`,
		} {
			if _, err := tx.Exec(q, k, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return len(old)
}

// recipientRows is `report recipients --hops --format json` of db, one
// sorted line per recipient with what a user compares.
func recipientRows(t *testing.T, db string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &stdout, &stderr); err != nil {
		t.Fatalf("report recipients: %v\n%s", err, stderr.String())
	}
	var rs []analysis.Recipient
	if err := json.Unmarshal(stdout.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, strings.Join([]string{r.Host, r.QueueID, strings.ToLower(r.Recipient), string(r.Verdict), r.Status, r.ClientIP, r.Sender}, " "))
	}
	slices.Sort(out)
	return out
}
