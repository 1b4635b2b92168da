package analysis

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestStaleMessagesLeaveMemory opens queue ids that are never closed (the
// MTA crashed, the log was cut): the correlator must drop them by age and
// count them, not keep them forever.
func TestStaleMessagesLeaveMemory(t *testing.T) {
	var p Policy
	p.AddDomains("corp.example")
	c := NewCorrelator(p)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 200000
	peak := 0
	for i := range n {
		ts := start.Add(time.Duration(i) * time.Second) // 200k messages over 2.3 days
		c.Feed(parsers.Event{
			Time: ts, Format: "postfix", Host: "mail", Kind: parsers.KindClient,
			QueueID: fmt.Sprintf("%010X", i), ClientIP: netip.MustParseAddr("203.0.113.9"),
			Pos: parsers.Pos{File: "mail.log", Line: i + 1},
		})
		if i%1000 == 0 {
			c.Flush()
			peak = max(peak, c.InFlight())
		}
	}
	c.Flush()
	// StaleAfter (6h) of messages at one per second, plus one sweep period.
	limit := int(c.StaleAfter/time.Second) + 120
	if peak > limit {
		t.Errorf("peak in-flight messages = %d, want at most %d", peak, limit)
	}
	if st := c.Stats(); st.StaleMessages < n-limit {
		t.Errorf("stale messages counted = %d, want at least %d", st.StaleMessages, n-limit)
	}
}

// TestRemovedMessagesLeaveMemory: complete messages are dropped soon after
// their removal, and late lines about them do not crash anything.
func TestRemovedMessagesLeaveMemory(t *testing.T) {
	var p Policy
	p.AddDomains("corp.example")
	c := NewCorrelator(p)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50000 {
		ts := start.Add(time.Duration(i) * time.Second)
		qid := fmt.Sprintf("%010X", i)
		for _, ev := range []parsers.Event{
			{Kind: parsers.KindClient, ClientIP: netip.MustParseAddr("203.0.113.9")},
			{Kind: parsers.KindDelivery, Rcpt: "x@victim.example", Relay: "mx[192.0.2.1]:25", Status: "sent"},
			{Kind: parsers.KindRemoved},
		} {
			ev.Time, ev.Format, ev.Host, ev.QueueID = ts, "postfix", "mail", qid
			c.Feed(ev)
		}
		if i%5000 == 0 {
			rs, _ := c.Flush()
			for _, r := range rs {
				if r.Verdict != RelayAbuse {
					t.Fatalf("%s: verdict %s, want relay_abuse", r.QueueID, r.Verdict)
				}
			}
		}
	}
	if n := c.InFlight(); n > int(c.RemovedGrace/time.Second)+120 {
		t.Errorf("in-flight after removals = %d", n)
	}
}
