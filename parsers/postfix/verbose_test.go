package postfix

import (
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// verboseTests are the lines of Postfix's optional logging (issue 19),
// written for this table from Postfix's documentation and source:
// smtpd_log_access_permit_actions and the access(5) actions (smtpd_check.c
// log_whatsup), header_checks(5) actions (cleanup_act_log), milter actions
// (smtpd_milter.c, cleanup_milter.c), TLS at smtpd_tls_loglevel and
// smtp_tls_loglevel 1-4 (postconf(5), tls_misc.c), enable_long_queue_ids
// (mail_queue.c), postsuper(1), postscreen(8) ("Logging"), discard(8),
// error(8), and the optional client= attributes (sasl_sender, XFORWARD).
// The shapes were checked against testdata/postfix/verbose, a real log.
var verboseTests = []struct {
	name, line string
	want       []parsers.Event
	wantErr    error
}{
	// access(5) and restriction actions in smtpd(8)
	{"permit static:all", "Dec  6 03:04:45 mail postfix/smtpd[18074]: NOQUEUE: permit: RCPT from unknown[198.51.100.5]: action=permit_mynetworks for Client host=unknown[198.51.100.5] ; from=<x@outside.example> to=<y@victim.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindPermit, Session: "18074",
			ClientName: "unknown", ClientIP: ip("198.51.100.5"), From: "x@outside.example", Rcpt: "y@victim.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: action=permit_mynetworks for Client host=unknown[198.51.100.5]",
			Attrs:  attrs("restriction", "permit_mynetworks", "for", "Client host=unknown[198.51.100.5]")}}, nil},
	{"permit sasl", "Dec  6 03:04:45 mail postfix/submission/smtpd[18075]: 4jhqpP40MHz5g1T: permit: RCPT from unknown[203.0.113.7]: action=permit_sasl_authenticated for Client host=unknown[203.0.113.7] ; from=<bob@corp.example> to=<z@outside.example> proto=ESMTP helo=<laptop>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindPermit, Session: "18075", QueueID: "4jhqpP40MHz5g1T",
			ClientName: "unknown", ClientIP: ip("203.0.113.7"), From: "bob@corp.example", Rcpt: "z@outside.example", Proto: "ESMTP", Helo: "laptop",
			Reason: "RCPT: action=permit_sasl_authenticated for Client host=unknown[203.0.113.7]",
			Attrs:  attrs("restriction", "permit_sasl_authenticated", "for", "Client host=unknown[203.0.113.7]")}}, nil},
	{"permit access DISCARD", "Dec  6 03:04:45 mail postfix/smtpd[18074]: NOQUEUE: permit: RCPT from unknown[203.0.113.9]: action=DISCARD for Recipient address=trap@corp.example from hash:/etc/postfix/recipient_access; from=<a@outside.example> to=<trap@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindPermit, Session: "18074",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "trap@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: action=DISCARD for Recipient address=trap@corp.example from hash:/etc/postfix/recipient_access",
			Attrs:  attrs("restriction", "DISCARD", "for", "Recipient address=trap@corp.example from hash:/etc/postfix/recipient_access")}}, nil},
	{"reject_warning helo", "Dec  6 03:04:45 mail postfix/smtpd[18114]: NOQUEUE: reject_warning: RCPT from unknown[203.0.113.9]: 504 5.5.2 <pc>: Helo command rejected: need fully-qualified hostname; from=<a@outside.example> to=<bob@corp.example> proto=ESMTP helo=<pc>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindRejectWarning, Session: "18114",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "bob@corp.example", Proto: "ESMTP", Helo: "pc", DSN: "5.5.2",
			Reason: "RCPT: <pc>: Helo command rejected: need fully-qualified hostname"}}, nil},
	{"access WARN", "Dec  6 03:04:45 mail postfix/smtpd[18114]: NOQUEUE: warn: RCPT from unknown[203.0.113.9]: watch this client; from=<a@outside.example> to=<bob@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindRejectWarning, Session: "18114",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "bob@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: watch this client", Attrs: attrs("action", "warn")}}, nil},
	{"access HOLD", "Dec  6 03:04:45 mail postfix/smtpd[18114]: NOQUEUE: hold: RCPT from unknown[203.0.113.9]: <quarantine@corp.example>: Recipient address quarantined; from=<a@outside.example> to=<quarantine@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindDelivery, Relay: "none", Session: "18114", Status: StatusHeld,
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "quarantine@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: <quarantine@corp.example>: Recipient address quarantined", Attrs: attrs("action", "hold")}}, nil},
	{"access DISCARD with queue id", "Dec  6 03:04:45 mail postfix/smtpd[18074]: 4jhqpP4m8lz5g1f: discard: RCPT from unknown[203.0.113.9]: <trap@corp.example>: Recipient address triggers DISCARD action; from=<a@outside.example> to=<trap@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindSender, Session: "18074", QueueID: "4jhqpP4m8lz5g1f", From: "a@outside.example"},
			{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindDelivery, Relay: "none", Session: "18074", Status: StatusDiscarded, QueueID: "4jhqpP4m8lz5g1f",
				ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "trap@corp.example", Proto: "ESMTP", Helo: "pc.example",
				Reason: "RCPT: <trap@corp.example>: Recipient address triggers DISCARD action", Attrs: attrs("action", "discard")}}, nil},
	{"access DISCARD at MAIL", "Dec  6 03:04:45 mail postfix/smtpd[18074]: NOQUEUE: discard: MAIL from unknown[203.0.113.9]: <spam@outside.example>: Sender address triggers DISCARD action; from=<spam@outside.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindRcpt, Session: "18074", Status: StatusDiscarded, Relay: "none",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "spam@outside.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "MAIL: <spam@outside.example>: Sender address triggers DISCARD action", Attrs: attrs("action", "discard")}}, nil},
	{"access REDIRECT", "Dec  6 03:04:45 mail postfix/smtpd[18114]: NOQUEUE: redirect: RCPT from unknown[203.0.113.9]: <redirect@corp.example>: Recipient address triggers REDIRECT ops@partner.example; from=<a@outside.example> to=<redirect@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindRcpt, Session: "18114",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "redirect@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: <redirect@corp.example>: Recipient address triggers REDIRECT ops@partner.example",
			Attrs:  attrs("action", "redirect", "redirect", "ops@partner.example")}}, nil},
	{"access FILTER", "Dec  6 03:04:45 mail postfix/smtpd[18074]: NOQUEUE: filter: RCPT from unknown[203.0.113.9]: <filter@corp.example>: Recipient address triggers FILTER smtp:[127.0.0.1]:10025; from=<a@outside.example> to=<filter@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindRcpt, Session: "18074",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "filter@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: <filter@corp.example>: Recipient address triggers FILTER smtp:[127.0.0.1]:10025",
			Attrs:  attrs("action", "filter", "filter", "smtp:[127.0.0.1]:10025")}}, nil},
	{"client= sasl_sender", "Dec  6 03:04:45 mail postfix/smtpd[18074]: 4jhqpP40MHz5g1T: client=unknown[203.0.113.7], sasl_method=PLAIN, sasl_username=bob, sasl_sender=alice@corp.example",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindClient, Session: "18074", QueueID: "4jhqpP40MHz5g1T",
			ClientName: "unknown", ClientIP: ip("203.0.113.7"), SASLMethod: "PLAIN", SASLUser: "bob", Attrs: attrs("sasl_sender", "alice@corp.example")}}, nil},
	{"client= xforward long ids", "Dec  6 03:04:45 mail postfix/reinject/smtpd[18129]: 4jhqpP5Lkdz5g1k: client=localhost[127.0.0.1], orig_queue_id=4jhqpP4rdQz5g1g, orig_client=unknown[203.0.113.9]",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindClient, Session: "18129", QueueID: "4jhqpP5Lkdz5g1k",
			ClientName: "localhost", ClientIP: ip("127.0.0.1"), PrevQueueID: "4jhqpP4rdQz5g1g", OrigClientName: "unknown", OrigClientIP: ip("203.0.113.9")}}, nil},

	// milters
	{"milter-hold in smtpd", "Dec  6 03:04:45 mail postfix/smtpd[18074]: NOQUEUE: milter-hold: RCPT from unknown[203.0.113.9]: milter triggers HOLD action; from=<a@outside.example> to=<b@corp.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindDelivery, Relay: "none", Session: "18074", Status: StatusHeld,
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "b@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "RCPT: milter triggers HOLD action", Attrs: attrs("action", "milter-hold")}}, nil},
	{"milter-discard in cleanup", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 4jhqpP4RNhz5g1c: milter-discard: END-OF-MESSAGE from unknown[203.0.113.9]: milter triggers DISCARD action; from=<a@outside.example> to=<v@victim.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindSender, QueueID: "4jhqpP4RNhz5g1c", From: "a@outside.example"},
			{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindDelivery, Relay: "none", QueueID: "4jhqpP4RNhz5g1c", Status: StatusDiscarded,
				ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "v@victim.example", Proto: "ESMTP", Helo: "pc.example",
				Reason: "END-OF-MESSAGE: milter triggers DISCARD action", Attrs: attrs("action", "milter-discard")}}, nil},
	{"milter-reject tempfail in cleanup", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 4jhqpP4RNhz5g1c: milter-reject: END-OF-MESSAGE from unknown[203.0.113.9]: 4.7.1 Service unavailable - try again later; from=<a@outside.example> to=<v@victim.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindSender, QueueID: "4jhqpP4RNhz5g1c", From: "a@outside.example"},
			{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindReject, QueueID: "4jhqpP4RNhz5g1c", DSN: "4.7.1",
				ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "v@victim.example", Proto: "ESMTP", Helo: "pc.example",
				Reason: "END-OF-MESSAGE: Service unavailable - try again later", Attrs: attrs("action", "milter-reject")}}, nil},

	// header_checks(5) / body_checks actions in cleanup(8)
	{"header HOLD", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 4jhqpP4M4nz5g1b: hold: header Subject: HOLDME please from unknown[203.0.113.9]; from=<a@outside.example> to=<dave@corp.example> proto=ESMTP helo=<pc.example>: held for review",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindSender, QueueID: "4jhqpP4M4nz5g1b", From: "a@outside.example"},
			{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindDelivery, Relay: "none", QueueID: "4jhqpP4M4nz5g1b", Status: StatusHeld,
				ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "dave@corp.example", Proto: "ESMTP", Helo: "pc.example",
				Reason: "header Subject: HOLDME please: held for review", Attrs: attrs("action", "hold", "check", "header", "text", "held for review")}}, nil},
	{"header DISCARD no text", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 4jhqpP4RNhz5g1c: discard: header Subject: DISCARDME now from unknown[198.51.100.5]; from=<s@outside.example> to=<v@victim.example> proto=ESMTP helo=<pc.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindSender, QueueID: "4jhqpP4RNhz5g1c", From: "s@outside.example"},
			{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindDelivery, Relay: "none", QueueID: "4jhqpP4RNhz5g1c", Status: StatusDiscarded,
				ClientName: "unknown", ClientIP: ip("198.51.100.5"), From: "s@outside.example", Rcpt: "v@victim.example", Proto: "ESMTP", Helo: "pc.example",
				Reason: "header Subject: DISCARDME now", Attrs: attrs("action", "discard", "check", "header")}}, nil},
	{"header WARN", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 5F73ABC34B: warning: header Subject: hello from unknown[203.0.113.9]; from=<a@outside.example> to=<x@corp.example> proto=ESMTP helo=<pc>: suspicious subject",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindRejectWarning, QueueID: "5F73ABC34B",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "x@corp.example", Proto: "ESMTP", Helo: "pc",
			Reason: "header Subject: hello: suspicious subject", Attrs: attrs("action", "warning", "check", "header", "text", "suspicious subject")}}, nil},
	{"body REDIRECT local", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 5F73ABC34B: redirect: body click here from local; from=<root@corp.example> to=<x@corp.example>: abuse@corp.example",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindRcpt, QueueID: "5F73ABC34B",
			ClientName: "local", From: "root@corp.example", Rcpt: "x@corp.example",
			Reason: "body click here: abuse@corp.example", Attrs: attrs("action", "redirect", "check", "body", "text", "abuse@corp.example")}}, nil},
	{"header FILTER", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 5F73ABC34B: filter: header X-Scan: yes from unknown[203.0.113.9]; from=<a@outside.example> to=<x@corp.example> proto=SMTP helo=<pc.example>: smtp:[127.0.0.1]:10025",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindRcpt, QueueID: "5F73ABC34B",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "x@corp.example", Proto: "SMTP", Helo: "pc.example",
			Reason: "header X-Scan: yes: smtp:[127.0.0.1]:10025", Attrs: attrs("action", "filter", "check", "header", "text", "smtp:[127.0.0.1]:10025")}}, nil},
	{"header REPLACE", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 5F73ABC34B: replace: header Received: from pc (pc [10.0.0.5]) from unknown[203.0.113.9]; from=<a@outside.example> to=<x@corp.example> proto=ESMTP helo=<pc.example>: X-Old-Received: hidden",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "cleanup", Kind: parsers.KindRcpt, QueueID: "5F73ABC34B",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), From: "a@outside.example", Rcpt: "x@corp.example", Proto: "ESMTP", Helo: "pc.example",
			Reason: "header Received: from pc (pc [10.0.0.5]): X-Old-Received: hidden", Attrs: attrs("action", "replace", "check", "header", "text", "X-Old-Received: hidden")}}, nil},
	{"cleanup unknown action word", "Dec  6 03:04:45 mail postfix/cleanup[18112]: 5F73ABC34B: frobnicate: header X: y from local; from=<a@b.example>", nil, parsers.ErrUnsupported},

	// TLS at every level: the summary and failures are events, the
	// handshake lines of levels 2-4 are never errors.
	{"tls smtpd Trusted", "Dec  6 03:04:45 mail postfix/smtpd[18074]: Trusted TLS connection established from relay.partner.example[198.51.100.20]: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindTLS, Session: "18074",
			ClientName: "relay.partner.example", ClientIP: ip("198.51.100.20"), Reason: "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
			Attrs: attrs("tls", "Trusted", "tls_protocol", "TLSv1.2", "tls_cipher", "ECDHE-RSA-AES256-GCM-SHA384")}}, nil},
	{"tls smtp Verified to", "Dec  6 03:04:45 mail postfix/smtp[18113]: Verified TLS connection established to mx.outside.example[198.51.100.3]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtp", Kind: parsers.KindTLS,
			Relay: "mx.outside.example[198.51.100.3]:25", Reason: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
			Attrs: attrs("tls", "Verified", "tls_protocol", "TLSv1.3", "tls_cipher", "TLS_AES_256_GCM_SHA384")}}, nil},
	{"tls smtp Untrusted to", "Dec  6 03:04:45 mail postfix/smtp[18118]: Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:2536: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtp", Kind: parsers.KindTLS,
			Relay: "127.0.0.1[127.0.0.1]:2536", Reason: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
			Attrs: attrs("tls", "Untrusted", "tls_protocol", "TLSv1.3", "tls_cipher", "TLS_AES_256_GCM_SHA384")}}, nil},
	{"tls tlsproxy", "Dec  6 03:04:45 mail postfix/tlsproxy[18200]: Anonymous TLS connection established from [203.0.113.9]:41234: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "tlsproxy", Kind: parsers.KindTLS,
			ClientIP: ip("203.0.113.9"), Reason: "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)",
			Attrs: attrs("tls", "Anonymous", "tls_protocol", "TLSv1.3", "tls_cipher", "TLS_AES_128_GCM_SHA256")}}, nil},
	{"tls SSL_accept error", "Dec  6 03:04:45 mail postfix/smtpd[18074]: SSL_accept error from unknown[203.0.113.9]: lost connection",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtpd", Kind: parsers.KindTLS, Session: "18074",
			ClientName: "unknown", ClientIP: ip("203.0.113.9"), Reason: "SSL_accept error: lost connection",
			Attrs: attrs("tls", "failed", "tls_error", "lost connection")}}, nil},
	{"tls SSL_connect error", "Dec  6 03:04:45 mail postfix/smtp[18113]: SSL_connect error to mx.outside.example[198.51.100.3]:25: -1",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtp", Kind: parsers.KindTLS,
			Relay: "mx.outside.example[198.51.100.3]:25", Reason: "SSL_connect error: -1",
			Attrs: attrs("tls", "failed", "tls_error", "-1")}}, nil},
	{"tls 2 setting up from", "Dec  6 03:04:45 mail postfix/smtpd[18074]: setting up TLS connection from unknown[203.0.113.9]", nil, parsers.ErrUnsupported},
	{"tls 2 setting up to", "Dec  6 03:04:45 mail postfix/smtp[18113]: setting up TLS connection to 127.0.0.1[127.0.0.1]:2536", nil, parsers.ErrUnsupported},
	{"tls 2 cipher list", `Dec  6 03:04:45 mail postfix/smtpd[18074]: unknown[203.0.113.9]: TLS cipher list "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"`, nil, parsers.ErrUnsupported},
	{"tls 2 SSL_accept state", "Dec  6 03:04:45 mail postfix/smtpd[18074]: SSL_accept:SSLv3/TLS write server done", nil, parsers.ErrUnsupported},
	{"tls 2 SSL_connect state", "Dec  6 03:04:45 mail postfix/smtp[18113]: SSL_connect:SSLv3/TLS read server hello", nil, parsers.ErrUnsupported},
	{"tls 2 depth", "Dec  6 03:04:45 mail postfix/smtp[18113]: 127.0.0.1[127.0.0.1]:2536: depth=0 verify=1 subject=/CN=mail.corp.example", nil, parsers.ErrUnsupported},
	{"tls 2 peer cert", "Dec  6 03:04:45 mail postfix/smtp[18113]: 127.0.0.1[127.0.0.1]:2536: subject_CN=mail.corp.example, issuer_CN=mail.corp.example, fingerprint=68:A0:E5, pkey_fingerprint=2F:D8:98", nil, parsers.ErrUnsupported},
	{"tls 2 session ticket", "Dec  6 03:04:45 mail postfix/smtpd[18074]: unknown[203.0.113.9]: Issuing session ticket, key expiration: 1796528084", nil, parsers.ErrUnsupported},
	{"tls 2 engine", "Dec  6 03:04:45 mail postfix/smtpd[18074]: initializing the server-side TLS engine", nil, parsers.ErrUnsupported},
	{"tls 3 read from", "Dec  6 03:04:45 mail postfix/smtpd[18074]: read from 55D1F4A8E2A0 [55D1F4A8F3C3] (5 bytes => 5 (0x5))", nil, parsers.ErrUnsupported},
	{"tls 4 hex dump", "Dec  6 03:04:45 mail postfix/smtpd[18074]: 0000 16 03 01 02 00 01 00 01|fc 03 03 5d 1a 2b 3c 4d  ...........].+<M", nil, parsers.ErrUnsupported},
	{"tls warning about a client", "Dec  6 03:04:45 mail postfix/smtpd[18074]: warning: TLS library problem: error:0A000126:SSL routines::unexpected eof while reading:../ssl/record/rec_layer_s3.c:308:", nil, parsers.ErrUnsupported},
	{"tls 1 client cert info", "Dec  6 03:04:45 mail postfix/smtpd[18074]: relay.partner.example[198.51.100.20]: Trusted: subject_CN=relay.partner.example, issuer=Example CA, fingerprint=AB:CD", nil, parsers.ErrUnsupported},

	// enable_long_queue_ids
	{"long id queued as", "Dec  6 03:04:45 mail postfix/smtp[18115]: 4jhqpP4rdQz5g1g: to=<filter@corp.example>, relay=127.0.0.1[127.0.0.1]:2537, delay=0.07, delays=0/0.03/0.03/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4jhqpP5Lkdz5g1k)",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: "4jhqpP4rdQz5g1g", NextQueueID: "4jhqpP5Lkdz5g1k",
			Rcpt: "filter@corp.example", Relay: "127.0.0.1[127.0.0.1]:2537", DSN: "2.0.0", Status: parsers.StatusSent, Reason: "250 2.0.0 Ok: queued as 4jhqpP5Lkdz5g1k",
			Attrs: attrs("delay", "0.07", "delays", "0/0.03/0.03/0")}}, nil},
	{"long id bounce", "Dec  6 03:04:45 mail postfix/bounce[18132]: 4jhqpP4Ddsz5g1Y: sender non-delivery notification: 4jhqpP5Mcjz5g1l",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "bounce", Kind: parsers.KindBounce, QueueID: "4jhqpP4Ddsz5g1Y", NextQueueID: "4jhqpP5Mcjz5g1l",
			Reason: "sender non-delivery notification"}}, nil},

	// postsuper(1) and expiry
	{"postsuper removed", "Dec  6 03:04:50 mail postfix/postsuper[18212]: 4jhqpP4p9Qz5g1f: removed",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "postsuper", Kind: parsers.KindRemoved, QueueID: "4jhqpP4p9Qz5g1f",
			Reason: "postsuper: removed", Attrs: attrs("postsuper", "removed")}}, nil},
	{"postsuper expired (-e)", "Dec  6 03:04:50 mail postfix/postsuper[18213]: 4jhqq346Cxz5g34: expired",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "postsuper", Kind: parsers.KindExpired, QueueID: "4jhqq346Cxz5g34",
			Reason: "postsuper: expired", Attrs: attrs("postsuper", "expired")}}, nil},
	{"postsuper placed on hold (-h)", "Dec  6 03:04:50 mail postfix/postsuper[18213]: 250FDBC363: placed on hold",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "postsuper", Kind: parsers.KindRcpt, QueueID: "250FDBC363", Status: StatusHeld,
			Reason: "postsuper: placed on hold", Attrs: attrs("postsuper", "placed on hold")}}, nil},
	{"postsuper released (-H)", "Dec  6 03:04:50 mail postfix/postsuper[18208]: 4jhqpP4M4nz5g1b: released from hold",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "postsuper", Kind: parsers.KindRcpt, QueueID: "4jhqpP4M4nz5g1b",
			Reason: "postsuper: released from hold", Attrs: attrs("postsuper", "released from hold")}}, nil},
	{"postsuper requeued (-r)", "Dec  6 03:04:50 mail postfix/postsuper[18208]: 4jhqpP4M4nz5g1b: requeued",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "postsuper", Kind: parsers.KindRcpt, QueueID: "4jhqpP4M4nz5g1b",
			Reason: "postsuper: requeued", Attrs: attrs("postsuper", "requeued")}}, nil},
	{"postsuper Deleted summary", "Dec  6 03:04:50 mail postfix/postsuper[18212]: Deleted: 1 message", nil, parsers.ErrUnsupported},
	{"postsuper Requeued summary", "Dec  6 03:04:50 mail postfix/postsuper[18212]: Requeued: 12 messages", nil, parsers.ErrUnsupported},
	{"postsuper Force-expired summary", "Dec  6 03:04:50 mail postfix/postsuper[18213]: Force-expired: 2 messages", nil, parsers.ErrUnsupported},
	{"qmgr force-expired long id", "Dec  6 03:04:50 mail postfix/qmgr[18061]: 4jhqpP4HzFz5g1Z: from=<dan@corp.example>, status=force-expired, returned to sender",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "qmgr", Kind: parsers.KindExpired, QueueID: "4jhqpP4HzFz5g1Z",
			From: "dan@corp.example", Status: parsers.StatusExpired}}, nil},

	// error(8) and discard(8)
	{"error administratively expired", "Dec  6 03:04:50 mail postfix/error[18216]: 4jhqpP4M4nz5g1b: to=<dave@corp.example>, relay=none, delay=4.6, delays=4.6/0/0/0.01, dsn=4.7.0, status=deferred (message is administratively expired)",
		[]parsers.Event{{Time: at("2026-12-06T03:04:50Z"), Host: "mail", Daemon: "error", Kind: parsers.KindDelivery, QueueID: "4jhqpP4M4nz5g1b",
			Rcpt: "dave@corp.example", Relay: "none", DSN: "4.7.0", Status: parsers.StatusDeferred, Reason: "message is administratively expired",
			Attrs: attrs("delay", "4.6", "delays", "4.6/0/0/0.01")}}, nil},
	{"error bounced", "Dec  6 03:05:20 mail postfix/error[19077]: 4jhqq40Qg3z5g3L: to=<nobody@corp.example>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=5.1.1, status=bounced (mailbox unavailable)",
		[]parsers.Event{{Time: at("2026-12-06T03:05:20Z"), Host: "mail", Daemon: "error", Kind: parsers.KindDelivery, QueueID: "4jhqq40Qg3z5g3L",
			Rcpt: "nobody@corp.example", Relay: "none", DSN: "5.1.1", Status: parsers.StatusBounced, Reason: "mailbox unavailable",
			Attrs: attrs("delay", "0.01", "delays", "0/0.01/0/0")}}, nil},
	{"discard(8)", "Dec  6 03:04:45 mail postfix/discard[18131]: 4jhqpP56yvz5g1W: to=<x@blackhole.corp.example>, relay=none, delay=0.01, delays=0/0.01/0/0, dsn=2.0.0, status=sent (blackhole)",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "discard", Kind: parsers.KindDelivery, QueueID: "4jhqpP56yvz5g1W",
			Rcpt: "x@blackhole.corp.example", Relay: "none", DSN: "2.0.0", Status: StatusDiscarded, Reason: "blackhole",
			Attrs: attrs("delay", "0.01", "delays", "0/0.01/0/0")}}, nil},

	// postscreen(8)
	{"postscreen PASS NEW", "Dec  6 03:04:45 mail postfix/postscreen[18065]: PASS NEW [203.0.113.9]:43615",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindPermit, ClientIP: ip("203.0.113.9"),
			Reason: "PASS NEW", Attrs: attrs("postscreen", "PASS NEW")}}, nil},
	{"postscreen PASS OLD", "Dec  6 03:04:45 mail postfix/postscreen[18065]: PASS OLD [203.0.113.9]:56951",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindPermit, ClientIP: ip("203.0.113.9"),
			Reason: "PASS OLD", Attrs: attrs("postscreen", "PASS OLD")}}, nil},
	{"postscreen ALLOWLISTED", "Dec  6 03:04:45 mail postfix/postscreen[18065]: ALLOWLISTED [127.0.0.1]:49312",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindPermit, ClientIP: ip("127.0.0.1"),
			Reason: "ALLOWLISTED", Attrs: attrs("postscreen", "ALLOWLISTED")}}, nil},
	{"postscreen WHITELISTED (before 3.6)", "Dec  6 03:04:45 mail postfix/postscreen[18065]: WHITELISTED [192.0.2.10]:49312",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindPermit, ClientIP: ip("192.0.2.10"),
			Reason: "WHITELISTED", Attrs: attrs("postscreen", "WHITELISTED")}}, nil},
	{"postscreen DENYLISTED", "Dec  6 03:04:46 mail postfix/postscreen[18065]: DENYLISTED [203.0.113.13]:37821",
		[]parsers.Event{{Time: at("2026-12-06T03:04:46Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.13"),
			Reason: "DENYLISTED", Attrs: attrs("postscreen", "DENYLISTED")}}, nil},
	{"postscreen BLACKLISTED (before 3.6)", "Dec  6 03:04:46 mail postfix/postscreen[18065]: BLACKLISTED [203.0.113.13]:37821",
		[]parsers.Event{{Time: at("2026-12-06T03:04:46Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.13"),
			Reason: "BLACKLISTED", Attrs: attrs("postscreen", "BLACKLISTED")}}, nil},
	{"postscreen ALLOWLIST VETO", "Dec  6 03:04:46 mail postfix/postscreen[18065]: ALLOWLIST VETO [203.0.113.13]:37821",
		[]parsers.Event{{Time: at("2026-12-06T03:04:46Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.13"),
			Reason: "ALLOWLIST VETO", Attrs: attrs("postscreen", "ALLOWLIST VETO")}}, nil},
	{"postscreen DNSBL rank", "Dec  6 03:04:46 mail postfix/postscreen[18065]: DNSBL rank 3 for [203.0.113.9]:41234",
		[]parsers.Event{{Time: at("2026-12-06T03:04:46Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.9"),
			Reason: "DNSBL rank 3", Attrs: attrs("postscreen", "DNSBL", "dnsbl_rank", "3")}}, nil},
	{"postscreen PREGREET", `Dec  6 03:04:45 mail postfix/postscreen[18065]: PREGREET 23 after 0 from [203.0.113.12]:37591: EHLO bot.outside.example\r\n`,
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.12"),
			Reason: `PREGREET 23 after 0: EHLO bot.outside.example\r\n`, Attrs: attrs("postscreen", "PREGREET")}}, nil},
	{"postscreen HANGUP", "Dec  6 03:04:45 mail postfix/postscreen[18065]: HANGUP after 0.31 from [203.0.113.14]:45325 in tests before SMTP handshake",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindLost, ClientIP: ip("203.0.113.14"),
			Reason: "HANGUP after 0.31 in tests before SMTP handshake", Attrs: attrs("postscreen", "HANGUP")}}, nil},
	{"postscreen COMMAND PIPELINING", `Dec  6 03:04:45 mail postfix/postscreen[18065]: COMMAND PIPELINING from [203.0.113.9]:41234 after RCPT: DATA\r\n`,
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.9"),
			Reason: `COMMAND PIPELINING after RCPT: DATA\r\n`, Attrs: attrs("postscreen", "COMMAND PIPELINING")}}, nil},
	{"postscreen NON-SMTP COMMAND", "Dec  6 03:04:45 mail postfix/postscreen[18065]: NON-SMTP COMMAND from [203.0.113.9]:41234 after CONNECT: GET / HTTP/1.1",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.9"),
			Reason: "NON-SMTP COMMAND after CONNECT: GET / HTTP/1.1", Attrs: attrs("postscreen", "NON-SMTP COMMAND")}}, nil},
	{"postscreen BARE NEWLINE", "Dec  6 03:04:45 mail postfix/postscreen[18065]: BARE NEWLINE from [203.0.113.9]:41234 after DATA",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindRejectWarning, ClientIP: ip("203.0.113.9"),
			Reason: "BARE NEWLINE after DATA", Attrs: attrs("postscreen", "BARE NEWLINE")}}, nil},
	{"postscreen COMMAND TIME LIMIT", "Dec  6 03:04:45 mail postfix/postscreen[18065]: COMMAND TIME LIMIT from [203.0.113.9]:41234 after RCPT",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindLost, ClientIP: ip("203.0.113.9"),
			Reason: "COMMAND TIME LIMIT after RCPT", Attrs: attrs("postscreen", "COMMAND TIME LIMIT")}}, nil},
	{"postscreen COMMAND COUNT LIMIT", "Dec  6 03:04:45 mail postfix/postscreen[18065]: COMMAND COUNT LIMIT from [203.0.113.9]:41234 after RCPT",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindLost, ClientIP: ip("203.0.113.9"),
			Reason: "COMMAND COUNT LIMIT after RCPT", Attrs: attrs("postscreen", "COMMAND COUNT LIMIT")}}, nil},
	{"postscreen COMMAND LENGTH LIMIT", "Dec  6 03:04:45 mail postfix/postscreen[18065]: COMMAND LENGTH LIMIT from [203.0.113.9]:41234 after MAIL",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindLost, ClientIP: ip("203.0.113.9"),
			Reason: "COMMAND LENGTH LIMIT after MAIL", Attrs: attrs("postscreen", "COMMAND LENGTH LIMIT")}}, nil},
	{"postscreen DISCONNECT", "Dec  6 03:04:45 mail postfix/postscreen[18065]: DISCONNECT [203.0.113.12]:37591",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindDisconnect, ClientIP: ip("203.0.113.12")}}, nil},
	{"postscreen protocol error reject", "Dec  6 03:04:45 mail postfix/postscreen[18065]: NOQUEUE: reject: RCPT from [203.0.113.12]:37591: 550 5.5.1 Protocol error; from=<bot@outside.example>, to=<v@victim.example>, proto=ESMTP, helo=<bot.outside.example>",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindReject, ClientIP: ip("203.0.113.12"),
			From: "bot@outside.example", Rcpt: "v@victim.example", Proto: "ESMTP", Helo: "bot.outside.example", DSN: "5.5.1", Reason: "RCPT: Protocol error"}}, nil},
	{"postscreen too many connections", "Dec  6 03:04:45 mail postfix/postscreen[18065]: NOQUEUE: reject: CONNECT from [203.0.113.9]:41234: too many connections",
		[]parsers.Event{{Time: at("2026-12-06T03:04:45Z"), Host: "mail", Daemon: "postscreen", Kind: parsers.KindReject, ClientIP: ip("203.0.113.9"),
			Reason: "CONNECT: too many connections"}}, nil},
	{"postscreen cache cleanup", "Dec  6 03:04:44 mail postfix/postscreen[18065]: cache btree:/var/lib/postfix/postscreen_cache full cleanup: retained=0 dropped=0 entries", nil, parsers.ErrUnsupported},
}

