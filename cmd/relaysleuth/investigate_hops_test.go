package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// twoHopLogs writes the logs of two of the admin's own Postfix servers, one
// file per host as they are collected: the edge host "edge" (10.0.0.1)
// takes a message from the outside client 203.0.113.77 without
// authentication and relays it over SMTP to the hub "hub" (10.0.0.2),
// whose log names the edge host as its client, and the hub sends it out.
// hubSkew shifts the hub's clock; queuedAs false leaves the hub's queue id
// out of the edge's delivery line (a hub that does not say it), so only the
// Message-ID joins the two logs.
func twoHopLogs(t *testing.T, hubSkew time.Duration, queuedAs bool) (dir string) {
	t.Helper()
	dir = t.TempDir()
	at := func(base string, skew time.Duration) string {
		ts, err := time.Parse(time.DateTime, "2026-11-27 "+base)
		if err != nil {
			t.Fatal(err)
		}
		return ts.Add(skew).Format(time.Stamp)
	}
	reply := "250 2.0.0 Ok: queued as 7C2D4BC0A1"
	if !queuedAs {
		reply = "250 2.0.0 Ok"
	}
	edge := []string{
		at("19:40:01", 0) + " edge postfix/smtpd[2101]: connect from unknown[203.0.113.77]",
		at("19:40:01", 0) + " edge postfix/smtpd[2101]: 3F1A2BC001: client=unknown[203.0.113.77]",
		at("19:40:01", 0) + " edge postfix/cleanup[2104]: 3F1A2BC001: message-id=<20261127194001.77aa01@spam.example>",
		at("19:40:01", 0) + " edge postfix/qmgr[2090]: 3F1A2BC001: from=<promo@spam.example>, size=912, nrcpt=1 (queue active)",
		at("19:40:01", 0) + " edge postfix/smtpd[2101]: disconnect from unknown[203.0.113.77] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
		at("19:40:02", 0) + " edge postfix/smtp[2106]: 3F1A2BC001: to=<target@victim.example>, relay=hub.corp.example[10.0.0.2]:25, delay=0.4, delays=0.1/0.01/0.1/0.2, dsn=2.0.0, status=sent (" + reply + ")",
		at("19:40:02", 0) + " edge postfix/qmgr[2090]: 3F1A2BC001: removed",
	}
	hub := []string{
		at("19:40:02", hubSkew) + " hub postfix/smtpd[3301]: connect from edge.corp.example[10.0.0.1]",
		at("19:40:02", hubSkew) + " hub postfix/smtpd[3301]: 7C2D4BC0A1: client=edge.corp.example[10.0.0.1]",
		at("19:40:02", hubSkew) + " hub postfix/cleanup[3304]: 7C2D4BC0A1: message-id=<20261127194001.77aa01@spam.example>",
		at("19:40:02", hubSkew) + " hub postfix/qmgr[3290]: 7C2D4BC0A1: from=<promo@spam.example>, size=1203, nrcpt=1 (queue active)",
		at("19:40:02", hubSkew) + " hub postfix/smtpd[3301]: disconnect from edge.corp.example[10.0.0.1] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
		at("19:40:03", hubSkew) + " hub postfix/smtp[3306]: 7C2D4BC0A1: to=<target@victim.example>, relay=mx.victim.example[198.51.100.25]:25, delay=0.9, delays=0.1/0.01/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4ZfQ9m3Kx7)",
		at("19:40:03", hubSkew) + " hub postfix/qmgr[3290]: 7C2D4BC0A1: removed",
	}
	for name, lines := range map[string][]string{"edge.log": edge, "hub.log": hub} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `{"local_domains": ["corp.example"], "trusted_networks": ["127.0.0.1/32", "10.0.0.0/24"]}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// twoHopComplaint is the ARF report the victim's provider sends: the
// message's Received headers name the hub, then the edge host, then the
// outside client.
func twoHopComplaint(t *testing.T, dir string) string {
	t.Helper()
	report := "From: abuse@victim.example\r\n" +
		"To: abuse@corp.example\r\n" +
		"Subject: FW: spam from your network\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b1\"\r\n" +
		"\r\n" +
		"--b1\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Spam from your network.\r\n" +
		"--b1\r\n" +
		"Content-Type: message/feedback-report\r\n" +
		"\r\n" +
		"Feedback-Type: abuse\r\n" +
		"Version: 1\r\n" +
		"Original-Mail-From: <promo@spam.example>\r\n" +
		"Original-Rcpt-To: <target@victim.example>\r\n" +
		"Arrival-Date: Fri, 27 Nov 2026 19:40:04 +0000\r\n" +
		"Source-IP: 192.0.2.2\r\n" +
		"\r\n" +
		"--b1\r\n" +
		"Content-Type: message/rfc822\r\n" +
		"\r\n" +
		"Received: from hub.corp.example (hub.corp.example [192.0.2.2])\r\n" +
		"\tby mx.victim.example (Postfix) with ESMTPS id 4ZfQ9m3Kx7\r\n" +
		"\tfor <target@victim.example>; Fri, 27 Nov 2026 19:40:03 +0000 (UTC)\r\n" +
		"Received: from edge.corp.example (edge.corp.example [10.0.0.1])\r\n" +
		"\tby hub.corp.example (Postfix) with ESMTPS id 7C2D4BC0A1\r\n" +
		"\tfor <target@victim.example>; Fri, 27 Nov 2026 19:40:02 +0000 (UTC)\r\n" +
		"Received: from spamhost (unknown [203.0.113.77])\r\n" +
		"\tby edge.corp.example (Postfix) with ESMTP id 3F1A2BC001\r\n" +
		"\tfor <target@victim.example>; Fri, 27 Nov 2026 19:40:01 +0000 (UTC)\r\n" +
		"From: Promo <promo@spam.example>\r\n" +
		"To: target@victim.example\r\n" +
		"Subject: You won\r\n" +
		"Date: Fri, 27 Nov 2026 19:40:00 +0000\r\n" +
		"Message-ID: <20261127194001.77aa01@spam.example>\r\n" +
		"\r\n" +
		"Claim your prize.\r\n" +
		"--b1--\r\n"
	path := filepath.Join(dir, "report.eml")
	if err := os.WriteFile(path, []byte(report), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInvestigateAcrossHosts: a message that crossed two of the admin's
// own servers is one incident whose trail holds both hosts' lines, and its
// cause is the edge host's outside client, not the hub's (the edge host).
func TestInvestigateAcrossHosts(t *testing.T) {
	for _, tt := range []struct {
		name     string
		hubSkew  time.Duration
		queuedAs bool
	}{
		{"in order", 0, true},
		{"hub clock behind", -5 * time.Second, true},
		{"hub clock ahead", 2 * time.Minute, true},
		{"joined by Message-ID only", 0, false},
		{"Message-ID only, hub clock behind", -5 * time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := twoHopLogs(t, tt.hubSkew, tt.queuedAs)
			db := filepath.Join(dir, "rs.db")
			var stdout, stderr bytes.Buffer
			err := runCLI(t, []string{"scan", "--db", db, "--config", filepath.Join(dir, "config.json"), "--timezone", "UTC",
				"--year", "2026", "--progress", "never", filepath.Join(dir, "edge.log"), filepath.Join(dir, "hub.log")}, &stdout, &stderr)
			if !errors.Is(err, errRelayFound) {
				t.Fatalf("scan: err = %v, want relay abuse found\n%s", err, stderr.String())
			}
			report := twoHopComplaint(t, dir)
			for _, args := range [][]string{
				{report},
				{"--message-id", "20261127194001.77aa01@spam.example"},
				{"--queue-id", "7C2D4BC0A1"}, // the hub's id, from its Received header
				{"--recipient", "target@victim.example", "--since", "2026-11-27T19:00:00Z", "--until", "2026-11-27T20:00:00Z"},
			} {
				inv, err := investigateJSON(t, db, args...)
				if err != nil {
					t.Fatalf("investigate %v: %v", args, err)
				}
				if len(inv.Incidents) != 1 {
					t.Fatalf("investigate %v: %d incidents, want 1 (one message across two hosts): keys %+v", args, len(inv.Incidents), inv.Keys)
				}
				inc := inv.Incidents[0]
				c := inc.Cause
				if c.Kind != analysis.CauseOpenRelay || c.Host != "edge" || c.QueueID != "3F1A2BC001" || c.ClientIP != "203.0.113.77" {
					t.Errorf("investigate %v: cause %s on %s %s from %s, want open_relay on edge 3F1A2BC001 from 203.0.113.77\n%s",
						args, c.Kind, c.Host, c.QueueID, c.ClientIP, c.Summary)
				}
				if !strings.Contains(c.Summary, "203.0.113.77") || !strings.Contains(c.Summary, "edge") {
					t.Errorf("investigate %v: summary %q does not name the client and the edge host", args, c.Summary)
				}
				if !slices.Contains(c.Evidence, filepath.Join(dir, "edge.log")+":2") {
					t.Errorf("investigate %v: cause evidence %v lacks edge.log:2 (client=)", args, c.Evidence)
				}
				ids := slices.Clone(inc.QueueIDs)
				slices.Sort(ids)
				if !slices.Equal(ids, []string{"3F1A2BC001", "7C2D4BC0A1"}) {
					t.Errorf("investigate %v: queue ids %v, want both hosts'", args, inc.QueueIDs)
				}
				for _, rd := range inv.Radius {
					if rd.Key == analysis.KeySender && (rd.Recipients != 1 || rd.Messages != 1) {
						t.Errorf("investigate %v: sender's blast radius %d recipients in %d messages, want 1 in 1 (the hub's copy is the same)", args, rd.Recipients, rd.Messages)
					}
				}
				hosts := map[string]bool{}
				for _, s := range inc.Trail {
					hosts[s.Host] = true
				}
				if !hosts["edge"] || !hosts["hub"] {
					t.Errorf("investigate %v: trail hosts %v, want edge and hub", args, hosts)
				}
				if len(inc.Trail) == 0 || inc.Trail[0].Host != "edge" && tt.hubSkew >= 0 {
					t.Errorf("investigate %v: trail starts %+v, want on edge", args, inc.Trail)
				}
			}
			out, err := investigate(t, db, report)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"Cause: open_relay", "edge 3F1A2BC001", "203.0.113.77", "edge.log:2", "hub.log:2", "hub.log:6"} {
				if !strings.Contains(out, s) {
					t.Errorf("table output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}
