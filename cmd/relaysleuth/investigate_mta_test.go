package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// scanCorpus runs `relaysleuth scan` on the logs of a labelled corpus into
// a new database and returns its path.
func scanCorpus(t *testing.T, dir string, logs ...string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rs.db")
	args := []string{"scan", "--db", db, "--config", filepath.Join(dir, "config.json"), "--timezone", "UTC", "--progress", "never"}
	for _, l := range logs {
		args = append(args, filepath.Join(dir, l))
	}
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, args, &stdout, &stderr); !errors.Is(err, errRelayFound) {
		t.Fatalf("scan %s: %v\n%s", dir, err, stderr.String())
	}
	return db
}

// labelCountsIn counts the rows of dir/labels.csv (not failed logins) per
// verdict for one client address.
func labelCountsIn(t *testing.T, dir, clientIP string) (map[analysis.Verdict]int, int) {
	t.Helper()
	out := map[analysis.Verdict]int{}
	n := 0
	for _, l := range readLabels(t, filepath.Join(dir, "labels.csv")) {
		if l.clientIP == clientIP && l.label != "auth_failure" {
			out[analysis.Verdict(l.label)]++
			n++
		}
	}
	return out, n
}

// complaintCase is one sample complaint and what investigating it must
// find in the corpus it was built from.
type complaintCase struct {
	file     string
	kind     string
	cause    analysis.CauseKind
	client   string
	verdict  analysis.Verdict
	reason   string // the verdict's reason starts with it
	queueIDs []string
	authUser string
	failed   int      // failed logins before the message, each logged once
	evidence []string // file:line the cause must cite (suffixes)
	summary  string   // a phrase of the cause's summary
}

