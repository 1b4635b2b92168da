package loggen

import (
	"fmt"
	"strings"
	"time"
)

// postfix logs the scenarios as Postfix 3.x does through syslog, with the
// shapes of testdata/postfix/dev/postfix.log:
//
//	Mar  2 06:00:01 mail postfix/smtpd[4021]: connect from unknown[203.0.113.9]
//	Mar  2 06:00:01 mail postfix/smtpd[4021]: 4B49DBC34B: client=unknown[203.0.113.9]
//	Mar  2 06:00:01 mail postfix/cleanup[4030]: 4B49DBC34B: message-id=<...>
//	Mar  2 06:00:01 mail postfix/qmgr[4016]: 4B49DBC34B: from=<a@b.example>, size=615, nrcpt=1 (queue active)
//	Mar  2 06:00:01 mail postfix/local[4031]: 4B49DBC34B: to=<dave@corp.example>, relay=local, ...
//	Mar  2 06:00:01 mail postfix/qmgr[4016]: 4B49DBC34B: removed
type postfix struct {
	g                          *gen
	smtpd, reinject            pidPool
	qmgr, pickupPid, bouncePid int
	cleanup, local, smtp       []int
}

func newPostfix(g *gen) *postfix {
	p := &postfix{g: g, qmgr: 4016, pickupPid: 4015, bouncePid: 4058}
	p.smtpd.next, p.reinject.next = 4100, 9100
	p.cleanup = []int{4030, 4033, 4041}
	p.local = []int{4031, 4037, 4044, 4052}
	p.smtp = []int{4056, 4057, 4061, 4066, 4070, 4071}
	return p
}

// pidPool hands out process ids: one smtpd process serves one client at a
// time, so a pid is reused only after its session ended.
type pidPool struct {
	free []int
	busy []busyPid
	next int
}

type busyPid struct {
	pid     int
	untilMs int64
}

func (pp *pidPool) get(atMs int64) int {
	busy := pp.busy[:0]
	for _, b := range pp.busy {
		if b.untilMs < atMs {
			pp.free = append(pp.free, b.pid)
		} else {
			busy = append(busy, b)
		}
	}
	pp.busy = busy
	if n := len(pp.free); n > 0 {
		pid := pp.free[n-1]
		pp.free = pp.free[:n-1]
		return pid
	}
	pp.next += 1 + int(pp.next%7)
	return pp.next
}

func (pp *pidPool) put(pid int, untilMs int64) {
	pp.busy = append(pp.busy, busyPid{pid, untilMs})
}

func (p *postfix) add(atMs int64, daemon string, pid int, format string, args ...any) {
	p.g.add(atMs, fmt.Sprintf("mail postfix/%s[%d]: ", daemon, pid)+fmt.Sprintf(format, args...))
}

func (p *postfix) start(atMs int64) {
	p.add(atMs, "postfix-script", 4012, "starting the Postfix mail system")
	p.add(atMs+400, "master", 4014, "daemon started -- version 3.7.11, configuration /etc/postfix")
}

func (p *postfix) noise(atMs int64) {
	g := p.g
	switch g.rng.IntN(3) {
	case 0:
		p.add(atMs, "anvil", 4090, "statistics: max connection rate %d/60s for (smtp:%s) at %s",
			1+g.rng.IntN(9), pick(g, g.clients).ip, time.UnixMilli(atMs).UTC().Format("Jan _2 15:04:05"))
	case 1:
		p.add(atMs, "scache", 4091, "statistics: start interval %s", time.UnixMilli(atMs-200000).UTC().Format("Jan _2 15:04:05"))
	default:
		p.add(atMs, "anvil", 4090, "statistics: max cache size %d at %s", 1+g.rng.IntN(40),
			time.UnixMilli(atMs).UTC().Format("Jan _2 15:04:05"))
	}
}

// queueID returns a new queue id in Postfix's short form (hex). Ids are
// unique in one log: a counter through a bijection of 40 bits.
func (p *postfix) queueID() string {
	n := (p.g.next()*0x9E3779B97F + p.g.opt.Seed) & (1<<40 - 1)
	return fmt.Sprintf("%010X", n)
}

// remoteReply is what an outside server answers to a message: its queue
// id has another shape than ours, so that it is never taken for one of
// ours. accepted is the reply of a server that names no queue id.
func (g *gen) remoteReply(accepted string) string {
	switch g.rng.IntN(3) {
	case 0:
		return fmt.Sprintf("250 2.0.0 Ok: queued as 4Z%08x%04x", g.rng.Uint32(), g.rng.IntN(1<<16))
	case 1:
		return fmt.Sprintf("250 2.0.0 OK  %d %x - gsmtp", 1772000000+g.rng.IntN(1e6), g.rng.Uint64())
	}
	return accepted
}

