package probe

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestVerifyMarkers replays what Debian's Exim 4.96 logs for a closed probe
// whose IP-literal senders it refuses: the case is tried again with a local
// sender, and every refusal is in the mainlog and again in the rejectlog.
// Each case is tied to its own lines by the marker in its addresses, not by
// time or order: the lines are shuffled, stamped in one second, one case's
// line lands in another's time window, and a line of another run with the
// same addresses but another run's marker is ignored (issue 20, item 2).
func TestVerifyMarkers(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 2, 10, 1, 0, time.UTC)
	ip := netip.MustParseAddr("127.0.0.2")
	cfg := Config{LocalDomain: "probe.test", Cases: []string{"local-sender", "ip-literal-sender", "quoted-at", "bang"}}
	res := Result{Run: "k3f9a1c2", End: t0.Add(time.Second)}
	for i, c := range cases(cfg, Target{Name: "mail.probe.test", IP: netip.MustParseAddr("127.0.0.1")}, res.Run) {
		cr := CaseResult{Name: c.Name, Sender: c.Sender, Recipient: c.Recipient, Marker: c.Marker, Verdict: Refused, Stage: "RCPT",
			ClientIP: ip, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond)}
		if c.Name != "local-sender" { // sender at the address literal: refused, then the local one
			r := c.Retries[0]
			cr.Refused = []Attempt{{Sender: c.Sender, Marker: c.Marker, Code: 501, Text: "domain literals not allowed"}}
			cr.Sender, cr.Recipient, cr.Marker = r.Sender, r.Recipient, r.Marker
		}
		res.Cases = append(res.Cases, cr)
	}
	c := res.Cases
	if c[1].Marker != "k3f9a1c2-05b" || c[1].Refused[0].Marker != "k3f9a1c2-05a" || c[0].Marker != "k3f9a1c2-01a" {
		t.Fatalf("markers %s %s %s", c[0].Marker, c[1].Marker, c[1].Refused[0].Marker)
	}
	rec := func(file string, line int, from, to, raw string) LogRecord {
		return LogRecord{Time: t0, ClientIP: ip, Sender: from, Recipient: to, Status: "rejected", Reply: "RCPT: relay not permitted",
			Raw: raw, Evidence: []string{fmt.Sprintf("%s:%d", file, line)}}
	}
	var recs []LogRecord
	for _, f := range []string{"rejectlog", "mainlog"} { // rejectlog first: order must not matter
		off := map[string]int{"mainlog": 100, "rejectlog": 10}[f]
		recs = append(recs,
			// bang, whose recipient Exim refuses as unqualified, logged before the others
			rec(f, off+0, "", "", `unqualified recipient rejected: <relaytest.invalid!`+"relaytest-k3f9a1c2-16b"+`> H=(probe.test) [127.0.0.2]`),
			rec(f, off+1, c[0].Sender, "relaytest-k3f9a1c2-01a@relaytest.invalid", "H=(probe.test) [127.0.0.2] rejected RCPT"),
			rec(f, off+2, c[1].Refused[0].Sender, "", `SMTP syntax error in "MAIL FROM:<`+c[1].Refused[0].Sender+`>" H=(probe.test) [127.0.0.2] domain literals not allowed`),
			rec(f, off+3, c[1].Sender, c[1].Recipient, ""),
			rec(f, off+4, c[2].Sender, `"relaytest-k3f9a1c2-08b@relaytest.invalid"`, ""),
			rec(f, off+5, "relaysleuth-zzzzzzzz-01a@probe.test", "relaytest-zzzzzzzz-01a@relaytest.invalid", ""), // another run
		)
	}
	recs[0].Time = t0.Add(-time.Hour) // a clock far off: the marker still ties it
	sum := Verify(&res, recs, 2*time.Second, []string{"mainlog", "rejectlog"})
	want := map[string][]string{
		"local-sender":      {"mainlog:101", "rejectlog:11"},
		"ip-literal-sender": {"mainlog:103", "rejectlog:13"},
		"quoted-at":         {"mainlog:104", "rejectlog:14"},
		"bang":              {"rejectlog:10", "mainlog:100"}, // an hour earlier
	}
	for _, cs := range res.Cases {
		l := cs.Log
		if l.Status != LogRefused || l.Match != matchMarker || !slices.Equal(l.Evidence, want[cs.Name]) {
			t.Errorf("case %s: %s by %q, evidence %v; want refused by marker, %v", cs.Name, l.Status, l.Match, l.Evidence, want[cs.Name])
		}
		if wantMail := cs.Name == "ip-literal-sender"; wantMail != slices.Equal(l.MailRefused, []string{"mainlog:102", "rejectlog:12"}) {
			t.Errorf("case %s: MAIL refusal evidence %v", cs.Name, l.MailRefused)
		}
	}
	if sum.Found != 4 || sum.Missing != 0 || sum.Disagree != 0 {
		t.Errorf("summary %+v, want 4 found", sum)
	}

	// A case whose marker is in no line is not in the log, even when a
	// line of another case, or another run, sits in its time.
	res.Cases = res.Cases[:1]
	sum = Verify(&res, recs[2:], 2*time.Second, nil) // without rejectlog:11
	if l := res.Cases[0].Log; !slices.Equal(l.Evidence, []string{"mainlog:101"}) {
		t.Errorf("local-sender without its rejectlog copy: %+v", l)
	}
	sum = Verify(&res, slices.Concat(recs[2:4], recs[8:]), 2*time.Second, nil)
	if l := res.Cases[0].Log; l.Status != LogMissing || sum.Missing != 1 {
		t.Errorf("local-sender without its lines: %+v, summary %+v; want not in the log", l, sum)
	}
}

