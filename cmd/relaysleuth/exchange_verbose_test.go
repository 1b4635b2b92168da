package main

import (
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

	byKey, scanErr := scannedRecipients(t, dir, nil, "EXVB1")
	if !strings.Contains(scanErr, " 0 malformed, 0 skipped") {
		t.Errorf("scan reported malformed or skipped inputs:\n%s", scanErr)
	}
	withID := 0
	for _, l := range readLabels(t, filepath.Join(dir, "labels.csv")) {
		qid, rcpt, mid, notes := l.queueID, l.recipient, l.messageID, l.notes
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
