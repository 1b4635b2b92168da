package postfix

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// smtpd parses the SMTP server's lines. The session is the smtpd process:
// one process serves one client at a time, from "connect from" to
// "disconnect from" (smtpd(8)).
//
//	connect from unknown[203.0.113.9]
//	4B49DBC34B: client=unknown[203.0.113.9], sasl_method=PLAIN, sasl_username=alice
//	NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@victim.example>: Relay access denied; from=<a@b> to=<x@victim.example> proto=ESMTP helo=<ylmf-pc>
//	warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=dave
//	disconnect from unknown[203.0.113.9] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4
func smtpd(dst []parsers.Event, ev parsers.Event, pid, msg string) []parsers.Event {
	ev.Session = pid
	switch {
	case strings.HasPrefix(msg, "connect from "):
		ev.Kind = parsers.KindConnect
		ev.ClientName, ev.ClientIP = client(msg[len("connect from "):])
		return append(dst, ev)
	case strings.HasPrefix(msg, "disconnect from "):
		ev.Kind = parsers.KindDisconnect
		who, counts, _ := strings.Cut(msg[len("disconnect from "):], " ")
		ev.ClientName, ev.ClientIP = client(who)
		ev.Reason = counts
		return append(dst, ev)
	case strings.HasPrefix(msg, "lost connection after "), strings.HasPrefix(msg, "timeout after "),
		strings.HasPrefix(msg, "too many errors after "):
		ev.Kind = parsers.KindLost
		what, who, _ := strings.Cut(msg, " from ")
		ev.Reason = what
		ev.ClientName, ev.ClientIP = client(who)
		return append(dst, ev)
	case strings.HasPrefix(msg, "warning: "):
		return smtpdWarning(dst, ev, msg[len("warning: "):])
	}
	if dst, ok := tls(dst, ev, msg); ok {
		return dst
	}
	qid, rest, ok := queueID(msg)
	if !ok {
		return dst
	}
	if qid != "NOQUEUE" {
		ev.QueueID = qid
	}
	switch {
	case strings.HasPrefix(rest, "client="):
		ev.Kind = parsers.KindClient
		for k, v := range fields(rest) {
			switch k {
			case "client":
				ev.ClientName, ev.ClientIP = client(v)
			case "sasl_method":
				ev.SASLMethod = v
			case "sasl_username":
				ev.SASLUser = v
			case "orig_queue_id":
				// XFORWARD from a content filter: the queue id this
				// message had before the filter.
				ev.PrevQueueID = v
			case "orig_client":
				ev.OrigClientName, ev.OrigClientIP = client(v)
			default:
				// sasl_sender= (the MAIL FROM AUTH= parameter), and
				// what a later Postfix adds.
				ev.AddAttr(k, v)
			}
		}
		return append(dst, ev)
	}
	if a, body, ok := cutAction(rest); ok {
		n := len(dst)
		if dst = action(dst, ev, a, body); len(dst) > n && dst[n].Status != "" && dst[n].QueueID != "" {
			// A later recipient's hold or discard: the message's sender,
			// which qmgr may never log (see appendSender).
			e := dst[n]
			dst = append(appendSender(dst[:n], e), e)
		}
		return dst
	}
	return dst
}

// smtpdAction parses the body of a reject, reject_warning or permit line:
//
//	RCPT from NAME[IP]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<h>
//
// It is also the shape of cleanup's "milter-reject" and postscreen's rejects.
func smtpdAction(dst []parsers.Event, ev parsers.Event, kind parsers.Kind, body string) []parsers.Event {
	stage, rest, ok := strings.Cut(body, " from ")
	if !ok {
		return dst
	}
	who, rest, ok := strings.Cut(rest, ": ")
	if !ok {
		return dst
	}
	ev.Kind = kind
	ev.ClientName, ev.ClientIP = client(who)
	reply, kv := splitReplyFields(rest)
	ev.DSN, ev.Reason = dsn(reply)
	ev.Reason = stage + ": " + ev.Reason
	envelopeFields(&ev, kv)
	return append(dst, ev)
}

// splitReplyFields splits "554 5.7.1 text; from=<a> to=<b> proto=ESMTP" at
// the "; " that starts the key=value tail.
func splitReplyFields(s string) (reply, kv string) {
	for _, key := range []string{"; from=", "; proto=", "; helo="} {
		if i := strings.LastIndex(s, key); i >= 0 {
			return s[:i], s[i+2:]
		}
	}
	return s, ""
}

// dsn splits "554 5.7.1 <x>: Relay access denied" into "5.7.1" and the text
// after the status code. A reply without an enhanced status code keeps its
// SMTP code in the text.
func dsn(reply string) (code, text string) {
	rest := reply
	if len(rest) >= 4 && isDigits(rest[:3]) && rest[3] == ' ' {
		rest = rest[4:]
	}
	word, after, _ := strings.Cut(rest, " ")
	if isDSN(word) {
		return word, after
	}
	return "", reply
}

func isDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || !isDigits(p) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// smtpdWarning parses the warnings that matter: failed SASL authentication.
//
//	unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=dave
func smtpdWarning(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	who, rest, ok := strings.Cut(msg, ": SASL ")
	if !ok {
		return dst
	}
	method, rest, ok := strings.Cut(rest, " authentication failed")
	if !ok || strings.ContainsRune(method, ' ') {
		return dst
	}
	ev.Kind = parsers.KindAuthFailed
	ev.ClientName, ev.ClientIP = client(who)
	ev.SASLMethod = method
	rest = strings.TrimPrefix(rest, ": ")
	if i := strings.LastIndex(rest, ", sasl_username="); i >= 0 {
		ev.SASLUser = rest[i+len(", sasl_username="):]
		rest = rest[:i]
	}
	if ev.SASLUser == "(unavailable)" {
		ev.SASLUser = ""
	}
	ev.Reason = rest
	return append(dst, ev)
}

// envelopeFields reads the "from=<a> to=<b> proto=ESMTP helo=<h>" tail of a
// reject, permit or milter line into ev.
func envelopeFields(ev *parsers.Event, kv string) {
	for k, v := range fields(kv) {
		switch k {
		case "from":
			ev.From = addr(v)
		case "to":
			ev.Rcpt = addr(v)
		case "proto":
			ev.Proto = v
		case "helo":
			ev.Helo = addr(v)
		}
	}
}
