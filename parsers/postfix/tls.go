package postfix

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// tls parses the TLS lines of smtpd(8), smtp(8), lmtp(8) and tlsproxy(8)
// that say something about a session, at any smtpd_tls_loglevel or
// smtp_tls_loglevel (postconf(5)): level 1 logs the summary line, level 2
// adds the handshake ("setting up TLS connection", "SSL_accept:...",
// "TLS cipher list", certificate "depth=" lines), 3 and 4 hex dumps of the
// traffic. Only the summary and the failures are events; the handshake
// lines are well-formed and of no interest (ErrUnsupported), never a
// parse error.
//
//	Anonymous TLS connection established from unknown[203.0.113.9]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256
//	Untrusted TLS connection established to mx.example.net[198.51.100.3]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)
//	SSL_accept error from unknown[203.0.113.9]: lost connection
//
// The trust level (Anonymous, Untrusted, Trusted, Verified) is kept in Attrs
// ("tls"), with the protocol and cipher ("tls_protocol", "tls_cipher").
func tls(dst []parsers.Event, ev parsers.Event, msg string) ([]parsers.Event, bool) {
	if trust, rest, ok := strings.Cut(msg, " TLS connection established "); ok && !strings.Contains(trust, " ") {
		dir, rest, _ := strings.Cut(rest, " ") // "from" or "to"
		who, details, _ := strings.Cut(rest, ": ")
		ev.Kind = parsers.KindTLS
		if dir == "to" {
			ev.Relay = who // the server smtp(8) or lmtp(8) connected to
		} else {
			ev.ClientName, ev.ClientIP = client(who)
		}
		ev.Reason = details
		ev.AddAttr("tls", trust)
		if proto, rest, ok := strings.Cut(details, " with cipher "); ok {
			cipher, _, _ := strings.Cut(rest, " ")
			ev.AddAttr("tls_protocol", proto)
			ev.AddAttr("tls_cipher", cipher)
		}
		return append(dst, ev), true
	}
	for _, prefix := range []string{"SSL_accept error from ", "SSL_connect error to "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			who, why, _ := strings.Cut(rest, ": ")
			ev.Kind = parsers.KindTLS
			if prefix[4] == 'a' {
				ev.ClientName, ev.ClientIP = client(who)
			} else {
				ev.Relay = who
			}
			what, _, _ := strings.Cut(prefix, " error ")
			ev.Reason = what + " error: " + why
			ev.AddAttr("tls", "failed")
			ev.AddAttr("tls_error", why)
			return append(dst, ev), true
		}
	}
	return dst, false
}
