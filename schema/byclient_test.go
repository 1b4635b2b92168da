package schema

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestByClientGroups stores refused relay attempts from two clients and
// reads report attempts' grouping back: per client its recipients, its
// messages (a queue id once however many recipients and times it has; a
// refusal without one once per time and sender, even when another
// sender's refusal in the same second comes between), the domains
// relayed to, the senders, the first and last time; the busiest client
// first.
func TestByClientGroups(t *testing.T) { engines(t, testByClientGroups) }

func testByClientGroups(t *testing.T, db string) {
	s := openEngine(t, db)
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	n := 0
	rcpt := func(ip string, sec int, qid, sender, to string) analysis.Recipient {
		n++
		at := t0.Add(time.Duration(sec) * time.Second)
		mk := qid + "@mail"
		if qid == "" {
			mk = "reject|" + ip + "|" + at.String() + "|" + sender
		}
		return analysis.Recipient{Key: mk + "|" + to + "|" + string(rune('a'+n)), MessageKey: mk, Time: at, MTA: "postfix", Host: "mail",
			QueueID: qid, ClientIP: ip, ClientName: "unknown", Sender: sender, Recipient: to, Status: "rejected",
			Verdict: analysis.RelayAttemptRejected, Reason: "Relay access denied", Hop: 1}
	}
	const a, b = "198.51.100.7", "203.0.113.9"
	rs := []analysis.Recipient{
		rcpt(a, 0, "Q1", "x@spam.example", "u1@gmail.example"),
		rcpt(a, 0, "Q1", "x@spam.example", "u2@gmail.example"),
		rcpt(b, 1, "", "y@spam.example", "v@yahoo.example"),
		rcpt(a, 5, "Q2", "x@spam.example", "u3@yahoo.example"),
		rcpt(a, 10, "", "s1@spam.example", "w1@outside.example"),
		rcpt(a, 10, "", "s2@spam.example", "w2@outside.example"),
		rcpt(a, 10, "", "s1@spam.example", "w3@outside.example"),
		rcpt(a, 11, "", "s1@spam.example", "w4@outside.example"),
		rcpt(a, 12, "Q2", "x@spam.example", "u4@gmail.example"), // Q2 again, later
	}
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NewWriter(src).Commit(t.Context(), nil, rs, nil, Progress{Offset: 100, Lines: 9, Complete: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ByClient(t.Context(), analysis.Filter{Verdict: analysis.RelayAttemptRejected})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ClientIP != a || got[1].ClientIP != b {
		t.Fatalf("ByClient gave %+v, want %s then %s", got, a, b)
	}
	ca := got[0]
	if ca.Count != 8 || ca.Messages != 5 || ca.Domains != 3 {
		t.Errorf("client %s: %d recipients in %d messages to %d domains, want 8 in 5 (Q1, Q2, s1 and s2 at 10 s, s1 at 11 s) to 3", a, ca.Count, ca.Messages, ca.Domains)
	}
	if want := []string{"outside.example", "gmail.example", "yahoo.example"}; !reflect.DeepEqual(ca.TopDomains, want) {
		t.Errorf("client %s: top domains %v, want %v", a, ca.TopDomains, want)
	}
	if want := []string{"s1@spam.example", "s2@spam.example", "x@spam.example"}; !reflect.DeepEqual(ca.Senders, want) {
		t.Errorf("client %s: senders %v, want %v", a, ca.Senders, want)
	}
	if !ca.First.Equal(t0) || !ca.Last.Equal(t0.Add(12*time.Second)) {
		t.Errorf("client %s: from %v to %v, want %v to %v", a, ca.First, ca.Last, t0, t0.Add(12*time.Second))
	}
	if cb := got[1]; cb.Count != 1 || cb.Messages != 1 || cb.Domains != 1 {
		t.Errorf("client %s: %d recipients in %d messages to %d domains, want 1 in 1 to 1", b, cb.Count, cb.Messages, cb.Domains)
	}
}

// TestByClientEvidence: every client's evidence is its first three lines,
// also when the clients name more rows than one query reads (500).
func TestByClientEvidence(t *testing.T) { engines(t, testByClientEvidence) }

func testByClientEvidence(t *testing.T, db string) {
	s := openEngine(t, db)
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	const clients, each = 150, 4 // 150 clients of 8 rows name 6 each: 900 rows
	var rs []analysis.Recipient
	line := 0
	index := map[string]int{} // client address: its number
	for i := range each {
		for c := range clients {
			line++
			ip := fmt.Sprintf("198.51.%d.%d", c/100, c%100)
			index[ip] = c
			qid := fmt.Sprintf("Q%dC%d", i, c)
			for _, to := range []string{"a@gmail.example", "b@gmail.example"} {
				rs = append(rs, analysis.Recipient{Key: qid + "@mail|" + to, MessageKey: qid + "@mail", Time: t0.Add(time.Duration(line) * time.Second),
					MTA: "postfix", Host: "mail", QueueID: qid, ClientIP: ip, ClientName: "unknown", Sender: "x@spam.example", Recipient: to,
					Status: "rejected", Verdict: analysis.RelayAttemptRejected, Reason: "Relay access denied", Hop: 1,
					Evidence: []string{fmt.Sprintf("mail.log:%d", line)}})
			}
		}
	}
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NewWriter(src).Commit(t.Context(), nil, rs, nil, Progress{Offset: 100, Lines: int64(line), Complete: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ByClient(t.Context(), analysis.Filter{Verdict: analysis.RelayAttemptRejected})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != clients {
		t.Fatalf("ByClient gave %d clients, want %d", len(got), clients)
	}
	for _, c := range got {
		n := index[c.ClientIP]
		// The client's first three recipients: its message of round 0
		// (two lines the same) and of round 1.
		want := []string{fmt.Sprintf("mail.log:%d", n+1), fmt.Sprintf("mail.log:%d", n+1), fmt.Sprintf("mail.log:%d", clients+n+1)}
		if !reflect.DeepEqual(c.Evidence, want) {
			t.Errorf("client %s: evidence %v, want %v", c.ClientIP, c.Evidence, want)
		}
	}
}
