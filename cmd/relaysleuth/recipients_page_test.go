package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// TestRecipientsPages: report recipients writes a long listing as tables
// of recipientsPage rows, each with its header, and CSV row by row: every
// recipient once, in the order of the JSON listing.
func TestRecipientsPages(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rs.db")
	if err := runCLI(t, append([]string{"scan", "--db", db}, append(sampleArgs, sampleLog)...), &bytes.Buffer{}, nil); err != nil && !errors.Is(err, errRelayFound) {
		t.Fatal(err)
	}
	report := func(format string) string {
		t.Helper()
		var out bytes.Buffer
		if err := runCLI(t, []string{"report", "recipients", "--db", db, "--hops", "--format", format}, &out, nil); err != nil && !errors.Is(err, errRelayFound) {
			t.Fatalf("report recipients --format %s: %v", format, err)
		}
		return out.String()
	}
	var all []struct {
		Recipient string `json:"recipient"`
	}
	if err := json.Unmarshal([]byte(report("json")), &all); err != nil {
		t.Fatal(err)
	}
	n := len(all)
	t.Logf("%d recipients", n)
	if n < 10 {
		t.Fatalf("the sample has %d recipients, too few to page", n)
	}
	defer func(p int) { recipientsPage = p }(recipientsPage)
	recipientsPage = 5 // the last page holds 3 of the sample's 168

	rows, err := csv.NewReader(strings.NewReader(report("csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || rows[0][0] != "time" {
		t.Fatalf("csv: %d lines with header %v, want a header and %d rows", len(rows), rows[0], n)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "recipient" {
			col = i
		}
	}
	for i, r := range rows[1:] {
		if r[col] != all[i].Recipient {
			t.Fatalf("csv row %d: recipient %q, json has %q", i+1, r[col], all[i].Recipient)
		}
	}

	table := report("table")
	pages := strings.Split(strings.TrimSuffix(table, "\n"), "\n\n")
	if want := (n + 4) / 5; len(pages) != want {
		t.Fatalf("table: %d pages, want %d for %d rows, 5 a page:\n%s", len(pages), want, n, table)
	}
	seen := 0
	for i, p := range pages {
		lines := strings.Split(p, "\n")
		if !strings.HasPrefix(lines[0], "TIME") {
			t.Errorf("page %d does not begin with the header: %q", i+1, lines[0])
		}
		for _, l := range lines[1:] {
			if !strings.Contains(l, all[seen].Recipient) {
				t.Errorf("page %d: row %q, want recipient %d %q", i+1, l, seen+1, all[seen].Recipient)
			}
			seen++
		}
	}
	if seen != n {
		t.Errorf("table: %d rows, want %d", seen, n)
	}
}

// TestReportProgress: report traffic, forensic and html show a bar on
// standard error while they read the stored lines when asked (--progress
// always; it is cleared at the end), none with never or when standard
// error is not a terminal (auto), and print the same report either way.
func TestReportProgress(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReportProgress(t, filepath.Join(t.TempDir(), "rs.db")) })
	t.Run("postgres", func(t *testing.T) { testReportProgress(t, pgtest.DB(t)) })
}

func testReportProgress(t *testing.T, db string) {
	if err := runCLI(t, append([]string{"scan", "--db", db}, append(sampleArgs, sampleLog)...), &bytes.Buffer{}, nil); err != nil && !errors.Is(err, errRelayFound) {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"traffic"}, {"forensic", "--format", "json"}, {"--format", "html"}} {
		var outs []string
		for _, mode := range []string{"always", "never", "auto"} {
			var out, stderr bytes.Buffer
			err := runCLI(t, append([]string{"report", "--db", db, "--progress", mode}, args...), &out, &stderr)
			if err != nil && !errors.Is(err, errRelayFound) {
				t.Fatalf("report %v --progress %s: %v", args, mode, err)
			}
			if shown := strings.Contains(stderr.String(), "reading stored lines"); shown != (mode == "always") {
				t.Errorf("report %v --progress %s: stderr %q", args, mode, stderr.String())
			}
			// The time the report was made is left out.
			outs = append(outs, regexp.MustCompile(`"generated": "[^"]*"|Made by relaysleuth on [^<]* from`).ReplaceAllString(out.String(), ""))
		}
		if outs[0] != outs[1] || outs[1] != outs[2] {
			t.Errorf("report %v: the output differs with a progress bar:\n%s", args, firstDiff(outs[0], outs[1]))
		}
	}
}
