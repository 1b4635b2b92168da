package probe

import (
	"fmt"
	"net/netip"
	"strings"
)

// A Case is one relay attempt: a MAIL FROM and a RCPT TO that a server which
// does not relay must refuse.
type Case struct {
	Name      string // stable, for --case and for matching the log: "percent-ip"
	Sender    string // as sent inside MAIL FROM:<>; "" is the null sender
	Recipient string // as sent inside RCPT TO:<>
	About     string // the trick, in a few words
	// Marker is unique to the run, the case and the attempt, and is part of
	// both local parts ("relaysleuth-MARKER@…", "relaytest-MARKER@…"), so
	// that the server's log lines of this attempt can be told from all
	// others by their content. Empty for the cases Cases returns.
	Marker string
	// Retries are the same recipient with other senders (a local one, an
	// outside one), tried in order when the server refuses Sender at MAIL:
	// Exim refuses address literals in senders ("501 domain literals not
	// allowed"), which would otherwise leave the recipient untried.
	Retries []Case
}

// Target names the server under test the way the address tricks need it.
type Target struct {
	Name string     // host name the server announced in its greeting
	IP   netip.Addr // address the probe connected to
}

// The local parts of the test addresses. Distinct words make the probe's own
// lines easy to find in the server's log.
const (
	senderLocal    = "relaysleuth"
	recipientLocal = "relaytest"
)

// caseTable is the list of cases. In the addresses {from} and {to} stand for
// the local parts, {local} for Config.LocalDomain, {ext} for
// Config.ExternalDomain, {name} for the server's name and {ip} for its
// address literal ("[192.0.2.25]", "[IPv6:2001:db8::25]", RFC 5321 section
// 4.1.3).
//
// After the four senders of the hand test come the sixteen pairs nmap's
// smtp-open-relay.nse tries (null, outside, server name and IP literal
// senders, then the recipient forms with the IP-literal sender), and the
// quoted form at the server's name that nmap leaves out. Each maps to a way
// an MTA once relayed: the percent hack (sendmail, Postfix allow_percent_hack),
// UUCP bang paths, RFC 821 source routes, and quoted or doubled "@" that a
// lax parser splits at the wrong place.
var caseTable = []struct{ name, sender, recipient, about string }{
	{"local-sender", localSender, "{to}@{ext}", "outside recipient, sender in the local domain"},
	{"outside-sender", outsideSender, "{to}@{ext}", "outside recipient, outside (fake) sender"},
	{"null-sender", "", "{to}@{ext}", "outside recipient, null sender <>"},
	{"server-name-sender", "{from}@{name}", "{to}@{ext}", "outside recipient, sender at the server's own name"},
	{"ip-literal-sender", "{from}@{ip}", "{to}@{ext}", "outside recipient, sender at the server's address literal"},
	{"percent-ip", "{from}@{ip}", "{to}%{ext}@{ip}", "percent hack at the address literal"},
	{"percent-name", "{from}@{ip}", "{to}%{ext}@{name}", "percent hack at the server's name"},
	{"quoted-at", "{from}@{ip}", `"{to}@{ext}"`, "quoted local part holding the outside address, no domain"},
	{"quoted-percent", "{from}@{ip}", `"{to}%{ext}"`, "quoted percent hack, no domain"},
	{"double-at-ip", "{from}@{ip}", "{to}@{ext}@{ip}", "two @, the last the address literal"},
	{"quoted-at-ip", "{from}@{ip}", `"{to}@{ext}"@{ip}`, "quoted local part holding the outside address, at the address literal"},
	{"quoted-at-name", "{from}@{ip}", `"{to}@{ext}"@{name}`, "quoted local part holding the outside address, at the server's name"},
	{"double-at-name", "{from}@{ip}", "{to}@{ext}@{name}", "two @, the last the server's name"},
	{"source-route-ip", "{from}@{ip}", "@{ip}:{to}@{ext}", "RFC 821 source route through the address literal"},
	{"source-route-name", "{from}@{ip}", "@{name}:{to}@{ext}", "RFC 821 source route through the server's name"},
	{"bang", "{from}@{ip}", "{ext}!{to}", "UUCP bang path, no domain"},
	{"bang-ip", "{from}@{ip}", "{ext}!{to}@{ip}", "UUCP bang path at the address literal"},
	{"bang-name", "{from}@{ip}", "{ext}!{to}@{name}", "UUCP bang path at the server's name"},
}

