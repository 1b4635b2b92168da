package postfix

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// The statuses of a recipient that an action held or discarded: the
// server said 250 to the client, and the message was not relayed (HOLD:
// not until an administrator releases it with postsuper -H).
const (
	StatusHeld      = parsers.StatusHeld
	StatusDiscarded = parsers.StatusDiscarded
)

// smtpdActions are the words smtpd(8) logs before an access-map, milter or
// restriction action (smtpd_check.c log_whatsup, smtpd_milter.c), and what
// each is. The line has the shape of a reject:
//
//	NOQUEUE: hold: RCPT from unknown[203.0.113.9]: <q@corp.example>: Recipient address triggers HOLD action; from=<a@b> to=<q@corp.example> proto=ESMTP helo=<h>
//	NOQUEUE: redirect: RCPT from unknown[203.0.113.9]: <r@corp.example>: Recipient address triggers REDIRECT ops@elsewhere.example; from=<a@b> to=<r@corp.example> proto=ESMTP helo=<h>
//	NOQUEUE: permit: RCPT from unknown[192.0.2.5]: action=permit_mynetworks for Client host=unknown[192.0.2.5] ; from=<a@b> to=<c@d> proto=ESMTP helo=<h>
var smtpdActions = map[string]struct {
	kind   parsers.Kind
	status string
}{
	"reject":         {parsers.KindReject, ""},
	"milter-reject":  {parsers.KindReject, ""},
	"reject_warning": {parsers.KindRejectWarning, ""},
	"warn":           {parsers.KindRejectWarning, ""},
	"permit":         {parsers.KindPermit, ""},
	"hold":           {parsers.KindDelivery, StatusHeld},
	"milter-hold":    {parsers.KindDelivery, StatusHeld},
	"discard":        {parsers.KindDelivery, StatusDiscarded},
	"milter-discard": {parsers.KindDelivery, StatusDiscarded},
	"redirect":       {parsers.KindRcpt, ""},
	"filter":         {parsers.KindRcpt, ""},
}

// cutAction splits "hold: RCPT from ..." into the action word and the rest,
// when the word is one of smtpdActions.
func cutAction(rest string) (action, body string, ok bool) {
	action, body, ok = strings.Cut(rest, ": ")
	if !ok {
		return "", rest, false
	}
	_, ok = smtpdActions[action]
	return action, body, ok
}

// action appends the event of an smtpd-shaped action line (smtpd, and the
// milter lines of cleanup). A hold or discard is the server's disposition
// of the recipient: a KindDelivery with Status StatusHeld or
// StatusDiscarded and Relay "none" (the client was told 250, and the
// message was not relayed); said before the queue file existed (NOQUEUE),
// Parser.bindActions repeats it on the session's next "client=" line,
// which names the queue id. A redirect or filter is a KindRcpt, with the new
// recipient or transport in Attrs ("redirect", "filter"). Every action
// but reject, reject_warning and permit keeps its word in Attrs ("action");
// a permit keeps the restriction that
// permitted ("restriction": permit_mynetworks, permit_sasl_authenticated,
// an access map's OK or DISCARD ...) and what it matched ("for").
func action(dst []parsers.Event, ev parsers.Event, action, body string) []parsers.Event {
	a := smtpdActions[action]
	n := len(dst)
	dst = smtpdAction(dst, ev, a.kind, body)
	if len(dst) == n {
		return dst
	}
	e := &dst[n]
	e.Status = a.status
	if a.status != "" {
		e.Relay = "none"
		if e.Rcpt == "" {
			e.Kind = parsers.KindRcpt // a whole transaction (MAIL, CONNECT): no recipient named
		}
	}
	if action != "reject" && action != "reject_warning" && action != "permit" {
		e.AddAttr("action", action) // the rest are their Kind
	}
	_, text, _ := strings.Cut(e.Reason, ": ") // after the stage
	switch action {
	case "permit":
		// "action=permit_mynetworks for Client host=unknown[192.0.2.5] "
		if v, ok := strings.CutPrefix(strings.TrimSpace(text), "action="); ok {
			what, target, _ := strings.Cut(v, " for ")
			e.AddAttr("restriction", what)
			if target != "" {
				e.AddAttr("for", target)
			}
		}
	case "redirect", "filter":
		// "<r@corp.example>: Recipient address triggers REDIRECT ops@elsewhere.example"
		word := " triggers " + strings.ToUpper(action) + " "
		if i := strings.LastIndex(text, word); i >= 0 {
			e.AddAttr(action, strings.TrimSpace(text[i+len(word):]))
		}
	}
	e.Reason = strings.TrimRight(e.Reason, " ")
	return dst
}

// cleanupActions are what header_checks(5), body_checks and
// milter_header_checks make cleanup(8) log (cleanup_act_log): the action,
// the header or body line, the client, the envelope and the optional text.
//
//	4B49DBC34B: hold: header Subject: buy now from unknown[203.0.113.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>: held for review
//	4B49DBC34B: discard: body <a href=x> from local; from=<root@corp.example> to=<c@d>
//	4B49DBC34B: warning: header X-Mailer: spamtool from unknown[203.0.113.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>: suspicious
var cleanupActions = map[string]struct {
	kind   parsers.Kind
	status string
}{
	"reject":   {parsers.KindReject, ""},
	"hold":     {parsers.KindDelivery, StatusHeld},
	"discard":  {parsers.KindDelivery, StatusDiscarded},
	"warning":  {parsers.KindRejectWarning, ""},
	"info":     {parsers.KindRejectWarning, ""},
	"redirect": {parsers.KindRcpt, ""},
	"filter":   {parsers.KindRcpt, ""},
	"replace":  {parsers.KindRcpt, ""},
	"prepend":  {parsers.KindRcpt, ""},
	"strip":    {parsers.KindRcpt, ""},
	"bcc":      {parsers.KindRcpt, ""},
}

