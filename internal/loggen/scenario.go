package loggen

// What happens on the simulated server. The scenarios decide who connects
// and what becomes of every recipient (and so its label); the MTA files
// (postfix.go, exim.go) decide how that is logged.

// how a recipient is delivered.
type how uint8

const (
	toMailbox    how = iota // a local mailbox
	toRemote                // an outside server
	toVirtualFwd            // a local address rewritten to an outside one, delivered out directly
	toDotForward            // a local address whose .forward re-queues the mail for an outside one
)

// fate is what the (last) delivery attempt to an outside server says.
type fate uint8

const (
	sent     fate = iota
	deferred      // deferred first, sent on a later queue run
	bounced       // refused by the remote server: a notification goes to the sender
)

type rcpt struct {
	addr  string // as the client gave it
	label string
	how   how
	to    string // the mailbox (toMailbox) or final outside address
	fate  fate
}

// message is one message a client (or a local user) submitted.
type message struct {
	sender     string // "" is <>
	authUser   string
	authMethod string // PLAIN, LOGIN
	localUser  string // set for a local submission (sendmail)
	filter     bool   // goes through a content filter and comes back (Postfix)
	rcpts      []rcpt
}

// sess is one SMTP session as the scenarios see it.
type sess struct {
	c      client
	tls    bool
	authed bool
	atMs   int64 // the time of the session's last line so far
	pid    int   // Postfix smtpd process

	// command counts for Postfix's disconnect line: ok and total.
	ehlo, starttls, auth, mail, rcpt, data [2]int
}

// sim is an MTA's way of logging what the scenarios do.
type sim interface {
	mtaSim
	open(atMs int64, c client, tls bool) *sess
	authFail(s *sess, method, user string)
	reject(s *sess, sender, rcpt string, relay bool)
	accept(s *sess, m *message)
	submit(atMs int64, m *message)
	close(s *sess)
}

// scenario plays one session (or local submission) starting at atMs.
func (g *gen) scenario(m sim, atMs int64) {
	switch x := g.rng.Float64(); {
	case x < 0.011:
		g.relayAbuse(m, atMs)
	case x < 0.12:
		g.relayRejected(m, atMs)
	case x < 0.25:
		g.authenticated(m, atMs)
	case x < 0.32:
		g.internal(m, atMs)
	case x < 0.36:
		g.pickup(m, atMs)
	case x < 0.40:
		g.forwarding(m, atMs)
	case x < 0.42:
		g.bruteForce(m, atMs)
	default:
		g.inbound(m, atMs)
	}
}

// messages returns how many messages a session sends: mostly one.
func (g *gen) messages() int {
	if g.chance(0.15) {
		return 2 + g.rng.IntN(2)
	}
	return 1
}

// outsideFate is what becomes of a delivery to an outside server.
func (g *gen) outsideFate() fate {
	switch x := g.rng.Float64(); {
	case x < 0.03:
		return deferred
	case x < 0.07:
		return bounced
	}
	return sent
}

// inbound: an outside server brings mail for local users; now and then a
// recipient is unknown and refused.
func (g *gen) inbound(m sim, atMs int64) {
	s := m.open(atMs, pick(g, g.clients), g.chance(0.5))
	for range g.messages() {
		sender := g.outsider(false)
		if g.chance(0.03) {
			sender = "" // a remote server's notification
		}
		if g.chance(0.08) {
			m.reject(s, sender, "no.such.user."+itoa(g.next())+"@"+pick(g, mailDomains), false)
		}
		msg := &message{sender: sender, filter: g.chance(0.05)}
		for _, l := range g.locals(1 + g.rng.IntN(3)) {
			msg.rcpts = append(msg.rcpts, rcpt{addr: l.addr, label: LabelInbound, how: toMailbox, to: l.mailbox})
		}
		m.accept(s, msg)
	}
	m.close(s)
}

// forwarding: mail for an address that forwards to an outside one.
func (g *gen) forwarding(m sim, atMs int64) {
	s := m.open(atMs, pick(g, g.clients), g.chance(0.5))
	f := pick(g, forwards)
	msg := &message{sender: g.outsider(false)}
	h := toVirtualFwd
	if f.dotForward {
		h = toDotForward
	}
	msg.rcpts = append(msg.rcpts, rcpt{addr: f.alias + "@corp.example", label: LabelForwarded, how: h, to: f.target})
	if g.chance(0.3) {
		l := g.locals(1)[0]
		msg.rcpts = append(msg.rcpts, rcpt{addr: l.addr, label: LabelInbound, how: toMailbox, to: l.mailbox})
	}
	m.accept(s, msg)
	m.close(s)
}

