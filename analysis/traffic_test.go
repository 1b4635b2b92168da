package analysis

import (
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

func TestTrafficCounter(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	ev := func(sec int, host string, k parsers.Kind, qid string, f func(*parsers.Event)) parsers.Event {
		e := parsers.Event{Time: t0.Add(time.Duration(sec) * time.Second), Format: "postfix", Host: host, Kind: k, QueueID: qid}
		if f != nil {
			f(&e)
		}
		return e
	}
	sent := func(rcpt, next string) func(*parsers.Event) {
		return func(e *parsers.Event) { e.Rcpt, e.Status, e.NextQueueID = rcpt, parsers.StatusSent, next }
	}
	events := []parsers.Event{
		// A: received, deferred twice (one message deferred), then sent.
		ev(0, "mail", parsers.KindClient, "A", nil),
		ev(1, "mail", parsers.KindSender, "A", func(e *parsers.Event) { e.From, e.Size = "Alice@Corp.example", 1000 }),
		ev(2, "mail", parsers.KindDelivery, "A", func(e *parsers.Event) {
			e.Rcpt, e.Status, e.Reason = "x@slow.example", parsers.StatusDeferred, "connect to mx.slow.example[192.0.2.1]:25: Connection refused"
		}),
		ev(600, "mail", parsers.KindSender, "A", func(e *parsers.Event) { e.From, e.Size = "Alice@Corp.example", 1000 }), // from the deferred queue again
		ev(601, "mail", parsers.KindDelivery, "A", func(e *parsers.Event) {
			e.Rcpt, e.Status, e.Reason = "x@slow.example", parsers.StatusDeferred, "connect to mx.slow.example[192.0.2.1]:25: Connection refused"
		}),
		ev(3600, "mail", parsers.KindDelivery, "A", sent("x@slow.example", "")),
		ev(3600, "mail", parsers.KindRemoved, "A", nil),
		// B: received, handed to a content filter that re-injects it as C
		// (logged under its own host name before the "queued as" line),
		// then C delivered to two recipients, one bounced.
		ev(10, "mail", parsers.KindClient, "B", nil),
		ev(10, "mail", parsers.KindSender, "B", func(e *parsers.Event) { e.From, e.Size = "bob@corp.example", 200 }),
		ev(11, "reinject", parsers.KindClient, "C", nil),
		ev(11, "mail", parsers.KindDelivery, "B", sent("y@fast.example", "C")),
		ev(11, "mail", parsers.KindSender, "C", func(e *parsers.Event) { e.From, e.Size = "bob@corp.example", 300 }),
		ev(12, "mail", parsers.KindDelivery, "C", sent("y@fast.example", "")),
		ev(12, "mail", parsers.KindDelivery, "C", func(e *parsers.Event) {
			e.Rcpt, e.Status, e.Reason = "z@fast.example", parsers.StatusBounced, "host mx[192.0.2.2] said: 550 5.1.1 <z@fast.example>: User unknown"
		}),
		// D: local submission, forwarded by local(8).
		ev(20, "mail", parsers.KindPickup, "D", func(e *parsers.Event) { e.From = "root" }),
		ev(20, "mail", parsers.KindSender, "D", func(e *parsers.Event) { e.From, e.Size = "root@mail.corp.example", 50 }),
		ev(21, "mail", parsers.KindDelivery, "D", func(e *parsers.Event) {
			e.Rcpt, e.Status, e.Reason, e.NextQueueID = "fwd@corp.example", parsers.StatusSent, "forwarded as E", "E"
		}),
		// Refusals.
		ev(30, "mail", parsers.KindReject, "", func(e *parsers.Event) { e.Reason = "RCPT: <v1@victim.example>: Relay access denied" }),
		ev(31, "mail", parsers.KindReject, "", func(e *parsers.Event) { e.Reason = "RCPT: <v2@victim.example>: Relay access denied" }),
		ev(32, "mail", parsers.KindReject, "", func(e *parsers.Event) {
			e.Reason = "RCPT: <nobody@corp.example>: Recipient address rejected: User unknown in local recipient table"
		}),
		// Exim's rejectlog repeats the mainlog: not counted.
		{Time: t0, Format: "exim", Daemon: "rejectlog", Host: "mx", Kind: parsers.KindReject, Reason: "relay not permitted"},
	}
	c := NewTrafficCounter()
	for _, e := range events {
		c.Add(e)
	}
	got := c.Traffic()
	want := Counts{Received: 3, Delivered: 3, Forwarded: 1, Deferred: 1, Deferrals: 2, Bounced: 1, Rejected: 3,
		BytesReceived: 1000 + 200 + 50, BytesDelivered: 1000 + 200 + 300}
	if got.Totals != want {
		t.Errorf("Totals = %+v\nwant %+v", got.Totals, want)
	}
	if len(got.ByHost) != 2 || got.ByHost[0].Name != "mail" || got.ByHost[0].Received != 3 || got.ByHost[1].Name != "reinject" || got.ByHost[1].Received != 0 {
		t.Errorf("ByHost = %+v, want mail with 3 received, reinject with none (taken back)", got.ByHost)
	}
	if len(got.Hourly) != 2 || got.Hourly[0].Received != 3 || got.Hourly[1].Delivered != 1 || !got.Hourly[1].Start.Equal(t0.Add(time.Hour)) {
		t.Errorf("Hourly = %+v", got.Hourly)
	}
	if len(got.Daily) != 1 || got.Daily[0].Counts != want {
		t.Errorf("Daily = %+v", got.Daily)
	}
	if len(got.Rejects) != 2 || got.Rejects[0] != (Reason{"Relay access denied", 2}) ||
		got.Rejects[1] != (Reason{"Recipient address rejected: User unknown in local recipient table", 1}) {
		t.Errorf("Rejects = %+v", got.Rejects)
	}
	if len(got.Bounces) != 1 || got.Bounces[0].Reason != "host mx[192.0.2.2] said: 550 5.1.1 <address>: User unknown" {
		t.Errorf("Bounces = %+v", got.Bounces)
	}
	if len(got.Senders) != 3 || got.Senders[0] != (Top{"alice@corp.example", 1, 1000}) {
		t.Errorf("Senders = %+v, want alice, bob, root, once each", got.Senders)
	}
	for _, s := range got.Senders {
		if s.Name == "bob@corp.example" && s.Messages != 1 {
			t.Errorf("bob counted %d times: the re-injection counted as a message of its own", s.Messages)
		}
	}
	var slow, fast DomainDelay
	for _, d := range got.RecipientDomains {
		switch d.Domain {
		case "slow.example":
			slow = d
		case "fast.example":
			fast = d
		}
	}
	if slow.Delivered != 1 || slow.Deferrals != 2 || slow.AvgDelay != time.Hour || slow.MaxDelay != time.Hour {
		t.Errorf("slow.example = %+v, want 1 delivered after an hour, 2 deferrals", slow)
	}
	if fast.Delivered != 2 || fast.Bytes != 500 {
		t.Errorf("fast.example = %+v, want 2 delivered (filter and final hop), 500 bytes", fast)
	}
	if !got.From.Equal(t0) || !got.To.Equal(t0.Add(time.Hour)) {
		t.Errorf("span %v to %v", got.From, got.To)
	}
}

func TestReasonKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"RCPT: <x@victim.example>: Relay access denied", "Relay access denied"},
		{"RCPT from unknown[192.0.2.1]: 554 5.7.1 something", "RCPT from unknown[192.0.2.1]: 554 5.7.1 something"},
		{"550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", "Recipient address rejected: User unknown"},
		{"END-OF-MESSAGE: <a@b>: Message content rejected", "Message content rejected"},
		{"", "(no reason logged)"},
		{"relay not permitted", "relay not permitted"},
	} {
		if got := reasonKey(tt.in); got != tt.want {
			t.Errorf("reasonKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
