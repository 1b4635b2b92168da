package exchange

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Sessions idle this long are forgotten once many are open: their
// disconnect line was lost (a file cut mid-session, a crash).
const (
	maxSessions = 4096
	sessionIdle = time.Hour
)

// session is what a receive protocol log has said so far about one SMTP
// session.
type session struct {
	client     netip.Addr // remote-endpoint, or the XPROXYFROM client
	proxy      string     // the proxy's endpoint after an accepted XPROXYFROM
	helo, from string
	user       string // authenticated identity
	triedUser  string // "User Name:" of a failed AUTH
	pending    []command
	rcpts      int  // recipients accepted in this transaction
	authLogged bool // KindAuth already emitted for the current AUTH
	last       time.Time
	verbs      []string // the commands the client used, each once, in order
	tls        string   // STARTTLS or X-ANONYMOUSTLS, once accepted
	chunks     int      // BDAT chunks acknowledged in this transaction
	xexch50    bool     // XEXCH50 (Exchange organization data) accepted
	xshadow    string   // XSHADOW argument: the shadow server, once accepted
}

// maxVerbs bounds the distinct commands remembered per session.
const maxVerbs = 32

// noteVerb remembers that the client used verb.
func (s *session) noteVerb(verb string) {
	if verb == "" || len(s.verbs) >= maxVerbs || len(verb) > 20 {
		return
	}
	for _, v := range s.verbs {
		if v == verb {
			return
		}
	}
	s.verbs = append(s.verbs, verb)
}

// command is a client command waiting for its reply.
type command struct {
	verb string // upper case: "RCPT", "MAIL", "DATA", "AUTH", ...
	arg  string
}

