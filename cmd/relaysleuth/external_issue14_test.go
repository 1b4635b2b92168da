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

// externalDir holds other projects' real log samples (see its SOURCES.md):
// read in place, never copied into this repository. The test is skipped
// where they are not.
const externalDir = "../../../shared/corpus/external"

// TestExternalIssue14 reads the third-party samples that issue 14 was
// found with and checks each finding: the format chosen, nothing
// malformed, and the recipients the issue is about.
func TestExternalIssue14(t *testing.T) {
	if _, err := os.Stat(externalDir); err != nil {
		t.Skipf("no external samples: %v", err)
	}
	for _, tt := range []struct {
		name, config string
		files        []string
		format       string // the format --verbose names for every file read
		check        func(t *testing.T, rs []analysis.Recipient, stderr string)
	}{
		{"item 1: an Exchange 2000 W3C log is Exchange", "ossec-docs-exchange2000.json",
			[]string{"ossec-docs/exchange2000-w3c.log"}, "exchange", nil},
		{"item 2: tracking rows without a header", "elastic-integrations.json",
			[]string{"elastic-integrations/test-messagetracking.log"}, "exchange", nil},
		{"item 2: receive rows without a header", "crowdsec-hub.json",
			[]string{"crowdsec-hub/exchange-smtp-bf/exchange-smtp-bf.log"}, "exchange", nil},
		{"item 3: Exim through syslog", "crowdsec-hub.json",
			[]string{"crowdsec-hub/exim-syslog-logs/exim-logs.log"}, "exim", nil},
		{"item 3: Exim as OSSEC shows it", "ossec-docs-postfix-exim.json",
			[]string{"ossec-docs/exim-lines.log"}, "exim", nil},
		{"item 4: two smtpd processes' refusals in one second", "fail2ban-postfix.json",
			[]string{"fail2ban/postfix"}, "postfix",
			func(t *testing.T, rs []analysis.Recipient, _ string) {
				n := 0
				for _, r := range rs {
					if r.Recipient == "kitty@meow.com" && r.Status == analysis.StatusRejected {
						n++
					}
				}
				if n != 2 {
					t.Errorf("%d refusals of kitty@meow.com, want 2 (lines 62 and 65)", n)
				}
			}},
		{"item 6: a deferred message retried for five days", "lightmeter-individual/18_expired.json",
			[]string{"lightmeter/individual_files/18_expired.log"}, "postfix",
			func(t *testing.T, rs []analysis.Recipient, _ string) {
				var got []string
				for _, r := range rs {
					if r.QueueID == "23EBE3D5C0" {
						got = append(got, r.Status+" "+string(r.Verdict))
					}
				}
				if len(got) != 1 || !strings.HasPrefix(got[0], "bounced ") || strings.HasSuffix(got[0], string(analysis.InternalOutbound)) {
					t.Errorf("23EBE3D5C0's recipients: %q, want one, bounced, not internal_outbound", got)
				}
			}},
		{"item 11: mail.err with opendkim's lines only", "lightmeter-logs_sample.json",
			[]string{"lightmeter/logs_sample/mail.log", "lightmeter/logs_sample/mail.err"}, "postfix",
			func(t *testing.T, _ []analysis.Recipient, stderr string) {
				if !strings.Contains(stderr, "mail.err: holds no mail server's lines (opendkim only), skipped") {
					t.Errorf("mail.err not reported:\n%s", stderr)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "rs.db")
			args := []string{"ingest", "--verbose", "--db", db, "--config", filepath.Join(externalDir, "configs", tt.config),
				"--timezone", "UTC", "--year", "2020", "--progress", "never"}
			for _, f := range tt.files {
				args = append(args, filepath.Join(externalDir, f))
			}
			var stdout, stderr bytes.Buffer
			_ = runCLI(t, args, &stdout, &stderr) // mail.err's note may make it exit 1
			log := stderr.String()
			// fail2ban's file holds its test harness's "# failJSON" lines,
			// and 18_expired.log a line cut by its authors.
			if strings.Contains(log, "malformed\n") && !strings.Contains(log, " 0 malformed\n") && !strings.HasPrefix(tt.name, "item 4") && !strings.HasPrefix(tt.name, "item 6") {
				t.Errorf("malformed lines:\n%s", log)
			}
			if want := "read as " + tt.format; !strings.Contains(log, want) || strings.Count(log, "read as ") != strings.Count(log, want) {
				t.Errorf("want every file %s:\n%s", want, log)
			}
			if tt.check == nil {
				if !strings.Contains(log, " events, ") || strings.Contains(log, " 0 events, ") {
					t.Errorf("no events read:\n%s", log)
				}
				return
			}
			stdout.Reset()
			if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &stdout, &stderr); err != nil {
				t.Fatalf("report: %v\n%s", err, log)
			}
			var rs []analysis.Recipient
			if err := json.Unmarshal(stdout.Bytes(), &rs); err != nil {
				t.Fatal(err)
			}
			tt.check(t, rs, log)
		})
	}
}
