package postfix

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// postscreenWords is postscreen(8)'s vocabulary (postscreen(8), "Logging";
// POSTSCREEN_README), by the words that start a line, and the kind of each:
// the client passed or is allowed (KindPermit), failed a test whose action
// follows on a line of its own (KindRejectWarning: the refusal is a
// "NOQUEUE: reject" or DISCONNECT line), or went away or was cut off
// (KindLost). Postfix 3.6 renamed WHITELISTED and BLACKLISTED to
// ALLOWLISTED and DENYLISTED; both spellings are read.
var postscreenWords = []struct {
	prefix string
	kind   parsers.Kind
}{
	{"PASS NEW ", parsers.KindPermit},
	{"PASS OLD ", parsers.KindPermit},
	{"ALLOWLISTED ", parsers.KindPermit},
	{"WHITELISTED ", parsers.KindPermit},
	{"DENYLISTED ", parsers.KindRejectWarning},
	{"BLACKLISTED ", parsers.KindRejectWarning},
	{"ALLOWLIST VETO ", parsers.KindRejectWarning},
	{"WHITELIST VETO ", parsers.KindRejectWarning},
	{"PREGREET ", parsers.KindRejectWarning},
	{"DNSBL rank ", parsers.KindRejectWarning},
	{"COMMAND PIPELINING from ", parsers.KindRejectWarning},
	{"NON-SMTP COMMAND from ", parsers.KindRejectWarning},
	{"BARE NEWLINE from ", parsers.KindRejectWarning},
	{"HANGUP ", parsers.KindLost},
	{"COMMAND TIME LIMIT from ", parsers.KindLost},
	{"COMMAND COUNT LIMIT from ", parsers.KindLost},
	{"COMMAND LENGTH LIMIT from ", parsers.KindLost},
}

// postscreen parses the zombie blocker's lines. It is one process for all
// clients, so its events have no Session; the client is "[ip]:port". Its
// rejects have the smtpd shape.
//
//	CONNECT from [203.0.113.9]:41234 to [192.0.2.1]:25
//	PASS NEW [198.51.100.3]:50123
//	DNSBL rank 3 for [203.0.113.9]:41234
//	PREGREET 23 after 0.12 from [203.0.113.9]:41234: EHLO bot\r\n
//	HANGUP after 0.5 from [203.0.113.9]:41234 in tests before SMTP handshake
//	COMMAND PIPELINING from [203.0.113.9]:41234 after RCPT: DATA\r\n
//	NOQUEUE: reject: RCPT from [203.0.113.9]:41234: 550 5.7.1 Service unavailable; client [203.0.113.9] blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>
//	DISCONNECT [203.0.113.9]:41234
//
// The test's word is kept in Attrs ("postscreen": "PASS NEW", "PREGREET",
// "DNSBL", ...), with the DNSBL rank ("dnsbl_rank").
func postscreen(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	switch {
	case strings.HasPrefix(msg, "CONNECT from "):
		ev.Kind = parsers.KindConnect
		who, _, _ := strings.Cut(msg[len("CONNECT from "):], " ")
		ev.ClientName, ev.ClientIP = client(who)
		return append(dst, ev)
	case strings.HasPrefix(msg, "DISCONNECT "):
		ev.Kind = parsers.KindDisconnect
		ev.ClientName, ev.ClientIP = client(strings.TrimSpace(msg[len("DISCONNECT "):]))
		return append(dst, ev)
	case strings.HasPrefix(msg, "NOQUEUE: "):
		if a, body, ok := cutAction(msg[len("NOQUEUE: "):]); ok {
			return action(dst, ev, a, body)
		}
		return dst
	}
	for _, w := range postscreenWords {
		if !strings.HasPrefix(msg, w.prefix) {
			continue
		}
		ev.Kind = w.kind
		word := strings.TrimSuffix(strings.TrimSpace(w.prefix), " from")
		rest := msg[len(w.prefix):]
		// The client is the first "[...]" word, after "for", "from" or
		// the word itself.
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			return dst
		}
		who, after, _ := strings.Cut(rest[i:], " ")
		ev.ClientName, ev.ClientIP = client(strings.TrimSuffix(who, ":"))
		before := strings.TrimSpace(rest[:i])
		before = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(before, "from"), "for"))
		if word == "DNSBL rank" {
			ev.AddAttr("postscreen", "DNSBL")
			ev.AddAttr("dnsbl_rank", before)
		} else {
			ev.AddAttr("postscreen", word)
		}
		ev.Reason = word
		if before != "" {
			ev.Reason += " " + before
		}
		if after = strings.TrimSpace(after); after != "" {
			if strings.HasSuffix(who, ":") {
				ev.Reason += ":"
			}
			ev.Reason += " " + after
		}
		return append(dst, ev)
	}
	return dst
}
