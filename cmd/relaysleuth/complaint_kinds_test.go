package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

const kindsDir = "../../testdata/investigate/kinds"

// kindsDB scans a Postfix log with the dev corpus's policy into a new
// database and returns its path.
func kindsDB(t *testing.T, log string) string {
	t.Helper()
	return kindsDBOf(t, "../../testdata/postfix/dev/config.json", log)
}

// kindsDBOf scans logs with a policy into a new database.
func kindsDBOf(t *testing.T, config string, logs ...string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rs.db")
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"scan", "--db", db, "--config", config, "--timezone", "UTC",
		"--year", "2026", "--progress", "never"}, logs...), &stdout, &stderr)
	if err != nil && !strings.Contains(err.Error(), "relay abuse") {
		t.Fatalf("scan %s: %v\n%s", logs, err, stderr.String())
	}
	return db
}

// investigateKind runs `investigate --format json` and returns the
// investigation, and whether it failed (exit status 1: nothing matched).
func investigateKind(t *testing.T, db string, args ...string) (*analysis.Investigation, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"investigate", "--db", db, "--format", "json"}, args...), &stdout, &stderr)
	var inv analysis.Investigation
	if jerr := json.Unmarshal(stdout.Bytes(), &inv); jerr != nil {
		t.Fatalf("investigate %v: %v: bad JSON: %v\n%s\n%s", args, err, jerr, stdout.String(), stderr.String())
	}
	return &inv, err
}

// keyOf returns the key tried with this value, or nil.
func keyOf(inv *analysis.Investigation, k analysis.Key, value string) *analysis.KeyResult {
	for i := range inv.Keys {
		if inv.Keys[i].Key == k && inv.Keys[i].Value == value {
			return &inv.Keys[i]
		}
	}
	return nil
}

