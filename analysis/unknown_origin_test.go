package analysis

import (
	"strings"
	"testing"
)

// TestUnknownOrigin: a recipient accepted for an outside domain whose
// message's arrival is not in the log is unknown_origin, in every format
// (issue 14, item 7): not internal_outbound, which would claim a trusted
// client, nor relay_abuse. A local recipient stays inbound, and a bounce
// the server made (qmgr's from=<> without an arrival) a system_bounce.
func TestUnknownOrigin(t *testing.T) {
	t.Run("postfix", func(t *testing.T) {
		rs := correlatePostfix(t, "corp.example", "127.0.0.0/8", `
Jun 12 09:00:01 mx postfix/qmgr[99]: 4B49DBC34B: from=<bob@corp.example>, size=900, nrcpt=2 (queue active)
Jun 12 09:00:02 mx postfix/smtp[4002]: 4B49DBC34B: to=<y@outside.example>, relay=mx.outside.example[198.51.100.7]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Jun 12 09:00:02 mx postfix/local[4003]: 4B49DBC34B: to=<erin@corp.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Jun 12 09:00:02 mx postfix/qmgr[99]: 4B49DBC34B: removed
Jun 12 09:00:03 mx postfix/qmgr[99]: 5C5AECD45C: from=<>, size=2000, nrcpt=1 (queue active)
Jun 12 09:00:03 mx postfix/smtp[4004]: 5C5AECD45C: to=<z@outside.example>, relay=mx.outside.example[198.51.100.7]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
`)
		checkVerdicts(t, rs, map[string]Verdict{
			"y@outside.example": UnknownOrigin, "erin@corp.example": Inbound, "z@outside.example": SystemBounce,
		})
		for _, r := range rs {
			if r.Verdict == UnknownOrigin && !strings.Contains(r.Reason, "how the message arrived is not in the log") {
				t.Errorf("%s: reason %q", r.Recipient, r.Reason)
			}
		}
	})
	t.Run("exim", func(t *testing.T) {
		rs := correlateExim(t, eximFile{"mainlog", `
2026-11-27 19:40:00 1xX1kA-0007aa-1A => j.doe@partner.example R=dnslookup T=remote_smtp H=mx.partner.example [198.51.100.9] C="250 OK"
2026-11-27 19:40:00 1xX1kA-0007aa-1A => erin <erin@corp.example> R=local_user T=mail_spool
2026-11-27 19:40:00 1xX1kA-0007aa-1A Completed`})
		var list []Recipient
		for _, r := range rs {
			list = append(list, r)
		}
		checkVerdicts(t, list, map[string]Verdict{"j.doe@partner.example": UnknownOrigin, "erin@corp.example": Inbound})
	})
	t.Run("exchange", func(t *testing.T) {
		const header = "#Software: Microsoft Exchange Server\n#Version: 15.01.2507.044\n#Log-type: Message Tracking Log\n#Date: 2025-02-06T14:00:00.097Z\n" +
			"#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version\n"
		rows := "2025-02-06T14:15:34.706Z,172.16.4.10,EXSRV2,198.51.100.141,mx.adatum.example,;250 2.0.0 Ok: queued as Qx9;ClientSubmitTime:,To Internet,SMTP,SEND,30817263599999,<send-only@nwtraders.example>,88f6c766-58f3-fe0b-d607-08dd46b8b7fe,buyer@adatum.example,250 2.1.5 Ok,15320,1,,,Re: order,kim.park@nwtraders.example,kim.park@nwtraders.example,2025-02-06T14:15:33.396Z,Originating,,,,S:ToEntity=Internet,Email,65569e35-7b4c-2458-241a-08dd46b8b8ee,15.01.2507.044\n"
		got := correlateExchange(t, exchangeFile{path: "MSGTRK2025020614-9.LOG", text: header + rows})
		var list []Recipient
		for _, r := range got {
			list = append(list, r)
		}
		checkVerdicts(t, list, map[string]Verdict{"buyer@adatum.example": UnknownOrigin})
		for _, r := range list {
			if r.Status != StatusSent || r.QueueID != "30817263599999" {
				t.Errorf("%+v", r)
			}
		}
	})
}

// checkVerdicts checks that rs are exactly the recipients of want, with
// those verdicts.
func checkVerdicts(t *testing.T, rs []Recipient, want map[string]Verdict) {
	t.Helper()
	if len(rs) != len(want) {
		t.Errorf("%d recipients, want %d: %+v", len(rs), len(want), rs)
	}
	for _, r := range rs {
		if v, ok := want[r.Recipient]; !ok || r.Verdict != v {
			t.Errorf("%s: verdict %s (%s), want %s", r.Recipient, r.Verdict, r.Reason, v)
		}
	}
}
