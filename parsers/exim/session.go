package exim

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// session dispatches a line about an SMTP connection rather than a message.
// The pid (log_selector +pid) is the receiving process, one per
// connection, so it identifies the session; a connection id (Ci=, Exim
// 4.97+) is preferred where logged.
//
//	SMTP connection from [127.125.127.143]:53437 I=[127.0.0.1]:25 (TCP/IP connection count = 1)
//	H=(smtp.example.net) [127.124.6.40] F=<yrossi@gmail.example> rejected RCPT <fkhan@bouncy.example>: relay not permitted
//	corpus_login authenticator failed for (User) [127.57.127.110]: 535 Incorrect authentication data (set_id=dave)
func (p *Parser) session(dst []parsers.Event, ev parsers.Event, pid, body string) ([]parsers.Event, error) {
	ev.Session = pid
	switch {
	case ev.QueueID == "" && pid != "" && p.rewrite("pid "+pid, body):
		return dst, nil
	case hasFieldPrefix(body):
		return p.reject(dst, ev, body), nil
	case strings.HasPrefix(body, "SMTP connection from "):
		return connection(dst, ev, body[len("SMTP connection from "):], &p.ab), nil
	case strings.HasPrefix(body, "SMTP connection Ci="):
		// Exim 4.97+ puts the connection id first: "SMTP connection
		// Ci=p1240 from (tester) [127.0.0.1] lost while reading message data".
		ci, rest := word(body[len("SMTP connection Ci="):])
		if rest, ok := strings.CutPrefix(rest, " from "); ok {
			ev.Session = ci
			return connection(dst, ev, rest, &p.ab), nil
		}
		return dst, nil
	case strings.HasPrefix(body, "SMTP syntax error in "):
		return syntaxError(dst, ev, body[len("SMTP syntax error in "):], &p.ab), nil
	case strings.HasPrefix(body, "SMTP protocol error in "):
		// +smtp_protocol_error: "SMTP protocol error in \"MAIL
		// FROM:<a@b>\" H=(x) [ip] sender already given".
		return syntaxError(dst, ev, body[len("SMTP protocol error in "):], &p.ab), nil
	case strings.HasPrefix(body, "Connection from ") && strings.Contains(body, " refused"):
		// +connection_reject, by the daemon: "Connection from [ip]:port
		// refused: too many connections from that IP address".
		return refusedConnection(dst, ev, body[len("Connection from "):], &p.ab), nil
	case strings.HasPrefix(body, "refused connection from "):
		// host_reject_connection: "refused connection from H=[ip] (...)".
		return refusedConnection(dst, ev, strings.TrimPrefix(body[len("refused connection from "):], "H="), &p.ab), nil
	case strings.HasPrefix(body, "unqualified recipient rejected: "), strings.HasPrefix(body, "unqualified sender rejected: "):
		return unqualified(dst, ev, body, &p.ab), nil
	case strings.HasPrefix(body, "SMTP protocol synchronization error"):
		// "SMTP protocol synchronization error (input sent without waiting
		// for greeting): rejected connection from H=[ip]:port input=...":
		// Exim drops the connection.
		reason, _, _ := strings.Cut(body, ": rejected ")
		return ended(dst, ev, parsers.KindDisconnect, reason, body), nil
	case strings.Contains(body, " authenticator failed for "):
		return authFailed(dst, ev, body, &p.ab), nil
	}
	for _, e := range endings {
		if rest, ok := strings.CutPrefix(body, e.prefix); ok {
			h, after, ok := parseHost(strings.TrimPrefix(rest, "H="))
			if !ok {
				return dst, nil
			}
			ev.Kind = e.kind
			ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, h.helo
			p.ab.keepHost(h)
			p.ab.keepFields(after)
			ev.Attrs = p.ab.attrs(ev.Attrs)
			if a, ok := ev.Attr("A"); ok && ev.SASLUser == "" { // an authenticated session without MAIL
				ev.SASLMethod, ev.SASLUser = authField(nil, a)
			}
			ev.Reason = strings.TrimSuffix(e.prefix, " from ")
			ev.Reason = strings.TrimSuffix(ev.Reason, " on connection")
			ev.Reason = strings.TrimSuffix(ev.Reason, " on TLS connection")
			if tail := tailText(after); tail != "" {
				ev.Reason += ": " + tail
			}
			return append(dst, ev), nil
		}
	}
	return dst, nil
}