func (p *postfix) open(atMs int64, c client, tls bool) *sess {
	s := &sess{c: c, tls: tls, atMs: atMs, pid: p.smtpd.get(atMs)}
	p.add(atMs, "smtpd", s.pid, "connect from %s", c.who())
	s.ehlo = [2]int{1, 1}
	if tls {
		s.atMs += p.g.between(20, 150)
		p.add(s.atMs, "smtpd", s.pid, "Anonymous TLS connection established from %s: %s", c.who(), tlsCipher)
		s.starttls = [2]int{1, 1}
		s.ehlo = [2]int{2, 2}
	}
	return s
}

func (p *postfix) close(s *sess) {
	s.atMs += p.g.between(5, 200)
	p.add(s.atMs, "smtpd", s.pid, "disconnect from %s %s", s.c.who(), counts(s))
	p.smtpd.put(s.pid, s.atMs)
}

// counts formats the command counts of a disconnect line:
// "ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4".
func counts(s *sess) string {
	var b strings.Builder
	ok, total := 0, 0
	for _, c := range []struct {
		name string
		n    [2]int
	}{{"ehlo", s.ehlo}, {"starttls", s.starttls}, {"auth", s.auth}, {"mail", s.mail}, {"rcpt", s.rcpt}, {"data", s.data}, {"quit", [2]int{1, 1}}} {
		if c.n[1] == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s=%d", c.name, c.n[0])
		if c.n[0] != c.n[1] {
			fmt.Fprintf(&b, "/%d", c.n[1])
		}
		b.WriteByte(' ')
		ok += c.n[0]
		total += c.n[1]
	}
	fmt.Fprintf(&b, "commands=%d", ok)
	if ok != total {
		fmt.Fprintf(&b, "/%d", total)
	}
	return b.String()
}

func (p *postfix) authFail(s *sess, method, user string) {
	s.atMs += p.g.between(500, 4000)
	p.add(s.atMs, "smtpd", s.pid, "warning: %s: SASL %s authentication failed: UGFzc3dvcmQ6, sasl_username=%s", s.c.who(), method, user)
	s.auth[1]++
}

func (p *postfix) reject(s *sess, sender, rcpt string, relay bool) {
	g := p.g
	if s.mail[1] == s.data[1] {
		s.mail[0]++
		s.mail[1]++
	}
	s.atMs += g.between(30, 400)
	why := "454 4.7.1 <" + rcpt + ">: Relay access denied"
	if !relay {
		why = "550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown in local recipient table"
	}
	p.add(s.atMs, "smtpd", s.pid, "NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>",
		s.c.who(), why, sender, rcpt, s.c.helo)
	s.rcpt[1]++
	label := LabelRelayRejected
	if !relay {
		label = LabelInbound
	}
	g.label(truthRow{clientIP: s.c.ip, sender: sender, rcpt: rcpt, label: label, auth: s.authed, notes: "rejected"})
}

func (p *postfix) accept(s *sess, m *message) {
	g := p.g
	g.cur.msgs++
	qid := p.queueID()
	s.atMs += g.between(100, 900)
	if m.authUser != "" && !s.authed {
		s.authed = true
		s.auth[0]++
		s.auth[1]++
	}
	auth := ""
	if m.authUser != "" {
		auth = ", sasl_method=" + m.authMethod + ", sasl_username=" + m.authUser
	}
	p.add(s.atMs, "smtpd", s.pid, "%s: client=%s%s", qid, s.c.who(), auth)
	mid := g.messageID(s.atMs, senderDomain(m.sender))
	s.atMs += g.between(2, 60)
	p.add(s.atMs, "cleanup", pick(g, p.cleanup), "%s: message-id=<%s>", qid, mid)
	s.atMs += g.between(2, 60)
	size := 600 + g.rng.IntN(40000)
	p.add(s.atMs, "qmgr", p.qmgr, "%s: from=<%s>, size=%d, nrcpt=%d (queue active)", qid, m.sender, size, len(m.rcpts))
	s.mail[0]++
	s.mail[1]++
	s.rcpt[0] += len(m.rcpts)
	s.rcpt[1] += len(m.rcpts)
	s.data[0]++
	s.data[1]++
	row := truthRow{messageID: "<" + mid + ">", queueID: qid, clientIP: s.c.ip, auth: m.authUser != "", sender: m.sender}
	if m.filter {
		p.filter(s.atMs, qid, mid, size, m, s.c, row)
		return
	}
	p.deliver(s.atMs+g.between(5, 50), qid, mid, m, row)
}

