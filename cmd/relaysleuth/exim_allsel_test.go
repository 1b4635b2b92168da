package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestEximAllSelector scans the logs of a real Exim 4.96 run with
// log_selector = +all (testdata/exim/allsel, written by its make.sh) and
// checks every recipient's verdict against labels.csv, then that every
// recipient whose message has a Message-ID in the log, logged as id= or
// as id*= (+msg_id_created, a Message-ID Exim made), is keyed by it, and
// that investigate finds the message by it (issue 19).
func TestEximAllSelector(t *testing.T) {
	run := corpusRun{dir: "../../testdata/exim/allsel", logs: []string{"mainlog", "rejectlog"}}
	checkLabels(t, run)

	db := filepath.Join(t.TempDir(), "rs.db")
	args := []string{"scan", "--db", db, "--config", filepath.Join(run.dir, "config.json"), "--timezone", "UTC", "--progress", "never",
		filepath.Join(run.dir, "mainlog"), filepath.Join(run.dir, "rejectlog")}
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, args, &stdout, &stderr); !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	stdout.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &stdout, &stderr); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	var got []analysis.Recipient
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("report recipients JSON: %v", err)
	}
	byQueue := map[string]analysis.Recipient{}
	for _, r := range got {
		byQueue[r.QueueID+"|"+strings.ToLower(r.Recipient)] = r
	}
	raw := string(readFile(t, filepath.Join(run.dir, "labels.csv")))
	created := 0
	for _, row := range strings.Split(strings.TrimSpace(raw), "\n")[1:] {
		col := strings.Split(row, ",")
		msgID, queueID, rcpt := strings.Trim(col[1], "<>"), col[2], col[6]
		if msgID == "" {
			continue
		}
		r, ok := byQueue[queueID+"|"+strings.ToLower(rcpt)]
		if !ok {
			t.Errorf("%s %s: not in the report", queueID, rcpt)
			continue
		}
		if r.MessageID != msgID {
			t.Errorf("%s %s: message_id %q, want %q as logged", queueID, rcpt, r.MessageID, msgID)
		}
		if strings.HasPrefix(msgID, "E"+queueID+"@") {
			created++
		}
		stdout.Reset()
		if err := runCLI(t, []string{"investigate", "--db", db, "--format", "json", "--message-id", "<" + msgID + ">"}, &stdout, &stderr); err != nil &&
			!errors.Is(err, errRelayFound) {
			t.Errorf("investigate --message-id %s: %v", msgID, err)
			continue
		}
		if !strings.Contains(stdout.String(), queueID) {
			t.Errorf("investigate --message-id %s: queue id %s not found:\n%.600s", msgID, queueID, stdout.String())
		}
	}
	if created == 0 {
		t.Errorf("no label row has a Message-ID Exim created (id*=): the corpus lost the case")
	}
}
