package analysis

import (
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// What Exim's events need beyond the shared correlation. Most of Exim maps
// onto it directly: "<=" is KindClient with the sender and A=, a "=>" line
// names the address the client gave in angle brackets (OrigRcpt, the
// recipient judged) and the final address (the delivery, a bare local part
// for a local mailbox, never external), and a bounce Exim generates is
// linked to its parent by R=. Three things differ:
//
//   - P=esmtpa and P=esmtpsa say the client authenticated even when the
//     authenticator (A=) is not logged.
//   - A message refused after DATA has an id but no "<=" line: its client
//     is on the reject line.
//   - Every reject line goes to the mainlog and again to the rejectlog,
//     with the same stamp: one refusal, to be counted once.

// eximUnnamedUser stands for the user of a client that authenticated (P=
// says so) when log_selector did not log who.
const eximUnnamedUser = "(not logged)"

// eximEvent normalises an Exim event before it is correlated.
func eximEvent(ev parsers.Event) parsers.Event {
	if ev.Kind == parsers.KindClient && ev.SASLUser == "" && eximAuthProto(ev.Proto) {
		ev.SASLUser, ev.SASLMethod = eximUnnamedUser, ev.Proto
	}
	return ev
}

// eximAuthProto reports whether an Exim received-protocol value names an
// authenticated SMTP session: esmtpa, esmtpsa, and their "utf8" and
// "local-" forms (Exim specification, "Log files", P=; RFC 3848).
func eximAuthProto(p string) bool {
	p = strings.ToLower(p)
	return strings.HasSuffix(p, "smtpa") || strings.HasSuffix(p, "smtpsa")
}

// eximRefused gives a message refused after DATA the client the reject line
// names: Exim logs no arrival for it, so without this its recipients (from
// the rejectlog's Envelope-to dump) would have no client to be judged by.
func eximRefused(m *Message, ev parsers.Event) {
	if m.Origin != OriginUnknown || !ev.ClientIP.IsValid() {
		return
	}
	m.Origin = OriginSMTP
	m.ClientIP, m.ClientName, m.Helo = ev.ClientIP, ev.ClientName, ev.Helo
	m.Sender, m.SenderSet = ev.From, true
	if ev.SASLUser != "" {
		m.AuthUser, m.AuthMethod = ev.SASLUser, ev.SASLMethod
	}
}

// eximRejectKey returns the key of a refused recipient that has no message:
// a rejected RCPT, or a malformed one. Exim writes each reject line to the
// mainlog and to the rejectlog with one stamp, so the key holds only what
// both copies share exactly: the second, the client, the recipient as
// logged (cut short alike when long) and the reason. The sender is left out,
// as lines without F= exist. Identical refusals in one second of one log
// are numbered, so that a client repeating a refused RCPT counts each time
// and the n-th copy in the rejectlog meets the n-th in the mainlog. A log
// is a file and the log the line was written to (ev.Daemon): through
// syslog, both copies are in one file (parsers/exim/syslog.go).
func (c *Correlator) eximRejectKey(ev parsers.Event) string {
	return c.numberedKey(ev, strings.Join([]string{"reject", ev.Format, ev.Host, strconv.FormatInt(ev.Time.Unix(), 10),
		ipString(ev), strings.ToLower(ev.Rcpt), ev.Reason}, "|"))
}