// protocol parses one SMTP Receive protocol log row. Events: + connect, -
// disconnect, < from the client, > from Exchange, * information
// (protocol-logging.md). Copies pasted into forums may lose the "*": an
// empty event is read as "*".
func (p *Parser) protocol(dst []parsers.Event, ev parsers.Event, line []byte) ([]parsers.Event, error) {
	rec, err := p.record(line)
	if err != nil {
		return dst, err
	}
	get := func(i int) string { return at(rec, i) }
	ev.Time, err = stamp(get(p.c.dateTime))
	if err != nil {
		return dst, err
	}
	connector := get(p.c.connectorID)
	if ev.Host == "" {
		if srv, _, ok := strings.Cut(connector, `\`); ok {
			ev.Host = p.shortHost(srv)
		}
	}
	ev.Session = get(p.c.sessionID)
	remote, err := endpoint(get(p.c.remoteEndpoint))
	if err != nil {
		return dst, err
	}
	if p.sessions == nil {
		p.sessions = make(map[string]*session)
	}
	s := p.sessions[ev.Session]
	event := get(p.c.event)
	if s == nil || event == "+" {
		p.sweep(ev.Time)
		s = &session{client: remote}
		p.sessions[ev.Session] = s
	}
	s.last = ev.Time
	data, context := get(p.c.data), get(p.c.context)

	switch event {
	case "+":
		ev.Kind = parsers.KindConnect
		ev.Reason = connector
		return append(dst, s.fill(ev)), nil
	case "-":
		delete(p.sessions, ev.Session)
		ev.Kind = parsers.KindDisconnect
		ev.Reason = context
		if len(s.verbs) > 0 {
			// Postfix says "ehlo=1 mail=1 rcpt=0/1": the commands the
			// session used (STARTTLS, X-ANONYMOUSTLS, AUTH, X-EXPS,
			// XEXCH50, BDAT, XSHADOW, XPROXYFROM, ...).
			ev.AddAttr("commands", strings.Join(s.verbs, " "))
		}
		return append(dst, s.fill(ev)), nil
	case "<":
		return s.command(dst, ev, data), nil
	case ">":
		return s.reply(dst, ev, data), nil
	case "*", "":
		return s.info(dst, ev, data, context), nil
	}
	return dst, nil
}

// sweep forgets idle sessions when too many are open.
func (p *Parser) sweep(now time.Time) {
	if len(p.sessions) < maxSessions {
		return
	}
	for id, s := range p.sessions {
		if now.Sub(s.last) > sessionIdle {
			delete(p.sessions, id)
		}
	}
}

// fill copies what the session knows into ev.
func (s *session) fill(ev parsers.Event) parsers.Event {
	ev.ClientIP, ev.Helo, ev.SASLUser, ev.From = s.client, s.helo, s.user, s.from
	if s.proxy != "" {
		ev.ClientName = "proxy=" + s.proxy
	}
	return ev
}

func (s *session) command(dst []parsers.Event, ev parsers.Event, data string) []parsers.Event {
	verb, arg, _ := strings.Cut(strings.TrimSpace(data), " ")
	verb = strings.ToUpper(verb)
	switch verb {
	case "EHLO", "HELO":
		s.helo = strings.TrimSpace(arg)
		ev.Kind = parsers.KindHelo
		dst = append(dst, s.fill(ev))
	case "MAIL":
		s.from, s.rcpts = pathArg(arg), 0
	case "RCPT":
		arg = pathArg(arg)
	case "RSET":
		s.from, s.rcpts, s.chunks = "", 0, 0
	case "AUTH", "X-EXPS":
		s.authLogged, s.triedUser = false, ""
	}
	s.noteVerb(verb)
	if len(s.pending) > 64 {
		s.pending = s.pending[1:] // a client that never reads replies
	}
	s.pending = append(s.pending, command{verb, arg})
	return dst
}

// pathArg returns the address of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func pathArg(arg string) string {
	_, rest, ok := strings.Cut(arg, ":")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "<") {
		if end := strings.IndexByte(rest, '>'); end > 0 {
			return rest[1:end]
		}
		return rest[1:]
	}
	a, _, _ := strings.Cut(rest, " ")
	return a
}

func (s *session) reply(dst []parsers.Event, ev parsers.Event, data string) []parsers.Event {
	code, dsn, text := reply(data)
	if code == 0 || len(data) > 3 && data[3] == '-' {
		return dst // not a reply, or a continuation line (Exchange 2010 EHLO)
	}
	if code < 200 || code >= 300 && code < 400 {
		return dst // 334 AUTH challenge, 354 go ahead: the command goes on
	}
	var cmd command
	switch {
	case len(s.pending) > 0 && !answersUnseen(s.pending[0].verb, dsn):
		cmd = s.pending[0]
		s.pending = s.pending[1:]
	case code == 220:
		return dst // the greeting banner
	default:
		cmd.verb = guessVerb(code, dsn)
	}
	ev.DSN, ev.Reason = dsn, text
	if dsn == "" {
		ev.Reason = data
	}
	bad := code >= 400
	switch cmd.verb {
	case "RCPT":
		ev.Kind = parsers.KindRcpt
		if bad {
			ev.Kind = parsers.KindReject
		} else {
			s.rcpts++
		}
		ev = s.fill(ev)
		ev.Rcpt = cmd.arg
		return append(dst, ev)
	case "MAIL", "DATA", "BDAT":
		if bad {
			ev.Kind = parsers.KindReject
			dst = append(dst, s.fill(ev))
			if cmd.verb == "MAIL" {
				s.from = ""
			}
			s.chunks = 0
			return dst
		}
		if dsn != "2.6.0" {
			return dst
		}
		if cmd.verb == "BDAT" && !lastChunk(cmd.arg) || strings.HasPrefix(text, "CHUNK received") {
			// "250 2.6.0 CHUNK received OK, 65536 octets": one chunk of
			// BDAT (RFC 3030) taken; the message is queued at the chunk
			// marked LAST.
			s.chunks++
			return dst
		}
		ev = s.fill(ev)
		ev.Kind = parsers.KindClient
		ev.NRcpt = s.rcpts
		ev.MessageID, ev.QueueID = queuedReply(text)
		ev.AddAttr("data", cmd.verb)
		if cmd.verb == "BDAT" {
			ev.AddAttr("chunks", strconv.Itoa(s.chunks+1))
		}
		if s.tls != "" {
			ev.AddAttr("tls", s.tls)
		}
		if s.xexch50 {
			ev.AddAttr("xexch50", "accepted")
		}
		if s.xshadow != "" {
			ev.AddAttr("xshadow", s.xshadow)
		}
		s.from, s.rcpts, s.chunks = "", 0, 0
		return append(dst, ev)
	case "STARTTLS", "X-ANONYMOUSTLS", "XANONYMOUSTLS":
		if code == 220 {
			s.tls = cmd.verb
		}
	case "XEXCH50":
		s.xexch50 = !bad
	case "XSHADOW":
		if !bad {
			s.xshadow = cmd.arg
		}
	case "AUTH", "X-EXPS":
		method, _, _ := strings.Cut(cmd.arg, " ")
		ev.SASLMethod = strings.ToUpper(method)
		if bad {
			ev = s.fill(ev)
			ev.Kind, ev.SASLUser = parsers.KindAuthFailed, s.triedUser
			return append(dst, ev)
		}
		if s.authLogged {
			return dst
		}
		if s.user == "" {
			s.user = UnknownUser
		}
		s.authLogged = true
		ev.Kind = parsers.KindAuth
		return append(dst, s.fill(ev))
	case "XPROXYFROM", "XPROXY":
		if !bad {
			s.proxied(cmd.arg, ev)
		}
	}
	return dst
}

// lastChunk reports whether the argument of BDAT ("65536 LAST") marks the
// message's last chunk.
func lastChunk(arg string) bool {
	f := strings.Fields(arg)
	return len(f) > 1 && strings.EqualFold(f[1], "LAST")
}

// answersUnseen reports whether a reply with enhanced code dsn cannot answer
// a command verb, so it answers one logged before the file began: X.1.0 is
// about the sender (MAIL), 2.6.0 about a message (DATA, BDAT) (RFC 3463).
func answersUnseen(verb, dsn string) bool {
	switch {
	case strings.HasSuffix(dsn, ".1.0") && dsn[0] == '2':
		return verb != "MAIL"
	case dsn == "2.6.0":
		return verb != "DATA" && verb != "BDAT"
	}
	return false
}

// guessVerb names the command a reply answers when the log holds the reply
// but not the command (a file that starts mid-session).
func guessVerb(code int, dsn string) string {
	switch {
	case dsn == "2.1.5" || strings.HasPrefix(dsn, "5.7.") && code == 550 || dsn == "5.1.1" || dsn == "5.1.10":
		return "RCPT"
	case dsn == "2.6.0":
		return "DATA"
	case code == 235 || dsn == "5.7.3" || code == 535:
		return "AUTH"
	case strings.HasSuffix(dsn, ".1.0"):
		return "MAIL"
	}
	return ""
}

// queuedReply reads "<msgid> [InternalId=N, Hostname=H] 27114 bytes in ..."
// (the text after "250 2.6.0 ").
func queuedReply(text string) (msgID, internalID string) {
	if strings.HasPrefix(text, "<") {
		if end := strings.IndexByte(text, '>'); end > 0 {
			msgID = text[1:end]
		}
	}
	if _, rest, ok := strings.Cut(text, "InternalId="); ok {
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		internalID = rest[:end]
	}
	return msgID, internalID
}

// proxied applies an accepted XPROXYFROM: the Front End passes the real
// client to the hub ("XPROXYFROM SID=… IP=… PORT=… DOMAIN=… …"). From then
// on the session stands for that client; the identity the Front End
// authenticated as to the hub is not the client's, so SASLUser is cleared.
func (s *session) proxied(args string, ev parsers.Event) {
	for _, w := range strings.Fields(args) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		switch strings.ToUpper(k) {
		case "IP":
			if a, err := endpoint(v); err == nil && a.IsValid() {
				s.proxy = s.client.String()
				s.client = a
				s.user = ""
			}
		case "DOMAIN":
			s.helo = v
		}
	}
}

func (s *session) info(dst []parsers.Event, ev parsers.Event, data, context string) []parsers.Event {
	switch {
	case context == "authenticated":
		s.user = strings.TrimSpace(data)
		if s.user == "" {
			s.user = UnknownUser
		}
		s.authLogged = true
		ev.Kind = parsers.KindAuth
		return append(dst, s.fill(ev))
	case context == "Set Session Permissions":
		if data == "" || data == "None" {
			return dst
		}
		ev.Kind = parsers.KindPermit
		ev = s.fill(ev)
		ev.Reason = data
		return append(dst, ev)
	case strings.HasPrefix(context, "TLS protocol ") && strings.Contains(context, "succeeded"):
		ev.Kind = parsers.KindTLS
		ev = s.fill(ev)
		ev.Reason = context
		if s.tls != "" {
			ev.AddAttr("tls", s.tls) // STARTTLS, or X-ANONYMOUSTLS between Exchange servers
		}
		return append(dst, ev)
	case strings.HasPrefix(context, "User Name: "):
		s.triedUser = strings.TrimSpace(context[len("User Name: "):])
	}
	return dst
}

// sendRow checks a Send protocol log row. Its facts are not mapped: the
// tracking log's SEND rows say where mail went.
func (p *Parser) sendRow(dst []parsers.Event, line []byte) ([]parsers.Event, error) {
	rec, err := p.record(line)
	if err != nil {
		return dst, err
	}
	if _, err := stamp(p.get(rec, "date-time")); err != nil {
		return dst, err
	}
	if _, err := strconv.Atoi(p.get(rec, "sequence-number")); err != nil && p.get(rec, "sequence-number") != "" {
		return dst, errBadCSV
	}
	return dst, nil
}
