package postfix

import (
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// cleanup parses the cleanup(8) lines: the Message-ID of each queued
// message, and what header/body checks and milters did to a whole message
// (see cleanupAction and action): refused it, held it, discarded it,
// redirected it, logged a warning.
//
//	4B49DBC34B: message-id=<20261127192754.8f8bf4fe56.1@outside.example>
//	4B49DBC34B: milter-reject: END-OF-MESSAGE from unknown[203.0.113.9]: 5.7.1 Spam; from=<a@b> to=<c@d> proto=ESMTP helo=<x>
//	4B49DBC34B: reject: header Subject: buy now from unknown[203.0.113.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>: 5.7.1 no spam
//	4B49DBC34B: hold: header Subject: HOLDME from unknown[203.0.113.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>: held for review
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
	case strings.HasPrefix(rest, "milter-"):
		// milter-reject, milter-discard, milter-hold at END-OF-MESSAGE:
		// the smtpd shape.
		if a, body, ok := cutAction(rest); ok {
			n := len(dst)
			if dst = action(dst, ev, a, body); len(dst) > n && (dst[n].Kind == parsers.KindReject || dst[n].Status != "") {
				e := dst[n]
				dst = append(appendSender(dst[:n], e), e)
			}
			return dst
		}
	}
	if a, body, ok := strings.Cut(rest, ": "); ok {
		if _, known := cleanupActions[a]; known {
			return cleanupAction(dst, ev, a, body)
		}
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
	// (to=<"j (work)"@example.com>). The other items are kept in Attrs,
	// encoded as AddAttr does into a buffer on the stack: one allocation.
	var text string
	var buf [96]byte
	attrs := buf[:0]
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
		default:
			attrs = appendAttr(attrs, k, v) // delay, delays, conn_use, ...
		}
	}
	ev.Attrs = string(attrs)
	ev.Reason = text
	if ev.Daemon == "discard" && ev.Status == parsers.StatusSent {
		// discard(8) "delivers" by throwing the message away, and says
		// sent (postconf(5) discard transport): it was not delivered.
		ev.Status = StatusDiscarded
	}
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

// postsuper parses what an administrator did to a queued message with
// postsuper(1): deleted it (-d), expired it (-e, Postfix 3.5+: qmgr then
// returns it as "force-expired"), put it on hold (-h), released it (-H),
// requeued it (-r). A deletion is KindRemoved, an expiry KindExpired; a
// hold is a KindRcpt with Status StatusHeld and no recipient (the whole
// message); a release or requeue a KindRcpt without status. The word is
// kept in Attrs ("postsuper"). The summary lines ("Deleted: 3 messages")
// repeat the per-message ones and are not events.
//
//	4B49DBC34B: removed
//	4B49DBC34B: expired
//	4B49DBC34B: placed on hold
//	4B49DBC34B: released from hold
//	4B49DBC34B: requeued
func postsuper(dst []parsers.Event, ev parsers.Event, msg string) []parsers.Event {
	qid, rest, ok := queueID(msg)
	if !ok || qid == "NOQUEUE" {
		return dst
	}
	ev.QueueID = qid
	switch rest {
	case "removed":
		ev.Kind = parsers.KindRemoved
	case "expired":
		ev.Kind = parsers.KindExpired
	case "placed on hold":
		ev.Kind, ev.Status = parsers.KindRcpt, StatusHeld
	case "released from hold", "requeued":
		ev.Kind = parsers.KindRcpt
	default:
		return dst
	}
	ev.AddAttr("postsuper", rest)
	ev.Reason = "postsuper: " + rest
	return append(dst, ev)
}

// appendAttr appends key=value to b as parsers.Event.AddAttr encodes it.
func appendAttr(b []byte, key, value string) []byte {
	b = strconv.AppendInt(b, int64(len(key)), 10)
	b = append(b, ':')
	b = append(b, key...)
	b = strconv.AppendInt(b, int64(len(value)), 10)
	b = append(b, ':')
	return append(b, value...)
}
