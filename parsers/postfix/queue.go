package postfix

import (
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// cleanup parses the cleanup(8) lines: the Message-ID of each queued message,
// and header/body/milter rejects of a whole message.
//
//	4B49DBC34B: message-id=<20261127192754.8f8bf4fe56.1@outside.example>
//	4B49DBC34B: milter-reject: END-OF-MESSAGE from unknown[203.0.113.9]: 5.7.1 Spam; from=<a@b> to=<c@d> proto=ESMTP helo=<x>
//	4B49DBC34B: reject: header Subject: buy now from unknown[203.0.113.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>: 5.7.1 no spam
func cleanup(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok || qid == "NOQUEUE" {
		return dst
	}
	ev.QueueID = qid
	switch {
	case strings.HasPrefix(rest, "message-id="):
		ev.Kind = parsers.KindMessageID
		ev.MessageID = addr(strings.TrimSpace(rest[len("message-id="):]))
		return append(dst, ev)
	case strings.HasPrefix(rest, "milter-reject: "):
		return smtpdAction(dst, ev, parsers.KindReject, rest[len("milter-reject: "):])
	case strings.HasPrefix(rest, "reject: "), strings.HasPrefix(rest, "discard: "):
		// "reject: header Subject: x from c[ip]; from=<> to=<> proto=ESMTP helo=<h>: 5.7.1 text"
		ev.Kind = parsers.KindReject
		body := rest[strings.IndexByte(rest, ' ')+1:]
		what, tail, found := strings.Cut(body, "; from=")
		if !found {
			ev.Reason = body
			return append(dst, ev)
		}
		if i := strings.LastIndex(what, " from "); i >= 0 {
			ev.ClientName, ev.ClientIP = client(what[i+len(" from "):])
			what = what[:i]
		}
		kv, reply, _ := strings.Cut("from="+tail, ": ")
		envelopeFields(&ev, kv)
		ev.DSN, ev.Reason = dsn(reply)
		ev.Reason = what + ": " + ev.Reason
		return append(dst, ev)
	}
	return dst
}

// qmgr parses the queue manager's lines: envelope sender and size when a
// message enters the active queue, its removal, and its expiry.
//
//	4B49DBC34B: from=<pedro@outside.example>, size=615, nrcpt=1 (queue active)
//	4B49DBC34B: removed
//	4B49DBC34B: from=<pedro@outside.example>, status=expired, returned to sender
//	4B49DBC34B: from=<pedro@outside.example>, status=force-expired, returned to sender
//	4B49DBC34B: to=<x@y>, relay=none, delay=0, delays=0/0/0/0, dsn=4.3.2, status=deferred (delivery temporarily suspended)
func qmgr(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok {
		return dst
	}
	ev.QueueID = qid
	switch {
	case rest == "removed":
		ev.Kind = parsers.KindRemoved
		return append(dst, ev)
	case strings.HasPrefix(rest, "to="):
		return delivery(dst, ev, msg)
	case strings.HasPrefix(rest, "from="):
		ev.Kind = parsers.KindSender
		for k, v := range fields(rest) {
			switch k {
			case "from":
				ev.From = addr(v)
			case "size":
				ev.Size, _ = strconv.ParseInt(v, 10, 64)
			case "nrcpt":
				ev.NRcpt, _ = strconv.Atoi(v)
			case "status":
				// "force-expired": postsuper -e (Postfix 3.x) ended the
				// message's life early; it is returned as an expired one.
				if v == "expired" || v == "force-expired" {
					ev.Kind = parsers.KindExpired
					ev.Status = parsers.StatusExpired
				}
			}
		}
		return append(dst, ev)
	}
	return dst
}

// pickup parses local submissions (sendmail(1) → maildrop → pickup(8)).
//
//	9BD7ABC352: uid=0 from=<root@mail.corp.example>
func pickup(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok || !strings.HasPrefix(rest, "uid=") {
		return dst
	}
	ev.QueueID = qid
	ev.Kind = parsers.KindPickup
	uid, from, _ := strings.Cut(rest, " ")
	ev.Reason = uid // the local user who ran sendmail(1)
	ev.From = addr(strings.TrimPrefix(from, "from="))
	return append(dst, ev)
}

// delivery parses a delivery agent's report on one recipient.
//
//	B0A8CBC360: to=<j.doe@outside.example>, orig_to=<fwd-partner@corp.example>, relay=127.0.0.1[127.0.0.1]:2525, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as S5807677727)
//	B013FBC352: to=<fwd-partner@corp.example>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (forwarded as B0A8CBC360)
func delivery(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok || !strings.HasPrefix(rest, "to=") {
		return dst
	}
	ev.QueueID = qid
	ev.Kind = parsers.KindDelivery
	// The text in parentheses follows the key=value run; it is found where
	// the run ends, not at the first " (", which may be inside an address
	// (to=<"j (work)"@example.com>).
	var text string
	for s := rest; ; {
		k, v, after, ok := nextField(s)
		if !ok {
			text = strings.TrimSpace(after)
			if strings.HasPrefix(text, "(") && strings.HasSuffix(text, ")") {
				text = text[1 : len(text)-1]
			}
			break
		}
		s = after
		switch k {
		case "to":
			ev.Rcpt = addr(v)
		case "orig_to":
			ev.OrigRcpt = addr(v)
		case "relay":
			ev.Relay = v
		case "dsn":
			ev.DSN = v
		case "status":
			ev.Status = v
		}
	}
	ev.Reason = text
	// The next queue file on this server, if the message went on as one:
	// a content filter answering "250 2.0.0 Ok: queued as 92842BC340", or
	// local(8) forwarding through an alias or .forward file. Remote
	// servers say "queued as" too; the correlator links only queue ids it
	// has seen in this log.
	if i := strings.LastIndex(text, "forwarded as "); i >= 0 {
		ev.NextQueueID = firstWord(text[i+len("forwarded as "):])
	} else if i := strings.LastIndex(text, "queued as "); i >= 0 {
		ev.NextQueueID = firstWord(text[i+len("queued as "):])
	}
	return append(dst, ev)
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " ,;)"); i >= 0 {
		return s[:i]
	}
	return s
}

