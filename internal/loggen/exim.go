package loggen

import (
	"fmt"
	"time"
)

// exim logs the scenarios as Exim 4.96 writes its mainlog with the default
// log_selector, in the shapes of testdata/exim/dev/mainlog:
//
//	2026-03-02 06:00:01 1xX1kN-0007i0-1Z <= a@b.example H=mx1.b.example [203.0.113.9] P=esmtps X=TLS1.3:... CV=no S=626 id=...
//	2026-03-02 06:00:01 1xX1kN-0007i0-1Z => erin <erin@corp.example> R=local_user T=mail_spool
//	2026-03-02 06:00:01 1xX1kN-0007i0-1Z Completed
//	2026-03-02 06:00:02 H=(ylmf-pc) [203.0.113.7] F=<a@b.example> rejected RCPT <x@victim.example>: relay not permitted
type exim struct {
	g *gen
}

func newExim(g *gen) *exim { return &exim{g: g} }

const (
	eximTLS       = "X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no"
	base62        = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	eximDaemonPid = 2963
)

func (e *exim) add(atMs int64, format string, args ...any) {
	e.g.add(atMs, fmt.Sprintf(format, args...))
}

func (e *exim) start(atMs int64) {
	e.add(atMs, "exim 4.96 daemon started: pid=%d, -q30m, listening for SMTP on port 25 (IPv6 and IPv4)", eximDaemonPid)
}

func (e *exim) noise(atMs int64) {
	g := e.g
	pid := 30000 + g.rng.IntN(30000)
	e.add(atMs, "Start queue run: pid=%d", pid)
	if g.planned+len(g.cur.lines) < g.opt.Lines-1 {
		e.add(atMs+g.between(5, 300), "End queue run: pid=%d", pid)
	}
}

// messageID returns a new Exim message id in the classic 6-6-2 form: the
// time, the receiving process and a fraction of a second, in base 62. The
// process part is a counter, so ids are unique in one log.
func (e *exim) messageID(atMs int64) string {
	var b [16]byte
	put := func(dst []byte, n uint64) {
		for i := len(dst) - 1; i >= 0; i-- {
			dst[i] = base62[n%62]
			n /= 62
		}
	}
	put(b[0:6], uint64(atMs/1000))
	b[6] = '-'
	put(b[7:13], e.g.next())
	b[13] = '-'
	put(b[14:16], uint64(e.g.rng.IntN(62*62)))
	return string(b[:])
}

func (e *exim) open(atMs int64, c client, tls bool) *sess {
	if c.name == "unknown" {
		e.add(atMs, "no host name found for IP address %s", c.ip)
	}
	return &sess{c: c, tls: tls, atMs: atMs}
}

func (e *exim) close(s *sess) {}

func (e *exim) authFail(s *sess, method, user string) {
	s.atMs += e.g.between(500, 4000)
	e.add(s.atMs, "dovecot_%s authenticator failed for (%s) [%s]: 535 Incorrect authentication data (set_id=%s)",
		lower(method), s.c.helo, s.c.ip, user)
}

func (e *exim) reject(s *sess, sender, rcpt string, relay bool) {
	g := e.g
	s.atMs += g.between(30, 400)
	why, label := "relay not permitted", LabelRelayRejected
	if !relay {
		why, label = "Unrouteable address", LabelInbound
	}
	e.add(s.atMs, "H=%s F=<%s> rejected RCPT <%s>: %s", s.c.eximHost(), sender, rcpt, why)
	g.label(truthRow{clientIP: s.c.ip, sender: sender, rcpt: rcpt, label: label, notes: "rejected"})
}

func (e *exim) accept(s *sess, m *message) {
	g := e.g
	g.cur.msgs++
	s.atMs += g.between(200, 1500)
	id := e.messageID(s.atMs)
	mid := g.messageID(s.atMs, senderDomain(m.sender))
	proto := "esmtp"
	if s.tls {
		proto = "esmtps"
	}
	auth := ""
	if m.authUser != "" {
		proto += "a"
		auth = " A=dovecot_" + lower(m.authMethod) + ":" + m.authUser
	}
	tls := ""
	if s.tls {
		tls = " " + eximTLS
	}
	sender := m.sender
	if sender == "" {
		sender = "<>"
	}
	e.add(s.atMs, "%s <= %s H=%s P=%s%s%s S=%d id=%s", id, sender, s.c.eximHost(), proto, tls, auth, 600+g.rng.IntN(40000), mid)
	row := truthRow{messageID: "<" + mid + ">", queueID: id, clientIP: s.c.ip, auth: m.authUser != "", sender: m.sender}
	e.deliver(s.atMs+g.between(5, 300), id, m, row)
}