// checkComplaints investigates each case against db, as JSON and as a
// table, and checks client, cause, evidence and the client's blast radius
// against labels.csv.
func checkComplaints(t *testing.T, db, corpus, samples string, tests []complaintCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(samples, tt.file)
			inv, err := investigateJSON(t, db, path)
			if err != nil {
				t.Fatalf("investigate %s: %v", tt.file, err)
			}
			if !inv.Found || len(inv.Incidents) != 1 {
				t.Fatalf("found %v, %d incidents, want 1; keys %+v", inv.Found, len(inv.Incidents), inv.Keys)
			}
			if inv.Complaint == nil || inv.Complaint.Kind != tt.kind || len(inv.Complaint.Warnings) > 0 {
				t.Errorf("complaint = %+v, want kind %s without warnings", inv.Complaint, tt.kind)
			}
			inc := inv.Incidents[0]
			c := inc.Cause
			if c.Kind != tt.cause || c.ClientIP != tt.client || c.Verdict != tt.verdict || !strings.HasPrefix(c.Reason, tt.reason) {
				t.Errorf("cause = %s client %s verdict %s reason %q\nwant %s client %s verdict %s reason %q...",
					c.Kind, c.ClientIP, c.Verdict, c.Reason, tt.cause, tt.client, tt.verdict, tt.reason)
			}
			if !strings.Contains(c.Summary, tt.summary) {
				t.Errorf("summary %q lacks %q", c.Summary, tt.summary)
			}
			if !slices.Equal(inc.QueueIDs, tt.queueIDs) {
				t.Errorf("queue ids = %v, want %v", inc.QueueIDs, tt.queueIDs)
			}
			if c.AuthUser != tt.authUser || len(c.FailedLogins) != tt.failed {
				t.Errorf("account %q with %d failed logins, want %q with %d: %+v", c.AuthUser, len(c.FailedLogins), tt.authUser, tt.failed, c.FailedLogins)
			}
			for _, want := range tt.evidence {
				if !slices.ContainsFunc(c.Evidence, func(e string) bool { return strings.HasSuffix(e, "/"+want) }) {
					t.Errorf("cause evidence %v lacks %s", c.Evidence, want)
				}
			}
			for i, s := range inc.Trail {
				if i > 0 && s.Time.Before(inc.Trail[i-1].Time) {
					t.Errorf("trail not in time order at %d: %+v", i, s)
				}
				if !strings.Contains(s.Evidence, ":") || s.Raw == "" {
					t.Errorf("trail step without evidence: %+v", s)
				}
			}

			checkRadius(t, inv, corpus, tt.client)

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

const eximDevCorpus = "../../testdata/exim/dev"

// TestInvestigateEximComplaints: reports and samples built from messages
// in the Exim dev mainlog (their message ids, Message-IDs and clients),
// with Exim's Received header ("from [ip] (helo=x) by ... with esmtp
// (Exim 4.96) (envelope-from <a@b>) id 1xX1kg-0007sl-07").
func TestInvestigateEximComplaints(t *testing.T) {
	db := scanCorpus(t, eximDevCorpus, "mainlog", "rejectlog")
	checkComplaints(t, db, eximDevCorpus, filepath.Join(complaintsDir, "exim"), []complaintCase{
		{
			file: "arf-open-relay.eml", kind: analysis.ComplaintARF, cause: analysis.CauseOpenRelay,
			client: "127.3.180.178", verdict: analysis.RelayAbuse,
			reason:   "accepted for external domain victim.example from unauthenticated client 127.3.180.178 outside the trusted networks",
			queueIDs: []string{"1xX1kg-0007sl-07"},
			evidence: []string{"mainlog:217", "mainlog:219"}, // <= and the complained-about recipient's ->
			summary:  "open relay: the server accepted mail for external recipients from unauthenticated client 127.3.180.178",
		},
		{
			// Forwarded by the helpdesk as an attachment; the headers only.
			// dave's password was guessed: failed logins from the same
			// addresses just before, each logged to both mainlog and
			// rejectlog and counted once.
			file: "forwarded-arf-auth.eml", kind: analysis.ComplaintARF, cause: analysis.CauseAuthenticated,
			client: "127.57.127.110", verdict: analysis.AuthenticatedOutbound,
			reason:   "accepted for external domain victim.example from client 127.57.127.110 authenticated as dave",
			queueIDs: []string{"1xX1kb-0007mv-0q"}, authUser: "dave", failed: 5,
			evidence: []string{"mainlog:204", "mainlog:205"},
			summary:  "authenticated account dave sent it from 127.57.127.110",
		},
		{
			file: "forwarding.eml", kind: analysis.ComplaintMessage, cause: analysis.CauseForwarding,
			client: "127.57.127.110", verdict: analysis.Forwarded,
			queueIDs: []string{"1xX1kX-0007mA-1C"},
			evidence: []string{"mainlog:167", "mainlog:168"},
			summary:  "local recipient press@corp-mail.example was sent on to pr-agency@gmail.example",
		},
		{
			file: "headers-only.txt", kind: analysis.ComplaintHeaders, cause: analysis.CauseOpenRelay,
			client: "127.171.131.115", verdict: analysis.RelayAbuse,
			reason:   "accepted for external domain victim.example from unauthenticated client 127.171.131.115",
			queueIDs: []string{"1xX1kf-0007sg-2Q"},
			evidence: []string{"mainlog:213", "mainlog:214"},
			summary:  "unauthenticated client 127.171.131.115",
		},
	})
}

const exchangeDevCorpus = "../../testdata/exchange/dev"

// TestInvestigateExchangeComplaints: reports and samples built from the
// messages of the Exchange dev set (tracking and protocol logs), with
// Exchange's Received headers ("with Microsoft SMTP Server
// (version=TLS1_2, ...) id 15.1.2507.44 via Frontend Transport", whose id
// is a build number, not a queue id): found by Message-ID and client, and
// judged by the real client behind the Front End proxy.
func TestInvestigateExchangeComplaints(t *testing.T) {
	db := scanCorpus(t, exchangeDevCorpus, "EXSRV2")
	const recv, trk = "RECV2025020614-1.LOG", "MSGTRK2025020614-1.LOG"
	checkComplaints(t, db, exchangeDevCorpus, filepath.Join(complaintsDir, "exchange"), []complaintCase{
		{
			file: "arf-open-relay.eml", kind: analysis.ComplaintARF, cause: analysis.CauseOpenRelay,
			client: "203.0.113.66", verdict: analysis.RelayAbuse,
			reason:   "accepted for external domain webmail-br.example from unauthenticated client 203.0.113.66 outside the trusted networks",
			queueIDs: []string{"30817263514542"},
			// The Front End's 250 2.6.0 [InternalId=...] and RCPT lines,
			// the hub's RECEIVE and the SEND.
			evidence: []string{recv + ":99", recv + ":95", trk + ":16", trk + ":17"},
			summary:  "open relay: host EXSRV2 accepted mail for external recipients from unauthenticated client 203.0.113.66 (ylmf-pc)",
		},
		{
			// Forwarded as a base64 message/rfc822 attachment (as Outlook
			// does), holding an ARF report with only the headers.
			file: "forwarded-arf-auth.eml", kind: analysis.ComplaintARF, cause: analysis.CauseAuthenticated,
			client: "192.0.2.60", verdict: analysis.AuthenticatedOutbound,
			reason:   "accepted for external domain adatum.example from client 192.0.2.60 authenticated as NWTRADERS\\kim.park",
			queueIDs: []string{"30817263514483"}, authUser: `NWTRADERS\kim.park`,
			evidence: []string{recv + ":67", recv + ":64", trk + ":10", trk + ":11"},
			summary:  `authenticated account NWTRADERS\kim.park sent it from 192.0.2.60`,
		},
		{
			file: "scanner-sample.eml", kind: analysis.ComplaintMessage, cause: analysis.CauseInternal,
			client: "172.16.20.31", verdict: analysis.InternalOutbound,
			reason:   "accepted for external domain adatum.example from unauthenticated client 172.16.20.31",
			queueIDs: []string{"30817263514517"},
			evidence: []string{recv + ":83", recv + ":79", trk + ":13", trk + ":14"},
			summary:  "internal host: sent from 172.16.20.31",
		},
	})
}

// TestInvestigateMTAFlags looks messages up by each MTA's own ids: an Exim
// message id and an Exchange InternalId are queue ids; Message-IDs with or
// without brackets.
func TestInvestigateMTAFlags(t *testing.T) {
	exim := scanCorpus(t, eximDevCorpus, "mainlog", "rejectlog")
	exchange := scanCorpus(t, exchangeDevCorpus, "EXSRV2")
	tests := []struct {
		name, db string
		args     []string
		client   string
		root     string
		cause    analysis.CauseKind
	}{
		{"exim message id", exim, []string{"--queue-id", "1xX1kg-0007sl-07"}, "127.3.180.178", "1xX1kg-0007sl-07", analysis.CauseOpenRelay},
		{"exim Message-ID", exim, []string{"--message-id", "<20261127193653.511baa0ab8.54@corp.example>"}, "127.57.127.110", "1xX1kb-0007mv-0q", analysis.CauseAuthenticated},
		{"exim account and time", exim, []string{"--auth-user", "dave", "--since", "2026-11-27T19:36:53Z", "--until", "2026-11-27T19:36:54Z"}, "127.57.127.110", "1xX1kb-0007mv-0q", analysis.CauseAuthenticated},
		{"exchange InternalId", exchange, []string{"--queue-id", "30817263514542"}, "203.0.113.66", "30817263514542", analysis.CauseOpenRelay},
		{"exchange Message-ID", exchange, []string{"--message-id", "1738853872.442@ylmf-pc"}, "203.0.113.66", "30817263514542", analysis.CauseOpenRelay},
		{"exchange real client, not the proxy", exchange, []string{"--client-ip", "192.0.2.60", "--recipient", "buyer@adatum.example"}, "192.0.2.60", "30817263514483", analysis.CauseAuthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := investigateJSON(t, tt.db, tt.args...)
			if err != nil {
				t.Fatalf("investigate %v: %v", tt.args, err)
			}
			if len(inv.Incidents) != 1 {
				t.Fatalf("%d incidents, want 1: keys %+v", len(inv.Incidents), inv.Keys)
			}
			c := inv.Incidents[0].Cause
			if c.ClientIP != tt.client || c.QueueID != tt.root || c.Kind != tt.cause {
				t.Errorf("cause %s client %s queue id %s, want %s %s %s", c.Kind, c.ClientIP, c.QueueID, tt.cause, tt.client, tt.root)
			}
		})
	}
}

// checkRadius checks that the blast radius of client equals what
// dir/labels.csv says the client sent.
func checkRadius(t *testing.T, inv *analysis.Investigation, dir, client string) {
	t.Helper()
	want, n := labelCountsIn(t, dir, client)
	var rad *analysis.Radius
	for i := range inv.Radius {
		if inv.Radius[i].Key == analysis.KeyClientIP && inv.Radius[i].Value == client {
			rad = &inv.Radius[i]
		}
	}
	if rad == nil {
		t.Fatalf("no blast radius for client %s: %+v", client, inv.Radius)
	}
	if rad.Recipients != n {
		t.Errorf("blast radius of %s: %d recipients, labels.csv has %d", client, rad.Recipients, n)
	}
	for v, k := range want {
		if rad.Verdicts[v] != k {
			t.Errorf("blast radius of %s: %d %s, labels.csv has %d", client, rad.Verdicts[v], v, k)
		}
	}
}