// endings are the lines that end a session early, and the host that
// follows each prefix.
var endings = []struct {
	prefix string
	kind   parsers.Kind
}{
	// log_selector +smtp_no_mail: "no MAIL in SMTP connection from
	// (helo) [ip]:port I=[ip]:25 D=0s C=EHLO,QUIT"
	{"no MAIL in SMTP connection from ", parsers.KindDisconnect},
	// "SMTP call from (helo) [ip] dropped: too many syntax or protocol errors"
	{"SMTP call from ", parsers.KindDisconnect},
	{"unexpected disconnection while reading SMTP command from ", parsers.KindLost},
	{"SMTP command timeout on connection from ", parsers.KindLost},
	{"SMTP command timeout on TLS connection from ", parsers.KindLost},
	{"SMTP data timeout (message abandoned) on connection from ", parsers.KindLost},
	{"SMTP data timeout (message abandoned) on TLS connection from ", parsers.KindLost},
}

// tailText returns what follows a host: the fields Exim adds to it (I=,
// U=, X=, Ci=) skipped, the rest trimmed. Ci= is not skipped by callers
// that want the session; see connection.
func tailText(s string) string {
	s = strings.TrimLeft(s, " ")
	for s != "" && keyLen(s) > 0 {
		k := s[:keyLen(s)]
		if k != "I" && k != "U" && k != "X" && k != "Ci" && k != "CV" {
			break
		}
		_, s = nextField(s)
		s = strings.TrimLeft(s, " ")
	}
	return strings.TrimSpace(s)
}

// connection parses the lines of log_selector +smtp_connection: the start
// of a session, its orderly end and its loss.
//
//	SMTP connection from [127.125.127.143]:53437 I=[127.0.0.1]:25 (TCP/IP connection count = 1)
//	SMTP connection from (smtp.example.net) [127.125.127.143]:53437 I=[127.0.0.1]:25 closed by QUIT
//	SMTP connection from [192.0.2.1] lost while reading message data
func connection(dst []parsers.Event, ev parsers.Event, s string, a *attrBuf) []parsers.Event {
	h, rest, ok := parseHost(s)
	if !ok {
		return dst
	}
	ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, h.helo
	if i := strings.Index(rest, " Ci="); i >= 0 {
		ev.Session, _ = word(rest[i+len(" Ci="):])
	}
	a.keepHost(h)
	a.keepFields(rest)
	if i := strings.Index(rest, "(TCP/IP connection count = "); i >= 0 {
		n, _, _ := strings.Cut(rest[i+len("(TCP/IP connection count = "):], ")")
		a.add("count", n)
	}
	text := tailText(rest)
	switch {
	case text == "" || strings.HasPrefix(text, "(TCP/IP connection count"):
		ev.Kind = parsers.KindConnect
	case strings.HasPrefix(text, "lost"):
		ev.Kind = parsers.KindLost
		ev.Reason = text
	default:
		ev.Kind = parsers.KindDisconnect
		ev.Reason = text
	}
	ev.Attrs = a.attrs(ev.Attrs)
	return append(dst, ev)
}

// ended records a session ended by the server, its client found after
// "H=" anywhere in line.
func ended(dst []parsers.Event, ev parsers.Event, kind parsers.Kind, reason, line string) []parsers.Event {
	i := strings.Index(line, "H=")
	if i < 0 {
		return dst
	}
	h, _, ok := parseHost(line[i+2:])
	if !ok {
		return dst
	}
	ev.Kind = kind
	ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, h.helo
	ev.Reason = reason
	return append(dst, ev)
}

// syntaxError parses the log of a command refused as malformed
// (log_selector +smtp_syntax_error, on in Debian). A malformed RCPT TO is
// a refused recipient; a malformed MAIL FROM a refused sender.
//
//	SMTP syntax error in "RCPT TO:<jsmith@victim.example@corp.example>" H=(localhost) [127.57.127.110] malformed address: @corp.example> may not follow <jsmith@victim.example
func syntaxError(dst []parsers.Event, ev parsers.Event, s string, a *attrBuf) []parsers.Event {
	cmd, rest, ok := strings.Cut(s, `" H=`)
	if !ok || !strings.HasPrefix(cmd, `"`) {
		return dst
	}
	cmd = unescape(cmd[1:])
	verb, arg, _ := strings.Cut(cmd, ":")
	verb = strings.ToUpper(strings.Join(strings.Fields(verb), " "))
	arg = strings.TrimSpace(arg)
	if a, _, ok := strings.Cut(arg, "> "); ok { // "<a@b> SIZE=123"
		arg = a + ">"
	}
	switch verb {
	case "RCPT TO":
		ev.Rcpt = angle(arg)
		verb = "RCPT"
	case "MAIL FROM":
		ev.From = angle(arg)
		verb = "MAIL"
	default:
		// Another command (EHLO, AUTH, BDAT, an unknown one): a refusal
		// without an address, kept as evidence of the session.
		verb, _, _ = strings.Cut(verb, " ")
		if verb == "" {
			verb = "command"
		}
		a.add("command", cmd)
	}
	h, rest, ok := parseHost(rest)
	if !ok {
		return dst
	}
	ev.Kind = parsers.KindReject
	ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, helo(h)
	a.keepHost(h)
	a.keepFields(rest)
	ev.Reason = verb + ": " + tailText(rest)
	ev.Attrs = a.attrs(ev.Attrs)
	return append(dst, ev)
}