func init() { parseTests = append(parseTests, verboseTests...) }

// TestBindActions: a hold or discard logged before the queue file existed
// is repeated, with the queue id, on the session's "client=" line; another
// session's, or one forgotten at a new connection, is not.
func TestBindActions(t *testing.T) {
	lines := []string{
		"Dec  6 03:04:45 mail postfix/smtpd[100]: connect from unknown[203.0.113.9]",
		"Dec  6 03:04:45 mail postfix/smtpd[100]: NOQUEUE: hold: RCPT from unknown[203.0.113.9]: <q@corp.example>: Recipient address quarantined; from=<a@outside.example> to=<q@corp.example> proto=ESMTP helo=<pc.example>",
		"Dec  6 03:04:45 mail postfix/smtpd[200]: 4jhqpP40MHz5g1T: client=unknown[198.51.100.1]",
		"Dec  6 03:04:45 mail postfix/smtpd[100]: 4jhqpP4p9Qz5g1f: client=unknown[203.0.113.9]",
		"Dec  6 03:04:46 mail postfix/smtpd[100]: connect from unknown[203.0.113.9]",
		"Dec  6 03:04:46 mail postfix/smtpd[100]: NOQUEUE: discard: RCPT from unknown[203.0.113.9]: <t@corp.example>: Recipient address spamtrap; from=<a@outside.example> to=<t@corp.example> proto=ESMTP helo=<pc.example>",
		"Dec  6 03:04:46 mail postfix/smtpd[100]: disconnect from unknown[203.0.113.9] ehlo=1 mail=1 rcpt=1 quit=1 commands=4",
		"Dec  6 03:04:47 mail postfix/smtpd[100]: 4jhqpQ0F9bz5g1n: client=unknown[203.0.113.9]",
	}
	p := newTestParser()
	var got []parsers.Event
	for i, l := range lines {
		var err error
		if got, err = p.Parse(got, []byte(l), parsers.Pos{File: "mail.log", Line: i + 1}); err != nil {
			t.Fatalf("Parse(%q): %v", l, err)
		}
	}
	var held []parsers.Event
	for _, e := range got {
		if e.Kind == parsers.KindDelivery && e.QueueID != "" {
			held = append(held, e)
		}
	}
	if len(held) != 1 {
		t.Fatalf("bound %d deliveries, want 1: %+v", len(held), held)
	}
	want := parsers.Event{Pos: parsers.Pos{File: "mail.log", Line: 4}, Time: at("2026-12-06T03:04:45Z"), Format: "postfix", Host: "mail",
		Daemon: "smtpd", Kind: parsers.KindDelivery, Session: "100", QueueID: "4jhqpP4p9Qz5g1f", Relay: "none", Status: StatusHeld,
		From: "a@outside.example", Rcpt: "q@corp.example", Proto: "ESMTP", Helo: "pc.example",
		Reason: "RCPT: <q@corp.example>: Recipient address quarantined", Attrs: attrs("action", "hold", "action_line", "2"), Raw: lines[3]}
	if held[0] != want {
		t.Errorf("bound\n got %s\nwant %s", eventString(held[0]), eventString(want))
	}
}