// TestComplaintKinds investigates complaints of each kind issue 21 names,
// written about messages of the Postfix dev corpus (labels.csv gives their
// client and verdict), and complaints about messages that are not in it,
// whose own delivery to the admin is: those must find nothing.
func TestComplaintKinds(t *testing.T) {
	db := kindsDB(t, "../../testdata/postfix/dev/postfix.log")
	type key struct {
		k           analysis.Key
		value, from string
	}
	tests := []struct {
		file    string
		kind    string
		found   string // the queue id the message entered by; "" for nothing found
		cause   analysis.CauseKind
		client  string
		account string
		keys    []key    // keys that must be tried, with their source
		never   []string // values no key may have
		note    string   // a phrase of a note
		listed  []string
		warning string // a phrase of a warning
	}{
		{
			// The report's own delivery (4B49DBC34B, its Message-ID) is in
			// the logs; the offending message's headers are in its text.
			file: "spamcop-text.eml", kind: analysis.ComplaintSpamCop, found: "5DB02BC365", cause: analysis.CauseOpenRelay, client: "127.198.128.166",
			keys: []key{{analysis.KeyMessageID, "20261127192848.8cf6f808f5.62@freemail.example", "Message-ID header"},
				{analysis.KeyQueueID, "5DB02BC365", "Received header 2 (by mail.corp.example)"},
				{analysis.KeyClientIP, "192.0.2.25", "X-SpamCop-sourceip"}},
			never: []string{"4B49DBC34B", "20261127192754.8f8bf4fe56.1@outside.example", "127.249.101.59", "dave@corp.example"},
		},
		{
			// The same report about a message not in the logs: before,
			// the report's own delivery was the confident answer.
			file: "spamcop-text-nomatch.eml", kind: analysis.ComplaintSpamCop,
			never: []string{"4B49DBC34B", "20261127192754.8f8bf4fe56.1@outside.example", "127.249.101.59", "127.0.0.1", "6C1F2A0E93"},
		},
		{
			// A user's forward, Gmail's marker; our hop's HELO is an
			// address literal (a mail client behind NAT).
			file: "forward-inline.eml", kind: analysis.ComplaintForward, found: "D6D02BC35C", cause: analysis.CauseAuthenticated,
			client: "127.249.101.59", account: "dave",
			keys: []key{{analysis.KeyClientIP, "127.249.101.59", "Received header 2 (by mail.corp.example)"},
				{analysis.KeyAuthUser, "dave", "Received header 2 (by mail.corp.example)"},
				{analysis.KeyRecipient, "mary2705@gmail.example", "To/Cc header"}},
			never: []string{"192.168.1.10", "CAFwd8812@mail.victim.example", "abuse@corp.example", "5RtY7uI9oP"},
		},
		{
			file: "forward-quoted.txt", kind: analysis.ComplaintForward, found: "3767BBC365", cause: analysis.CauseOpenRelay, client: "127.86.168.29",
			keys:  []key{{analysis.KeyQueueID, "3767BBC365", "Received header 2 (by mail.corp.example)"}},
			never: []string{"q-1@gmail.example", "abuse@corp.example"},
		},
		{
			// Only the sender's hops: its loopback hop and the
			// recipient's MX name no client of ours; the recipient did
			// get other mail from us then, with another Message-ID.
			file: "foreign-loopback.eml", kind: analysis.ComplaintMessage,
			never: []string{"127.0.0.1", "6C1F2A0E93", "8Kk2Ll3Mm4", "198.51.100.40"},
		},
		{
			// Our hop between the recipient's and the sender's own.
			file: "foreign-hops.eml", kind: analysis.ComplaintARF, found: "AB439BC341", cause: analysis.CauseOpenRelay, client: "127.57.158.214",
			keys:  []key{{analysis.KeyQueueID, "AB439BC341", "Received header 2 (by mail.corp.example)"}},
			never: []string{"127.0.0.1", "1F2E3D4C5B", "4ZfU5v6Ww7", "192.0.2.25"},
		},
		{
			file: "jmrp.eml", kind: analysis.ComplaintJMRP, found: "87109BC365", cause: analysis.CauseOpenRelay, client: "127.86.168.29",
			keys: []key{{analysis.KeyClientIP, "192.0.2.25", "Subject"},
				{analysis.KeyRecipient, "li.novak@outside.example", "X-HmXmrOriginalRecipient"}},
			never: []string{"redacted", "jmrp-4711@mail.hotmail.example"},
		},
		{
			file: "xarf-spam.eml", kind: analysis.ComplaintXARF, found: "4ABA6BC365", cause: analysis.CauseOpenRelay, client: "127.57.158.214",
			keys:  []key{{analysis.KeyClientIP, "192.0.2.25", "X-ARF Source"}},
			never: []string{"xarf-99@victim.example"},
		},
		{
			// Its own Message-ID is an inbound message of the corpus.
			file: "xarf-regbot.eml", kind: analysis.ComplaintXARF, note: "not about mail", listed: []string{"192.0.2.25/32"},
			never: []string{"20261127192754.8f8bf4fe56.1@outside.example", "192.0.2.25"},
		},
		{
			// Its own delivery (5F73ABC34B) is in the logs.
			file: "blocklist-sbl.eml", kind: analysis.ComplaintBlocklist, note: "report relay", listed: []string{"192.0.2.25/32"},
			never: []string{"20261127192754.89bb8d3f44.2@gmail.example", "5F73ABC34B", "127.86.168.29", "alice@corp.example"},
		},
		{
			// A forged message: the recipient got other mail from us.
			file: "dmarc-authfail.eml", kind: analysis.ComplaintARF, note: "not a spam complaint",
			keys: []key{{analysis.KeyMessageID, "forged-1@forger.example", "Message-ID header"}},
		},
		{
			// Original-Rcpt-To holds two; the To header is redacted; the
			// body was cut; "(EHLO winner-pc)" is the HELO.
			file: "arf-lists.eml", kind: analysis.ComplaintARF, found: "BE9DFBC341", cause: analysis.CauseOpenRelay, client: "127.198.128.166",
			keys: []key{{analysis.KeyRecipient, "zoe7022@outside.example", "Original-Rcpt-To"},
				{analysis.KeyRecipient, "sven.kim@outside.example", "Original-Rcpt-To"}},
			never: []string{"redacted", "[redacted]", "x.x.x.x"}, warning: "cut short on its way",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			inv, err := investigateKind(t, db, filepath.Join(kindsDir, tt.file))
			c := inv.Complaint
			if c == nil || c.Kind != tt.kind {
				t.Fatalf("complaint %+v, want kind %s", c, tt.kind)
			}
			if tt.found == "" {
				if err == nil || inv.Found || len(inv.Incidents) > 0 {
					t.Errorf("found %v (%d incidents), err %v: want nothing (exit 1); keys %+v", inv.Found, len(inv.Incidents), err, inv.Keys)
				}
			} else {
				if err != nil || !inv.Found || len(inv.Incidents) != 1 {
					t.Fatalf("err %v, found %v, %d incidents, want 1; keys %+v", err, inv.Found, len(inv.Incidents), inv.Keys)
				}
				cs := inv.Incidents[0].Cause
				if cs.QueueID != tt.found || cs.Kind != tt.cause || cs.ClientIP != tt.client || cs.AuthUser != tt.account {
					t.Errorf("cause %s, entered as %s from %s (account %q); want %s, %s from %s (%q)",
						cs.Kind, cs.QueueID, cs.ClientIP, cs.AuthUser, tt.cause, tt.found, tt.client, tt.account)
				}
			}
			for _, k := range tt.keys {
				if got := keyOf(inv, k.k, k.value); got == nil || got.Source != k.from {
					t.Errorf("key %s=%s from %q not tried (got %+v); keys %+v", k.k, k.value, k.from, got, inv.Keys)
				}
			}
			for _, k := range inv.Keys {
				if slices.Contains(tt.never, k.Value) {
					t.Errorf("key %s=%s from %s tried: it is not the offending message's", k.Key, k.Value, k.Source)
				}
			}
			if !strings.Contains(strings.Join(c.Notes, "\n"), tt.note) || tt.note == "" && len(c.Notes) > 0 {
				t.Errorf("notes %q, want one with %q", c.Notes, tt.note)
			}
			var listed []string
			for _, p := range c.Listed {
				listed = append(listed, p.String())
			}
			if !slices.Equal(listed, tt.listed) {
				t.Errorf("listed %q, want %q", listed, tt.listed)
			}
			warnings := strings.Join(c.Warnings, "\n")
			if !strings.Contains(warnings, tt.warning) || tt.warning == "" && warnings != "" ||
				strings.Contains(warnings, "NextPart") || strings.Contains(warnings, "unexpected EOF") {
				t.Errorf("warnings %q, want one with %q and no MIME parser's error", c.Warnings, tt.warning)
			}
			if tt.found != "" {
				absent(t, db, filepath.Join(kindsDir, tt.file), inv)
			}
		})
	}
}

