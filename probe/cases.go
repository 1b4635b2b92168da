package probe

import (
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
	{"local-sender", "{from}@{local}", "{to}@{ext}", "outside recipient, sender in the local domain"},
	{"outside-sender", "{from}@{ext}", "{to}@{ext}", "outside recipient, outside (fake) sender"},
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
	rep := strings.NewReplacer(
		"{from}", senderLocal, "{to}", recipientLocal,
		"{local}", local, "{ext}", ext, "{name}", name, "{ip}", lit,
	)
	want := map[string]bool{}
	for _, n := range cfg.Cases {
		want[n] = true
	}
	var cases []Case
	for _, c := range caseTable {
		if len(want) > 0 && !want[c.name] {
			continue
		}
		cases = append(cases, Case{
			Name:      c.name,
			Sender:    rep.Replace(c.sender),
			Recipient: rep.Replace(c.recipient),
			About:     c.about,
		})
	}
	if cfg.SendTo != "" {
		cases = append(cases, Case{
			Name:      sendToCase,
			Sender:    rep.Replace("{from}@{local}"),
			Recipient: cfg.SendTo,
			About:     "full message with DATA to the address given with --send-to",
		})
	}
	return cases
}

// addrLiteral formats ip as an SMTP address literal (RFC 5321 section 4.1.3).
func addrLiteral(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return "[IPv6:" + ip.String() + "]"
	}
	return "[" + ip.String() + "]"
}
