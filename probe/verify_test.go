package probe

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// TestVerify replays what Debian's Postfix 3.7 logged for a closed probe
// (.ci/postfix-probe.sh): every line in one second, recipients
// canonicalised, and two cases whose lines look alike told apart by their
// order in the log.
func TestVerify(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 21, 19, 6, 100e6, time.UTC)
	ip := netip.MustParseAddr("127.0.0.1")
	cfg := Config{LocalDomain: "probe.test", Cases: []string{"ip-literal-sender", "quoted-at", "double-at-ip", "source-route-ip", "bang", "null-sender"}}
	var res Result
	for i, c := range Cases(cfg, Target{Name: "mail.probe.test", IP: ip}) {
		v := Refused
		if c.Name == "null-sender" {
			v = Accepted
		}
		res.Cases = append(res.Cases, CaseResult{Name: c.Name, Sender: c.Sender, Recipient: c.Recipient, Verdict: v, Code: 554,
			ClientIP: ip, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond)})
	}
	res.End = t0.Add(time.Second)
	sec := t0.Truncate(time.Second)
	rec := func(line int, from, to, status string) LogRecord {
		return LogRecord{Time: sec, ClientIP: ip, Sender: from, Recipient: to, Status: status, Evidence: []string{fmt.Sprintf("mail.log:%d", line)}}
	}
	// As the store returns them: by time, then recipient, not log order.
	recs := []LogRecord{
		rec(12, "relaysleuth@[127.0.0.1]", `"relaytest@relaytest.invalid"@[127.0.0.1]`, "rejected"),
		rec(10, "relaysleuth@[127.0.0.1]", "relaytest@relaytest.invalid", "rejected"),
		rec(11, "relaysleuth@[127.0.0.1]", "relaytest@relaytest.invalid", "rejected"),
		rec(13, "relaysleuth@[127.0.0.1]", "relaytest@relaytest.invalid", "rejected"),
		{Time: sec, ClientIP: ip, QueueID: "73429B8052", Evidence: []string{"mail.log:8"}}, // null-sender runs first
		{Time: sec, ClientIP: netip.MustParseAddr("192.0.2.7"), Recipient: "relaytest@relaytest.invalid", Status: "rejected", Evidence: []string{"mail.log:9"}},
		{Time: sec, ClientIP: netip.MustParseAddr("192.0.2.7"), QueueID: "AAAA", Evidence: []string{"mail.log:16"}},
	}
	sum := Verify(&res, recs, 2*time.Second, []string{"mail.log"})
	want := map[string]string{
		"ip-literal-sender": "refused exact mail.log:10",
		"quoted-at":         "refused canonical mail.log:11",
		"double-at-ip":      "refused canonical mail.log:12",
		"source-route-ip":   "refused canonical mail.log:13",
		"bang":              "not in the log  ",
		"null-sender":       "accepted session mail.log:8",
	}
	for _, c := range res.Cases {
		ev := ""
		if len(c.Log.Evidence) > 0 {
			ev = c.Log.Evidence[0]
		}
		if got := fmt.Sprintf("%s %s %s", c.Log.Status, c.Log.Match, ev); got != want[c.Name] {
			t.Errorf("case %s: %q, want %q", c.Name, got, want[c.Name])
		}
	}
	if sum.Found != 5 || sum.Missing != 1 || sum.Disagree != 0 || sum.Relayed != 0 {
		t.Errorf("summary %+v", sum)
	}

	// A clock skew beyond --clock-skew loses everything.
	for i := range recs {
		recs[i].Time = recs[i].Time.Add(time.Minute)
	}
	if sum := Verify(&res, recs, 2*time.Second, nil); sum.Found != 0 || sum.Missing != 6 {
		t.Errorf("skewed log: %+v, want nothing found", sum)
	}
}

func TestSameAddr(t *testing.T) {
	for _, tt := range []struct {
		logged, sent string
		want         bool
	}{
		{"relaytest@relaytest.invalid", "@[127.0.0.1]:relaytest@relaytest.invalid", true},
		{`"relaytest@relaytest.invalid"@[127.0.0.1]`, "relaytest@relaytest.invalid@[127.0.0.1]", true},
		{"relaytest%relaytest.invalid@probe.test", `"relaytest%relaytest.invalid"`, true},
		{"RelayTest@Relaytest.Invalid", "relaytest@relaytest.invalid", true},
		{"relaytest@relaytest.invalid", "relaytest%relaytest.invalid@[127.0.0.1]", false},
		{"", "", true},
		{"", "relaysleuth@probe.test", false},
	} {
		if got := sameAddr(tt.logged, tt.sent); got != tt.want {
			t.Errorf("sameAddr(%q, %q) = %v, want %v", tt.logged, tt.sent, got, tt.want)
		}
	}
}
