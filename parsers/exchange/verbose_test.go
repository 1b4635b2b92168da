package exchange

import (
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// trkRow writes a message tracking row (the 2016/2019 columns of
// trkHeader) for one event of message 30817263514800, <ids@adatum.example>,
// from orders@adatum.example to rcpts, with the given columns overridden.
func trkRow(eventID, source, rcpts string, set map[string]string) string {
	vals := map[string]string{
		"date-time": "2025-02-07T10:00:00.000Z", "server-hostname": "EXSRV2", "source": source, "event-id": eventID,
		"internal-message-id": "30817263514800", "message-id": "<ids@adatum.example>", "recipient-address": rcpts,
		"total-bytes": "1200", "recipient-count": "1", "sender-address": "orders@adatum.example",
		"return-path": "orders@adatum.example", "directionality": "Incoming",
	}
	for k, v := range set {
		vals[k] = v
	}
	cols := strings.Split(strings.TrimPrefix(trkHeader, "#Fields: "), ",")
	out := make([]string, len(cols))
	for i, c := range cols {
		v := vals[c]
		if strings.ContainsAny(v, `,"`) {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		out[i] = v
	}
	return strings.Join(out, ",")
}

// TestTrackingEventIDs: every event id of the message tracking log of
// Exchange 2010-2019 (message-tracking.md, "Event types in the message
// tracking log", and the 2010 help's list) is parsed, never an error; its
// event-id and source are kept in Attrs. Those that change an answer have
// a kind of their own: RECEIVE (how the message arrived), SEND and
// DELIVER (where it went), FAIL, DEFER, DROP and BADMAIL (it did not go),
// REDIRECT, RESOLVE and EXPAND (the server added or rewrote a recipient),
// DSN (a notification), LOAD and POISONMESSAGE (the service's life); the
// rest are kept as a KindSender carrying the row's message facts.
func TestTrackingEventIDs(t *testing.T) {
	const ext = "v@outside.example"
	for _, tt := range []struct {
		eventID, source string
		set             map[string]string
		kinds           []parsers.Kind
		status          string // of the delivery, when one
	}{
		{"RECEIVE", "SMTP", map[string]string{"client-ip": "203.0.113.66", "source-context": "08DD435E619ACFAB;2025-02-07T10:00:00.000Z;0"},
			[]parsers.Kind{parsers.KindClient, parsers.KindRcpt}, ""},
		{"RECEIVE", "STOREDRIVER", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"RECEIVE", "AGENT", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"RECEIVE", "PICKUP", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"RECEIVE", "APPROVAL", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"RECEIVE", "MAILBOXRULE", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""}, // an Inbox rule's forward
		{"RECEIVE", "GATEWAY", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"RECEIVE", "PUBLICFOLDER", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"RECEIVE", "DSN", nil, []parsers.Kind{parsers.KindPickup, parsers.KindRcpt}, ""},
		{"SEND", "SMTP", map[string]string{"server-ip": "192.0.2.9", "recipient-status": "250 2.1.5 OK"}, []parsers.Kind{parsers.KindDelivery}, parsers.StatusSent},
		{"FAIL", "DNS", map[string]string{"recipient-status": "554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain"}, []parsers.Kind{parsers.KindDelivery}, parsers.StatusBounced},
		{"FAIL", "ADMIN", nil, []parsers.Kind{parsers.KindDelivery}, parsers.StatusBounced}, // Remove-Message -WithNDR
		{"DROP", "ADMIN", nil, []parsers.Kind{parsers.KindDelivery}, parsers.StatusDiscarded},
		{"LOAD", "BOOTLOADER", nil, []parsers.Kind{parsers.KindServer}, ""},
		{"EXPAND", "ORAR", map[string]string{"related-recipient-address": "sales@nwtraders.example"}, []parsers.Kind{parsers.KindRcpt}, ""},
		{"SENDEXTERNAL", "SMTP", map[string]string{"server-ip": "192.0.2.9"}, []parsers.Kind{parsers.KindDelivery}, parsers.StatusSent},
		{"DELIVER", "STOREDRIVER", nil, []parsers.Kind{parsers.KindDelivery}, parsers.StatusSent},
		{"FAIL", "ROUTING", map[string]string{"recipient-status": "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"}, []parsers.Kind{parsers.KindDelivery}, parsers.StatusBounced},
		{"FAIL", "SMTP", map[string]string{"server-ip": "192.0.2.9", "recipient-status": "550 5.7.1 rejected"}, []parsers.Kind{parsers.KindDelivery}, parsers.StatusBounced},
		{"DELIVERFAIL", "STOREDRIVER", nil, []parsers.Kind{parsers.KindDelivery}, parsers.StatusBounced},
		{"DEFER", "QUEUE", map[string]string{"recipient-status": "451 4.4.0 DNS query failed"}, []parsers.Kind{parsers.KindDelivery}, parsers.StatusDeferred},
		{"DROP", "AGENT", nil, []parsers.Kind{parsers.KindDelivery}, parsers.StatusDiscarded},
		{"BADMAIL", "PICKUP", nil, []parsers.Kind{parsers.KindDelivery}, parsers.StatusDiscarded},
		{"REDIRECT", "ROUTING", map[string]string{"related-recipient-address": "pat@nwtraders.example"}, []parsers.Kind{parsers.KindRcpt}, ""},
		{"RESOLVE", "ROUTING", map[string]string{"related-recipient-address": "p.at@nwtraders.example"}, []parsers.Kind{parsers.KindRcpt}, ""},
		{"EXPAND", "ROUTING", map[string]string{"related-recipient-address": "sales@nwtraders.example"}, []parsers.Kind{parsers.KindRcpt}, ""},
		{"DSN", "DSN", map[string]string{"reference": "<x1@adatum.example>", "return-path": "<>"}, []parsers.Kind{parsers.KindBounce}, ""},
		{"LOAD", "QUEUE", nil, []parsers.Kind{parsers.KindServer}, ""},
		{"POISONMESSAGE", "POISONMESSAGE", nil, []parsers.Kind{parsers.KindServer}, ""},
		// The rest: kept, no answer changes.
		{"AGENTINFO", "AGENT", map[string]string{"custom-data": "S:CFA=SUM|SID=08DD|SCL=9|SCORE=-1"}, []parsers.Kind{parsers.KindSender}, ""},
		{"AGENTRECEIVE", "AGENT", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"AGENTSUBMIT", "AGENT", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"SUBMIT", "STOREDRIVER", map[string]string{"source-context": "MDB:61914740, Mailbox:279f077c, Event:269492708, MessageClass:IPM.Note"}, []parsers.Kind{parsers.KindSender}, ""},
		{"SUBMITDEFER", "STOREDRIVER", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"SUBMITFAIL", "STOREDRIVER", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"CLIENTSUBMISSION", "STOREDRIVER", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"NOTIFYMAPI", "STOREDRIVER", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"NOTIFYSHADOW", "STOREDRIVER", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"HAREDIRECT", "SMTP", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"HAREDIRECTFAIL", "SMTP", map[string]string{"source-context": "No suitable shadow servers"}, []parsers.Kind{parsers.KindSender}, ""},
		{"HARECEIVE", "SMTP", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"HADISCARD", "REDUNDANCY", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"PROCESS", "AGENT", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"PROCESSMEETINGMESSAGE", "MEETINGMESSAGEPROCESSOR", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"INITMESSAGECREATED", "APPROVAL", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"MODERATORAPPROVE", "APPROVAL", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"MODERATORREJECT", "APPROVAL", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"MODERATIONEXPIRE", "APPROVAL", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"MODERATORSALLNDR", "APPROVAL", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"DUPLICATEDELIVER", "STOREDRIVER", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"DUPLICATEEXPAND", "ROUTING", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"DUPLICATEREDIRECT", "ROUTING", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"TRANSFER", "ROUTING", map[string]string{"reference": "30817263514799"}, []parsers.Kind{parsers.KindSender}, ""},
		{"RESUBMIT", "REDUNDANCY", map[string]string{"reference": "30817263514799"}, []parsers.Kind{parsers.KindSender}, ""},
		{"RESUBMITDEFER", "SAFETYNET", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"RESUBMITFAIL", "SAFETYNET", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"SUPPRESSED", "ROUTING", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"THROTTLE", "AGENT", nil, []parsers.Kind{parsers.KindSender}, ""},
		{"GATEWAYRECEIVE", "GATEWAY", nil, []parsers.Kind{parsers.KindSender}, ""}, // an id this parser does not know
	} {
		t.Run(tt.eventID+" "+tt.source, func(t *testing.T) {
			line := trkRow(tt.eventID, tt.source, ext, tt.set)
			p := NewParser(Options{})
			p.Parse(nil, []byte(trkHeader), parsers.Pos{File: "MSGTRK2025020710-1.LOG", Line: 1})
			got, err := p.Parse(nil, []byte(line), parsers.Pos{File: "MSGTRK2025020710-1.LOG", Line: 2})
			if err != nil {
				t.Fatalf("Parse(%q): %v", line, err)
			}
			if len(got) != len(tt.kinds) {
				t.Fatalf("Parse(%q) = %d events %+v, want kinds %v", line, len(got), got, tt.kinds)
			}
			for i, ev := range got {
				if ev.Kind != tt.kinds[i] {
					t.Errorf("event %d: kind %s, want %s", i, ev.Kind, tt.kinds[i])
				}
				if id, _ := ev.Attr("event-id"); id != tt.eventID {
					t.Errorf("event %d: event-id %q, want %q", i, id, tt.eventID)
				}
				if src, _ := ev.Attr("source"); src != tt.source {
					t.Errorf("event %d: source %q, want %q", i, src, tt.source)
				}
				if ev.MessageID == "" && tt.eventID != "DSN" || ev.Raw != line {
					t.Errorf("event %d lost the row: %+v", i, ev)
				}
				if ev.Kind == parsers.KindDelivery && (ev.Status != tt.status || ev.Rcpt != ext) {
					t.Errorf("delivery %+v: want status %s for %s", ev, tt.status, ext)
				}
				qid := "30817263514800"
				if ref := tt.set["reference"]; ref != "" && tt.kinds[0] == parsers.KindSender {
					qid = ref // a forked or resubmitted copy is the message it came from
				}
				if ev.Kind == parsers.KindSender && (ev.Reason != tt.eventID || ev.QueueID != qid || ev.From != "orders@adatum.example") {
					t.Errorf("kept row %+v: want Reason %s, the queue id and the sender", ev, tt.eventID)
				}
			}
		})
	}
}

// TestTrackingTransfer: the rows of a copy forked by TRANSFER (or
// resubmitted by RESUBMIT) are the original message's: its SEND is a
// delivery of the message the client sent, the copy's own id kept.
func TestTrackingTransfer(t *testing.T) {
	p := NewParser(Options{})
	pos := parsers.Pos{File: "MSGTRK2025020710-1.LOG"}
	var got []parsers.Event
	for i, l := range []string{trkHeader,
		trkRow("RECEIVE", "SMTP", "a@outside.example;b@outside.example", map[string]string{"internal-message-id": "100", "client-ip": "203.0.113.66"}),
		trkRow("TRANSFER", "ROUTING", "b@outside.example", map[string]string{"internal-message-id": "101", "reference": "100"}),
		trkRow("RESUBMIT", "REDUNDANCY", "b@outside.example", map[string]string{"internal-message-id": "102", "reference": "101"}),
		trkRow("SEND", "SMTP", "b@outside.example", map[string]string{"internal-message-id": "102", "server-ip": "192.0.2.9"}),
	} {
		pos.Line = i + 1
		got, _ = p.Parse(got, []byte(l), pos)
	}
	last := got[len(got)-1]
	if last.Kind != parsers.KindDelivery || last.QueueID != "100" || last.Rcpt != "b@outside.example" {
		t.Fatalf("SEND of the resubmitted fork = %+v, want a delivery of message 100", last)
	}
	if own, _ := last.Attr("internal-message-id"); own != "102" {
		t.Errorf("the copy's own id %q, want 102", own)
	}
}

// TestProtocolCommands: the receive protocol log's whole command set
// (protocol-logging.md; RFC 3030 BDAT and CHUNKING; Exchange's XEXCH50,
// X-ANONYMOUSTLS, XSHADOW, XPROXYFROM, AUTH and X-EXPS): every reply is
// paired with its command, BDAT chunks do not queue a message until the
// LAST one, and what the session did is kept.
func TestProtocolCommands(t *testing.T) {
	lines := []string{recvHeader,
		recv("+", "", ""),
		recv(">", `"220 exsrv2 Microsoft ESMTP MAIL Service ready at Fri, 07 Feb 2025 10:00:00 +0000"`, ""),
		recv("<", "EHLO ex1.nwtraders.example", ""),
		recv(">", "250  exsrv2 Hello [203.0.113.9] SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XEXCH50 XRDST XSHADOW", ""),
		recv("<", "X-ANONYMOUSTLS", ""),
		recv(">", "220 2.0.0 SMTP server ready", ""),
		recv("*", "", "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits"),
		recv("<", "EHLO ex1.nwtraders.example", ""),
		recv(">", "250  exsrv2 Hello [203.0.113.9] SIZE 37748736 PIPELINING BINARYMIME CHUNKING XEXCH50 XSHADOW", ""),
		recv("<", "X-EXPS GSSAPI", ""),
		recv(">", "334 <authentication response>", ""),
		recv("*", "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag SMTPAcceptAnySender SMTPAcceptEXCH50 SMTPAcceptXShadow", "Set Session Permissions"),
		recv("*", `NWTRADERS\EX1$`, "authenticated"),
		recv(">", "235 2.7.0 Authentication successful", ""),
		recv("<", "XSHADOW ex1.nwtraders.example", ""),
		recv(">", "250 XShadow OK", ""),
		recv("<", "MAIL FROM:<orders@adatum.example> SIZE=70000 BODY=BINARYMIME", ""),
		recv("<", "RCPT TO:<v@outside.example>", ""),
		recv(">", "250 2.1.0 Sender OK", ""),
		recv(">", "250 2.1.5 Recipient OK", ""),
		recv("<", "XEXCH50 1024 2", ""),
		recv(">", "354 Send binary data", ""),
		recv(">", "250 XEXCH50 OK", ""),
		recv("<", "BDAT 65536", ""),
		recv(">", `"250 2.6.0 CHUNK received OK, 65536 octets"`, ""),
		recv("<", "BDAT 4464 LAST", ""),
		recv(">", `"250 2.6.0 <ids@adatum.example> [InternalId=30817263514800, Hostname=exsrv2.nwtraders.example] 70000 bytes in 0.120, 569.661 KB/sec Queued mail for delivery"`, ""),
		recv("<", "QUIT", ""),
		recv(">", "221 2.0.0 Service closing transmission channel", ""),
		recv("-", "", "Local"),
	}
	p := NewParser(Options{})
	var got []parsers.Event
	for i, l := range lines {
		var err error
		got, err = p.Parse(got, []byte(l), parsers.Pos{File: "RECV2025020710-1.LOG", Line: i + 1})
		if err != nil && err != parsers.ErrUnsupported {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
	}
	var kinds []string
	var queued, tls, disc parsers.Event
	for _, ev := range got {
		kinds = append(kinds, ev.Kind.String())
		switch ev.Kind {
		case parsers.KindClient:
			queued = ev
		case parsers.KindTLS:
			tls = ev
		case parsers.KindDisconnect:
			disc = ev
		}
	}
	if want := "connect helo tls helo permit auth rcpt client disconnect"; strings.Join(kinds, " ") != want {
		t.Errorf("kinds %q, want %q", strings.Join(kinds, " "), want)
	}
	if queued.QueueID != "30817263514800" || queued.MessageID != "ids@adatum.example" || queued.NRcpt != 1 ||
		queued.From != "orders@adatum.example" || queued.SASLUser != `NWTRADERS\EX1$` {
		t.Errorf("queued = %+v", queued)
	}
	if queued.Attrs != attrs("data", "BDAT", "chunks", "2", "tls", "X-ANONYMOUSTLS", "xexch50", "accepted", "xshadow", "ex1.nwtraders.example") {
		t.Errorf("queued Attrs = %s", attrsGo(queued))
	}
	if v, _ := tls.Attr("tls"); v != "X-ANONYMOUSTLS" {
		t.Errorf("tls Attrs = %s", attrsGo(tls))
	}
	if v, _ := disc.Attr("commands"); v != "EHLO X-ANONYMOUSTLS X-EXPS XSHADOW MAIL RCPT XEXCH50 BDAT QUIT" {
		t.Errorf("commands = %q", v)
	}
}

// TestProtocolAuthVariants: AUTH LOGIN, PLAIN, NTLM, GSSAPI and X-EXPS,
// answered 235, with or without the "authenticated" line; refused with 535
// or 504.
func TestProtocolAuthVariants(t *testing.T) {
	for _, tt := range []struct {
		cmd, user, reply string
		kind             parsers.Kind
		method, wantUser string
	}{
		{"AUTH LOGIN", `NWTRADERS\kim`, "235 2.7.0 Authentication successful", parsers.KindAuth, "", `NWTRADERS\kim`},
		{"AUTH PLAIN", "", "235 2.7.0 Authentication successful", parsers.KindAuth, "PLAIN", UnknownUser},
		{"AUTH NTLM", "kim@nwtraders.example", "235 2.7.0 Authentication successful", parsers.KindAuth, "", "kim@nwtraders.example"},
		{"AUTH GSSAPI", "", "235 2.7.0 Authentication successful", parsers.KindAuth, "GSSAPI", UnknownUser},
		{"X-EXPS EXCHANGEAUTH", "", "235 2.7.0 Authentication successful", parsers.KindAuth, "EXCHANGEAUTH", UnknownUser},
		{"AUTH LOGIN", "", "535 5.7.3 Authentication unsuccessful", parsers.KindAuthFailed, "LOGIN", ""},
		{"AUTH CRAM-MD5", "", "504 5.7.4 Unrecognized authentication type", parsers.KindAuthFailed, "CRAM-MD5", ""},
	} {
		t.Run(tt.cmd+" "+tt.reply[:3], func(t *testing.T) {
			lines := append(sess[:4:4], recv("<", tt.cmd, ""), recv(">", "334 <authentication response>", ""))
			if tt.user != "" {
				lines = append(lines, recv("*", tt.user, "authenticated"))
			}
			lines = append(lines, recv(">", tt.reply, ""))
			p := NewParser(Options{})
			var got []parsers.Event
			for i, l := range lines {
				got, _ = p.Parse(got, []byte(l), parsers.Pos{File: "RECV", Line: i + 1})
			}
			last := got[len(got)-1]
			if last.Kind != tt.kind || last.SASLUser != tt.wantUser || last.SASLMethod != tt.method {
				t.Errorf("last event %s user %q method %q, want %s %q %q", last.Kind, last.SASLUser, last.SASLMethod, tt.kind, tt.wantUser, tt.method)
			}
		})
	}
}