// refusedConnection parses a connection the daemon refused before any
// SMTP (+connection_reject): too many connections, the load average,
// host_reject_connection. It is a refusal without an address.
//
//	Connection from [192.0.2.7]:4711 refused: too many connections from that IP address
func refusedConnection(dst []parsers.Event, ev parsers.Event, s string, a *attrBuf) []parsers.Event {
	h, rest, ok := parseHost(s)
	if !ok || !h.ip.IsValid() {
		return dst
	}
	ev.Kind = parsers.KindReject
	ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, h.helo
	a.keepHost(h)
	a.keepFields(rest)
	ev.Reason = "connection " + strings.TrimPrefix(strings.TrimSpace(tailText(rest)), ": ")
	ev.Attrs = a.attrs(ev.Attrs)
	return append(dst, ev)
}

// unqualified parses the refusal of an address without a domain at RCPT
// or MAIL (smtp_in.c, qualify_recipient: "501 …: recipient address must
// contain a domain"), logged with +smtp_syntax_error to the mainlog and
// the rejectlog:
//
//	unqualified recipient rejected: <"relaytest@relaytest.invalid"> H=(probe.test) [127.0.0.2]
//	unqualified sender rejected: <bob> H=(x) [192.0.2.7]:4711 I=[192.0.2.1]:25
func unqualified(dst []parsers.Event, ev parsers.Event, body string, a *attrBuf) []parsers.Event {
	what, rest, _ := strings.Cut(body, " rejected: ")
	addr, rest, ok := strings.Cut(rest, "> H=")
	if !ok || !strings.HasPrefix(addr, "<") {
		return dst
	}
	addr = addr[1:]
	h, rest, ok := parseHost(rest)
	if !ok {
		return dst
	}
	stage := "RCPT"
	if what == "unqualified sender" {
		stage = "MAIL"
		ev.From = addr
	} else {
		ev.Rcpt = addr
	}
	ev.Kind = parsers.KindReject
	ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, helo(h)
	a.keepHost(h)
	a.keepFields(rest)
	ev.Reason = stage + ": " + what + " rejected"
	if tail := tailText(rest); tail != "" {
		ev.Reason += ": " + tail
	}
	ev.Attrs = a.attrs(ev.Attrs)
	return append(dst, ev)
}

// authFailed parses a failed SMTP AUTH. The first word is the name of the
// authenticator (driver instance) in Exim's configuration; set_id is the
// name the client gave, when the authenticator sets one.
//
//	corpus_plain authenticator failed for ([127.221.232.128]) [127.221.232.128]: 535 Incorrect authentication data (set_id=test)
//	dovecot_login authenticator failed for H=(User) [192.0.2.7]:52436 I=[192.0.2.1]:587: 535 Incorrect authentication data (set_id=x)
func authFailed(dst []parsers.Event, ev parsers.Event, body string, a *attrBuf) []parsers.Event {
	name, rest, _ := strings.Cut(body, " authenticator failed for ")
	if name == "" || strings.ContainsRune(name, ' ') {
		return dst
	}
	h, rest, ok := parseHost(strings.TrimPrefix(rest, "H="))
	if !ok {
		return dst
	}
	a.keepHost(h)
	// Fields (I=[ip]:port, U=ident) up to the ": " before the reply.
	for !strings.HasPrefix(rest, ": ") && rest != ":" {
		var f field
		f, rest = nextField(rest)
		if f.key != "" {
			a.add(f.key, f.val)
		}
		if f.last || rest == "" {
			break
		}
	}
	reply := strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	if i := strings.LastIndex(reply, "(set_id="); i >= 0 && strings.HasSuffix(reply, ")") {
		ev.SASLUser = reply[i+len("(set_id=") : len(reply)-1]
		reply = strings.TrimSpace(reply[:i])
	}
	ev.Kind = parsers.KindAuthFailed
	ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, h.helo
	ev.SASLMethod = name
	ev.DSN = dsn(reply)
	ev.Reason = reply
	ev.Attrs = a.attrs(ev.Attrs)
	return append(dst, ev)
}
