package exim

import (
	"strconv"
	"strings"
)

// What a line says that has no Event field of its own is kept in
// Event.Attrs, in the order logged, under Exim's own tag (Exim
// specification, "Log files", "Summary of fields in log lines" and the
// log_selector table):
//
//	X      TLS cipher suite (+tls_cipher); a trailing "*" is a resumed
//	       session (+tls_resumption)
//	CV     certificate verified: yes, no, dane (+tls_certificate_verified)
//	DN     the peer certificate's distinguished name (+tls_peerdn)
//	SNI    server name the TLS client asked for (+tls_sni)
//	I      local interface and port, "[192.0.2.1]:25" (+incoming_interface,
//	       +outgoing_interface)
//	PRX    the proxy's address on a proxied connection (+proxy)
//	DKIM   a domain whose DKIM signature verified (+dkim)
//	DS     DNSSEC-secured lookups (+dnssec)
//	K      CHUNKING (BDAT) used; L, L-, L., L* PIPELINING (+pipelining)
//	M8S    8BITMIME status: 0, 7 or 8 (+8bitmime)
//	PRDR   PRDR used; TFO TCP Fast Open used
//	RT QT DT D   times to receive, on the queue, to deliver, of a
//	       session (+receive_time, +queue_time, +deliver_time,
//	       +smtp_no_mail)
//	T      on "<=": the subject (+subject); on deliveries: the transport
//	R      on "<=": the message a bounce is about; on deliveries: the router
//	U      local user or RFC 1413 identity
//	P      on deliveries: the return path (+return_path_on_delivery)
//	A      on deliveries: the authenticator the client side used
//	C      on "no MAIL" lines: the commands of the session
//	Q      the named queue; ST the shadow transport; S the size where no
//	       field takes it
//	id*    the Message-ID Exim created (+msg_id_created), also in MessageID
//
// and under names of relaysleuth's for items without a tag:
//
//	port      the client's port, "[192.0.2.7]:4711" (+incoming_port)
//	from      the sender as received, before rewriting (+received_sender)
//	mailauth  the AUTH= of MAIL FROM, third part of A= (+smtp_mailauth)
//	parent    each intermediate address of a delivery, last first
//	          (+all_parents)
//	defer     the error number of a "==" line: "defer (-44)"
//	rewrite   "where old -> new (rule n)" for each rewriting of the
//	          message's addresses (+address_rewrite)
//	count     the TCP/IP connection count of a new connection
//
// A bare word (K, L, DS, PRDR ...) is kept with an empty value. An unknown
// KEY=value item is kept as it is: a later Exim's new fields are never
// fatal.

// An attrBuf collects the items of one line in the encoding of
// parsers.Event.AddAttr, in a buffer the Parser reuses from line to line:
// one allocation per event instead of one per item.
type attrBuf []byte

// add appends the item key=value.
func (a *attrBuf) add(key, value string) {
	b := strconv.AppendInt(*a, int64(len(key)), 10)
	b = append(append(b, ':'), key...)
	b = strconv.AppendInt(b, int64(len(value)), 10)
	*a = append(append(b, ':'), value...)
}

// attrs returns the items collected, after those of prev.
func (a *attrBuf) attrs(prev string) string {
	if len(*a) == 0 {
		return prev
	}
	return prev + string(*a)
}

// keepHost keeps what a host rendering says beyond the address and names.
func (a *attrBuf) keepHost(h host) {
	if h.port != "" {
		a.add("port", h.port)
	}
}

// keepFields keeps every KEY=value item of free text s (the fields that
// follow a host on a session line: I=, D=, X=, CV=, SNI=, C= ...), skipping
// the words between them.
func (a *attrBuf) keepFields(s string) {
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if keyLen(s) == 0 {
			_, s = word(s)
			continue
		}
		var f field
		f, s = nextField(s)
		if f.key == "H" { // a second host: not an item
			_, s, _ = parseHost(s)
			continue
		}
		a.add(f.key, f.val)
	}
}