// absent investigates the complaint again with everything that names the
// message it found changed to what no stored message has (Message-ID,
// queue ids, addresses, client, account): the same complaint about a
// message not in the logs must find nothing, not something unrelated.
func absent(t *testing.T, db, path string, found *analysis.Investigation) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inc := found.Incidents[0]
	var old []string
	add := func(s string) {
		if s != "" && !slices.Contains(old, s) {
			old = append(old, s)
		}
	}
	add(inc.MessageID)
	for _, id := range inc.QueueIDs {
		add(id)
	}
	for _, r := range inc.Recipients {
		add(r.Recipient)
		add(r.Sender)
	}
	add(inc.Cause.ClientIP)
	add(inc.Cause.AuthUser)
	slices.SortFunc(old, func(a, b string) int { return len(b) - len(a) }) // the longest first: a@b before a
	var pairs []string
	for i, s := range old {
		repl := fmt.Sprintf("absent%d.example", i)
		switch {
		case strings.Contains(s, "@"):
			repl = fmt.Sprintf("absent%d@nowhere.example", i)
		case net.ParseIP(s) != nil:
			repl = fmt.Sprintf("198.18.0.%d", i+1)
		case s == inc.Cause.AuthUser:
			repl = fmt.Sprintf("nobody%d", i)
		case slices.Contains(inc.QueueIDs, s):
			repl = fmt.Sprintf("ZZ%08d", i)
		}
		pairs = append(pairs, s, repl)
	}
	mutated := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(mutated, []byte(strings.NewReplacer(pairs...).Replace(string(data))), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := investigateKind(t, db, mutated)
	if err == nil || inv.Found || len(inv.Incidents) > 0 {
		var qs []string
		for _, i := range inv.Incidents {
			qs = append(qs, i.Cause.QueueID)
		}
		t.Errorf("the complaint about an absent message (%q replaced) found %v, err %v: want nothing; keys %+v", old, qs, err, inv.Keys)
	}
}

