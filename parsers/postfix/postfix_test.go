package postfix

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// The table's lines come from testdata/postfix/dev/postfix.log (traditional
// stamps, host "mail"), dev-alt/mail.log (RFC 3339, host "vm") and, for the
// shapes the corpus lacks, from Postfix's own log formats (smtpd_check.c,
// postscreen(8), cleanup header_checks(5), qmgr, bounce(8), postsuper(1)).

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// nov27 is a time on the day of the development corpus.
func nov27(clock string) time.Time { return at("2026-11-27T" + clock + "Z") }

var parseTests = []struct {
	name, line string
	want       []parsers.Event // the test loop fills in Pos, Raw and Format
	wantErr    error
}{
	// smtpd(8)
	{"connect", "Nov 27 19:27:54 mail postfix/smtpd[18120]: connect from unknown[127.249.101.59]",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindConnect, Session: "18120",
			ClientName: "unknown", ClientIP: ip("127.249.101.59")}}, nil},
	{"connect IPv6", "Nov 27 19:27:54 mail postfix/smtpd[18121]: connect from mx.example.net[2001:db8::25]",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindConnect, Session: "18121",
			ClientName: "mx.example.net", ClientIP: ip("2001:db8::25")}}, nil},
	{"disconnect", "Nov 27 19:27:54 mail postfix/smtpd[18120]: disconnect from unknown[127.249.101.59] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindDisconnect, Session: "18120",
			ClientName: "unknown", ClientIP: ip("127.249.101.59"), Reason: "ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7"}}, nil},
	{"client", "Nov 27 19:27:54 mail postfix/smtpd[18120]: 4B49DBC34B: client=unknown[127.249.101.59]",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindClient, Session: "18120",
			QueueID: "4B49DBC34B", ClientName: "unknown", ClientIP: ip("127.249.101.59")}}, nil},
	{"client sasl", "Nov 27 19:27:57 mail postfix/smtpd[18120]: 0C05CBC360: client=mx1.partner.example[127.39.38.24], sasl_method=PLAIN, sasl_username=alice",
		[]parsers.Event{{Time: nov27("19:27:57"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindClient, Session: "18120",
			QueueID: "0C05CBC360", ClientName: "mx1.partner.example", ClientIP: ip("127.39.38.24"), SASLMethod: "PLAIN", SASLUser: "alice"}}, nil},
	{"client sasl submission", "2026-11-27T19:24:11.197843+00:00 vm postfix/submission/smtpd[16350]: 30485BC36C: client=unknown[127.50.58.78], sasl_method=PLAIN, sasl_username=gina@corp.example",
		[]parsers.Event{{Time: at("2026-11-27T19:24:11.197843Z"), Host: "vm", Daemon: "smtpd", Kind: parsers.KindClient, Session: "16350",
			QueueID: "30485BC36C", ClientName: "unknown", ClientIP: ip("127.50.58.78"), SASLMethod: "PLAIN", SASLUser: "gina@corp.example"}}, nil},
	{"client xforward", "2026-11-27T19:24:16.822252+00:00 vm postfix/reinject/smtpd[16470]: C8B8BBC36F: client=localhost[127.0.0.1], orig_queue_id=C21F5BC36E, orig_client=unknown[127.2.106.179]",
		[]parsers.Event{{Time: at("2026-11-27T19:24:16.822252Z"), Host: "vm", Daemon: "smtpd", Kind: parsers.KindClient, Session: "16470",
			QueueID: "C8B8BBC36F", ClientName: "localhost", ClientIP: ip("127.0.0.1"), PrevQueueID: "C21F5BC36E",
			OrigClientName: "unknown", OrigClientIP: ip("127.2.106.179")}}, nil},
	{"client long queue id", "Nov 27 19:27:54 mail postfix/smtpd[18120]: 4HgXkQ3Zy7z9sfNm: client=unknown[198.51.100.7]",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindClient, Session: "18120",
			QueueID: "4HgXkQ3Zy7z9sfNm", ClientName: "unknown", ClientIP: ip("198.51.100.7")}}, nil},
	{"reject relay denied", "Nov 27 19:28:14 mail postfix/smtpd[18120]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@victim.example>: Relay access denied; from=<spam@outside.example> to=<x@victim.example> proto=ESMTP helo=<ylmf-pc>",
		[]parsers.Event{{Time: nov27("19:28:14"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18120",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "spam@outside.example", Rcpt: "x@victim.example",
			DSN: "5.7.1", Reason: "RCPT: <x@victim.example>: Relay access denied", Proto: "ESMTP", Helo: "ylmf-pc"}}, nil},
	{"reject unknown user", "2026-11-27T19:23:41.276645+00:00 vm postfix/smtpd[16261]: NOQUEUE: reject: RCPT from relay.isp.example[127.190.195.13]: 550 5.1.1 <no.such.user@corp.example>: Recipient address rejected: User unknown in local recipient table; from=<pkhan@gmail.example> to=<no.such.user@corp.example> proto=ESMTP helo=<relay.isp.example>",
		[]parsers.Event{{Time: at("2026-11-27T19:23:41.276645Z"), Host: "vm", Daemon: "smtpd", Kind: parsers.KindReject, Session: "16261",
			ClientName: "relay.isp.example", ClientIP: ip("127.190.195.13"), From: "pkhan@gmail.example", Rcpt: "no.such.user@corp.example",
			DSN: "5.1.1", Reason: "RCPT: <no.such.user@corp.example>: Recipient address rejected: User unknown in local recipient table",
			Proto: "ESMTP", Helo: "relay.isp.example"}}, nil},
	{"reject with queue id", "Nov 27 19:28:14 mail postfix/smtpd[18120]: 8AFA3BC30D: reject: RCPT from unknown[203.0.113.9]: 450 4.1.2 <b@nxdomain.example>: Recipient address rejected: Domain not found; from=<> to=<b@nxdomain.example> proto=ESMTP helo=<[203.0.113.9]>",
		[]parsers.Event{{Time: nov27("19:28:14"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18120", QueueID: "8AFA3BC30D",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "", Rcpt: "b@nxdomain.example",
			DSN: "4.1.2", Reason: "RCPT: <b@nxdomain.example>: Recipient address rejected: Domain not found", Proto: "ESMTP", Helo: "[203.0.113.9]"}}, nil},
	{"reject CONNECT no rcpt", "Nov 27 19:28:14 mail postfix/smtpd[18122]: NOQUEUE: reject: CONNECT from unknown[203.0.113.9]: 554 5.7.1 <unknown[203.0.113.9]>: Client host rejected: Access denied; proto=SMTP",
		[]parsers.Event{{Time: nov27("19:28:14"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18122",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), DSN: "5.7.1",
			Reason: "CONNECT: <unknown[203.0.113.9]>: Client host rejected: Access denied", Proto: "SMTP"}}, nil},
	{"reject MAIL no rcpt", "Nov 27 19:28:14 mail postfix/smtpd[18122]: NOQUEUE: reject: MAIL from unknown[203.0.113.9]: 553 5.7.1 <ceo@corp.example>: Sender address rejected: not logged in; from=<ceo@corp.example> proto=ESMTP helo=<corp.example>",
		[]parsers.Event{{Time: nov27("19:28:14"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18122",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "ceo@corp.example", DSN: "5.7.1",
			Reason: "MAIL: <ceo@corp.example>: Sender address rejected: not logged in", Proto: "ESMTP", Helo: "corp.example"}}, nil},
	{"reject DATA", "Nov 27 19:28:15 mail postfix/smtpd[18120]: 8AFA3BC30D: reject: DATA from unknown[203.0.113.9]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce; from=<> proto=ESMTP helo=<x>",
		[]parsers.Event{{Time: nov27("19:28:15"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18120", QueueID: "8AFA3BC30D",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), DSN: "5.5.3",
			Reason: "DATA: <DATA>: Data command rejected: Multi-recipient bounce", Proto: "ESMTP", Helo: "x"}}, nil},
	{"reject_warning rbl", "Nov 27 19:28:16 mail postfix/smtpd[18123]: NOQUEUE: reject_warning: RCPT from unknown[192.0.2.5]: 554 5.7.1 Service unavailable; Client host [192.0.2.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.5; from=<a@outside.example> to=<bob@corp.example> proto=ESMTP helo=<pc>",
		[]parsers.Event{{Time: nov27("19:28:16"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindRejectWarning, Session: "18123",
			ClientName: "unknown", ClientIP: ip("192.0.2.5"), From: "a@outside.example", Rcpt: "bob@corp.example", DSN: "5.7.1",
			Reason: "RCPT: Service unavailable; Client host [192.0.2.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.5",
			Proto:  "ESMTP", Helo: "pc"}}, nil},
	{"permit", "Nov 27 19:28:16 mail postfix/smtpd[18124]: NOQUEUE: permit: RCPT from office.corp.example[192.0.2.10]: action=permit_mynetworks for Client host=192.0.2.10; from=<carol@corp.example> to=<partner@outside.example> proto=ESMTP helo=<office>",
		[]parsers.Event{{Time: nov27("19:28:16"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindPermit, Session: "18124",
			ClientName: "office.corp.example", ClientIP: ip("192.0.2.10"), From: "carol@corp.example", Rcpt: "partner@outside.example",
			Reason: "RCPT: action=permit_mynetworks for Client host=192.0.2.10", Proto: "ESMTP", Helo: "office",
			Attrs: attrs("restriction", "permit_mynetworks", "for", "Client host=192.0.2.10")}}, nil},
	{"milter-reject RCPT in smtpd", "Nov 27 19:28:17 mail postfix/smtpd[18125]: NOQUEUE: milter-reject: RCPT from unknown[203.0.113.50]: 451 4.7.1 Service unavailable - try again later; from=<x@outside.example> to=<y@victim.example> proto=ESMTP helo=<bot>",
		[]parsers.Event{{Time: nov27("19:28:17"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18125",
			ClientName: "unknown", ClientIP: ip("203.0.113.50"), From: "x@outside.example", Rcpt: "y@victim.example", DSN: "4.7.1",
			Reason: "RCPT: Service unavailable - try again later", Proto: "ESMTP", Helo: "bot",
			Attrs: attrs("action", "milter-reject")}}, nil},
	{"sasl failed", "Nov 27 19:28:06 mail postfix/smtpd[18120]: warning: unknown[127.249.101.59]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=dave",
		[]parsers.Event{{Time: nov27("19:28:06"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindAuthFailed, Session: "18120",
			ClientName: "unknown", ClientIP: ip("127.249.101.59"), SASLMethod: "LOGIN", SASLUser: "dave", Reason: "(reason unavailable)"}}, nil},
	{"sasl failed no user", "Nov 27 19:28:06 mail postfix/smtpd[18120]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
		[]parsers.Event{{Time: nov27("19:28:06"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindAuthFailed, Session: "18120",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), SASLMethod: "LOGIN", Reason: "UGFzc3dvcmQ6"}}, nil},
	{"lost after DATA", "Nov 27 19:28:20 mail postfix/smtpd[18126]: lost connection after DATA (0 bytes) from unknown[203.0.113.9]",
		[]parsers.Event{{Time: nov27("19:28:20"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindLost, Session: "18126",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), Reason: "lost connection after DATA (0 bytes)"}}, nil},
	{"timeout", "Nov 27 19:28:21 mail postfix/smtpd[18127]: timeout after END-OF-MESSAGE from mx.outside.example[198.51.100.3]",
		[]parsers.Event{{Time: nov27("19:28:21"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindLost, Session: "18127",
			ClientName: "mx.outside.example", ClientIP: ip("198.51.100.3"), Reason: "timeout after END-OF-MESSAGE"}}, nil},
	{"too many errors", "Nov 27 19:28:21 mail postfix/smtpd[18127]: too many errors after RCPT from unknown[203.0.113.9]",
		[]parsers.Event{{Time: nov27("19:28:21"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindLost, Session: "18127",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), Reason: "too many errors after RCPT"}}, nil},
	{"tls", "Nov 27 19:27:54 mail postfix/smtpd[18120]: Anonymous TLS connection established from unknown[127.249.101.59]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindTLS, Session: "18120",
			ClientName: "unknown", ClientIP: ip("127.249.101.59"),
			Reason: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
			Attrs:  attrs("tls", "Anonymous", "tls_protocol", "TLSv1.3", "tls_cipher", "TLS_AES_256_GCM_SHA384")}}, nil},
	{"smtpd other warning", "Nov 27 19:27:54 mail postfix/smtpd[18120]: warning: hostname mail.example does not resolve to address 203.0.113.9", nil, parsers.ErrUnsupported},
	{"smtpd statistics word", "Nov 27 19:27:54 mail postfix/smtpd[18120]: statistics: to=<x@y>", nil, parsers.ErrUnsupported},

	// postscreen(8): one process for all clients, so no Session.
	{"postscreen connect", "Nov 27 19:28:30 mail postfix/postscreen[1234]: CONNECT from [203.0.113.9]:41234 to [192.0.2.1]:25",
		[]parsers.Event{{Time: nov27("19:28:30"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindConnect, ClientIP: ip("203.0.113.9")}}, nil},
	{"postscreen reject", "Nov 27 19:28:31 mail postfix/postscreen[1234]: NOQUEUE: reject: RCPT from [203.0.113.9]:41234: 550 5.7.1 Service unavailable; client [203.0.113.9] blocked using zen.spamhaus.org; from=<a@outside.example>, to=<x@victim.example>, proto=ESMTP, helo=<pc>",
		[]parsers.Event{{Time: nov27("19:28:31"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindReject, ClientIP: ip("203.0.113.9"),
			From: "a@outside.example", Rcpt: "x@victim.example", DSN: "5.7.1", Proto: "ESMTP", Helo: "pc",
			Reason: "RCPT: Service unavailable; client [203.0.113.9] blocked using zen.spamhaus.org"}}, nil},

	// cleanup(8)
	{"message-id", "Nov 27 19:27:54 mail postfix/cleanup[18130]: 4B49DBC34B: message-id=<20261127192754.8f8bf4fe56.1@outside.example>",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindMessageID, QueueID: "4B49DBC34B",
			MessageID: "20261127192754.8f8bf4fe56.1@outside.example"}}, nil},
	{"message-id empty", "Nov 27 19:27:54 mail postfix/cleanup[18130]: 4B49DBC34B: message-id=",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindMessageID, QueueID: "4B49DBC34B"}}, nil},
	{"milter-reject EOM", "Nov 27 19:28:40 mail postfix/cleanup[18130]: 4B49DBC34B: milter-reject: END-OF-MESSAGE from unknown[203.0.113.9]: 5.7.1 Spam message rejected; from=<a@outside.example> to=<x@victim.example> proto=ESMTP helo=<pc>",
		[]parsers.Event{{Time: nov27("19:28:40"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindSender, QueueID: "4B49DBC34B", From: "a@outside.example"},
			{Time: nov27("19:28:40"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindReject, QueueID: "4B49DBC34B",
				ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "x@victim.example", DSN: "5.7.1",
				Reason: "END-OF-MESSAGE: Spam message rejected", Proto: "ESMTP", Helo: "pc",
				Attrs: attrs("action", "milter-reject")}}, nil},
	{"header reject", "Nov 27 19:28:41 mail postfix/cleanup[18130]: 5F73ABC34B: reject: header Subject: Cheap meds now from unknown[203.0.113.9]; from=<a@outside.example> to=<x@victim.example> proto=ESMTP helo=<pc>: 5.7.1 message content rejected",
		[]parsers.Event{{Time: nov27("19:28:41"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindSender, QueueID: "5F73ABC34B", From: "a@outside.example"},
			{Time: nov27("19:28:41"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindReject, QueueID: "5F73ABC34B",
				ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "x@victim.example", DSN: "5.7.1",
				Reason: "header Subject: Cheap meds now: message content rejected", Proto: "ESMTP", Helo: "pc",
				Attrs: attrs("action", "reject", "check", "header", "text", "message content rejected")}}, nil},

	// qmgr(8)
	{"sender", "Nov 27 19:27:54 mail postfix/qmgr[18116]: 5F73ABC34B: from=<zoe7129@gmail.example>, size=835, nrcpt=2 (queue active)",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindSender, QueueID: "5F73ABC34B",
			From: "zoe7129@gmail.example", Size: 835, NRcpt: 2}}, nil},
	{"null sender", "Nov 27 19:27:56 mail postfix/qmgr[18116]: 6BE1DBC35F: from=<>, size=2779, nrcpt=1 (queue active)",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindSender, QueueID: "6BE1DBC35F",
			Size: 2779, NRcpt: 1}}, nil},
	{"removed", "Nov 27 19:27:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"expired", "Nov 27 19:29:10 mail postfix/qmgr[18116]: 250FDBC363: from=<ines@outside.example>, status=expired, returned to sender",
		[]parsers.Event{{Time: nov27("19:29:10"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindExpired, QueueID: "250FDBC363",
			From: "ines@outside.example", Status: parsers.StatusExpired}}, nil},
	{"force-expired (postsuper -e, Postfix 3.x)", "Nov 27 19:29:10 mail postfix/qmgr[18116]: 250FDBC364: from=<ines@outside.example>, status=force-expired, returned to sender",
		[]parsers.Event{{Time: nov27("19:29:10"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindExpired, QueueID: "250FDBC364",
			From: "ines@outside.example", Status: parsers.StatusExpired}}, nil},
	{"qmgr deferred", "Nov 27 19:29:10 mail postfix/qmgr[18116]: 250FDBC363: to=<ines4758@offline.example>, relay=none, delay=3600, delays=3600/0/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2599: Connection refused)",
		[]parsers.Event{{Time: nov27("19:29:10"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindDelivery, QueueID: "250FDBC363",
			Rcpt: "ines4758@offline.example", Relay: "none", DSN: "4.4.1", Status: parsers.StatusDeferred,
			Reason: "delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
			Attrs:  attrs("delay", "3600", "delays", "3600/0/0/0")}}, nil},
	{"qmgr skipped", "Nov 27 19:29:10 mail postfix/qmgr[18116]: 250FDBC363: skipped, still being delivered", nil, parsers.ErrUnsupported},

	// pickup(8)
	{"pickup", "Nov 27 19:27:57 mail postfix/pickup[18115]: 9BD7ABC352: uid=0 from=<root@mail.corp.example>",
		[]parsers.Event{{Time: nov27("19:27:57"), Host: "mail", Daemon: "pickup", Kind: parsers.KindPickup, QueueID: "9BD7ABC352",
			From: "root@mail.corp.example", Reason: "uid=0"}}, nil},

	// delivery agents
	{"smtp sent filter", "Nov 27 19:27:56 mail postfix/smtp[18156]: 782A0BC35C: to=<li3350@victim.example>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as S5807676496)",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "782A0BC35C",
			Rcpt: "li3350@victim.example", Relay: "127.0.0.1[127.0.0.1]:2525", DSN: "2.0.0", Status: parsers.StatusSent,
			Reason: "250 2.0.0 Ok: queued as S5807676496", NextQueueID: "S5807676496",
			Attrs: attrs("delay", "0.01", "delays", "0/0/0/0")}}, nil},
	{"smtp bounced", "Nov 27 19:27:56 mail postfix/smtp[18156]: 63392BC35C: to=<ckhan@bouncy.example>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.04, delays=0/0.02/0/0.01, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <ckhan@bouncy.example>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "63392BC35C",
			Rcpt: "ckhan@bouncy.example", Relay: "127.0.0.1[127.0.0.1]:2526", DSN: "5.1.1", Status: parsers.StatusBounced,
			Reason: "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <ckhan@bouncy.example>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
			Attrs:  attrs("delay", "0.04", "delays", "0/0.02/0/0.01")}}, nil},
	{"smtp deferred", "2026-11-27T19:23:42.307591+00:00 vm postfix/smtp[16283]: 44E3CBC35E: to=<zoe2059@offline.example>, relay=none, delay=0, delays=0/0/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:2599: Connection refused)",
		[]parsers.Event{{Time: at("2026-11-27T19:23:42.307591Z"), Host: "vm", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "44E3CBC35E",
			Rcpt: "zoe2059@offline.example", Relay: "none", DSN: "4.4.1", Status: parsers.StatusDeferred,
			Reason: "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
			Attrs:  attrs("delay", "0", "delays", "0/0/0/0")}}, nil},
	{"smtp conn_use", "Nov 27 19:27:56 mail postfix-out/smtp[18157]: 9573BBC35C: to=<mary@outside.example>, relay=mx.outside.example[198.51.100.3]:25, conn_use=2, delay=0.3, delays=0/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 OK 1732735676 a1si123 - gsmtp)",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "9573BBC35C",
			Rcpt: "mary@outside.example", Relay: "mx.outside.example[198.51.100.3]:25", DSN: "2.0.0", Status: parsers.StatusSent,
			Reason: "250 2.0.0 OK 1732735676 a1si123 - gsmtp",
			Attrs:  attrs("conn_use", "2", "delay", "0.3", "delays", "0/0/0.1/0.2")}}, nil},
	{"smtp address with parenthesis", `Nov 27 19:27:56 mail postfix/smtp[18157]: 9573BBC35C: to=<"j (work)"@outside.example>, relay=mx.outside.example[198.51.100.3]:25, delay=0.3, delays=0/0/0.1/0.2, dsn=2.0.0, status=sent (250 ok)`,
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "9573BBC35C",
			Rcpt: `"j (work)"@outside.example`, Relay: "mx.outside.example[198.51.100.3]:25", DSN: "2.0.0", Status: parsers.StatusSent,
			Reason: "250 ok",
			Attrs:  attrs("delay", "0.3", "delays", "0/0/0.1/0.2")}}, nil},
	{"smtp connect noise", "Nov 27 19:28:48 mail postfix/smtp[18301]: connect to 127.0.0.1[127.0.0.1]:2599: Connection refused", nil, parsers.ErrUnsupported},
	{"local mailbox orig_to", "Nov 27 19:27:54 mail postfix/local[18131]: 7388BBC34E: to=<alice@mail.corp.example>, orig_to=<sales@corp.example>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "local", Kind: parsers.KindDelivery, QueueID: "7388BBC34E",
			Rcpt: "alice@mail.corp.example", OrigRcpt: "sales@corp.example", Relay: "local", DSN: "2.0.0", Status: parsers.StatusSent,
			Reason: "delivered to mailbox",
			Attrs:  attrs("delay", "0", "delays", "0/0/0/0")}}, nil},
	{"local forwarded", "Nov 27 19:27:57 mail postfix/local[18133]: B013FBC352: to=<fwd-partner@corp.example>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (forwarded as B0A8CBC360)",
		[]parsers.Event{{Time: nov27("19:27:57"), Host: "mail", Daemon: "local", Kind: parsers.KindDelivery, QueueID: "B013FBC352",
			Rcpt: "fwd-partner@corp.example", Relay: "local", DSN: "2.0.0", Status: parsers.StatusSent,
			Reason: "forwarded as B0A8CBC360", NextQueueID: "B0A8CBC360",
			Attrs: attrs("delay", "0.01", "delays", "0/0/0/0")}}, nil},
	{"lmtp", "Nov 27 19:27:58 mail postfix/lmtp[18140]: 1E65EBC360: to=<alice@corp.example>, relay=mail.corp.example[private/dovecot-lmtp], delay=0.05, delays=0.01/0/0.01/0.03, dsn=2.0.0, status=sent (250 2.0.0 <alice@corp.example> 8Jt0HUBiR2fKRgAAj8U2Yw Saved)",
		[]parsers.Event{{Time: nov27("19:27:58"), Host: "mail", Daemon: "lmtp", Kind: parsers.KindDelivery, QueueID: "1E65EBC360",
			Rcpt: "alice@corp.example", Relay: "mail.corp.example[private/dovecot-lmtp]", DSN: "2.0.0", Status: parsers.StatusSent,
			Reason: "250 2.0.0 <alice@corp.example> 8Jt0HUBiR2fKRgAAj8U2Yw Saved",
			Attrs:  attrs("delay", "0.05", "delays", "0.01/0/0.01/0.03")}}, nil},
	{"virtual", "Nov 27 19:27:58 mail postfix/virtual[18141]: 1E65EBC360: to=<bob@corp-mail.example>, relay=virtual, delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to maildir)",
		[]parsers.Event{{Time: nov27("19:27:58"), Host: "mail", Daemon: "virtual", Kind: parsers.KindDelivery, QueueID: "1E65EBC360",
			Rcpt: "bob@corp-mail.example", Relay: "virtual", DSN: "2.0.0", Status: parsers.StatusSent, Reason: "delivered to maildir",
			Attrs: attrs("delay", "0.02", "delays", "0.01/0/0/0.01")}}, nil},
	{"pipe", `Nov 27 19:27:58 mail postfix/pipe[18142]: 1E65EBC360: to=<carol@corp.example>, relay=dovecot, delay=0.03, delays=0.01/0/0/0.02, dsn=2.0.0, status=sent (delivered via dovecot service)`,
		[]parsers.Event{{Time: nov27("19:27:58"), Host: "mail", Daemon: "pipe", Kind: parsers.KindDelivery, QueueID: "1E65EBC360",
			Rcpt: "carol@corp.example", Relay: "dovecot", DSN: "2.0.0", Status: parsers.StatusSent, Reason: "delivered via dovecot service",
			Attrs: attrs("delay", "0.03", "delays", "0.01/0/0/0.02")}}, nil},
	{"error", "Nov 27 19:27:58 mail postfix/error[18143]: 2A1B3BC360: to=<old@corp.example>, relay=none, delay=0.01, delays=0/0/0/0, dsn=5.0.0, status=bounced (User has moved)",
		[]parsers.Event{{Time: nov27("19:27:58"), Host: "mail", Daemon: "error", Kind: parsers.KindDelivery, QueueID: "2A1B3BC360",
			Rcpt: "old@corp.example", Relay: "none", DSN: "5.0.0", Status: parsers.StatusBounced, Reason: "User has moved",
			Attrs: attrs("delay", "0.01", "delays", "0/0/0/0")}}, nil},
	{"retry", "Nov 27 19:27:58 mail postfix/retry[18144]: 2A1B3BC360: to=<x@outside.example>, relay=none, delay=90, delays=90/0/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended)",
		[]parsers.Event{{Time: nov27("19:27:58"), Host: "mail", Daemon: "retry", Kind: parsers.KindDelivery, QueueID: "2A1B3BC360",
			Rcpt: "x@outside.example", Relay: "none", DSN: "4.4.1", Status: parsers.StatusDeferred, Reason: "delivery temporarily suspended",
			Attrs: attrs("delay", "90", "delays", "90/0/0/0")}}, nil},

	// bounce(8), postsuper(1)
	{"non-delivery notification", "Nov 27 19:27:56 mail postfix/bounce[18158]: 63392BC35C: sender non-delivery notification: 6BE1DBC35F",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "bounce", Kind: parsers.KindBounce, QueueID: "63392BC35C",
			NextQueueID: "6BE1DBC35F", Reason: "sender non-delivery notification"}}, nil},
	{"delivery status notification", "Nov 27 19:27:56 mail postfix/bounce[18158]: 63392BC35C: sender delivery status notification: 6C01ABC35F",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "bounce", Kind: parsers.KindBounce, QueueID: "63392BC35C",
			NextQueueID: "6C01ABC35F", Reason: "sender delivery status notification"}}, nil},
	{"postsuper summary", "Nov 27 19:29:20 mail postfix/postsuper[18500]: Deleted: 1 message", nil, parsers.ErrUnsupported},

	// noise
	// postfix-script and master(8): the server's own life (dev corpus), and
	// msg(3)'s warning/error/fatal/panic lines (Postfix's own wording).
	{"postfix-script start", "Nov 27 19:27:51 mail postfix/postfix-script[18112]: starting the Postfix mail system",
		[]parsers.Event{{Time: nov27("19:27:51"), Host: "mail", Daemon: "postfix-script", Kind: parsers.KindServer, Status: parsers.ServerStart, Reason: "starting the Postfix mail system"}}, nil},
	{"master started", "Nov 27 19:27:52 mail postfix/master[18114]: daemon started -- version 3.7.11, configuration /etc/postfix",
		[]parsers.Event{{Time: nov27("19:27:52"), Host: "mail", Daemon: "master", Kind: parsers.KindServer, Status: parsers.ServerStart, Reason: "daemon started -- version 3.7.11, configuration /etc/postfix"}}, nil},
	{"postfix-script refresh", "Nov 27 19:28:45 mail postfix/postfix-script[18285]: refreshing the Postfix mail system",
		[]parsers.Event{{Time: nov27("19:28:45"), Host: "mail", Daemon: "postfix-script", Kind: parsers.KindServer, Status: parsers.ServerReload, Reason: "refreshing the Postfix mail system"}}, nil},
	{"master reload", "Nov 27 19:28:45 mail postfix/master[18114]: reload -- version 3.7.11, configuration /etc/postfix",
		[]parsers.Event{{Time: nov27("19:28:45"), Host: "mail", Daemon: "master", Kind: parsers.KindServer, Status: parsers.ServerReload, Reason: "reload -- version 3.7.11, configuration /etc/postfix"}}, nil},
	{"master reload rfc3339", "2026-11-27T19:24:08.458533+00:00 vm postfix/master[16256]: reload -- version 3.7.11, configuration /etc/postfix",
		[]parsers.Event{{Time: at("2026-11-27T19:24:08.458533Z"), Host: "vm", Daemon: "master", Kind: parsers.KindServer, Status: parsers.ServerReload, Reason: "reload -- version 3.7.11, configuration /etc/postfix"}}, nil},
	{"postfix-script stop", "Nov 27 19:29:18 mail postfix/postfix-script[18454]: stopping the Postfix mail system",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "postfix-script", Kind: parsers.KindServer, Status: parsers.ServerStop, Reason: "stopping the Postfix mail system"}}, nil},
	{"master terminating", "Nov 27 19:29:18 mail postfix/master[18114]: terminating on signal 15",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "master", Kind: parsers.KindServer, Status: parsers.ServerStop, Reason: "terminating on signal 15"}}, nil},
	{"master warning", "Nov 27 19:29:18 mail postfix/master[18114]: warning: process /usr/lib/postfix/sbin/smtpd pid 18120 exit status 1",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "master", Kind: parsers.KindServer, Status: parsers.ServerWarning, Reason: "warning: process /usr/lib/postfix/sbin/smtpd pid 18120 exit status 1"}}, nil},
	{"qmgr queue file warning", "Nov 27 19:29:18 mail postfix/qmgr[18116]: warning: qmgr_active_corrupt: save corrupt file queue active id 4B49DBC34B: No such file or directory",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindServer, Status: parsers.ServerWarning, Reason: "warning: qmgr_active_corrupt: save corrupt file queue active id 4B49DBC34B: No such file or directory"}}, nil},
	{"smtpd fatal", "Nov 27 19:29:18 mail postfix/smtpd[18120]: fatal: open database /etc/postfix/sender_access.db: No such file or directory",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindServer, Status: parsers.ServerError, Reason: "fatal: open database /etc/postfix/sender_access.db: No such file or directory"}}, nil},
	{"trivial-rewrite panic", "Nov 27 19:29:18 mail postfix/trivial-rewrite[18121]: panic: myfree: corrupt or unallocated memory block",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "trivial-rewrite", Kind: parsers.KindServer, Status: parsers.ServerError, Reason: "panic: myfree: corrupt or unallocated memory block"}}, nil},
	{"cleanup error", "Nov 27 19:29:18 mail postfix/cleanup[18130]: error: open database /etc/postfix/header_checks.db: No such file or directory",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindServer, Status: parsers.ServerError, Reason: "error: open database /etc/postfix/header_checks.db: No such file or directory"}}, nil},
	{"postfix-script warning", "Nov 27 19:29:18 mail postfix/postfix-script[18500]: warning: not owned by postfix: /var/spool/postfix/public/pickup",
		[]parsers.Event{{Time: nov27("19:29:18"), Host: "mail", Daemon: "postfix-script", Kind: parsers.KindServer, Status: parsers.ServerWarning, Reason: "warning: not owned by postfix: /var/spool/postfix/public/pickup"}}, nil},
	{"smtpd warning about a client", "Nov 27 19:27:54 mail postfix/smtpd[18120]: warning: non-SMTP command from unknown[203.0.113.9]: GET / HTTP/1.1", nil, parsers.ErrUnsupported},
	{"postfix-script other", "Nov 27 19:29:18 mail postfix/postfix-script[18500]: the Postfix mail system is running: PID: 18114", nil, parsers.ErrUnsupported},
	{"master other", "Nov 27 19:29:18 mail postfix/master[18114]: daemon stopped", nil, parsers.ErrUnsupported},
	{"anvil", "2026-11-27T19:24:08.466219+00:00 vm postfix/anvil[16264]: statistics: max connection rate 10/60s for (smtp:127.190.195.13) at Nov 27 19:23:42", nil, parsers.ErrUnsupported},
	{"scache", "Nov 27 19:29:06 mail postfix/scache[18400]: statistics: start interval Nov 27 19:29:02", nil, parsers.ErrUnsupported},
	{"dovecot", "Nov 27 19:27:54 mail dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1", nil, parsers.ErrUnsupported},
	{"kernel", "Nov 27 19:27:54 mail kernel: [12345.678901] eth0: link up", nil, parsers.ErrUnsupported},
	{"sshd", "2026-11-27T19:23:41.020682+00:00 vm sshd[999]: Accepted publickey for root from 192.0.2.1 port 2222 ssh2", nil, parsers.ErrUnsupported},

	// stamps, tags and damage
	{"space-padded day", "Jan  3 07:08:09 mail postfix/qmgr[18116]: 4B49DBC34B: removed",
		[]parsers.Event{{Time: at("2027-01-03T07:08:09Z"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"fractional syslog stamp", "Nov 27 19:27:54.123456 mail postfix/qmgr[18116]: 4B49DBC34B: removed",
		[]parsers.Event{{Time: at("2026-11-27T19:27:54.123456Z"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"rfc3339 +01:00", "2026-11-27T20:07:11.367985+01:00 vm postfix/qmgr[16258]: 187E4BC35A: removed",
		[]parsers.Event{{Time: at("2026-11-27T19:07:11.367985Z"), Host: "vm", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "187E4BC35A"}}, nil},
	{"rfc3339 Z", "2026-11-27T19:07:11Z vm postfix/qmgr[16258]: 187E4BC35A: removed",
		[]parsers.Event{{Time: at("2026-11-27T19:07:11Z"), Host: "vm", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "187E4BC35A"}}, nil},
	{"short-iso", "2026-11-27T19:07:11+0000 vm postfix/qmgr[16258]: 187E4BC35A: removed",
		[]parsers.Event{{Time: at("2026-11-27T19:07:11Z"), Host: "vm", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "187E4BC35A"}}, nil},
	{"short-iso-precise -0500", "2026-11-27T14:07:11.367985-0500 vm postfix/qmgr[16258]: 187E4BC35A: removed",
		[]parsers.Event{{Time: at("2026-11-27T19:07:11.367985Z"), Host: "vm", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "187E4BC35A"}}, nil},
	{"tag postfix-10.20.30.40", "Nov 27 19:27:56 mail postfix-10.20.30.40/smtp[18157]: 9573BBC35C: to=<a@outside.example>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, status=deferred (connect timed out)",
		[]parsers.Event{{Time: nov27("19:27:56"), Host: "mail", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "9573BBC35C",
			Rcpt: "a@outside.example", Relay: "none", DSN: "4.4.1", Status: parsers.StatusDeferred, Reason: "connect timed out",
			Attrs: attrs("delay", "1", "delays", "1/0/0/0")}}, nil},
	{"syslog priority", "<22>Nov 27 19:27:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"trailing CR", "Nov 27 19:27:54 mail postfix/cleanup[18130]: 4B49DBC34B: message-id=<a@b.example>\r",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindMessageID, QueueID: "4B49DBC34B", MessageID: "a@b.example"}}, nil},
	{"leading NULs", "\x00\x00\x00\x00Nov 27 19:27:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"byte-order mark", "\ufeffNov 27 19:27:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"invalid UTF-8 address", "Nov 27 19:28:14 mail postfix/smtpd[18120]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <j\xe9r\xf4me@victim.example>: Relay access denied; from=<\xff\xfe@outside.example> to=<j\xe9r\xf4me@victim.example> proto=ESMTP helo=<pc>",
		[]parsers.Event{{Time: nov27("19:28:14"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindReject, Session: "18120",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "\xff\xfe@outside.example", Rcpt: "j\xe9r\xf4me@victim.example",
			DSN: "5.7.1", Reason: "RCPT: <j\xe9r\xf4me@victim.example>: Relay access denied", Proto: "ESMTP", Helo: "pc"}}, nil},
	{"no pid", "Nov 27 19:27:54 mail postfix/qmgr: 4B49DBC34B: removed",
		[]parsers.Event{{Time: nov27("19:27:54"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4B49DBC34B"}}, nil},
	{"garbage", "garbage", nil, errNoHeader},
	{"empty", "", nil, errNoHeader},
	{"truncated after crash", "Nov 27 19:27:5", nil, errNoHeader},
	{"bad month", "Noc 27 19:27:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed", nil, errBadStamp},
	{"bad clock", "Nov 27 19:77:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed", nil, errBadStamp},
	{"Feb 30", "Feb 30 19:27:54 mail postfix/qmgr[18116]: 4B49DBC34B: removed", nil, errBadStamp},
	{"bad rfc3339", "2026-13-27T19:07:11+00:00 vm postfix/qmgr[16258]: 187E4BC35A: removed", nil, errBadStamp},
	{"bad offset", "2026-11-27T19:07:11+25:00 vm postfix/qmgr[16258]: 187E4BC35A: removed", nil, errBadStamp},

	// journalctl -o json
	{"journal json", `{"__CURSOR":"s=4c1f;i=1a2b","__REALTIME_TIMESTAMP":"1795806431367985","__MONOTONIC_TIMESTAMP":"123456789","_BOOT_ID":"0f1e2d3c","PRIORITY":"6","SYSLOG_FACILITY":"2","SYSLOG_IDENTIFIER":"postfix/smtpd","SYSLOG_PID":"9708","_PID":"9708","_UID":"100","_COMM":"smtpd","_HOSTNAME":"mx1","_TRANSPORT":"syslog","MESSAGE":"NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@victim.example>: Relay access denied; from=<a@outside.example> to=<x@victim.example> proto=ESMTP helo=<pc>"}`,
		[]parsers.Event{{Time: time.UnixMicro(1795806431367985).UTC(), Host: "mx1", Daemon: "smtpd", Kind: parsers.KindReject, Session: "9708",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "x@victim.example",
			DSN: "5.7.1", Reason: "RCPT: <x@victim.example>: Relay access denied", Proto: "ESMTP", Helo: "pc"}}, nil},
	{"journal json byte array", `{"__REALTIME_TIMESTAMP":"1795806431367985","SYSLOG_IDENTIFIER":"postfix/qmgr","_PID":"16258","_HOSTNAME":"mx1","MESSAGE":[49,56,55,69,52,66,67,51,53,65,58,32,102,114,111,109,61,60,255,64,120,62,44,32,115,105,122,101,61,49,48,44,32,110,114,99,112,116,61,49,32,40,113,117,101,117,101,32,97,99,116,105,118,101,41]}`,
		[]parsers.Event{{Time: time.UnixMicro(1795806431367985).UTC(), Host: "mx1", Daemon: "qmgr", Kind: parsers.KindSender,
			QueueID: "187E4BC35A", From: "\xff@x", Size: 10, NRcpt: 1}}, nil},
	{"journal json-seq", "\x1e" + `{"__REALTIME_TIMESTAMP":"1795806431367985","SYSLOG_IDENTIFIER":"postfix/qmgr","_PID":"16258","_HOSTNAME":"mx1","MESSAGE":"187E4BC35A: removed"}`,
		[]parsers.Event{{Time: time.UnixMicro(1795806431367985).UTC(), Host: "mx1", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "187E4BC35A"}}, nil},
	{"journal json other program", `{"__REALTIME_TIMESTAMP":"1795806431367985","SYSLOG_IDENTIFIER":"dovecot","_PID":"700","_HOSTNAME":"mx1","MESSAGE":"imap-login: Login: user=<alice>"}`, nil, parsers.ErrUnsupported},
	{"journal json no message", `{"__REALTIME_TIMESTAMP":"1795806431367985","SYSLOG_IDENTIFIER":"postfix/qmgr"}`, nil, errBadJSON},
	{"journal json bad time", `{"__REALTIME_TIMESTAMP":"soon","SYSLOG_IDENTIFIER":"postfix/qmgr","MESSAGE":"187E4BC35A: removed"}`, nil, errBadJSON},
	{"journal json byte out of range", `{"__REALTIME_TIMESTAMP":"1795806431367985","SYSLOG_IDENTIFIER":"postfix/qmgr","MESSAGE":[300]}`, nil, errBadJSON},
	{"journal json truncated", `{"__REALTIME_TIMESTAMP":"1795806431367985","SYSLOG_IDENT`, nil, errBadJSON},
}

// attrs builds an Event.Attrs from key, value pairs, as AddAttr does.
func attrs(kv ...string) string {
	var ev parsers.Event
	for i := 0; i+1 < len(kv); i += 2 {
		ev.AddAttr(kv[i], kv[i+1])
	}
	return ev.Attrs
}

// attrsGo prints ev.Attrs as the attrs call that builds it.
func attrsGo(ev parsers.Event) string {
	var parts []string
	ev.EachAttr(func(k, v string) bool {
		parts = append(parts, fmt.Sprintf("%q, %q", k, v))
		return true
	})
	return "attrs(" + strings.Join(parts, ", ") + ")"
}

func newTestParser() *Parser {
	return NewParser(Options{Year: 2026, Location: time.UTC})
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			pos := parsers.Pos{File: "mail.log", Line: 42, Offset: 4096}
			p := newTestParser()
			if strings.HasPrefix(tt.name, "space-padded") {
				p.lastMonth = time.December // the line follows a December one
			}
			got, err := p.Parse(nil, []byte(tt.line), pos)
			checkErr(t, tt.line, err, tt.wantErr)
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) = %d events %+v, want %d", tt.line, len(got), got, len(tt.want))
			}
			for i, want := range tt.want {
				want.Pos, want.Raw, want.Format = pos, tt.line, "postfix"
				if got[i].Time.Location() != time.UTC {
					t.Errorf("Parse(%q): time %v not in UTC", tt.line, got[i].Time)
				}
				if got[i] != want {
					t.Errorf("Parse(%q)\n got %s\nwant %s", tt.line, eventString(got[i]), eventString(want))
				}
			}
		})
	}
}

// checkErr checks that err is wantErr, and that an error other than
// ErrUnsupported comes as a *parsers.ParseError that says where.
func checkErr(t *testing.T, line string, err, wantErr error) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatalf("Parse(%q) error %v, want none", line, err)
		}
		return
	}
	if !errors.Is(err, wantErr) {
		t.Fatalf("Parse(%q) error %v, want %v", line, err, wantErr)
	}
	var pe *parsers.ParseError
	if wantErr != parsers.ErrUnsupported && !errors.As(err, &pe) {
		t.Fatalf("Parse(%q) error %T, want *parsers.ParseError", line, err)
	}
	if pe != nil && (pe.Format != "postfix" || pe.Pos.Line == 0) {
		t.Errorf("Parse(%q) error %+v lost its position or format", line, pe)
	}
}

// eventString prints the fields that are set, so a mismatch reads easily.
func eventString(ev parsers.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{%s %s %s", ev.Kind, ev.Time.Format(time.RFC3339Nano), ev.Time.Location())
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%q", k, v)
		}
	}
	add("Host", ev.Host)
	add("Daemon", ev.Daemon)
	add("Session", ev.Session)
	add("QueueID", ev.QueueID)
	add("NextQueueID", ev.NextQueueID)
	add("PrevQueueID", ev.PrevQueueID)
	add("MessageID", ev.MessageID)
	if ev.ClientIP.IsValid() {
		add("ClientIP", ev.ClientIP.String())
	}
	add("ClientName", ev.ClientName)
	if ev.OrigClientIP.IsValid() {
		add("OrigClientIP", ev.OrigClientIP.String())
	}
	add("OrigClientName", ev.OrigClientName)
	add("Helo", ev.Helo)
	add("Proto", ev.Proto)
	add("SASLMethod", ev.SASLMethod)
	add("SASLUser", ev.SASLUser)
	add("From", ev.From)
	add("Rcpt", ev.Rcpt)
	add("OrigRcpt", ev.OrigRcpt)
	add("Relay", ev.Relay)
	add("Status", ev.Status)
	add("DSN", ev.DSN)
	add("Reason", ev.Reason)
	if ev.Size != 0 || ev.NRcpt != 0 {
		fmt.Fprintf(&b, " Size=%d NRcpt=%d", ev.Size, ev.NRcpt)
	}
	if ev.Attrs != "" {
		fmt.Fprintf(&b, " Attrs=%s", attrsGo(ev))
	}
	fmt.Fprintf(&b, " Pos=%+v Format=%q Raw=%q}", ev.Pos, ev.Format, ev.Raw)
	return b.String()
}
