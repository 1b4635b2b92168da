package exim

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// kv builds the Attrs of an event from key, value pairs, in order.
func kv(pairs ...string) string {
	var ev parsers.Event
	for i := 0; i+1 < len(pairs); i += 2 {
		ev.AddAttr(pairs[i], pairs[i+1])
	}
	return ev.Attrs
}

const ts = "2026-12-06 10:00:00"

var t1 = at("2026-12-06 10:00:00.000 +0000")

// logSelectorTests hold a line for each item of the log_selector table of
// the Exim 4.96-4.98 specification (chapter "Log files", "Reducing or
// increasing what is logged"), in each kind of line it changes, written
// from the item's description. item names the selector; before are lines
// read first by the same parser. Items that add a line relaysleuth has no
// use for (acl_warn_skipped, arguments, delay_delivery, dkim_verbose,
// dnslist_defer, etrn, ident_timeout, queue_run, retry_defer,
// skip_delivery, unknown_in_list) are recognised as well-formed lines of
// no interest.
var logSelectorTests = []struct {
	item, line string
	before     []string
	want       []parsers.Event // the test loop fills in Pos, Raw, Format, Daemon
	wantErr    error
}{
	{item: "8bitmime, receive_time, pipelining, chunking", line: ts + " 1xa2aC-0005a7-1b <= anna@partner.example H=(mx.partner.example) [192.0.2.10] P=esmtp L. K S=475 M8S=8 RT=0.012s id=a.1@partner.example",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindClient, QueueID: "1xa2aC-0005a7-1b", From: "anna@partner.example", ClientIP: ip("192.0.2.10"),
			Helo: "mx.partner.example", Proto: "esmtp", Size: 475, MessageID: "a.1@partner.example", Attrs: kv("L.", "", "K", "", "M8S", "8", "RT", "0.012s")}}},
	{item: "tls_cipher, tls_certificate_verified, tls_sni, tls_peerdn, incoming_port, incoming_interface", line: ts + ` 1xa2aC-0005a7-1b <= anna@partner.example H=mx.partner.example [192.0.2.10]:55215 I=[192.0.2.1]:25 P=esmtps X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128 CV=yes DN="C=DE,O=Partner AG,CN=mx.partner.example" SNI=mail.corp.example S=475 id=a.1@partner.example`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindClient, QueueID: "1xa2aC-0005a7-1b", From: "anna@partner.example", ClientIP: ip("192.0.2.10"),
			ClientName: "mx.partner.example", Helo: "mx.partner.example", Proto: "esmtps", Size: 475, MessageID: "a.1@partner.example",
			Attrs: kv("port", "55215", "I", "[192.0.2.1]:25", "X", "TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128", "CV", "yes",
				"DN", "C=DE,O=Partner AG,CN=mx.partner.example", "SNI", "mail.corp.example")}}},
	{item: "tls_resumption, smtp_mailauth, msg_id_created, subject, received_sender, received_recipients", line: ts + ` 1xa2aC-0005a9-2I <= bob@corp.example H=(laptop) [192.0.2.12]:52765 I=[192.0.2.1]:587 P=esmtpsa L.- X=TLS1.3:(AES_128_GCM:128* CV=no A=plain:bob:<bob@corp.example> S=462 id*=E1xa2aC-0005a9-2I@mail.corp.example T="Lunch: \"Friday\"?" from <bob@mail.corp.example> for friend@outside.example carol@corp.example`,
		want: []parsers.Event{
			{Time: t1, Kind: parsers.KindClient, QueueID: "1xa2aC-0005a9-2I", From: "bob@corp.example", ClientIP: ip("192.0.2.12"), Helo: "laptop",
				Proto: "esmtpsa", SASLMethod: "plain", SASLUser: "bob", Size: 462, MessageID: "E1xa2aC-0005a9-2I@mail.corp.example",
				Attrs: kv("port", "52765", "I", "[192.0.2.1]:587", "L.-", "", "X", "TLS1.3:(AES_128_GCM:128*", "CV", "no", "mailauth", "bob@corp.example",
					"id*", "E1xa2aC-0005a9-2I@mail.corp.example", "T", `Lunch: "Friday"?`, "from", "bob@mail.corp.example")},
			{Time: t1, Kind: parsers.KindRcpt, QueueID: "1xa2aC-0005a9-2I", From: "bob@corp.example", ClientIP: ip("192.0.2.12"), Helo: "laptop", Rcpt: "friend@outside.example"},
			{Time: t1, Kind: parsers.KindRcpt, QueueID: "1xa2aC-0005a9-2I", From: "bob@corp.example", ClientIP: ip("192.0.2.12"), Helo: "laptop", Rcpt: "carol@corp.example"},
		}},
	{item: "msg_id_created on a bounce, 4.97 message ids", line: ts + ` 1rJrCs-00000000Vk9-2BCD <= <> R=1rJrCr-00000000Vk5-1ADK U=Debian-exim P=local S=1938 id*=E1rJrCs-00000000Vk9-2BCD@mail.corp.example T="Mail delivery failed: returning message to sender" for app@corp.example`,
		want: []parsers.Event{
			{Time: t1, Kind: parsers.KindClient, QueueID: "1rJrCs-00000000Vk9-2BCD", Proto: "local", Size: 1938, MessageID: "E1rJrCs-00000000Vk9-2BCD@mail.corp.example",
				Attrs: kv("R", "1rJrCr-00000000Vk5-1ADK", "U", "Debian-exim", "id*", "E1rJrCs-00000000Vk9-2BCD@mail.corp.example", "T", "Mail delivery failed: returning message to sender")},
			{Time: t1, Kind: parsers.KindBounce, QueueID: "1rJrCr-00000000Vk5-1ADK", NextQueueID: "1rJrCs-00000000Vk9-2BCD", Reason: "delivery status notification"},
			{Time: t1, Kind: parsers.KindRcpt, QueueID: "1rJrCs-00000000Vk9-2BCD", Rcpt: "app@corp.example"},
		}},
	{item: "msg_id_created on a local submission", line: ts + ` 1xa2aD-0005aR-1p <= root@corp.example U=root P=local S=321 id*=<E1xa2aD-0005aR-1p@mail.corp.example>`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindPickup, QueueID: "1xa2aD-0005aR-1p", From: "root@corp.example", Proto: "local", Size: 321,
			MessageID: "E1xa2aD-0005aR-1p@mail.corp.example", Reason: "root", Attrs: kv("U", "root", "id*", "<E1xa2aD-0005aR-1p@mail.corp.example>")}}},
	{item: "proxy, dkim, dnssec, unknown items kept", line: ts + ` 1xa2aC-0005a7-1b <= anna@partner.example H=mx.partner.example [198.51.100.7] P=esmtp PRX=[10.0.0.5] DKIM=partner.example DS S=475 NEW=value id=a.1@partner.example`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindClient, QueueID: "1xa2aC-0005a7-1b", From: "anna@partner.example", ClientIP: ip("198.51.100.7"),
			ClientName: "mx.partner.example", Helo: "mx.partner.example", Proto: "esmtp", Size: 475, MessageID: "a.1@partner.example",
			Attrs: kv("PRX", "[10.0.0.5]", "DKIM", "partner.example", "DS", "", "NEW", "value")}}},
	{item: "fakereject", line: ts + ` 1xa2aC-0005a7-1b (= anna@partner.example H=(x) [192.0.2.10] P=esmtp S=475 id=a.1@partner.example`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindClient, QueueID: "1xa2aC-0005a7-1b", From: "anna@partner.example", ClientIP: ip("192.0.2.10"),
			Helo: "x", Proto: "esmtp", Size: 475, MessageID: "a.1@partner.example", Reason: "fakereject"}}},
	{item: "address_rewrite", before: []string{
		`2026-12-06 10:00:00 [4711] "bob@mail.corp.example" from env-to rewritten as "bob@corp.example" by rule 2`,
		`2026-12-06 10:00:00 [4711] 1xa2aD-0005aR-1p "carol@mail.corp.example" from env-from rewritten as "carol@corp.example" by rule 1`,
	}, line: `2026-12-06 10:00:00 [4711] 1xa2aD-0005aR-1p <= carol@corp.example H=(x) [192.0.2.7] P=esmtp S=321 from <carol@mail.corp.example> for bob@mail.corp.example`,
		want: []parsers.Event{
			{Time: t1, Kind: parsers.KindClient, QueueID: "1xa2aD-0005aR-1p", Session: "4711", From: "carol@corp.example", ClientIP: ip("192.0.2.7"), Helo: "x",
				Proto: "esmtp", Size: 321, Attrs: kv("rewrite", "env-to bob@mail.corp.example -> bob@corp.example (rule 2)",
					"rewrite", "env-from carol@mail.corp.example -> carol@corp.example (rule 1)", "from", "carol@mail.corp.example")},
			{Time: t1, Kind: parsers.KindRcpt, QueueID: "1xa2aD-0005aR-1p", Session: "4711", From: "carol@corp.example", ClientIP: ip("192.0.2.7"), Helo: "x", Rcpt: "bob@mail.corp.example"},
		}},
	{item: "address_rewrite line alone", line: `2026-12-06 10:00:00 1xa2aD-0005aR-1p "carol@mail.corp.example" from from: rewritten as "carol@corp.example" by rule 1`, wantErr: parsers.ErrUnsupported},
	{item: "all_parents, sender_on_delivery, return_path_on_delivery, queue_time, deliver_time, delivery_size", line: ts + ` 1xa2Zz-0005SV-3B => bob (staff@corp.example, team@corp.example) <sales@corp.example> F=<anna@partner.example> P=<anna@partner.example> R=local T=devnull S=0 QT=2.102s DT=0.002s`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDelivery, QueueID: "1xa2Zz-0005SV-3B", Rcpt: "bob", OrigRcpt: "sales@corp.example", From: "anna@partner.example",
			Relay: "local", Status: parsers.StatusSent, Attrs: kv("parent", "staff@corp.example", "parent", "team@corp.example", "P", "<anna@partner.example>",
				"R", "local", "T", "devnull", "QT", "2.102s", "DT", "0.002s")}}},
	{item: "outgoing_port, outgoing_interface, tls on deliveries, smtp_confirmation with a 4.97 id, client auth with smtp_mailauth", line: ts + ` 1rJrCr-00000000Vk5-1ADK => friend@outside.example R=dnslookup T=remote_smtp S=478 H=mx.outside.example [198.51.100.25]:25 I=[192.0.2.1]:54584 X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256* CV=dane DN="CN=mx.outside.example" A=plain:relayuser:<bob@corp.example> K C="250 OK id=1rJrCt-00000000Vm2-0AAA" QT=1s DT=0.3s`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDelivery, QueueID: "1rJrCr-00000000Vk5-1ADK", Rcpt: "friend@outside.example",
			Relay: "mx.outside.example[198.51.100.25]:25", Status: parsers.StatusSent, Size: 478, Reason: "250 OK id=1rJrCt-00000000Vm2-0AAA", NextQueueID: "1rJrCt-00000000Vm2-0AAA",
			Attrs: kv("R", "dnslookup", "T", "remote_smtp", "I", "[192.0.2.1]:54584", "X", "TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256*", "CV", "dane",
				"DN", "CN=mx.outside.example", "A", "plain:relayuser:<bob@corp.example>", "K", "", "QT", "1s", "DT", "0.3s")}}},
	{item: "tls_peerdn ending the fields of a failure", line: ts + ` 1xa2a0-0005SZ-0e ** nobody@bouncy.example F=<app@corp.example> P=<app@corp.example> R=remote T=remote_smtp H=mx.bouncy.example [198.51.100.9]:25 I=[192.0.2.1]:54590 X=TLS1.3:(AES_128_GCM:128* CV=no DN="O=Bouncy,CN=mx.bouncy.example": SMTP error from remote mail server after RCPT TO:<nobody@bouncy.example>: 550 5.1.1 <nobody@bouncy.example>: User unknown DT=0.000s`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDelivery, QueueID: "1xa2a0-0005SZ-0e", Rcpt: "nobody@bouncy.example", From: "app@corp.example",
			Relay: "mx.bouncy.example[198.51.100.9]:25", Status: parsers.StatusBounced, DSN: "5.1.1",
			Reason: "SMTP error from remote mail server after RCPT TO:<nobody@bouncy.example>: 550 5.1.1 <nobody@bouncy.example>: User unknown",
			Attrs:  kv("P", "<app@corp.example>", "R", "remote", "T", "remote_smtp", "I", "[192.0.2.1]:54590", "X", "TLS1.3:(AES_128_GCM:128*", "CV", "no", "DN", "O=Bouncy,CN=mx.bouncy.example", "DT", "0.000s")}}},
	{item: "deferral with its error number and deliver_time", line: ts + ` 1xa2a0-0005SY-0e == later@slow.example R=remote T=remote_smtp defer (-44) H=127.0.0.1 [127.0.0.1]:2541 I=[127.0.0.1]:54616 DT=0.000s: SMTP error from remote mail server after RCPT TO:<later@slow.example>: 451 4.4.1 <later@slow.example>: try again later`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDelivery, QueueID: "1xa2a0-0005SY-0e", Rcpt: "later@slow.example", Relay: "127.0.0.1[127.0.0.1]:2541",
			Status: parsers.StatusDeferred, DSN: "4.4.1", Reason: "SMTP error from remote mail server after RCPT TO:<later@slow.example>: 451 4.4.1 <later@slow.example>: try again later",
			Attrs: kv("R", "remote", "T", "remote_smtp", "defer", "-44", "I", "[127.0.0.1]:54616", "DT", "0.000s")}}},
	{item: "retry_defer on a deferral", line: ts + ` 1xa2a0-0005SY-0e == later@slow.example R=remote T=remote_smtp defer (-54): retry time not reached for any host for 'slow.example'`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDelivery, QueueID: "1xa2a0-0005SY-0e", Rcpt: "later@slow.example", Relay: "none",
			Status: parsers.StatusDeferred, Reason: "retry time not reached for any host for 'slow.example'", Attrs: kv("R", "remote", "T", "remote_smtp", "defer", "-54")}}},
	{item: "proxy, pipelining on a delivery, shadow transport", line: ts + ` 1xa2a0-0005SY-0e => a@outside.example R=r T=t H=mx.outside.example [198.51.100.25] PRX=[10.0.0.5] L* ST=archive C="250 ok"`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDelivery, QueueID: "1xa2a0-0005SY-0e", Rcpt: "a@outside.example", Relay: "mx.outside.example[198.51.100.25]",
			Status: parsers.StatusSent, Reason: "250 ok", Attrs: kv("R", "r", "T", "t", "PRX", "[10.0.0.5]", "L*", "", "ST", "archive")}}},
	{item: "queue_time_overall", line: ts + " 1xa2a0-0005SY-0e Completed QT=3m45s",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindRemoved, QueueID: "1xa2a0-0005SY-0e", Attrs: kv("QT", "3m45s")}}},
	{item: "smtp_connection, incoming_port, incoming_interface", line: ts + " [20270] SMTP connection from [192.0.2.10]:55215 I=[192.0.2.1]:25 (TCP/IP connection count = 3)",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindConnect, Session: "20270", ClientIP: ip("192.0.2.10"), Attrs: kv("port", "55215", "I", "[192.0.2.1]:25", "count", "3")}}},
	{item: "smtp_connection lost, with a duration", line: ts + " SMTP connection from [192.0.2.10]:43908 I=[192.0.2.1]:25 lost D=0.000s",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindLost, ClientIP: ip("192.0.2.10"), Reason: "lost D=0.000s", Attrs: kv("port", "43908", "I", "[192.0.2.1]:25", "D", "0.000s")}}},
	{item: "smtp_connection, 4.97 connection id first", line: ts + " 1rJrCr-00000000Vk5-1ADK SMTP connection Ci=p1240 from (tester) [192.0.2.10] lost while reading message data",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindLost, QueueID: "1rJrCr-00000000Vk5-1ADK", Session: "p1240", ClientIP: ip("192.0.2.10"), Helo: "tester", Reason: "lost while reading message data"}}},
	{item: "lost_incoming_connection", line: ts + " unexpected disconnection while reading SMTP command from (x) [192.0.2.7]:4711 I=[192.0.2.1]:25 D=12s",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindLost, ClientIP: ip("192.0.2.7"), Helo: "x", Reason: "unexpected disconnection while reading SMTP command: D=12s",
			Attrs: kv("port", "4711", "I", "[192.0.2.1]:25", "D", "12s")}}},
	{item: "smtp_no_mail over TLS, authenticated", line: ts + " no MAIL in SMTP connection from (guesser) [192.0.2.15]:57427 I=[192.0.2.1]:587 D=0.003s X=TLS1.3:(AES_128_GCM:128* CV=no SNI=mail.corp.example A=plain:bob C=EHLO,STARTTLS,EHLO,AUTH,QUIT",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindDisconnect, ClientIP: ip("192.0.2.15"), Helo: "guesser", SASLMethod: "plain", SASLUser: "bob",
			Reason: "no MAIL in SMTP connection: D=0.003s X=TLS1.3:(AES_128_GCM:128* CV=no SNI=mail.corp.example A=plain:bob C=EHLO,STARTTLS,EHLO,AUTH,QUIT",
			Attrs:  kv("port", "57427", "I", "[192.0.2.1]:587", "D", "0.003s", "X", "TLS1.3:(AES_128_GCM:128*", "CV", "no", "SNI", "mail.corp.example", "A", "plain:bob", "C", "EHLO,STARTTLS,EHLO,AUTH,QUIT")}}},
	{item: "smtp_incomplete_transaction, RSET with recipients", line: ts + " [20285] H=(scanner) [192.0.2.14]:42325 I=[192.0.2.1]:25 incomplete transaction (RSET) from <probe@scan.example> for ivan@corp.example victim@outside.example",
		want: []parsers.Event{
			{Time: t1, Kind: parsers.KindRcpt, Session: "20285", ClientIP: ip("192.0.2.14"), Helo: "scanner", From: "probe@scan.example", Rcpt: "ivan@corp.example",
				Reason: "incomplete transaction (RSET)", Attrs: kv("port", "42325", "I", "[192.0.2.1]:25")},
			{Time: t1, Kind: parsers.KindRcpt, Session: "20285", ClientIP: ip("192.0.2.14"), Helo: "scanner", From: "probe@scan.example", Rcpt: "victim@outside.example",
				Reason: "incomplete transaction (RSET)", Attrs: kv("port", "42325", "I", "[192.0.2.1]:25")},
		}},
	{item: "smtp_incomplete_transaction, QUIT after MAIL only", line: ts + " H=(scanner) [192.0.2.14] incomplete transaction (QUIT) from <>",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindSender, ClientIP: ip("192.0.2.14"), Helo: "scanner", Reason: "incomplete transaction (QUIT)"}}},
	{item: "smtp_protocol_error", line: ts + ` SMTP protocol error in "MAIL FROM:<again@scan.example>" H=(scanner) [192.0.2.14]:42325 I=[192.0.2.1]:25 sender already given`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.14"), Helo: "scanner", From: "again@scan.example",
			Reason: "MAIL: sender already given", Attrs: kv("port", "42325", "I", "[192.0.2.1]:25")}}},
	{item: "smtp_protocol_error, another command", line: ts + ` SMTP protocol error in "AUTH PLAIN" H=(x) [192.0.2.14] AUTH command used when not advertised`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.14"), Helo: "x",
			Reason: "AUTH: AUTH command used when not advertised", Attrs: kv("command", "AUTH PLAIN")}}},
	{item: "smtp_syntax_error", line: ts + ` SMTP syntax error in "RCPT TO:<bad@@corp.example>" H=(scanner) [192.0.2.14]:42325 I=[192.0.2.1]:25 domain missing or malformed`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.14"), Helo: "scanner", Rcpt: "bad@@corp.example",
			Reason: "RCPT: domain missing or malformed", Attrs: kv("port", "42325", "I", "[192.0.2.1]:25")}}},
	{item: "connection_reject by the connect ACL", line: ts + ` H=[192.0.2.17]:44397 I=[192.0.2.1]:25 rejected connection in "connect" ACL: no mail from you`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.17"), Reason: `connection in "connect" ACL: no mail from you`,
			Attrs: kv("port", "44397", "I", "[192.0.2.1]:25")}}},
	{item: "connection_reject by the daemon", line: ts + " Connection from [192.0.2.18]:4711 refused: too many connections from that IP address",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.18"), Reason: "connection refused: too many connections from that IP address",
			Attrs: kv("port", "4711")}}},
	{item: "relay refused with TLS and interface", line: ts + ` H=(win-relay) [192.0.2.11]:55091 I=[192.0.2.1]:25 X=TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256 CV=no F=<promo@spam.example> rejected RCPT <victim@outside.example>: relay not permitted`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.11"), Helo: "win-relay", From: "promo@spam.example", Rcpt: "victim@outside.example",
			Reason: "RCPT: relay not permitted", Attrs: kv("port", "55091", "I", "[192.0.2.1]:25", "X", "TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256", "CV", "no")}}},
	{item: "size_reject", line: ts + ` H=(x) [192.0.2.7] F=<a@outside.example> rejected MAIL <a@outside.example>: message too big: read=52428900 max=52428800`,
		want: []parsers.Event{{Time: t1, Kind: parsers.KindReject, ClientIP: ip("192.0.2.7"), Helo: "x", From: "a@outside.example",
			Reason: "MAIL: message too big: read=52428900 max=52428800"}}},
	{item: "auth failure with port and interface", line: ts + " plain authenticator failed for (guesser) [192.0.2.15]:57427 I=[192.0.2.1]:587: 535 Incorrect authentication data (set_id=bob)",
		want: []parsers.Event{{Time: t1, Kind: parsers.KindAuthFailed, ClientIP: ip("192.0.2.15"), Helo: "guesser", SASLMethod: "plain", SASLUser: "bob",
			Reason: "535 Incorrect authentication data", Attrs: kv("port", "57427", "I", "[192.0.2.1]:587")}}},
	{item: "acl_warn_skipped", line: ts + ` ACL "warn" statement skipped: condition test deferred: DNS lookup deferred`, wantErr: parsers.ErrUnsupported},
	{item: "arguments", line: ts + " [20290] cwd=/root 4 args: /usr/sbin/exim4 -odq -f carol@corp.example ivan@corp.example", wantErr: parsers.ErrUnsupported},
	{item: "delay_delivery", line: ts + " 1xa2a0-0005SY-0e no immediate delivery: more than 10 messages received in one connection", wantErr: parsers.ErrUnsupported},
	{item: "dkim_verbose", line: ts + " 1xa2a0-0005SY-0e DKIM: d=partner.example s=sel1 c=relaxed/relaxed a=rsa-sha256 b=2048 [verification succeeded]", wantErr: parsers.ErrUnsupported},
	{item: "dnslist_defer", line: ts + " DNS list lookup defer (probably timeout) for 7.0.2.192.zen.example: assumed not in list", wantErr: parsers.ErrUnsupported},
	{item: "etrn", line: ts + " ETRN #corp.example received from (x) [192.0.2.7]", wantErr: parsers.ErrUnsupported},
	{item: "ident_timeout", line: ts + " ident connection to 192.0.2.7 timed out", wantErr: parsers.ErrUnsupported},
	{item: "queue_run", line: ts + " [21082] End queue run: pid=21082 -qff", wantErr: parsers.ErrUnsupported},
	{item: "retry_defer line", line: ts + " 1xa2a0-0005SY-0e later@slow.example: retry time not reached", wantErr: parsers.ErrUnsupported},
	{item: "skip_delivery", line: ts + " 1xa2a0-0005SY-0e Message is frozen", wantErr: parsers.ErrUnsupported},
	{item: "unknown_in_list", line: ts + " list matching forced to fail: failed to find host name for 192.0.2.7", wantErr: parsers.ErrUnsupported},
}

