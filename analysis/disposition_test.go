package analysis

import (
	"strings"
	"testing"
)

// TestHeldAndDiscarded: a recipient Postfix held or discarded after saying
// 250 (header_checks HOLD and DISCARD, an access-map DISCARD logged before
// the queue file existed, the discard(8) transport) has the status held or
// discarded and "not relayed" in its reason, keeps the verdict of how it
// was accepted, and is no external delivery; a held message released and
// delivered under its alias-expanded address is sent (issue 19).
func TestHeldAndDiscarded(t *testing.T) {
	const log = `
Dec  6 03:04:45 mail postfix/smtpd[100]: connect from unknown[203.0.113.5]
Dec  6 03:04:45 mail postfix/smtpd[100]: 4jhqpP4RNhz5g1c: client=unknown[203.0.113.5]
Dec  6 03:04:45 mail postfix/cleanup[200]: 4jhqpP4RNhz5g1c: discard: header Subject: DISCARDME from unknown[203.0.113.5]; from=<s@outside.example> to=<v@victim.example> proto=ESMTP helo=<pc>
Dec  6 03:04:45 mail postfix/smtpd[100]: disconnect from unknown[203.0.113.5] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Dec  6 03:04:46 mail postfix/smtpd[101]: connect from unknown[203.0.113.9]
Dec  6 03:04:46 mail postfix/smtpd[101]: NOQUEUE: discard: RCPT from unknown[203.0.113.9]: <trap@corp.example>: Recipient address triggers DISCARD action; from=<a@outside.example> to=<trap@corp.example> proto=ESMTP helo=<pc>
Dec  6 03:04:46 mail postfix/smtpd[101]: 4jhqpP4m8lz5g1f: client=unknown[203.0.113.9]
Dec  6 03:04:46 mail postfix/smtpd[101]: disconnect from unknown[203.0.113.9] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Dec  6 03:04:47 mail postfix/smtpd[102]: 4jhqpP4M4nz5g1b: client=unknown[203.0.113.9]
Dec  6 03:04:47 mail postfix/cleanup[200]: 4jhqpP4M4nz5g1b: hold: header Subject: HOLDME from unknown[203.0.113.9]; from=<a@outside.example> to=<sales@corp.example> proto=ESMTP helo=<pc>: held for review
Dec  6 03:04:47 mail postfix/cleanup[200]: 4jhqpP4M4nz5g1b: message-id=<h1@outside.example>
Dec  6 03:04:48 mail postfix/smtpd[103]: 4jhqpP4p9Qz5g1f: client=unknown[203.0.113.9]
Dec  6 03:04:48 mail postfix/cleanup[200]: 4jhqpP4p9Qz5g1f: hold: header Subject: HOLDME from unknown[203.0.113.9]; from=<a@outside.example> to=<q@corp.example> proto=ESMTP helo=<pc>
Dec  6 03:04:48 mail postfix/cleanup[200]: 4jhqpP4p9Qz5g1f: message-id=<h2@outside.example>
Dec  6 03:04:50 mail postfix/postsuper[300]: 4jhqpP4M4nz5g1b: released from hold
Dec  6 03:04:50 mail postfix/qmgr[400]: 4jhqpP4M4nz5g1b: from=<a@outside.example>, size=422, nrcpt=1 (queue active)
Dec  6 03:04:50 mail postfix/local[500]: 4jhqpP4M4nz5g1b: to=<alice@corp.example>, orig_to=<sales@corp.example>, relay=local, delay=5, delays=5/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Dec  6 03:04:50 mail postfix/qmgr[400]: 4jhqpP4M4nz5g1b: removed
Dec  6 03:04:51 mail postfix/smtpd[104]: 4jhqpP56yvz5g1W: client=unknown[203.0.113.9]
Dec  6 03:04:51 mail postfix/qmgr[400]: 4jhqpP56yvz5g1W: from=<a@outside.example>, size=440, nrcpt=1 (queue active)
Dec  6 03:04:51 mail postfix/discard[600]: 4jhqpP56yvz5g1W: to=<x@blackhole.corp.example>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (blackhole)
`
	got := correlatePostfix(t, "corp.example", "192.0.2.0/24", log)
	want := map[string]struct {
		verdict Verdict
		status  string
	}{
		"v@victim.example":         {RelayAbuse, StatusDiscarded},
		"trap@corp.example":        {Inbound, StatusDiscarded},
		"sales@corp.example":       {Inbound, StatusSent},
		"q@corp.example":           {Inbound, StatusHeld},
		"x@blackhole.corp.example": {Inbound, StatusDiscarded},
	}
	if len(got) != len(want) {
		t.Errorf("%d recipients, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		w, ok := want[r.Recipient]
		if !ok {
			t.Errorf("unexpected recipient %s", r.Recipient)
			continue
		}
		if r.Verdict != w.verdict || r.Status != w.status {
			t.Errorf("%s: %s %s, want %s %s (%s)", r.Recipient, r.Verdict, r.Status, w.verdict, w.status, r.Reason)
		}
		if notRelayed(r.Status) != strings.Contains(r.Reason, "not relayed") {
			t.Errorf("%s: status %s, reason %q", r.Recipient, r.Status, r.Reason)
		}
		if r.Sender != "a@outside.example" && r.Sender != "s@outside.example" {
			t.Errorf("%s: sender %q: the action line names it", r.Recipient, r.Sender)
		}
	}
}
