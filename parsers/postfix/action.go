package postfix

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Statuses of a recipient that an action held or discarded: the server
// said 250 to the client, and the message was not delivered (or not yet).
const (
	StatusHeld      = "held"      // HOLD: in the hold queue until postsuper -H or -d
	StatusDiscarded = "discarded" // DISCARD: accepted and thrown away
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
	"hold":           {parsers.KindRcpt, StatusHeld},
	"milter-hold":    {parsers.KindRcpt, StatusHeld},
	"discard":        {parsers.KindRcpt, StatusDiscarded},
	"milter-discard": {parsers.KindRcpt, StatusDiscarded},
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
// milter lines of cleanup). A hold or discard is a KindRcpt with Status
// StatusHeld or StatusDiscarded: the client was told 250, and the message
// was not relayed. A redirect or filter is a KindRcpt too, with the new
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
	"hold":     {parsers.KindRcpt, StatusHeld},
	"discard":  {parsers.KindRcpt, StatusDiscarded},
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
	return append(dst, ev)
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
