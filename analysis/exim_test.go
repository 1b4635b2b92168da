package analysis

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/exim"
)

// eximFile is one Exim log as ingest reads it: a mainlog or a rejectlog.
type eximFile struct {
	name string
	log  string
}

// correlateExim feeds the files, in order, through the Exim parser and the
// correlator, and returns the final state of every recipient by key.
func correlateExim(t *testing.T, files ...eximFile) map[string]Recipient {
	t.Helper()
	var p Policy
	if err := p.AddDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	p.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	c := NewCorrelator(p)
	got := map[string]Recipient{}
	for _, f := range files {
		feedLines(t, c, exim.NewParser(exim.Options{Location: time.UTC, Rejectlog: strings.Contains(f.name, "reject")}),
			f.name, strings.TrimPrefix(f.log, "\n"))
	}
	rs, _ := c.Flush()
	for _, r := range rs {
		got[r.Key] = r
	}
	return got
}

// verdicts returns recipient → verdicts, for recipients that may repeat.
func verdicts(rs map[string]Recipient) map[string][]Verdict {
	out := map[string][]Verdict{}
	for _, r := range rs {
		out[r.Recipient] = append(out[r.Recipient], r.Verdict)
	}
	return out
}

func TestEximVerdicts(t *testing.T) {
	const mainlog = `
2026-11-27 19:40:00 1xX1kA-0007aa-1A <= alice@outside.example H=mx.outside.example [203.0.113.7] P=esmtps S=900 id=a1@outside.example
2026-11-27 19:40:00 1xX1kA-0007aa-1A => erin <erin@corp.example> R=local_user T=mail_spool
2026-11-27 19:40:00 1xX1kA-0007aa-1A => j.doe@partner.example <fwd@corp.example> R=dnslookup T=remote_smtp H=mx.partner.example [198.51.100.9] C="250 OK"
2026-11-27 19:40:00 1xX1kA-0007aa-1A Completed
2026-11-27 19:40:01 1xX1kB-0007bb-1B <= bob@corp.example H=(laptop) [198.51.100.5] P=esmtpsa S=700 id=b1@corp.example
2026-11-27 19:40:01 1xX1kB-0007bb-1B => x@outside.example R=dnslookup T=remote_smtp H=mx.outside.example [203.0.113.8]
2026-11-27 19:40:01 1xX1kB-0007bb-1B Completed
2026-11-27 19:40:02 1xX1kC-0007cc-1C <= spammer@spam.example H=(win-7K2P0Q) [203.0.113.66] P=esmtp S=500 id=c1@spam.example
2026-11-27 19:40:02 1xX1kC-0007cc-1C ** y@bouncy.example R=dnslookup T=remote_smtp H=mx.bouncy.example [203.0.113.9]: SMTP error from remote mail server after RCPT TO:<y@bouncy.example>: 550 5.1.1 User unknown
2026-11-27 19:40:02 1xX1kD-0007dd-1D <= <> R=1xX1kC-0007cc-1C U=Debian-exim P=local S=2355
2026-11-27 19:40:02 1xX1kC-0007cc-1C Completed
2026-11-27 19:40:02 1xX1kD-0007dd-1D => spammer@spam.example R=dnslookup T=remote_smtp H=mx.spam.example [203.0.113.10]
2026-11-27 19:40:02 1xX1kD-0007dd-1D Completed
2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:04 H=(laptop) [198.51.100.5] F=<bob@corp.example> A=dovecot_plain:bob rejected RCPT <w@outside.example>: rate limited
2026-11-27 19:40:05 1xX1kE-0007ee-1E H=(spam.example) [203.0.113.66] F=<s@spam.example> rejected after DATA: spam detected`
	const rejectlog = `
2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:04 H=(laptop) [198.51.100.5] F=<bob@corp.example> A=dovecot_plain:bob rejected RCPT <w@outside.example>: rate limited
2026-11-27 19:40:05 1xX1kE-0007ee-1E H=(spam.example) [203.0.113.66] F=<s@spam.example> rejected after DATA: spam detected
Envelope-from: <s@spam.example>
Envelope-to: <t@victim.example>
    <carol@corp.example>
P Received: from [203.0.113.66] (helo=spam.example)
        by mail.corp.example with esmtp (Exim 4.96)
        id 1xX1kE-0007ee-1E
        for t@victim.example; Fri, 27 Nov 2026 19:40:05 +0000
I Message-ID: <e1@spam.example>`

	got := verdicts(correlateExim(t, eximFile{"mainlog", mainlog}, eximFile{"rejectlog", rejectlog}))
	want := map[string][]Verdict{
		"erin@corp.example":    {Inbound},
		"fwd@corp.example":     {Forwarded},
		"x@outside.example":    {AuthenticatedOutbound}, // P=esmtpsa, no A=
		"y@bouncy.example":     {RelayAbuse},
		"spammer@spam.example": {SystemBounce},
		"v@victim.example":     {RelayAttemptRejected, RelayAttemptRejected}, // twice, each in both logs
		"w@outside.example":    {AuthenticatedOutbound},
		"t@victim.example":     {RelayAttemptRejected}, // refused after DATA
		"carol@corp.example":   {Inbound},
	}
	for rcpt, w := range want {
		if g := got[rcpt]; len(g) != len(w) || g[0] != w[0] || g[len(g)-1] != w[len(w)-1] {
			t.Errorf("%s: verdicts %v, want %v", rcpt, g, w)
		}
	}
	for rcpt, g := range got {
		if _, ok := want[rcpt]; !ok {
			t.Errorf("unexpected recipient %s: %v", rcpt, g)
		}
	}
}

// TestEximRefusedAfterDataClient: the recipients of a message refused after
// DATA are judged by the client on the reject line.
func TestEximRefusedAfterDataClient(t *testing.T) {
	const rejectlog = `
2026-11-27 19:40:05 1xX1kE-0007ee-1E H=(spam.example) [203.0.113.66] F=<s@spam.example> rejected after DATA: spam detected
Envelope-from: <s@spam.example>
Envelope-to: <t@victim.example>`
	for _, r := range correlateExim(t, eximFile{"rejectlog", rejectlog}) {
		if r.ClientIP != "203.0.113.66" || r.Sender != "s@spam.example" || r.Status != StatusRejected || r.QueueID != "1xX1kE-0007ee-1E" {
			t.Errorf("refused after DATA: %+v", r)
		}
	}
}

// feedLines parses text line by line with p, as file, and feeds every event
// to c; a malformed line fails the test.
func feedLines(t *testing.T, c *Correlator, p parsers.Parser, file, text string) {
	t.Helper()
	var evs []parsers.Event
	for i, line := range strings.Split(text, "\n") {
		var err error
		evs, err = p.Parse(evs[:0], []byte(line), parsers.Pos{File: file, Line: i + 1})
		if err != nil && err != parsers.ErrUnsupported {
			t.Fatalf("%s:%d: %v", file, i+1, err)
		}
		for _, ev := range evs {
			c.Feed(ev)
		}
	}
}