// outbound fills msg with outside recipients labelled label, and now and
// then a colleague.
func (g *gen) outbound(msg *message, label string) {
	for _, a := range g.outsiders(1 + g.rng.IntN(4)) {
		msg.rcpts = append(msg.rcpts, rcpt{addr: a, label: label, how: toRemote, to: a, fate: g.outsideFate()})
	}
	if g.chance(0.15) {
		l := g.locals(1)[0]
		msg.rcpts = append(msg.rcpts, rcpt{addr: l.addr, label: LabelInbound, how: toMailbox, to: l.mailbox})
	}
}

// authenticated: a user submits mail after SASL authentication, from
// anywhere.
func (g *gen) authenticated(m sim, atMs int64) {
	c := pick(g, g.clients)
	if g.chance(0.3) {
		c = pick(g, g.insiders)
	}
	s := m.open(atMs, c, g.chance(0.8))
	user := pick(g, mailboxes)
	method := "PLAIN"
	if g.chance(0.4) {
		method = "LOGIN"
	}
	for range g.messages() {
		msg := &message{sender: user + "@corp.example", authUser: user, authMethod: method, filter: g.chance(0.05)}
		g.outbound(msg, LabelAuthenticated)
		m.accept(s, msg)
	}
	m.close(s)
}

// internal: a host in the trusted networks sends without authenticating.
func (g *gen) internal(m sim, atMs int64) {
	s := m.open(atMs, pick(g, g.insiders), false)
	for range g.messages() {
		msg := &message{sender: pick(g, mailboxes) + "@corp.example", filter: g.chance(0.05)}
		g.outbound(msg, LabelInternal)
		m.accept(s, msg)
	}
	m.close(s)
}

// pickup: a local user or cron job runs sendmail(1).
func (g *gen) pickup(m sim, atMs int64) {
	user := pick(g, mailboxes)
	msg := &message{sender: user + "@corp.example", localUser: user}
	if g.chance(0.3) {
		msg.sender, msg.localUser = "root@mail.corp.example", "root"
	}
	g.outbound(msg, LabelInternal)
	m.submit(atMs, msg)
}

// relayRejected: an outside client tries to relay and is refused.
func (g *gen) relayRejected(m sim, atMs int64) {
	c := pick(g, g.clients)
	if g.chance(0.4) {
		c = pick(g, g.abusers)
	}
	s := m.open(atMs, c, false)
	sender := g.outsider(false)
	if g.chance(0.3) {
		sender = pick(g, mailboxes) + "@corp.example" // forged
	}
	for range 1 + g.rng.IntN(4) {
		m.reject(s, sender, g.outsider(true), true)
	}
	m.close(s)
}

// relayAbuse: an unauthenticated outside client has mail for outside
// domains accepted: the server is an open relay for it.
func (g *gen) relayAbuse(m sim, atMs int64) {
	s := m.open(atMs, pick(g, g.abusers), false)
	sender := g.outsider(false)
	if g.chance(0.3) {
		sender = pick(g, mailboxes) + "@corp.example" // forged
	}
	msg := &message{sender: sender, filter: g.chance(0.2)}
	for _, a := range g.outsiders(1 + g.rng.IntN(3)) {
		msg.rcpts = append(msg.rcpts, rcpt{addr: a, label: LabelRelayAbuse, how: toRemote, to: a, fate: g.outsideFate()})
	}
	m.accept(s, msg)
	m.close(s)
}

// bruteForce: a client guesses passwords.
func (g *gen) bruteForce(m sim, atMs int64) {
	c := pick(g, g.abusers)
	if g.chance(0.3) {
		c = pick(g, g.clients)
	}
	s := m.open(atMs, c, g.chance(0.5))
	for range 1 + g.rng.IntN(4) {
		user := pick(g, append(mailboxes[:3:3], "admin", "test", "info"))
		m.authFail(s, pick(g, []string{"PLAIN", "LOGIN"}), user)
		g.label(truthRow{clientIP: c.ip, rcpt: "", label: LabelAuthFailure, notes: "sasl_username=" + user})
	}
	m.close(s)
}

func itoa(n uint64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = digits[n%10]
		n /= 10
	}
	return string(b[i:])
}
