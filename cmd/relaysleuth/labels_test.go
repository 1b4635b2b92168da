package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// label is one row of a corpus labels.csv: the ground truth for one
// recipient (or one failed AUTH session).
type label struct {
	queueID, clientIP, sender, recipient, label, notes string
	messageID                                          string // without <>; empty where the corpus has no such column
}

func readLabels(t *testing.T, path string) []label {
	t.Helper()
	f, err := os.Open(path)
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
	var out []label
	for _, r := range recs[1:] {
		out = append(out, label{
			queueID:   r[col["queue_id"]],
			clientIP:  r[col["client_ip"]],
			sender:    strings.Trim(r[col["sender"]], "<>"),
			recipient: r[col["recipient"]],
			label:     r[col["label"]],
			notes:     r[col["notes"]],
		})
		if i, ok := col["message_id"]; ok {
			out[len(out)-1].messageID = strings.Trim(r[i], "<>")
		}
	}
	return out
}

// canonical is an address as Postfix logs it: the client's source route
// ("@relay:user@domain") dropped and a quoted local part unquoted, so that a
// label written from what the client sent matches the log.
func canonical(addr string) string {
	addr = strings.ToLower(addr)
	if strings.HasPrefix(addr, "@") {
		if i := strings.IndexByte(addr, ':'); i > 0 {
			addr = addr[i+1:]
		}
	}
	return strings.ReplaceAll(addr, `"`, "")
}

// corpusRun is one corpus directory: a log, its labels and its policy.
type corpusRun struct {
	dir  string
	logs []string
}

// checkLabels runs `relaysleuth scan` on a corpus run the way a user would,
// reads `report recipients --hops --format json` and `report auth`, and
// compares every recipient's verdict with labels.csv.
func checkLabels(t *testing.T, run corpusRun) {
	t.Helper()
	checkLabelsIn(t, run, filepath.Join(t.TempDir(), "rs.db"))
}

// checkLabelsIn is checkLabels into the database db (a new SQLite file or
// an empty PostgreSQL database).
func checkLabelsIn(t *testing.T, run corpusRun, db string) {
	t.Helper()
	cfg := filepath.Join(run.dir, "config.json")
	args := []string{"scan", "--db", db, "--config", cfg, "--timezone", "UTC", "--progress", "never"}
	var logs []string
	for _, l := range run.logs {
		logs = append(logs, filepath.Join(run.dir, l))
	}
	var stdout, stderr bytes.Buffer
	err := runCLI(t, append(args, logs...), &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: err = %v, want relay abuse found\nstderr:\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "malformed\n") && !strings.Contains(stderr.String(), " 0 malformed") {
		t.Errorf("scan reported malformed lines:\n%s", stderr.String())
	}

	stdout.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &stdout, &stderr); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	var got []analysis.Recipient
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("report recipients JSON: %v\n%s", err, stdout.String())
	}
	stdout.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "auth"}, &stdout, &stderr); err != nil {
		t.Fatalf("report auth: %v", err)
	}
	var auth []analysis.ClientReport
	if err := json.Unmarshal(stdout.Bytes(), &auth); err != nil {
		t.Fatalf("report auth JSON: %v", err)
	}

	byQueue := map[string]*analysis.Recipient{}
	byReject := map[string][]*analysis.Recipient{}
	for i := range got {
		r := &got[i]
		if r.Status == analysis.StatusRejected {
			k := r.ClientIP + "|" + strings.ToLower(r.Sender) + "|" + canonical(r.Recipient)
			byReject[k] = append(byReject[k], r)
			continue
		}
		byQueue[r.QueueID+"|"+strings.ToLower(r.Recipient)] = r
	}
	matched := map[*analysis.Recipient]bool{}
	authWant := map[string]int{}
	perClass := map[string][2]int{} // label → {right, total}
	for _, l := range readLabels(t, filepath.Join(run.dir, "labels.csv")) {
		if l.label == "auth_failure" {
			authWant[l.clientIP]++
			continue
		}
		var r *analysis.Recipient
		if l.queueID != "" {
			r = byQueue[l.queueID+"|"+strings.ToLower(l.recipient)]
		}
		if r == nil {
			k := l.clientIP + "|" + strings.ToLower(l.sender) + "|" + canonical(l.recipient)
			for _, c := range byReject[k] {
				if !matched[c] {
					r = c
					break
				}
			}
		}
		if r == nil && l.queueID == "" {
			r = loneReject(got, matched, l)
		}
		c := perClass[l.label]
		c[1]++
		switch {
		case r == nil:
			t.Errorf("%s: no recipient in the report for label row queue_id=%q client=%s sender=%q rcpt=%q (%s)",
				run.dir, l.queueID, l.clientIP, l.sender, l.recipient, l.label)
		case string(r.Verdict) != l.label:
			t.Errorf("%s: %s %s: verdict %s, label %s (%s)\n  reason: %s\n  notes: %s",
				run.dir, l.queueID, l.recipient, r.Verdict, l.label, r.Status, r.Reason, l.notes)
		default:
			c[0]++
		}
		perClass[l.label] = c
		if r != nil {
			matched[r] = true
		}
	}
	for i := range got {
		r := &got[i]
		if !matched[r] && r.Verdict == analysis.RelayAbuse {
			t.Errorf("%s: false alarm: relay_abuse %s %s from %s not in labels", run.dir, r.QueueID, r.Recipient, r.ClientIP)
		}
		if !matched[r] && r.Status == analysis.StatusRejected {
			// Exim logs a refusal in the mainlog and the rejectlog: once.
			t.Errorf("%s: refusal %s from %s not in labels (counted twice?)", run.dir, r.Recipient, r.ClientIP)
		}
		if len(r.Evidence) == 0 {
			t.Errorf("%s: %s %s has no evidence", run.dir, r.QueueID, r.Recipient)
		}
	}
	gotAuth := map[string]int{}
	for _, a := range auth {
		gotAuth[a.ClientIP] = a.Count
	}
	for ip, n := range authWant {
		if gotAuth[ip] != n {
			t.Errorf("%s: auth failures from %s = %d, want %d", run.dir, ip, gotAuth[ip], n)
		}
	}
	for class, c := range perClass {
		t.Logf("%s: %-24s %d/%d", filepath.Base(run.dir), class, c[0], c[1])
	}
}