// TestLogSelector checks each log_selector item's line: the fields it
// sets, and every item without a field of its own kept in Attrs, in
// order.
func TestLogSelector(t *testing.T) {
	for _, tt := range logSelectorTests {
		t.Run(tt.item, func(t *testing.T) {
			p := NewParser(Options{Location: time.UTC})
			for i, l := range tt.before {
				if _, err := p.Parse(nil, []byte(l), parsers.Pos{File: "mainlog", Line: i + 1}); err != nil && !errors.Is(err, parsers.ErrUnsupported) {
					t.Fatalf("Parse(%q): %v", l, err)
				}
			}
			pos := parsers.Pos{File: "mainlog", Line: 9, Offset: 99}
			got, err := p.Parse(nil, []byte(tt.line), pos)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.line, err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) = %d events %+v, want %d", tt.line, len(got), got, len(tt.want))
			}
			for i := range got {
				w := tt.want[i]
				w.Pos, w.Raw, w.Format, w.Daemon = pos, tt.line, "exim", "mainlog"
				if !reflect.DeepEqual(got[i], w) {
					t.Errorf("Parse(%q)[%d] =\n%+v\nwant\n%+v\nattrs %s", tt.line, i, got[i], w, attrList(got[i]))
				}
			}
		})
	}
}

func attrList(ev parsers.Event) []string {
	var out []string
	ev.EachAttr(func(k, v string) bool {
		out = append(out, k+"="+v)
		return true
	})
	return out
}
