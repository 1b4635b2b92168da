package exim

import (
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// arrival parses a "<=" line (or "(=", a message accepted while the client
// was told it was refused: log_selector fakereject). The message came from
// an SMTP client (H=), from a local caller (no H=, U=login, P=local), or is
// a bounce Exim generated itself (sender <> and R=the message it is about).
//
//	<= bob@corp.example H=(localhost) [127.3.180.178] P=esmtpa A=corpus_plain:bob S=796 id=x@corp.example
//	<= emueller@gmail.example H=(smtp.example.net) [127.125.127.143]:53437 I=[127.0.0.1]:25 P=esmtps X=TLS1.3:... CV=no S=647 id=... T="Password policy" for ivan@corp.example
//	<= root@mail.corp.example U=root P=local S=845 id=20261127193648.753f6e8f4a.37@mail.corp.example
//	<= <> R=1xX1kU-0007ky-3D U=Debian-exim P=local S=2355
//
// Recipients listed after "for" (log_selector +received_recipients) become
// KindRcpt events.
func arrival(dst []parsers.Event, ev parsers.Event, flag, body string, a *attrBuf) ([]parsers.Event, error) {
	sender, rest := readAddr(body)
	if sender == "" {
		return dst, errBadLine
	}
	if sender == "<>" {
		sender = ""
	}
	ev.From = sender
	var (
		hasHost       bool
		bounceOf, who string
		rcpts         string
	)
	for rest != "" {
		var f field
		f, rest = nextField(rest)
		if f.bare {
			switch f.val {
			case "":
			case "for":
				rcpts, rest = rest, ""
			case "from":
				// " from <sender>" (+received_sender): the sender as
				// received, before rewriting.
				var w string
				w, rest = readAddr(strings.TrimLeft(rest, " "))
				a.add("from", angle(w))
			default:
				a.add(f.val, "") // K, L, DS, PRDR, TFO ...
			}
			continue
		}
		switch f.key {
		case "H":
			h, r, ok := parseHost(rest)
			if !ok {
				return dst, errBadLine
			}
			rest, hasHost = r, true
			ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, helo(h)
			a.keepHost(h)
		case "P":
			ev.Proto = f.val
		case "A":
			ev.SASLMethod, ev.SASLUser = authField(a, f.val)
		case "S":
			ev.Size, _ = strconv.ParseInt(f.val, 10, 64)
		case "id":
			ev.MessageID = angle(f.val)
		case "id*":
			// +msg_id_created: the Message-ID Exim added to a message
			// that had none (a bounce, a submission). The same join key.
			ev.MessageID = angle(f.val)
			a.add(f.key, f.val)
		case "R":
			bounceOf = f.val
			a.add(f.key, f.val)
		case "U":
			who = f.val
			a.add(f.key, f.val)
		case "Ci":
			ev.Session = f.val
		default:
			a.add(f.key, f.val)
		}
	}
	if flag == "(=" {
		ev.Reason = "fakereject"
	}
	ev.Attrs = a.attrs(ev.Attrs)
	switch {
	case hasHost:
		ev.Kind = parsers.KindClient
		dst = append(dst, ev)
	case ev.From == "" && isMessageID(bounceOf):
		ev.Kind = parsers.KindClient
		dst = append(dst, ev)
		b := ev
		b.Kind, b.QueueID, b.NextQueueID = parsers.KindBounce, bounceOf, ev.QueueID
		b.Size, b.Proto, b.MessageID, b.Reason, b.Attrs = 0, "", "", "delivery status notification", ""
		dst = append(dst, b)
	default:
		ev.Kind = parsers.KindPickup
		ev.Reason = who // the local user who called Exim, as Postfix's pickup uid
		dst = append(dst, ev)
	}
	for rcpts != "" {
		var r string
		r, rcpts = readAddr(strings.TrimLeft(rcpts, " "))
		if r == "" {
			break
		}
		rc := parsers.Event{
			Pos: ev.Pos, Time: ev.Time, Format: ev.Format, Host: ev.Host, Daemon: ev.Daemon,
			Kind: parsers.KindRcpt, Session: ev.Session, QueueID: ev.QueueID,
			ClientIP: ev.ClientIP, ClientName: ev.ClientName, Helo: ev.Helo,
			From: ev.From, Rcpt: angle(r), Raw: ev.Raw,
		}
		dst = append(dst, rc)
	}
	return dst, nil
}

// authField reads A=authenticator[:set_id[:auth sender]] and returns the
// method and the user, the method standing for the user when no set_id is
// logged. The third part (+smtp_mailauth: the AUTH= of MAIL FROM, "<>"
// when the client gave none that Exim accepted) is kept as "mailauth".
func authField(a *attrBuf, v string) (method, user string) {
	method, user, _ = strings.Cut(v, ":")
	user, sender, found := strings.Cut(user, ":")
	if found && a != nil {
		a.add("mailauth", angle(sender))
	}
	if user == "" {
		user = method
	}
	return method, user
}

// helo returns the HELO name of a client host. Exim prints it in
// parentheses only when it differs from the verified host name, so a name
// alone is also the HELO name.
func helo(h host) string {
	if h.helo != "" {
		return h.helo
	}
	return h.name
}

// delivery parses one delivery attempt for one address.
//
//	=> erin <erin@corp.example> R=local_user T=mail_spool
//	=> j.doe@outside.example <fwd-partner@corp.example> R=corpus_sink T=remote_smtp H=127.0.0.1 [127.0.0.1] C="250 2.0.0 Ok: queued as S5808209098"
//	-> lmueller@gmail.example R=corpus_sink T=remote_smtp H=127.0.0.1 [127.0.0.1] C="250 2.0.0 Ok: queued as S5808205944"
//	** fatima7602@bouncy.example R=corpus_sink T=remote_smtp H=127.0.0.2 [127.0.0.2]: SMTP error from remote mail server after RCPT TO:<fatima7602@bouncy.example>: 550 5.1.1 ...
//	** jim@trek99.example <jim@trek99.example>: unknown mail domain
//	== kofi.silva@offline.example R=corpus_sink T=remote_smtp defer (111): Connection refused
//
// The final address comes first; for a redirected address the last
// intermediate address follows in parentheses and the address the message
// was sent to in angle brackets (OrigRcpt). A delivery without a remote
// host went to a local transport, except a failed or deferred one, which
// went nowhere ("none", as Postfix says).
func delivery(dst []parsers.Event, ev parsers.Event, flag, body string, a *attrBuf) ([]parsers.Event, error) {
	ev.Kind = parsers.KindDelivery
	switch flag {
	case "**":
		ev.Status = parsers.StatusBounced
	case "==":
		ev.Status = parsers.StatusDeferred
	default:
		ev.Status = parsers.StatusSent
	}
	failed := flag == "**" || flag == "=="
	to, rest := readAddr(body)
	if to == "" {
		return dst, errBadLine
	}
	var text string
	done := false
	if failed && strings.HasSuffix(to, ":") && (rest == "" || rest[0] == ' ') {
		to, text, done = to[:len(to)-1], strings.TrimPrefix(rest, " "), true
	}
	ev.Rcpt = to
	var h host
	hasHost, fields := false, false
	for !done && rest != "" {
		rest = strings.TrimLeft(rest, " ")
		switch {
		case !fields && strings.HasPrefix(rest, "("):
			// (intermediate address), or with +all_parents every
			// parent, nearest first: "(staff@x, team@x)".
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return dst, errBadLine
			}
			for _, parent := range strings.Split(rest[1:end], ", ") {
				a.add("parent", parent)
			}
			rest = rest[end+1:]
			continue
		case !fields && strings.HasPrefix(rest, "<"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return dst, errBadLine
			}
			ev.OrigRcpt, rest = rest[1:end], rest[end+1:]
			if failed && strings.HasPrefix(rest, ":") {
				text, done = strings.TrimPrefix(rest[1:], " "), true
			}
			continue
		}
		fields = true
		var f field
		f, rest = nextField(rest)
		switch {
		case f.bare && f.val == "defer":
			// "defer (-44)": the error number of a "==" line.
			r, n := strings.TrimLeft(rest, " "), ""
			if strings.HasPrefix(r, "(") {
				n, rest = word(r)
				if strings.HasSuffix(n, ":") {
					n, f.last = n[:len(n)-1], true
				}
			}
			a.add("defer", strings.Trim(n, "()"))
		case f.bare:
			if f.val != "" {
				a.add(f.val, "") // K, L*, PRDR, DS, TFO ...
			}
		case f.key == "H":
			var ok bool
			if h, rest, ok = parseHost(rest); !ok {
				return dst, errBadLine
			}
			hasHost = true
			if failed && strings.HasPrefix(rest, ":") && (len(rest) == 1 || rest[1] == ' ') {
				text, done = strings.TrimPrefix(rest[1:], " "), true
			}
			continue
		case f.key == "F":
			ev.From = angle(f.val)
		case f.key == "C":
			// The remote server's reply to the end of data.
			ev.Reason = f.val
			ev.DSN = dsn(f.val)
			ev.NextQueueID = nextQueueID(f.val)
		case f.key == "S":
			ev.Size, _ = strconv.ParseInt(f.val, 10, 64) // +delivery_size
		default:
			a.add(f.key, f.val)
		}
		if failed && f.last {
			text, done = strings.TrimPrefix(rest, " "), true
		}
	}
	if ev.OrigRcpt == ev.Rcpt {
		ev.OrigRcpt = ""
	}
	switch {
	case hasHost:
		ev.Relay = h.relay()
	case !failed:
		ev.Relay = "local"
	default:
		ev.Relay = "none"
	}
	if failed {
		// With log_selector +deliver_time the time taken follows the
		// error text of a "**" line: "... mailbox table DT=0s".
		if i := strings.LastIndex(text, " DT="); i >= 0 && !strings.Contains(text[i+1:], " ") {
			a.add("DT", text[i+len(" DT="):])
			text = text[:i]
		}
		ev.Reason = text
		ev.DSN = dsn(text)
	}
	if flag == "*>" {
		ev.Reason = "suppressed"
	}
	ev.Attrs = a.attrs(ev.Attrs)
	return append(dst, ev), nil
}

// nextQueueID returns the queue id in a receiving server's "250 OK
// id=1xX1kT-0007kU-1j" (Exim) or "250 2.0.0 Ok: queued as 4B49DBC34B"
// (Postfix) reply. Most such servers are remote; the correlator links only
// queue ids it has seen, as with Postfix.
func nextQueueID(reply string) string {
	if i := strings.LastIndex(reply, "queued as "); i >= 0 {
		w, _ := word(reply[i+len("queued as "):])
		return strings.TrimRight(w, ",;)")
	}
	if i := strings.LastIndex(reply, " id="); i >= 0 {
		w, _ := word(reply[i+len(" id="):])
		if isMessageID(w) {
			return w
		}
	}
	return ""
}
