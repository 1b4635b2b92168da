package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

const (
	devDir        = "../../testdata/postfix/dev"
	complaintsDir = "../../testdata/investigate"
)

// scanDev runs `relaysleuth scan` on the dev corpus into a new database, the
// way a user would before investigating, and returns the database's path.
func scanDev(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rs.db")
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "--db", db, "--config", filepath.Join(devDir, "config.json"), "--timezone", "UTC",
		"--progress", "never", filepath.Join(devDir, "postfix.log")}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	return db
}

// investigate runs `relaysleuth investigate --db db args...` and returns
// its output and error.
func investigate(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runCLI(t, append([]string{"investigate", "--db", db}, args...), &stdout, &stderr)
	return stdout.String(), err
}

func investigateJSON(t *testing.T, db string, args ...string) (*analysis.Investigation, error) {
	t.Helper()
	out, err := investigate(t, db, append([]string{"--format", "json"}, args...)...)
	var inv analysis.Investigation
	if jerr := json.Unmarshal([]byte(out), &inv); jerr != nil {
		t.Fatalf("investigate %v: bad JSON: %v\n%s", args, jerr, out)
	}
	return &inv, err
}

func TestInvestigateComplaints(t *testing.T) {
	db := scanDev(t)
	tests := []struct {
		file      string
		kind      string
		cause     analysis.CauseKind
		client    string
		verdict   analysis.Verdict
		reason    string
		queueIDs  []string
		evidence  []string // file:line that must be in the table output
		authUser  string
		failed    int // failed logins before the message
		radiusKey analysis.Key
	}{
		{
			file: "arf-open-relay.eml", kind: analysis.ComplaintARF, cause: analysis.CauseOpenRelay,
			client: "127.57.158.214", verdict: analysis.RelayAbuse,
			reason:   "accepted for external domain victim.example from unauthenticated client 127.57.158.214 outside the trusted networks",
			queueIDs: []string{"86A97BC369", "92842BC340"}, // content filter re-injection
			evidence: []string{"postfix.log:558", "postfix.log:563", "postfix.log:567", "postfix.log:569"},
		},
		{
			file: "forwarded-arf-auth.eml", kind: analysis.ComplaintARF, cause: analysis.CauseAuthenticated,
			client: "127.249.101.59", verdict: analysis.AuthenticatedOutbound,
			reason:   "accepted for external domain victim.example from client 127.249.101.59 authenticated as dave (LOGIN)",
			queueIDs: []string{"8AFA3BC30D"}, authUser: "dave", failed: 2,
			evidence: []string{"postfix.log:342", "postfix.log:346", "postfix.log:336", "postfix.log:339"},
		},
		{
			file: "headers-only.txt", kind: analysis.ComplaintHeaders, cause: analysis.CauseOpenRelay,
			client: "127.86.168.29", verdict: analysis.RelayAbuse,
			reason:   "accepted for external domain gmail.example from unauthenticated client 127.86.168.29 outside the trusted networks",
			queueIDs: []string{"D2062BC341", "DBCC7BC353"}, // the bounce it caused
			evidence: []string{"postfix.log:381", "postfix.log:385", "postfix.log:389"},
		},
		{
			file: "spam-sample.eml", kind: analysis.ComplaintMessage, cause: analysis.CauseOpenRelay,
			client: "127.198.128.166", verdict: analysis.RelayAbuse,
			reason:   "accepted for external domain gmail.example from unauthenticated client 127.198.128.166 outside the trusted networks",
			queueIDs: []string{"AB6BFBC365", "B4B46BC367"},
			evidence: []string{"postfix.log:462", "postfix.log:475", "postfix.log:738"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(complaintsDir, tt.file)
			inv, err := investigateJSON(t, db, path)
			if err != nil {
				t.Fatalf("investigate %s: %v", tt.file, err)
			}
			if !inv.Found || len(inv.Incidents) != 1 {
				t.Fatalf("found %v, %d incidents, want 1; keys %+v", inv.Found, len(inv.Incidents), inv.Keys)
			}
			if inv.Complaint == nil || inv.Complaint.Kind != tt.kind {
				t.Errorf("complaint = %+v, want kind %s", inv.Complaint, tt.kind)
			}
			inc := inv.Incidents[0]
			c := inc.Cause
			if c.Kind != tt.cause || c.ClientIP != tt.client || c.Verdict != tt.verdict || c.Reason != tt.reason {
				t.Errorf("cause = %s client %s verdict %s reason %q\nwant %s client %s verdict %s reason %q",
					c.Kind, c.ClientIP, c.Verdict, c.Reason, tt.cause, tt.client, tt.verdict, tt.reason)
			}
			if !slices.Equal(inc.QueueIDs, tt.queueIDs) {
				t.Errorf("queue ids = %v, want %v", inc.QueueIDs, tt.queueIDs)
			}
			if c.AuthUser != tt.authUser || len(c.FailedLogins) != tt.failed {
				t.Errorf("account %q with %d failed logins, want %q with %d: %+v", c.AuthUser, len(c.FailedLogins), tt.authUser, tt.failed, c.FailedLogins)
			}
			for i := 1; i < len(inc.Trail); i++ {
				if inc.Trail[i].Time.Before(inc.Trail[i-1].Time) {
					t.Errorf("trail not in time order at %d: %+v", i, inc.Trail[i])
				}
			}
			for _, s := range inc.Trail {
				if !strings.Contains(s.Evidence, "postfix.log:") {
					t.Errorf("trail step without evidence: %+v", s)
				}
			}

			// The blast radius of the client equals what labels.csv says it sent.
			checkRadius(t, inv, devDir, tt.client)

			out, err := investigate(t, db, path)
			if err != nil {
				t.Fatalf("investigate (table): %v", err)
			}
			for _, s := range append([]string{tt.client, string(tt.verdict), "Cause: " + string(tt.cause)}, tt.evidence...) {
				if !strings.Contains(out, s) {
					t.Errorf("table output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestInvestigateNothingMatched(t *testing.T) {
	db := scanDev(t)
	inv, err := investigateJSON(t, db, filepath.Join(complaintsDir, "nomatch-arf.eml"))
	if !errors.Is(err, errNoMatch) || exitCode(err, &bytes.Buffer{}) != exitError {
		t.Fatalf("err = %v, want errNoMatch (exit 1)", err)
	}
	if inv.Found || len(inv.Keys) < 4 {
		t.Errorf("found %v, keys %+v: want not found, with the keys tried", inv.Found, inv.Keys)
	}
	for _, k := range inv.Keys {
		if k.Matched != 0 || k.Note == "" {
			t.Errorf("key %+v: want no match, with a note", k)
		}
	}
	// The recipient received other mail, a month before: the nearest candidate.
	if len(inv.Candidates) == 0 || inv.Candidates[0].QueueID != "D2062BC341" {
		t.Errorf("candidates = %+v, want D2062BC341 first", inv.Candidates)
	}
	out, _ := investigate(t, db, filepath.Join(complaintsDir, "nomatch-arf.eml"))
	for _, s := range []string{"Keys tried", "never-seen-1@spam.example", "203.0.113.250", "Nothing matched", "Nearest candidates", "D2062BC341"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestInvestigateFlags(t *testing.T) {
	db := scanDev(t)
	tests := []struct {
		name    string
		args    []string
		wantErr error
		client  string // of the first incident
		root    string // its entry queue id
		count   int    // incidents shown
	}{
		{"message id with brackets", []string{"--message-id", "<20261127192806.29baf8b5a4.50@corp.example>"}, nil, "127.249.101.59", "8AFA3BC30D", 1},
		{"second hop queue id", []string{"--queue-id", "92842BC340"}, nil, "127.57.158.214", "86A97BC369", 1},
		{"recipient and sender", []string{"--recipient", "CHEN97@gmail.example", "--sender", "alice@corp.example"}, nil, "127.86.168.29", "D2062BC341", 1},
		{"client in a time range", []string{"--client-ip", "127.86.168.29", "--since", "2026-11-27T19:28:47Z", "--until", "2026-11-27T19:28:48Z"}, nil, "127.86.168.29", "D2062BC341", 1},
		{"account", []string{"--auth-user", "dave", "--since", "2026-11-27T19:28:10Z", "--until", "2026-11-27T19:28:20Z"}, nil, "127.249.101.59", "8AFA3BC30D", 1},
		{"flags that disagree", []string{"--recipient", "chen97@gmail.example", "--client-ip", "127.57.158.214"}, errNoMatch, "", "", 0},
		{"unknown queue id", []string{"--queue-id", "FFFFFFFFFF"}, errNoMatch, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := investigateJSON(t, db, tt.args...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(inv.Incidents) != tt.count {
				t.Fatalf("%d incidents, want %d: keys %+v", len(inv.Incidents), tt.count, inv.Keys)
			}
			if tt.count > 0 {
				c := inv.Incidents[0].Cause
				if c.ClientIP != tt.client || c.QueueID != tt.root {
					t.Errorf("cause client %s queue id %s, want %s %s", c.ClientIP, c.QueueID, tt.client, tt.root)
				}
			}
		})
	}

	// When flags disagree, the nearest candidates share the recipient.
	inv, _ := investigateJSON(t, db, "--recipient", "chen97@gmail.example", "--client-ip", "127.57.158.214")
	if len(inv.Candidates) == 0 || !slices.ContainsFunc(inv.Candidates, func(r analysis.Recipient) bool { return r.QueueID == "D2062BC341" }) {
		t.Errorf("candidates = %+v, want D2062BC341 among them", inv.Candidates)
	}
}

func TestInvestigateStdinAndJSONShape(t *testing.T) {
	db := scanDev(t)
	data, err := os.ReadFile(filepath.Join(complaintsDir, "arf-open-relay.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = runWithStdin(t.Context(), []string{"investigate", "--db", db, "--format", "json", "-"}, bytes.NewReader(data), &stdout, &stderr)
	if err != nil {
		t.Fatalf("investigate -: %v\n%s", err, stderr.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"complaint", "keys", "found", "incidents", "blast_radius", "candidates", "window"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	inc := doc["incidents"].([]any)[0].(map[string]any)
	for _, k := range []string{"message_id", "queue_ids", "trail", "recipients", "cause"} {
		if _, ok := inc[k]; !ok {
			t.Errorf("incident JSON lacks %q", k)
		}
	}
	step := inc["trail"].([]any)[0].(map[string]any)
	if ev, _ := step["evidence"].(string); !strings.HasSuffix(ev, "postfix.log:558") {
		t.Errorf("first trail step evidence = %v, want postfix.log:558", step["evidence"])
	}
}

// A complaint's headers are written by strangers: in a table they come out
// escaped, never as raw control bytes that drive the terminal.
func TestInvestigateEscapesControlCharacters(t *testing.T) {
	db := scanDev(t)
	out, err := investigate(t, db, filepath.Join(complaintsDir, "headers-only.txt"))
	if err != nil {
		t.Fatalf("investigate: %v", err)
	}
	for _, b := range []byte{0x1b, 0x07} {
		if i := bytes.IndexByte([]byte(out), b); i >= 0 {
			t.Errorf("output holds raw control byte %#x at %d: %q", b, i, out[max(0, i-20):min(len(out), i+20)])
		}
	}
	for _, want := range []string{`\x1b]0;pwned\x07`, `\x1b[2J`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped %s", want)
		}
	}
}

func TestInvestigateUsage(t *testing.T) {
	db := scanDev(t)
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"investigate", "-h"}, &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), "1 nothing matched") {
		t.Errorf("investigate -h: %v, help on stdout:\n%s", err, stdout.String())
	}
	for _, args := range [][]string{
		{},                           // no key at all
		{"--format", "csv", "x.eml"}, // no CSV for a nested answer
		{"--window", "-1h", "--queue-id", "X"},
		{"a.eml", "b.eml"},
	} {
		_, err := investigate(t, db, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("investigate %v: err = %v, want a usage error", args, err)
		}
	}
	_, err = investigate(t, db, filepath.Join(t.TempDir(), "missing.eml"))
	if err == nil || errors.Is(err, errNoMatch) {
		t.Errorf("missing file: err = %v, want an error", err)
	}
}
