package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestExchangeVerboseLabels scans testdata/exchange/verbose (every tracking
// event id of Exchange 2010-2019, protocol logging Verbose on the Front End
// and the hub) as an admin would, pointing scan at the TransportRoles
// folder: every verdict must match labels.csv, every recipient must carry
// the Message-ID its message was logged with, and what Exchange dropped
// (DROP, BADMAIL) must say it was not relayed.
func TestExchangeVerboseLabels(t *testing.T) {
	dir := "../../testdata/exchange/verbose"
	checkLabels(t, corpusRun{dir: dir, logs: []string{"EXVB1"}})

	db := filepath.Join(t.TempDir(), "rs.db")
	var stdout, stderr bytes.Buffer
	args := []string{"scan", "--db", db, "--config", filepath.Join(dir, "config.json"), "--progress", "never", filepath.Join(dir, "EXVB1")}
	if err := runCLI(t, args, &stdout, &stderr); err != nil && !strings.Contains(err.Error(), "relay") {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), " 0 malformed, 0 skipped") {
		t.Errorf("scan reported malformed or skipped inputs:\n%s", stderr.String())
	}
	stdout.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &stdout, &stderr); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	var got []analysis.Recipient
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]analysis.Recipient{}
	for _, r := range got {
		byKey[r.QueueID+"|"+strings.ToLower(r.Recipient)] = r
	}
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	withID := 0
	for _, rec := range recs[1:] {
		qid, rcpt, mid, notes := rec[col["queue_id"]], rec[col["recipient"]], strings.Trim(rec[col["message_id"]], "<>"), rec[col["notes"]]
		if mid == "" {
			continue // refused at RCPT: no message
		}
		r, ok := byKey[qid+"|"+strings.ToLower(rcpt)]
		if !ok {
			t.Errorf("%s %s: not in the report", qid, rcpt)
			continue
		}
		withID++
		if r.MessageID != mid {
			t.Errorf("%s %s: message_id %q, want %q", qid, rcpt, r.MessageID, mid)
		}
		if _, want, _ := strings.Cut(notes, "outcome="); want != "" && r.Status != want {
			t.Errorf("%s %s: status %q, want %q (%s)", qid, rcpt, r.Status, want, notes)
		}
		if r.Status == analysis.StatusDiscarded && !strings.Contains(r.Reason, "not relayed") {
			t.Errorf("%s %s: reason %q does not say it was not relayed", qid, rcpt, r.Reason)
		}
	}
	if withID < 12 {
		t.Errorf("only %d labels with a Message-ID checked", withID)
	}
}