// cleanupAction parses the body of a header/body check line (see
// cleanupActions): "header Subject: x from c[ip]; from=<a> to=<b> proto=ESMTP helo=<h>: text".
func cleanupAction(dst []parsers.Event, ev parsers.Event, action, body string) []parsers.Event {
	a := cleanupActions[action]
	ev.Kind, ev.Status = a.kind, a.status
	if a.status != "" {
		ev.Relay = "none"
	}
	ev.AddAttr("action", action)
	what, tail, found := strings.Cut(body, "; from=")
	if !found {
		ev.Reason = body
		return append(dst, ev)
	}
	if i := strings.LastIndex(what, " from "); i >= 0 {
		ev.ClientName, ev.ClientIP = client(what[i+len(" from "):])
		what = what[:i]
	}
	kind, _, _ := strings.Cut(what, " ") // header, body, mime-header, nested-header
	ev.AddAttr("check", kind)
	kv, text, _ := cutFieldsEnd("from=" + tail)
	envelopeFields(&ev, kv)
	ev.DSN, text = dsn(text)
	if text != "" {
		ev.AddAttr("text", text)
		what += ": " + text
	}
	ev.Reason = what
	if ev.Kind == parsers.KindDelivery && ev.Rcpt == "" {
		ev.Kind = parsers.KindRcpt // no recipient named: the message's disposition only
	}
	if a.status != "" || a.kind == parsers.KindReject {
		dst = appendSender(dst, ev)
	}
	return append(dst, ev)
}

// appendSender appends the envelope sender a reject, hold or discard line
// of a queued message names, as a KindSender: qmgr(8), which logs it
// otherwise, never sees a refused or discarded message, nor a held one
// until it is released.
func appendSender(dst []parsers.Event, ev parsers.Event) []parsers.Event {
	if ev.QueueID == "" {
		return dst
	}
	s := parsers.Event{Pos: ev.Pos, Time: ev.Time, Format: ev.Format, Host: ev.Host, Daemon: ev.Daemon,
		Session: ev.Session, Kind: parsers.KindSender, QueueID: ev.QueueID, From: ev.From, Raw: ev.Raw}
	return append(dst, s)
}

// maxPendingSessions bounds the smtpd sessions whose NOQUEUE hold or
// discard waits for a queue id (bindActions).
const maxPendingSessions = 1024

// bindActions looks at the events one smtpd line produced (dst[n:]). A
// hold or discard logged before the queue file existed ("NOQUEUE: hold:
// RCPT from ...") concerns the message the session's next "client=" line
// names: Postfix logs "client=" when it opens the queue file, right after
// the first recipient is accepted. The action is kept per session (smtpd
// pid) and repeated on that line as a KindDelivery with the queue id; a
// new connection or a disconnect forgets it.
func (p *Parser) bindActions(dst []parsers.Event, n int, pid string) []parsers.Event {
	for i := n; i < len(dst); i++ {
		e := dst[i]
		switch {
		case e.Kind == parsers.KindConnect || e.Kind == parsers.KindDisconnect:
			delete(p.pending, pid)
		case e.Kind == parsers.KindDelivery && e.QueueID == "" && e.Status != "":
			if p.pending == nil || len(p.pending) >= maxPendingSessions {
				p.pending = make(map[string][]parsers.Event)
			}
			if len(p.pending[pid]) < 16 {
				p.pending[pid] = append(p.pending[pid], e)
			}
		case e.Kind == parsers.KindClient && e.QueueID != "":
			for j, a := range p.pending[pid] {
				if j == 0 {
					s := e
					s.Kind, s.From = parsers.KindSender, a.From
					dst = appendSender(dst, s)
				}
				d := e
				d.Kind, d.Status, d.Relay = parsers.KindDelivery, a.Status, a.Relay
				d.ClientName, d.ClientIP, d.OrigClientName, d.OrigClientIP = "", netip.Addr{}, "", netip.Addr{}
				d.SASLMethod, d.SASLUser, d.PrevQueueID = "", "", ""
				d.From, d.Rcpt, d.Proto, d.Helo = a.From, a.Rcpt, a.Proto, a.Helo
				d.Reason, d.Attrs = a.Reason, a.Attrs
				if a.Pos.Line > 0 {
					// Where the action itself is, in this file.
					d.AddAttr("action_line", strconv.Itoa(a.Pos.Line))
				}
				dst = append(dst, d)
			}
			delete(p.pending, pid)
		}
	}
	return dst
}

// cutFieldsEnd splits "from=<a> to=<b> proto=ESMTP helo=<h>: text" after
// the key=value run.
func cutFieldsEnd(s string) (kv, text string, ok bool) {
	rest := s
	for {
		_, _, after, ok := nextField(rest)
		if !ok {
			break
		}
		rest = after
	}
	kv = s[:len(s)-len(rest)]
	text, ok = strings.CutPrefix(rest, ": ")
	return kv, text, ok
}