// bounce parses the notifications the bounce(8) daemon queues.
//
//	63392BC35C: sender non-delivery notification: 6BE1DBC35F
func bounce(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok {
		return dst
	}
	what, next, found := strings.Cut(rest, " notification: ")
	if !found {
		return dst
	}
	ev.Kind = parsers.KindBounce
	ev.QueueID = qid
	ev.NextQueueID = firstWord(next)
	ev.Reason = what + " notification"
	return append(dst, ev)
}

// postsuper parses an administrator's removal of a queued message.
//
//	4B49DBC34B: removed
func postsuper(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok || rest != "removed" {
		return dst
	}
	ev.QueueID = qid
	ev.Kind = parsers.KindRemoved
	return append(dst, ev)
}

// postscreen parses the zombie blocker's verdicts on a client. Its rejects
// have the smtpd shape:
//
//	NOQUEUE: reject: RCPT from [203.0.113.9]:41234: 550 5.7.1 Service unavailable; client [203.0.113.9] blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>
//	CONNECT from [203.0.113.9]:41234 to [192.0.2.1]:25
func postscreen(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	switch {
	case strings.HasPrefix(msg, "CONNECT from "):
		ev.Kind = parsers.KindConnect
		who, _, _ := strings.Cut(msg[len("CONNECT from "):], " ")
		ev.ClientName, ev.ClientIP = client(who)
		return append(dst, ev)
	case strings.HasPrefix(msg, "NOQUEUE: reject: "):
		return smtpdAction(dst, ev, parsers.KindReject, msg[len("NOQUEUE: reject: "):])
	}
	return dst
}
