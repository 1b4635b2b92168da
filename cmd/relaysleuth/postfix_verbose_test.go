package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestPostfixVerboseLabels reads testdata/postfix/verbose: a real Postfix
// 3.7 log with the most verbose settings (smtpd_log_access_permit_actions =
// static:all, smtpd_tls_loglevel = smtp_tls_loglevel = 2,
// enable_long_queue_ids, postscreen, header_checks and access-map HOLD,
// DISCARD, REDIRECT, FILTER, WARN, discard(8) and error(8) transports,
// postsuper -H, -d and -e), made by its make.sh. Every verdict must match
// labels.csv (checkLabels), every recipient whose message has a Message-ID
// line must carry it, and what was held or discarded must say so.
func TestPostfixVerboseLabels(t *testing.T) {
	dir := "../../testdata/postfix/verbose"
	checkLabels(t, corpusRun{dir: dir, logs: []string{"postfix.log"}})

	byKey, _ := scannedRecipients(t, dir, []string{"--timezone", "UTC"}, "postfix.log")
	withID := 0
	for _, l := range readLabels(t, filepath.Join(dir, "labels.csv")) {
		qid, rcpt, mid, notes := l.queueID, l.recipient, l.messageID, l.notes
		if qid == "" {
			continue // refused before a queue file: no message
		}
		r, ok := byKey[qid+"|"+strings.ToLower(rcpt)]
		if !ok {
			t.Errorf("%s %s: not in the report", qid, rcpt)
			continue
		}
		if mid != "" {
			withID++
			if r.MessageID != mid {
				t.Errorf("%s %s: message_id %q, want %q (%s)", qid, rcpt, r.MessageID, mid, notes)
			}
		}
		want := ""
		switch {
		case strings.Contains(notes, "outcome=discarded"):
			want = analysis.StatusDiscarded
		case strings.Contains(notes, "outcome=held"):
			want = analysis.StatusHeld
		}
		if want != "" && (r.Status != want || !strings.Contains(r.Reason, "not relayed")) {
			t.Errorf("%s %s: status %q, reason %q; want %s, not relayed (%s)", qid, rcpt, r.Status, r.Reason, want, notes)
		}
	}
	if withID < 15 {
		t.Errorf("only %d labels with a Message-ID checked", withID)
	}
}
