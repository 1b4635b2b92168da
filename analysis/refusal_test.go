package analysis

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers/postfix"
)

// correlatePostfix feeds a Postfix log through the parser and the
// correlator and returns the final state of every recipient, sorted by
// recipient and time.
func correlatePostfix(t *testing.T, domains, trusted string, log string) []Recipient {
	t.Helper()
	var p Policy
	if err := p.AddDomains(strings.Split(domains, ",")...); err != nil {
		t.Fatal(err)
	}
	if err := p.AddNetworks(strings.Split(trusted, ",")...); err != nil {
		t.Fatal(err)
	}
	c := NewCorrelator(p)
	feedLines(t, c, postfix.NewParser(postfix.Options{Year: 2026, Location: time.UTC}), "mail.log", strings.Trim(log, "\n"))
	rs, _ := c.Flush()
	last := map[string]Recipient{}
	for _, r := range rs {
		last[r.Key] = r
	}
	out := make([]Recipient, 0, len(last))
	for _, r := range last {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Recipient != out[j].Recipient {
			return out[i].Recipient < out[j].Recipient
		}
		return out[i].Time.Before(out[j].Time)
	})
	return out
}

// TestRefusalsOfTwoSessions: two smtpd processes refusing the same sender
// and recipient from one client in one second are two refusals, each with
// its own line (issue 14, item 4). A client repeating the refused RCPT in
// its own session counts each time too.
func TestRefusalsOfTwoSessions(t *testing.T) {
	rs := correlatePostfix(t, "corp.example", "127.0.0.0/8", `
Jun 12 08:58:35 mx postfix/smtpd[27296]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.4]; from=<a@spam.example> to=<b@corp.example> proto=ESMTP helo=<spam.example>
Jun 12 08:58:35 mx postfix/smtpd[2931]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 450 4.7.1 <spam.example>: Helo command rejected: Host not found; from=<a@spam.example> to=<b@corp.example> proto=SMTP helo=<spam.example>
Jun 12 08:58:36 mx postfix/smtpd[2931]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<a@spam.example> to=<v@victim.example> proto=SMTP helo=<spam.example>
Jun 12 08:58:36 mx postfix/smtpd[2931]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<a@spam.example> to=<v@victim.example> proto=SMTP helo=<spam.example>
`)
	var lines []int
	for _, r := range rs {
		if r.Status != StatusRejected {
			t.Errorf("%s: status %s", r.Recipient, r.Status)
		}
		want := Inbound
		if r.Recipient == "v@victim.example" {
			want = RelayAttemptRejected
		}
		if r.Verdict != want {
			t.Errorf("%s: verdict %s, want %s", r.Recipient, r.Verdict, want)
		}
		for _, e := range r.Evidence {
			lines = append(lines, ParsePos(e).Line)
		}
	}
	sort.Ints(lines)
	if len(rs) != 4 || len(lines) != 4 || lines[0] != 1 || lines[1] != 2 || lines[2] != 3 || lines[3] != 4 {
		t.Errorf("%d refusals with evidence lines %v, want 4 with one line each, 1 to 4", len(rs), lines)
	}
}

// TestRefusalNamesItsClient: a refusal with a queue id whose client= line
// is not in the log is judged by the client the refusal line names (issue
// 14, item 5); the recipient accepted before it is not (its arrival line,
// which would say whether the client authenticated, is missing).
func TestRefusalNamesItsClient(t *testing.T) {
	rs := correlatePostfix(t, "corp.example", "127.0.0.0/8", `
Jun 12 09:00:01 mx postfix/smtpd[4001]: 00ADB3C0899: reject: RCPT from example.com[192.0.2.1]: 554 5.7.1 <x@victim.example>: Relay access denied; from=<a@b.example> to=<x@victim.example> proto=ESMTP helo=<example.com>
Jun 12 09:00:02 mx postfix/smtp[4002]: 00ADB3C0899: to=<y@outside.example>, relay=mx.outside.example[198.51.100.7]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Jun 12 09:00:02 mx postfix/qmgr[99]: 00ADB3C0899: removed
`)
	if len(rs) != 2 {
		t.Fatalf("%d recipients, want 2: %+v", len(rs), rs)
	}
	refused, sent := rs[0], rs[1]
	if refused.Recipient != "x@victim.example" || refused.ClientIP != "192.0.2.1" || refused.ClientName != "example.com" ||
		refused.Helo != "example.com" || refused.Verdict != RelayAttemptRejected || !strings.Contains(refused.Reason, "192.0.2.1") {
		t.Errorf("refused recipient: %+v", refused)
	}
	if sent.Recipient != "y@outside.example" || sent.ClientIP != "" || sent.Verdict != UnknownOrigin {
		t.Errorf("accepted recipient: %+v", sent)
	}
}