// TestComplaintZoneName: Arrival-Date "11:28:48 PST" is 19:28:48 UTC; read
// as UTC, a 20-minute window around it would miss the message.
func TestComplaintZoneName(t *testing.T) {
	db := kindsDB(t, "../../testdata/postfix/dev/postfix.log")
	inv, err := investigateKind(t, db, "--window", "20m", filepath.Join(kindsDir, "arf-pst.eml"))
	if err != nil || len(inv.Incidents) != 1 || inv.Incidents[0].Cause.QueueID != "3767BBC365" {
		t.Fatalf("err %v, %d incidents, want 3767BBC365; window %s, keys %+v", err, len(inv.Incidents), inv.Window, inv.Keys)
	}
	if got := inv.Window.String(); got != "2026-11-27T19:18:48Z .. 2026-11-27T19:38:48Z" {
		t.Errorf("window %s, want 20 minutes around 19:28:48 UTC", got)
	}
	if c := inv.Incidents[0].Cause; c.Kind != analysis.CauseOpenRelay || c.ClientIP != "127.86.168.29" {
		t.Errorf("cause %s from %s, want open_relay from 127.86.168.29", c.Kind, c.ClientIP)
	}
	absent(t, db, filepath.Join(kindsDir, "arf-pst.eml"), inv)
}