func (p *postfix) submit(atMs int64, m *message) {
	g := p.g
	g.cur.msgs++
	qid := p.queueID()
	uid := 1000 + g.rng.IntN(20)
	if m.localUser == "root" {
		uid = 0
	}
	p.add(atMs, "pickup", p.pickupPid, "%s: uid=%d from=<%s>", qid, uid, m.sender)
	mid := g.messageID(atMs, "mail.corp.example")
	atMs += g.between(2, 30)
	p.add(atMs, "cleanup", pick(g, p.cleanup), "%s: message-id=<%s>", qid, mid)
	atMs += g.between(2, 30)
	p.add(atMs, "qmgr", p.qmgr, "%s: from=<%s>, size=%d, nrcpt=%d (queue active)", qid, m.sender, 500+g.rng.IntN(5000), len(m.rcpts))
	p.deliver(atMs+g.between(5, 50), qid, mid, m, truthRow{messageID: "<" + mid + ">", queueID: qid, sender: m.sender})
}

// filter sends the message through a content filter that re-injects it
// (XFORWARD names the original queue id and client), then delivers the copy.
func (p *postfix) filter(atMs int64, qid, mid string, size int, m *message, c client, row truthRow) {
	g := p.g
	g.cur.msgs++
	cqid := p.queueID()
	pid := p.reinject.get(atMs)
	t := atMs + g.between(20, 200)
	p.add(t, "reinject/smtpd", pid, "connect from localhost[127.0.0.1]")
	t += g.between(20, 60)
	p.add(t, "reinject/smtpd", pid, "%s: client=localhost[127.0.0.1], orig_queue_id=%s, orig_client=%s", cqid, qid, c.who())
	t += g.between(1, 5)
	p.add(t, "cleanup", pick(g, p.cleanup), "%s: message-id=<%s>", cqid, mid)
	t += g.between(1, 5)
	p.add(t, "qmgr", p.qmgr, "%s: from=<%s>, size=%d, nrcpt=%d (queue active)", cqid, m.sender, size+180, len(m.rcpts))
	t += g.between(1, 5)
	p.add(t, "reinject/smtpd", pid, "disconnect from localhost[127.0.0.1] ehlo=2 xforward=2 mail=1 rcpt=%d data=1 quit=1 commands=%d", len(m.rcpts), 7+len(m.rcpts))
	p.reinject.put(pid, t)
	smtp := pick(g, p.smtp)
	d := t - atMs
	for _, r := range m.rcpts {
		t += g.between(0, 2)
		p.add(t, "scan/smtp", smtp, "%s: to=<%s>, relay=127.0.0.1[127.0.0.1]:10024, delay=%s, delays=0/0/%s/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)",
			qid, r.addr, secs(d), secs(d), cqid)
		row.rcpt, row.label, row.notes = r.addr, r.label, "content_filter;next_hop="+cqid
		g.label(row)
	}
	t += g.between(1, 5)
	p.add(t, "qmgr", p.qmgr, "%s: removed", qid)
	p.deliver(t+g.between(2, 20), cqid, mid, m, truthRow{messageID: "<" + mid + ">", queueID: cqid, clientIP: "127.0.0.1", sender: m.sender})
}

// deliver writes the delivery of every recipient of queue file qid from
// atMs on, and labels each with row's fields.
func (p *postfix) deliver(atMs int64, qid, mid string, m *message, row truthRow) {
	g := p.g
	last := atMs
	var bounces []rcpt
	for _, r := range m.rcpts {
		row.rcpt, row.label, row.notes = r.addr, r.label, ""
		t := atMs + g.between(1, 400)
		switch r.how {
		case toMailbox:
			p.localDelivery(t, qid, r.addr, r.to+"@corp.example")
		case toVirtualFwd:
			p.remote(t, qid, r.to, r.addr, sent)
			row.notes = "virtual_alias=" + r.to
		case toDotForward:
			t = p.dotForward(t, qid, mid, m.sender, r)
			row.notes = "dot_forward=" + r.to
		case toRemote:
			t = p.remote(t, qid, r.to, "", r.fate)
			if r.fate == bounced {
				bounces = append(bounces, r)
			}
		}
		g.label(row)
		last = max(last, t)
	}
	for _, r := range bounces {
		if m.sender == "" {
			break // a notification is never sent about a notification
		}
		last = p.notify(last+g.between(1, 20), qid, m.sender, r)
	}
	p.add(last+g.between(1, 10), "qmgr", p.qmgr, "%s: removed", qid)
}

func (p *postfix) localDelivery(atMs int64, qid, addr, final string) {
	g := p.g
	orig := ""
	if addr != final {
		orig = "orig_to=<" + addr + ">, "
	}
	d := g.between(0, 60)
	p.add(atMs, "local", pick(g, p.local), "%s: to=<%s>, %srelay=local, delay=%s, delays=%s/0/0/%s, dsn=2.0.0, status=sent (delivered to mailbox)",
		qid, final, orig, secs(d), secs(d/2), secs(d-d/2))
}