func (e *exim) submit(atMs int64, m *message) {
	g := e.g
	g.cur.msgs++
	id := e.messageID(atMs)
	mid := g.messageID(atMs, "mail.corp.example")
	e.add(atMs, "%s <= %s U=%s P=local S=%d id=%s", id, m.sender, m.localUser, 500+g.rng.IntN(5000), mid)
	e.deliver(atMs+g.between(5, 300), id, m, truthRow{messageID: "<" + mid + ">", queueID: id, sender: m.sender})
}

// deliver writes the deliveries of message id, one queue run, then
// "Completed"; deferred recipients are delivered on a later run.
func (e *exim) deliver(atMs int64, id string, m *message, row truthRow) {
	g := e.g
	t := atMs
	hosts := map[string]bool{} // the hosts this run has a connection to
	var later, bounces []rcpt
	for _, r := range m.rcpts {
		row.rcpt, row.label, row.notes = r.addr, r.label, ""
		t += g.between(0, 200)
		switch r.how {
		case toMailbox:
			e.add(t, "%s => %s <%s> R=local_user T=mail_spool", id, r.to, r.addr)
		case toVirtualFwd, toDotForward:
			t = e.remote(t, id, r.to, r.addr, hosts)
			row.notes = "forward=" + r.to
		case toRemote:
			switch r.fate {
			case deferred:
				e.add(t, "%s == %s R=dnslookup T=remote_smtp defer (110): Connection timed out", id, r.to)
				later = append(later, r)
			case bounced:
				host, ip := mx(domainOf(r.to))
				t += g.between(50, 1500)
				e.add(t, "%s ** %s R=dnslookup T=remote_smtp H=%s [%s]: SMTP error from remote mail server after RCPT TO:<%s>: 550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table",
					id, r.to, host, ip, r.to, r.to)
				bounces = append(bounces, r)
			default:
				t = e.remote(t, id, r.to, "", hosts)
			}
		}
		g.label(row)
	}
	for _, r := range bounces {
		if m.sender == "" {
			break
		}
		t = e.notify(t+g.between(1, 20), id, m.sender, r)
	}
	if len(later) > 0 {
		t += g.between(300000, 1200000) // the next queue run
		hosts = map[string]bool{}
		for _, r := range later {
			t = e.remote(t+g.between(0, 200), id, r.to, "", hosts)
		}
	}
	e.add(t+g.between(1, 10), "%s Completed", id)
}

// remote writes a delivery to an outside server: "=>" for the first
// address on a connection, "->" for the next ones on the same.
func (e *exim) remote(atMs int64, id, to, orig string, hosts map[string]bool) int64 {
	g := e.g
	host, ip := mx(domainOf(to))
	flag := "=>"
	if hosts[host] {
		flag = "->"
	} else {
		atMs += g.between(50, 2500)
	}
	hosts[host] = true
	o := ""
	if orig != "" {
		o = " <" + orig + ">"
	}
	e.add(atMs, `%s %s %s%s R=dnslookup T=remote_smtp H=%s [%s] %s C="%s"`, id, flag, to, o, host, ip, eximTLS, e.g.remoteReply("250 Message accepted for delivery"))
	return atMs
}

// notify writes the bounce message Exim sends to sender about r.
func (e *exim) notify(atMs int64, parent, sender string, r rcpt) int64 {
	g := e.g
	g.cur.msgs++
	id := e.messageID(atMs)
	e.add(atMs, "%s <= <> R=%s U=Debian-exim P=local S=%d", id, parent, 2000+g.rng.IntN(1500))
	t := atMs + g.between(2, 100)
	if isLocal(sender) {
		local, _, _ := cutAt(sender)
		e.add(t, "%s => %s <%s> R=local_user T=mail_spool", id, local, sender)
	} else {
		t = e.remote(t, id, sender, "", map[string]bool{})
	}
	e.add(t+g.between(1, 10), "%s Completed", id)
	g.label(truthRow{messageID: "", queueID: id, rcpt: sender, label: LabelSystemBounce,
		notes: "dsn_for=" + parent + ";bounced=" + r.addr + ";at=" + time.UnixMilli(atMs).UTC().Format(time.RFC3339)})
	return atMs
}

func cutAt(addr string) (local, domain string, ok bool) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[:i], addr[i+1:], true
		}
	}
	return addr, "", false
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