// TestComplaintMessageIDWithSpaces: Hotmail passes on Message-IDs such as
// "<vr, 27 nov 2026 ...@shop.example>"; Postfix logs them whole.
func TestComplaintMessageIDWithSpaces(t *testing.T) {
	data, err := os.ReadFile("../../testdata/postfix/dev/postfix.log")
	if err != nil {
		t.Fatal(err)
	}
	const id = "vr, 27 nov 2026 20:28:48 +0100T20:28:48.115@shop.example"
	var log []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, " 5DB02BC365: ") {
			log = append(log, strings.Replace(line, "message-id=<20261127192848.8cf6f808f5.62@freemail.example>", "message-id=<"+id+">", 1))
		}
	}
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, []byte(strings.Join(log, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := kindsDB(t, path)
	complaint := "From: staff@hotmail.example\nTo: abuse@corp.example\nSubject: complaint about message from 192.0.2.25\n" +
		"Content-Type: multipart/mixed; boundary=j\n\n--j\nContent-Type: message/rfc822\n\n" +
		"X-HmXmrOriginalRecipient: <nobody@hotmail.example>\nMessage-ID: <vr, 27 nov 2026\n 20:28:48 +0100T20:28:48.115@shop.example>\nSubject: x\n\nx\n--j--\n"
	cpath := filepath.Join(t.TempDir(), "jmrp.eml")
	if err := os.WriteFile(cpath, []byte(complaint), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := investigateKind(t, db, cpath)
	if err != nil || len(inv.Incidents) != 1 || inv.Incidents[0].Cause.QueueID != "5DB02BC365" || inv.Incidents[0].MessageID != id {
		t.Fatalf("err %v, incidents %+v; want 5DB02BC365 <%s>; keys %+v", err, inv.Incidents, id, inv.Keys)
	}
	if k := keyOf(inv, analysis.KeyMessageID, id); k == nil || k.Matched != 1 {
		t.Errorf("Message-ID key %+v, want %q matching 1", k, id)
	}
	if c := inv.Incidents[0].Cause; c.Kind != analysis.CauseOpenRelay || c.ClientIP != "127.198.128.166" {
		t.Errorf("cause %s from %s, want open_relay from 127.198.128.166", c.Kind, c.ClientIP)
	}
}

// TestComplaintKindsOtherMTAs: a SpamCop text report about a message of
// the Exim dev corpus (Exim's own message id in our Received header), and
// an Outlook forward about one of the Exchange dev set (Exchange names no
// queue id: its hops are known as ours by the host the logs name beside
// the Message-ID).
func TestComplaintKindsOtherMTAs(t *testing.T) {
	for _, tt := range []struct {
		name, config string
		logs         []string
		file, kind   string
		found        string
		cause        analysis.CauseKind
		client       string
		key          string // the client key, from our own hop
		keyFrom      string
		never        []string
	}{
		{
			name: "exim", config: "../../testdata/exim/dev/config.json",
			logs: []string{"../../testdata/exim/dev/mainlog", "../../testdata/exim/dev/rejectlog"},
			file: "exim-spamcop.eml", kind: analysis.ComplaintSpamCop, found: "1xX1kf-0007sg-2Q", cause: analysis.CauseOpenRelay,
			client: "127.171.131.115", key: "127.171.131.115", keyFrom: "Received header 2 (by mail.corp.example)",
			never: []string{"1xX1kZ-0000aa-00", "rid_7003@msgid.spamcop.example", "198.51.100.99", "4ZfR9z8Yx7"},
		},
		{
			name: "exchange", config: "../../testdata/exchange/dev/config.json", logs: []string{"../../testdata/exchange/dev/EXSRV2"},
			file: "exchange-forward.txt", kind: analysis.ComplaintForward, found: "30817263514542", cause: analysis.CauseOpenRelay,
			client: "203.0.113.66", key: "203.0.113.66", keyFrom: "Received header 3 (by exsrv2.nwtraders.example)",
			never: []string{"fw-0206@webmail-br.example", "Qx9Lm7Kc0", "abuse@nwtraders.example"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := kindsDBOf(t, tt.config, tt.logs...)
			path := filepath.Join(kindsDir, tt.file)
			inv, err := investigateKind(t, db, path)
			if err != nil || len(inv.Incidents) != 1 {
				t.Fatalf("err %v, %d incidents, want 1; keys %+v", err, len(inv.Incidents), inv.Keys)
			}
			if inv.Complaint.Kind != tt.kind {
				t.Errorf("kind %s, want %s", inv.Complaint.Kind, tt.kind)
			}
			if c := inv.Incidents[0].Cause; c.QueueID != tt.found || c.Kind != tt.cause || c.ClientIP != tt.client {
				t.Errorf("cause %s, entered as %s from %s; want %s, %s from %s", c.Kind, c.QueueID, c.ClientIP, tt.cause, tt.found, tt.client)
			}
			if k := keyOf(inv, analysis.KeyClientIP, tt.key); k == nil || k.Source != tt.keyFrom {
				t.Errorf("client key %+v, want %s from %q", k, tt.key, tt.keyFrom)
			}
			for _, k := range inv.Keys {
				if slices.Contains(tt.never, k.Value) {
					t.Errorf("key %s=%s from %s tried: it is not the offending message's", k.Key, k.Value, k.Source)
				}
			}
			absent(t, db, path, inv)
		})
	}
}