// loneReject finds a refused recipient for a label row the way Exim logs
// some refusals: a malformed RCPT without the sender (MAIL FROM is not
// logged), a long address cut short in the reject line.
func loneReject(got []analysis.Recipient, matched map[*analysis.Recipient]bool, l label) *analysis.Recipient {
	for i := range got {
		c := &got[i]
		if matched[c] || c.Status != analysis.StatusRejected || c.ClientIP != l.clientIP || c.Recipient == "" {
			continue
		}
		if c.Sender != "" && !strings.EqualFold(c.Sender, l.sender) {
			continue
		}
		if strings.HasPrefix(canonical(l.recipient), canonical(c.Recipient)) {
			return c
		}
	}
	return nil
}

func TestPostfixCorpusLabels(t *testing.T) {
	for _, run := range []corpusRun{
		{dir: "../../testdata/postfix/dev", logs: []string{"postfix.log"}},
		{dir: "../../testdata/postfix/dev-alt", logs: []string{"mail.log"}},
	} {
		t.Run(filepath.Base(run.dir), func(t *testing.T) { checkLabels(t, run) })
	}
}

// scannedRecipients scans the inputs under dir with its config.json as a
// user would, then returns every recipient of `report --hops recipients
// --format json` by queue id and lower-cased address ("QID|rcpt"), and
// scan's standard error.
func scannedRecipients(t *testing.T, dir string, args []string, inputs ...string) (map[string]analysis.Recipient, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rs.db")
	var stdout, stderr bytes.Buffer
	scan := append([]string{"scan", "--db", db, "--config", filepath.Join(dir, "config.json"), "--progress", "never"}, args...)
	for _, in := range inputs {
		scan = append(scan, filepath.Join(dir, in))
	}
	if err := runCLI(t, scan, &stdout, &stderr); err != nil && !strings.Contains(err.Error(), "relay") {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	scanErr := stderr.String()
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
	return byKey, scanErr
}