// The senders a case is tried again with when the server refuses its own
// at MAIL, in this order.
const (
	localSender   = "{from}@{local}"
	outsideSender = "{from}@{ext}"
)

// sendToCase is the name of the full test with DATA, run only when
// Config.SendTo is set.
const sendToCase = "send-to"

// CaseNames returns the names of the cases Run can try, in order. The
// send-to case is not among them: Config.SendTo turns it on.
func CaseNames() []string {
	names := make([]string, len(caseTable))
	for i, c := range caseTable {
		names[i] = c.name
	}
	return names
}

// Cases returns the cases for cfg against t, in the order Run tries them:
// all of them, or those named in cfg.Cases; then, when cfg.SendTo is set, the
// send-to case, whose recipient is cfg.SendTo. Unknown names in cfg.Cases are
// ignored here; Run reports them.
//
// An empty cfg.LocalDomain stands for t.Name, and an empty
// cfg.ExternalDomain for DefaultExternalDomain. An empty t.Name stands for
// the address literal.
func Cases(cfg Config, t Target) []Case {
	return cases(cfg, t, "")
}

// cases is Cases with markers when run is not empty: case n (1-based, its
// place in caseTable) gets marker run-NNa, its retries run-NNb, run-NNc;
// the send-to case number 0.
func cases(cfg Config, t Target, run string) []Case {
	lit := addrLiteral(t.IP)
	name := t.Name
	if name == "" {
		name = lit
	}
	local := cfg.LocalDomain
	if local == "" {
		local = name
	}
	ext := cfg.ExternalDomain
	if ext == "" {
		ext = DefaultExternalDomain
	}
	build := func(caseName, sender, recipient, about string, n, attempt int) Case {
		from, to, marker := senderLocal, recipientLocal, ""
		if run != "" {
			marker = fmt.Sprintf("%s-%02d%c", run, n, 'a'+attempt)
			from, to = from+"-"+marker, to+"-"+marker
		}
		rep := strings.NewReplacer(
			"{from}", from, "{to}", to,
			"{local}", local, "{ext}", ext, "{name}", name, "{ip}", lit,
		)
		return Case{Name: caseName, Sender: rep.Replace(sender), Recipient: rep.Replace(recipient), About: about, Marker: marker}
	}
	withRetries := func(c Case, sender, recipient string, n int) Case {
		for _, alt := range []string{localSender, outsideSender} {
			if alt != sender {
				r := build(c.Name, alt, recipient, c.About, n, len(c.Retries)+1)
				c.Retries = append(c.Retries, r)
			}
		}
		return c
	}
	want := map[string]bool{}
	for _, n := range cfg.Cases {
		want[n] = true
	}
	var out []Case
	for i, c := range caseTable {
		if len(want) > 0 && !want[c.name] {
			continue
		}
		cs := build(c.name, c.sender, c.recipient, c.about, i+1, 0)
		out = append(out, withRetries(cs, c.sender, c.recipient, i+1))
	}
	if cfg.SendTo != "" {
		c := build(sendToCase, localSender, "", "full message with DATA to the address given with --send-to", 0, 0)
		c.Recipient = cfg.SendTo
		out = append(out, c)
	}
	return out
}

// addrLiteral formats ip as an SMTP address literal (RFC 5321 section 4.1.3).
func addrLiteral(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return "[IPv6:" + ip.String() + "]"
	}
	return "[" + ip.String() + "]"
}
