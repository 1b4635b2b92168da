package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestExchangeCorpusLabels scans the Exchange dev set the way an admin
// would, pointing scan at the copy of the server's TransportRoles\Logs
// folder (the Front End's receive protocol log and the tracking logs, in
// subfolders), and checks every labelled recipient.
func TestExchangeCorpusLabels(t *testing.T) {
	checkLabels(t, corpusRun{dir: "../../testdata/exchange/dev", logs: []string{"EXSRV2"}})
}

// TestExchangePublicSamples scans the public samples (most lost their
// header when they were copied from a forum or a test fixture, so the
// format is named and the file name tells the log type): no line may be
// malformed, and the verdicts are the ones the samples show.
func TestExchangePublicSamples(t *testing.T) {
	const pub = "../../testdata/exchange/public/"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	// The samples' own domains are local; their internal networks and the
	// other Exchange server of the XPROXYFROM sample (30.30.30.30, an
	// Exchange-to-Exchange hop on port 2525) are trusted.
	policy := `{"local_domains": ["contoso.com", "my.domain.com", "meelift.com", "wildsecurity.onmicrosoft.com"],
		"trusted_networks": ["10.0.0.0/8", "192.168.0.0/16", "30.30.30.30"]}`
	if err := os.WriteFile(cfg, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "rs.db")
	args := []string{"scan", "--db", db, "--config", cfg, "--input-format", "exchange", "--progress", "never"}
	for _, f := range []string{
		"ms-qa/recv_frontend_relay_denied_q179653.log",
		"ms-qa/recv_hub_xproxyfrom_q162632.log",
		"tstrueber-blog01/recv_frontend_anonymous_device.log",
		"elastic-integrations/msgtrk_test-messagetracking.log",
		"elastic-beats/bom8_msgtrk_ex2010.log",
		"ossec-docs/exchange2000_smtpsvc_w3c.log",
		"elastic-integrations/exo_messagetrace_test-log.log",
	} {
		args = append(args, pub+f)
	}
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, args, &stdout, &stderr); err != nil {
		t.Fatalf("scan: %v (no relay abuse expected)\nstderr:\n%s", err, stderr.String())
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
		t.Fatalf("report recipients JSON: %v\n%s", err, stdout.String())
	}
	want := map[string]analysis.Verdict{
		// 550 5.7.1 Unable to relay, after pipelining and a tarpit.
		"40.107.19.96|user@keyman  .com": analysis.RelayAttemptRejected,
		// An anonymous device inside, to a local mailbox.
		"10.100.100.30|edv@contoso.com": analysis.Inbound,
		// Hub RECEIVEs behind a Front End: judged by original-client-ip.
		"10.11.12.13|mailuser@my.domain.com": analysis.Inbound,
		"10.11.12.15|mailuser@my.domain.com": analysis.Inbound,
		// Exchange 2000 W3C: outside clients to local mailboxes.
		"24.118.118.106|pamb@meelift.com":        analysis.Inbound,
		"80.64.22.8|heyrmanmheyrman@meelift.com": analysis.Inbound,
		// Exchange Online message trace: inbound from FromIP.
		"81.2.69.144|linus@wildsecurity.onmicrosoft.com": analysis.Inbound,
	}
	seen := map[string]bool{}
	for _, r := range got {
		if r.MTA != "exchange" {
			t.Errorf("%s: mta %q, want exchange", r.Recipient, r.MTA)
		}
		if r.Verdict == analysis.RelayAbuse {
			t.Errorf("false alarm: relay_abuse %s from %s (%s)", r.Recipient, r.ClientIP, r.Reason)
		}
		k := r.ClientIP + "|" + r.Recipient
		if v, ok := want[k]; ok {
			seen[k] = true
			if r.Verdict != v {
				t.Errorf("%s: verdict %s, want %s (%s)", k, r.Verdict, v, r.Reason)
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s: not in the report", k)
		}
	}
}