// remote writes the delivery to an outside server and returns the time of
// its last line.
func (p *postfix) remote(atMs int64, qid, to, orig string, f fate) int64 {
	g := p.g
	host, ip := mx(domainOf(to))
	smtp := pick(g, p.smtp)
	o := ""
	if orig != "" {
		o = "orig_to=<" + orig + ">, "
	}
	if f == deferred {
		d := 30000 + g.between(0, 100)
		p.add(atMs+30000, "smtp", smtp, "%s: to=<%s>, %srelay=none, delay=%s, delays=0.01/0/%s/0, dsn=4.4.1, status=deferred (connect to %s[%s]:25: Connection timed out)",
			qid, to, o, secs(d), secs(d-10), host, ip)
		atMs += 30000 + g.between(300000, 1200000) // the next queue run
	}
	d := g.between(80, 3000)
	if f == bounced {
		p.add(atMs+d, "smtp", smtp, "%s: to=<%s>, %srelay=%s[%s]:25, delay=%s, delays=0.01/0/%s/%s, dsn=5.1.1, status=bounced (host %s[%s] said: 550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
			qid, to, o, host, ip, secs(d), secs(d/2), secs(d-d/2-10), host, ip, to)
		return atMs + d
	}
	p.add(atMs+d, "smtp", smtp, "%s: to=<%s>, %srelay=%s[%s]:25, delay=%s, delays=0.01/0/%s/%s, dsn=2.0.0, status=sent (%s)",
		qid, to, o, host, ip, secs(d), secs(d/2), secs(d-d/2-10), p.g.remoteReply("250 Message accepted for delivery"))
	return atMs + d
}

// dotForward delivers r to a local address whose .forward sends it on:
// local(8) queues a new message ("forwarded as") which goes out.
func (p *postfix) dotForward(atMs int64, qid, mid, sender string, r rcpt) int64 {
	g := p.g
	g.cur.msgs++
	fqid := p.queueID()
	p.add(atMs, "cleanup", pick(g, p.cleanup), "%s: message-id=<%s>", fqid, mid)
	atMs += g.between(1, 5)
	p.add(atMs, "qmgr", p.qmgr, "%s: from=<%s>, size=%d, nrcpt=1 (queue active)", fqid, sender, 900+g.rng.IntN(4000))
	atMs += g.between(1, 5)
	p.add(atMs, "local", pick(g, p.local), "%s: to=<%s>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (forwarded as %s)", qid, r.addr, fqid)
	t := p.remote(atMs+g.between(2, 30), fqid, r.to, r.addr, sent)
	p.add(t+g.between(1, 10), "qmgr", p.qmgr, "%s: removed", fqid)
	g.label(truthRow{messageID: "<" + mid + ">", queueID: fqid, sender: sender, rcpt: r.addr, label: LabelForwarded, notes: "hop=2;via=dot_forward"})
	return atMs
}

// notify writes the non-delivery notification for a bounced recipient r of
// qid, sent to sender.
func (p *postfix) notify(atMs int64, qid, sender string, r rcpt) int64 {
	g := p.g
	g.cur.msgs++
	bqid := p.queueID()
	mid := time.UnixMilli(atMs).UTC().Format("20060102150405") + "." + bqid + "@mail.corp.example"
	p.add(atMs, "cleanup", pick(g, p.cleanup), "%s: message-id=<%s>", bqid, mid)
	atMs += g.between(1, 5)
	p.add(atMs, "qmgr", p.qmgr, "%s: from=<>, size=%d, nrcpt=1 (queue active)", bqid, 2500+g.rng.IntN(1500))
	atMs += g.between(1, 5)
	p.add(atMs, "bounce", p.bouncePid, "%s: sender non-delivery notification: %s", qid, bqid)
	t := atMs + g.between(2, 40)
	if isLocal(sender) {
		p.localDelivery(t, bqid, sender, sender)
	} else {
		t = p.remote(t, bqid, sender, "", sent)
	}
	p.add(t+g.between(1, 10), "qmgr", p.qmgr, "%s: removed", bqid)
	g.label(truthRow{messageID: "<" + mid + ">", queueID: bqid, rcpt: sender, label: LabelSystemBounce, notes: "dsn_for=" + qid + ";bounced=" + r.addr})
	return atMs
}

func isLocal(addr string) bool {
	d := domainOf(addr)
	for _, l := range localDomains {
		if d == l {
			return true
		}
	}
	return false
}

func senderDomain(sender string) string {
	if d := domainOf(sender); d != "" {
		return d
	}
	return "mailer.example"
}
