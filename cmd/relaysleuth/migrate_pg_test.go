package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// TestPGMigrate copies a SQLite database into PostgreSQL: every report
// reads the same; the logs read before are not read again; another log
// ingested into both afterwards leaves them equal (the ids go on after the
// copied ones); a second copy into the same database is refused.
func TestPGMigrate(t *testing.T) {
	pg := pgtest.DB(t)
	sqlite := filepath.Join(t.TempDir(), "rs.db")
	for _, run := range []corpusRun{pgCorpora[0], pgCorpora[3], pgCorpora[5]} {
		var stderr bytes.Buffer
		if err := runCLI(t, scanArgs(run, sqlite), &bytes.Buffer{}, &stderr); err != nil && !errors.Is(err, errRelayFound) {
			t.Fatalf("scan: %v\n%s", err, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, []string{"migrate", "--from", sqlite, "--db", pg}, &stdout, &stderr); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "copied ") || !strings.Contains(stdout.String(), " recipients") {
		t.Errorf("migrate says:\n%s", stdout.String())
	}
	sameReports(t, sqlite, pg)

	before := pgState(t, pg)
	if err := runCLI(t, scanArgs(pgCorpora[0], pg), &bytes.Buffer{}, &stderr); err != nil && !errors.Is(err, errRelayFound) {
		t.Fatalf("scan after migrate: %v\n%s", err, stderr.String())
	}
	if after := pgState(t, pg); after != before {
		t.Errorf("a log copied by migrate was read again:\n%s", firstDiff(after, before))
	}

	for _, db := range []string{sqlite, pg} {
		if err := runCLI(t, ingestArgs(pgCorpora[1], db), &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("ingest after migrate: %v\n%s", err, stderr.String())
		}
	}
	sameReports(t, sqlite, pg)

	err := runCLI(t, []string{"migrate", "--from", sqlite, "--db", pg}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Errorf("second migrate: err = %v, want a refusal", err)
	}
	if err := runCLI(t, []string{"migrate", "--from", sqlite, "--db", filepath.Join(t.TempDir(), "x.db")}, &bytes.Buffer{}, &stderr); exitCode(err, &stderr) != exitUsage {
		t.Errorf("migrate into a file: err = %v, want a usage error", err)
	}
}
