package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReportRelayTopDomainsOfTricks: the relay report's top domains name the
// domain a relay-trick recipient was relayed to, not the local domain the
// trick was addressed at (issue 20, item 7).
func TestReportRelayTopDomainsOfTricks(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "mail.log")
	const lines = `2026-12-05T10:00:00.000000+00:00 mail postfix/smtpd[100]: connect from unknown[203.0.113.9]
2026-12-05T10:00:00.100000+00:00 mail postfix/smtpd[100]: 4B1C2D3E4F: client=unknown[203.0.113.9]
2026-12-05T10:00:00.200000+00:00 mail postfix/cleanup[101]: 4B1C2D3E4F: message-id=<t1@spam.example>
2026-12-05T10:00:00.300000+00:00 mail postfix/qmgr[102]: 4B1C2D3E4F: from=<s@spam.example>, size=300, nrcpt=3 (queue active)
2026-12-05T10:00:01.000000+00:00 mail postfix/smtp[103]: 4B1C2D3E4F: to=<pct%victim-p.example@corp.example>, relay=mx.victim-p.example[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
2026-12-05T10:00:01.100000+00:00 mail postfix/smtp[103]: 4B1C2D3E4F: to=<victim-b.example!bang@corp.example>, relay=mx.victim-b.example[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
2026-12-05T10:00:01.200000+00:00 mail postfix/smtp[103]: 4B1C2D3E4F: to=<plain@victim-c.example>, relay=mx.victim-c.example[198.51.100.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
2026-12-05T10:00:01.300000+00:00 mail postfix/qmgr[102]: 4B1C2D3E4F: removed
2026-12-05T10:00:01.400000+00:00 mail postfix/smtpd[100]: disconnect from unknown[203.0.113.9] ehlo=1 mail=1 rcpt=3 data=1 quit=1 commands=5
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "rs.db")
	if err := runCLI(t, []string{"ingest", "--db", db, "--local-domains", "corp.example", log}, &bytes.Buffer{}, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "relay", "--db", db, "--format", "json"}, &out, nil); !errors.Is(err, errRelayFound) {
		t.Fatalf("report relay: %v, want relay found\n%s", err, out.String())
	}
	var clients []struct {
		ClientIP   string   `json:"client_ip"`
		TopDomains []string `json:"top_domains"`
	}
	if err := json.Unmarshal(out.Bytes(), &clients); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(clients) != 1 {
		t.Fatalf("clients %+v, want one", clients)
	}
	got := slices.Sorted(slices.Values(clients[0].TopDomains))
	if want := []string{"victim-b.example", "victim-c.example", "victim-p.example"}; !slices.Equal(got, want) {
		t.Errorf("top domains %v, want %v", got, want)
	}
}