// TestVerifyOtherRun: lines of another probe run just before from the same
// address (its markers) and refused senders are never taken for this run's
// accepted cases, which only a queue file opened in their time may stand
// for (Exim logs nothing for a recipient accepted without a message).
func TestVerifyOtherRun(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 2, 10, 1, 0, time.UTC)
	ip := netip.MustParseAddr("127.0.0.1")
	cfg := Config{LocalDomain: "probe.test", Cases: []string{"local-sender", "outside-sender"}}
	res := Result{Run: "k3f9a1c2", End: t0.Add(time.Second)}
	for i, c := range cases(cfg, Target{Name: "mail.probe.test", IP: ip}, res.Run) {
		res.Cases = append(res.Cases, CaseResult{Name: c.Name, Sender: c.Sender, Recipient: c.Recipient, Marker: c.Marker,
			Verdict: Accepted, Code: 250, Stage: "RCPT", ClientIP: ip, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond)})
	}
	recs := []LogRecord{
		{Time: t0, ClientIP: ip, Sender: "relaysleuth-zzzzzzzz-05a@[127.0.0.1]", Status: "rejected", Reply: "MAIL: domain literals not allowed",
			Evidence: []string{"mainlog:2"}},
		{Time: t0, ClientIP: ip, Sender: "someone@probe.test", Status: "rejected", Reply: "MAIL: sender verify failed", Evidence: []string{"mainlog:3"}},
		{Time: t0, ClientIP: ip, Sender: "relaysleuth-zzzzzzzz-01a@probe.test", Recipient: "relaytest-zzzzzzzz-01a@relaytest.invalid",
			Status: "rejected", Evidence: []string{"mainlog:4"}},
		{Time: t0, ClientIP: ip, QueueID: "4B49DBC301", Evidence: []string{"mail.log:9"}},
	}
	sum := Verify(&res, recs, 2*time.Second, nil)
	if l := res.Cases[0].Log; l.Status != LogAccepted || l.Match != matchSession || l.Evidence[0] != "mail.log:9" {
		t.Errorf("local-sender: %+v, want the queue file", l)
	}
	if l := res.Cases[1].Log; l.Status != LogMissing {
		t.Errorf("outside-sender: %+v, want not in the log", l)
	}
	if sum.Disagree != 0 {
		t.Errorf("summary %+v: the log does not disagree", sum)
	}
}
