package analysis

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestDeferredForDays: a queue file retried over five days, silent for
// more than StaleAfter between tries, stays one message with its arrival
// until it expires (issue 14, item 6); postsuper -e's "force-expired" ends
// it like an expiry (item 9).
func TestDeferredForDays(t *testing.T) {
	for _, status := range []string{"expired", "force-expired"} {
		t.Run(status, func(t *testing.T) {
			rs := correlatePostfix(t, "corp.example", "127.0.0.0/8", `
Sep 25 18:26:34 mx postfix/smtpd[4546]: 23EBE3D5C0: client=unknown[203.0.113.50]
Sep 25 18:26:34 mx postfix/cleanup[5021]: 23EBE3D5C0: message-id=<m1@spam.example>
Sep 25 18:26:34 mx postfix/qmgr[31214]: 23EBE3D5C0: from=<a@spam.example>, size=312, nrcpt=1 (queue active)
Sep 25 18:26:36 mx postfix/smtp[5084]: 23EBE3D5C0: to=<v@victim.example>, relay=mx.victim.example[198.51.100.60]:25, delay=2, delays=0.18/0/1.6/0.19, dsn=4.1.1, status=deferred (host said: 450 try later)
Sep 25 19:01:03 mx postfix/qmgr[31214]: 23EBE3D5C0: from=<a@spam.example>, size=312, nrcpt=1 (queue active)
Sep 25 19:01:05 mx postfix/smtp[8810]: 23EBE3D5C0: to=<v@victim.example>, relay=mx.victim.example[198.51.100.60]:25, delay=2071, delays=2069/0.05/1.9/0.23, dsn=4.1.1, status=deferred (host said: 450 try later)
Sep 27 02:00:00 mx postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <z@victim.example>: Relay access denied; from=<q@spam.example> to=<z@victim.example> proto=ESMTP helo=<x>
Sep 30 20:46:06 mx postfix/qmgr[31214]: 23EBE3D5C0: from=<a@spam.example>, size=312, nrcpt=1 (queue active)
Sep 30 20:46:08 mx postfix/smtp[23560]: 23EBE3D5C0: to=<v@victim.example>, relay=mx.victim.example[198.51.100.60]:25, delay=440374, delays=440372/0.04/2/0.2, dsn=4.1.1, status=deferred (host said: 450 try later)
Sep 30 20:46:08 mx postfix/qmgr[31214]: 23EBE3D5C0: from=<a@spam.example>, status=`+status+`, returned to sender
Sep 30 20:46:08 mx postfix/qmgr[31214]: 23EBE3D5C0: removed
`)
			var got []string
			for _, r := range rs {
				got = append(got, r.Recipient+" "+string(r.Verdict)+" "+r.Status+" "+r.ClientIP)
			}
			want := []string{
				"v@victim.example relay_abuse bounced 203.0.113.50",
				"z@victim.example relay_attempt_rejected rejected 192.0.2.9",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("recipients:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestDeferredLeavesMemory: a deferred message is kept past StaleAfter but
// not past DeferredStaleAfter, so memory stays bounded when its end never
// comes.
func TestDeferredLeavesMemory(t *testing.T) {
	var p Policy
	p.AddDomains("corp.example")
	c := NewCorrelator(p)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ev := range []parsers.Event{
		{Kind: parsers.KindClient, ClientIP: netip.MustParseAddr("203.0.113.9")},
		{Kind: parsers.KindDelivery, Rcpt: "x@victim.example", Relay: "none", Status: parsers.StatusDeferred},
	} {
		ev.Time, ev.Format, ev.Host, ev.QueueID = start, "postfix", "mail", "4B49DBC34B"
		c.Feed(ev)
	}
	tick := func(at time.Duration) {
		c.Feed(parsers.Event{Time: start.Add(at), Format: "postfix", Host: "mail", Kind: parsers.KindConnect, Session: "1"})
	}
	tick(c.StaleAfter + time.Hour)
	if c.InFlight() != 1 {
		t.Fatalf("deferred message dropped after %v", c.StaleAfter+time.Hour)
	}
	tick(c.DeferredStaleAfter + time.Hour)
	if c.InFlight() != 0 || c.Stats().StaleMessages != 1 {
		t.Errorf("after %v: %d in flight, %d stale; want 0 and 1", c.DeferredStaleAfter+time.Hour, c.InFlight(), c.Stats().StaleMessages)
	}
}
