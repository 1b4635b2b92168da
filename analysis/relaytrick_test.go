package analysis

import "testing"

// TestEximSyntaxRefusals: the refusals Exim logs as syntax errors at RCPT
// (an address without a domain, a malformed one) are recipients refused for
// the outside like "relay not permitted": relay_attempt_rejected, whatever
// the text, and each is one recipient across the mainlog and its rejectlog
// copy (issue 20, item 4). A MAIL FROM refused for its address literal
// names no recipient and makes no row.
func TestEximSyntaxRefusals(t *testing.T) {
	const lines = `
2026-12-06 02:10:01 SMTP syntax error in "MAIL FROM:<relaysleuth-k3f9a1c2-06a@[127.0.0.1]>" H=(probe.test) [127.0.0.2] domain literals not allowed
2026-12-06 02:10:01 unqualified recipient rejected: <"relaytest-k3f9a1c2-08b@relaytest.invalid"> H=(probe.test) [127.0.0.2]
2026-12-06 02:10:01 unqualified recipient rejected: <"relaytest-k3f9a1c2-09b%relaytest.invalid"> H=(probe.test) [127.0.0.2]
2026-12-06 02:10:02 unqualified recipient rejected: <relaytest.invalid!relaytest-k3f9a1c2-16b> H=(probe.test) [127.0.0.2]
2026-12-06 02:10:02 SMTP syntax error in "RCPT TO:<relaytest-k3f9a1c2-10b@relaytest.invalid@[127.0.0.1]>" H=(probe.test) [127.0.0.2] malformed address: @[127.0.0.1]> may not follow <relaytest-k3f9a1c2-10b@relaytest.invalid
2026-12-06 02:10:02 unqualified recipient rejected: <postmaster> H=(probe.test) [127.0.0.2]
`
	got := correlateExim(t, eximFile{"mainlog", lines}, eximFile{"rejectlog", lines})
	want := map[string]Verdict{
		`"relaytest-k3f9a1c2-08b@relaytest.invalid"`:           RelayAttemptRejected,
		`"relaytest-k3f9a1c2-09b%relaytest.invalid"`:           RelayAttemptRejected,
		"relaytest.invalid!relaytest-k3f9a1c2-16b":             RelayAttemptRejected,
		"relaytest-k3f9a1c2-10b@relaytest.invalid@[127.0.0.1]": RelayAttemptRejected,
		"postmaster": Inbound, // no domain and no trick: local
	}
	vs := verdicts(got)
	for rcpt, v := range want {
		if len(vs[rcpt]) != 1 || vs[rcpt][0] != v {
			t.Errorf("%s: verdicts %v, want one %s", rcpt, vs[rcpt], v)
		}
	}
	if len(vs) != len(want) {
		t.Errorf("recipients %v, want %d", vs, len(want))
	}
	for _, r := range got {
		if r.Status != StatusRejected || r.ClientIP != "127.0.0.2" {
			t.Errorf("%s: status %s, client %s; want rejected from 127.0.0.2", r.Recipient, r.Status, r.ClientIP)
		}
	}
}

func TestRelayDomain(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
		trick      bool
	}{
		{"alice@Corp.Example", "corp.example", false},
		{"root", "", false},
		{"pct%victim-p.example@corp.example", "victim-p.example", true},
		{"a%b.example%victim.example@corp.example", "victim.example", true}, // the rightmost % routes first
		{"victim.example!user@corp.example", "victim.example", true},
		{`"admin@victim.example"@corp.example`, "victim.example", true},
		{"info@victim.example@corp.example", "victim.example", true},
		{"@corp.example:info@Victim.Example", "victim.example", true},
		{"@a.example,@corp.example:info@victim.example", "victim.example", true},
		{`"relaytest@relaytest.invalid"`, "relaytest.invalid", true},
		{`"relaytest%relaytest.invalid"`, "relaytest.invalid", true},
		{"relaytest.invalid!relaytest", "relaytest.invalid", true},
		{`"quoted local"@corp.example`, "corp.example", false},
	} {
		if got := RelayDomain(tc.addr); got != tc.want {
			t.Errorf("RelayDomain(%q) = %q, want %q", tc.addr, got, tc.want)
		}
		if got := RelayTrick(tc.addr); got != tc.trick {
			t.Errorf("RelayTrick(%q) = %v, want %v", tc.addr, got, tc.trick)
		}
	}
	if Domain(`"relaytest@relaytest.invalid"`) != "" {
		t.Errorf("Domain of a quoted local part alone: want none")
	}
}
