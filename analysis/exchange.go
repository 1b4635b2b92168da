package analysis

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Exchange splits what the relay question needs between two logs (see
// parsers/exchange): the Front End's SMTP Receive protocol log knows the
// real client, whether it authenticated and what each RCPT was answered,
// but queues nothing; the Transport service's message tracking log knows
// the message (internal-message-id), its recipients and where each went,
// but never names an authenticated user, and its client-ip is the Front End.
// The two meet in the Front End's "250 2.6.0 <message-id> [InternalId=N,
// Hostname=H]" reply: N is the internal-message-id of the tracking rows on
// H.
//
// So the Message of an Exchange mail is the hub's queue file, keyed by host
// and internal-message-id, and every log adds to it whichever comes first:
//
//   - The receive session (KindClient from a 2.6.0 reply) says how it
//     arrived: client IP (the remote endpoint, or the XPROXYFROM client),
//     HELO, authenticated user, envelope sender, and the recipients the
//     session's RCPTs were answered 2xx. When it is there, it decides.
//   - A tracking RECEIVE (KindClient) gives the same from the hub's side:
//     original-client-ip (the real client behind the Front End), sender,
//     recipients, directionality. It decides only when no session did.
//   - SEND, SENDEXTERNAL, DELIVER, FAIL, DEFER, DROP are the deliveries;
//     REDIRECT, RESOLVE and EXPAND map the new address back to the one the
//     client gave, so a mailbox forwarded outside is Forwarded; a DSN row
//     starts the notification's own message, a SystemBounce.
//   - Rows of the Mailbox Transport services (MSGTRKMD deliveries, MSGTRKMS
//     submissions) have internal ids of their own and are joined by
//     Message-ID; until the hub's message is known they wait.
//   - A message received again by another Exchange server (same
//     Message-ID, another host) continues the first one (ViaTransport) and
//     is judged by the first one's client.
//
// Refused RCPTs are the shared refusals (Correlator.reject), with the
// session's client and user. Neither log alone proves relay abuse:
//
//   - Protocol log only: an anonymous session from outside the trusted
//     networks whose RCPT to an outside domain was answered 2xx and whose
//     message was queued is RelayAbuse; the reason says the delivery is not
//     in the log.
//   - Tracking log only: a RECEIVE whose original-client-ip is outside, for
//     an outside recipient, is RelayAbuse unless the receive connector is the
//     hub's "Client Proxy" one (which only takes sessions the Front End
//     authenticated); directionality=Originating is not taken as
//     authentication, since an externally secured connector marks anonymous
//     mail Originating. The reason says so and that the verdict is of lower
//     confidence.
//
// The join happens within one run: a receive log ingested by one run and
// the tracking log by another are judged each on its own.

// ViaTransport marks a message that another Exchange server received from
// this one (intra-organisation SEND, then RECEIVE with the same
// Message-ID).
const ViaTransport = "transport"

// exchangeClientProxy is the Transport service's receive connector for
// sessions the Front End's "Client Frontend" connector authenticated
// (receive-connectors.md).
const exchangeClientProxy = `\Client Proxy `

// exchangeProxyUser stands for the user of a session known to have
// authenticated only because it came through the Client Proxy connector.
const exchangeProxyUser = "(Client Proxy connector)"

// Bounds on what waits for a join.
const (
	exchangeMaxWaiting = 1 << 16 // events waiting for their message's Message-ID
	exchangeMaxRcpts   = 1000    // accepted RCPTs of one session waiting for 250 2.6.0
)

// exchangeState is what the correlator holds for Exchange beyond the shared
// messages and sessions.
type exchangeState struct {
	rcpts    map[string]*exSession      // by host|session: accepted RCPTs not yet queued
	byMsgID  map[string][]*Message      // lower-cased Message-ID → hub messages
	waiting  map[string][]parsers.Event // lower-cased Message-ID → rows of other services
	nwaiting int
	swept    time.Time
}

type exSession struct {
	rcpts      []exRcpt
	anyRcpt    bool // Set Session Permissions granted SMTPAcceptAnyRecipient
	authMethod string
	last       time.Time
}

type exRcpt struct {
	addr, from string
	pos        parsers.Pos
}

// exInfo is what the Exchange logs said about one message, for the reason
// and for the join.
type exInfo struct {
	session   string // the receive session that queued it ("" if not in the log)
	tracked   bool   // a tracking RECEIVE (or a mailbox submission) was read
	submitted bool   // RECEIVE from STOREDRIVER or a pickup directory
	trace     bool   // only an Exchange Online message trace record
	direction string // tracking directionality
	connector string // tracking connector-id
	anyRcpt   bool   // the session had SMTPAcceptAnyRecipient
	redirect  map[string]string
}

func (c *Correlator) exchange() *exchangeState {
	if c.ex == nil {
		c.ex = &exchangeState{
			rcpts:   make(map[string]*exSession),
			byMsgID: make(map[string][]*Message),
			waiting: make(map[string][]parsers.Event),
		}
	}
	return c.ex
}

// feedExchange takes one Exchange event (see Feed).
func (c *Correlator) feedExchange(ev parsers.Event) {
	x := c.exchange()
	if c.now.Sub(x.swept) > time.Minute {
		c.sweepExchange()
	}
	switch ev.Daemon {
	case "smtpreceive", "smtpsvc":
		c.exSession(ev)
	case "msgtrkmd", "msgtrkms", "msgtrkma":
		c.exOtherService(ev)
	case "messagetrace":
		c.exTrace(ev)
	default:
		c.exTracking(ev)
	}
}

// exSession takes a receive protocol log (or IIS W3C) event. Every such
// event carries what its session has said so far (client, HELO, user,
// sender), which the shared session keeps for refusals.
func (c *Correlator) exSession(ev parsers.Event) {
	x := c.ex
	key := ev.Host + "|" + ev.Session
	if ev.Session == "" {
		return
	}
	s := c.session(ev, true)
	if ip := ipString(ev); ip != "" {
		s.ip = ip
	}
	if ev.Helo != "" {
		s.helo = ev.Helo
	}
	xs := x.rcpts[key]
	if xs == nil {
		xs = &exSession{}
		x.rcpts[key] = xs
	}
	xs.last = ev.Time
	if ev.SASLMethod != "" {
		xs.authMethod = ev.SASLMethod
	}
	s.authUser, s.authMethod = ev.SASLUser, xs.authMethod
	switch ev.Kind {
	case parsers.KindConnect:
		x.rcpts[key] = &exSession{last: ev.Time}
	case parsers.KindDisconnect:
		delete(c.sessions, key)
		delete(x.rcpts, key)
	case parsers.KindPermit:
		xs.anyRcpt = strings.Contains(ev.Reason, "SMTPAcceptAnyRecipient")
	case parsers.KindRcpt:
		if len(xs.rcpts) > 0 && xs.rcpts[len(xs.rcpts)-1].from != ev.From {
			xs.rcpts = xs.rcpts[:0] // a new transaction
		}
		if len(xs.rcpts) < exchangeMaxRcpts && ev.Rcpt != "" {
			xs.rcpts = append(xs.rcpts, exRcpt{addr: ev.Rcpt, from: ev.From, pos: ev.Pos})
		}
	case parsers.KindReject:
		if ev.Rcpt != "" {
			c.reject(ev)
			return
		}
		// MAIL FROM, DATA or BDAT refused: the recipients this transaction
		// had accepted are refused with its message.
		for _, r := range xs.rcpts {
			if r.from == ev.From {
				e := ev
				e.Rcpt = r.addr
				c.reject(e)
			}
		}
		xs.rcpts = xs.rcpts[:0]
	case parsers.KindClient:
		pend := xs.rcpts
		if ev.NRcpt > 0 && ev.NRcpt < len(pend) {
			pend = pend[len(pend)-ev.NRcpt:]
		}
		xs.rcpts = nil
		c.exQueued(ev, pend, xs)
	}
}

// exQueued joins a session's "250 2.6.0" reply (or an IIS log's DATA 250)
// to the hub's message.
func (c *Correlator) exQueued(ev parsers.Event, rcpts []exRcpt, xs *exSession) {
	host, qid := ev.Host, ev.QueueID
	if h := queuedHost(ev.Reason); h != "" {
		host = h
	}
	if qid == "" {
		// IIS SMTP logs no queue id: the message is the session's.
		qid = ev.Session + "/" + strconv.Itoa(ev.Pos.Line)
	}
	m := c.exFind(host, qid)
	if m == nil {
		m = c.exNew(ev, host, qid)
	}
	m.Origin = OriginSMTP
	m.ClientIP = ev.ClientIP
	if ev.ClientName != "" {
		m.ClientName = ev.ClientName
	}
	m.Helo = ev.Helo
	m.Session = ev.Session
	m.AuthUser, m.AuthMethod = ev.SASLUser, ""
	if ev.SASLUser != "" {
		m.AuthMethod = xs.authMethod
	}
	m.Sender, m.SenderSet = ev.From, true
	if ev.MessageID != "" {
		m.MessageID = ev.MessageID
	}
	m.ex.session = ev.Session
	m.ex.anyRcpt = xs.anyRcpt
	c.evidence(m, ev.Pos)
	for _, r := range rcpts {
		rr := c.recipient(m, r.addr)
		rr.Pos = appendPos(rr.Pos, r.pos)
	}
	c.exArrived(m)
}

// queuedHost returns the short name of the Hostname= in a 2.6.0 reply.
func queuedHost(reply string) string {
	_, rest, ok := strings.Cut(reply, "Hostname=")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, "], ")
	if end >= 0 {
		rest = rest[:end]
	}
	return shortName(rest)
}

// shortName turns "exsrv2.nwtraders.example" into "EXSRV2", as the parser
// names hosts.
func shortName(s string) string {
	if s == "" || strings.Count(s, ".") == 3 && strings.Trim(s, "0123456789.") == "" || strings.Contains(s, ":") {
		return s // an IP address
	}
	s, _, _ = strings.Cut(s, ".")
	return strings.ToUpper(s)
}

// exTracking takes a row of the Transport service's tracking log.
func (c *Correlator) exTracking(ev parsers.Event) {
	switch ev.Kind {
	case parsers.KindClient, parsers.KindPickup:
		m := c.exFind(ev.Host, ev.QueueID)
		if m == nil {
			m = c.exNew(ev, ev.Host, ev.QueueID)
		}
		m.ex.tracked = true
		m.ex.direction, m.ex.connector = trackingField(ev.Reason, "directionality"), trackingField(ev.Reason, "connector")
		if m.ex.session == "" {
			// No receive session has said how it arrived: the row decides.
			m.Origin = OriginSMTP
			if ev.Kind == parsers.KindPickup {
				m.Origin = OriginLocal
				m.ex.submitted = true
			}
			m.ClientIP, m.Session, m.Proto = ev.ClientIP, ev.Session, ev.Proto
			m.AuthUser, m.AuthMethod = "", ""
			if ev.Kind == parsers.KindClient && strings.Contains(m.ex.connector+" ", exchangeClientProxy) {
				m.AuthUser = exchangeProxyUser
			}
			if ev.MessageID != "" {
				m.MessageID = ev.MessageID
			}
			m.Sender, m.SenderSet = ev.From, true
		}
		if ev.ClientName != "" && (m.ClientName == "" || m.ex.session == "") {
			m.ClientName = ev.ClientName
		}
		if m.MessageID == "" {
			m.MessageID = ev.MessageID
		}
		c.evidence(m, ev.Pos)
		c.exArrived(m)
	case parsers.KindRcpt:
		m := c.exFind(ev.Host, ev.QueueID)
		if m == nil {
			c.stats.Orphans++
			return
		}
		m.lastSeen = ev.Time
		c.exRcpt(m, ev)
	case parsers.KindDelivery:
		m := c.exFind(ev.Host, ev.QueueID)
		if m == nil {
			c.stats.Orphans++
			return
		}
		c.exDeliver(m, ev)
	case parsers.KindBounce:
		c.exBounce(ev)
	}
}

// trackingField reads "name=value" from the parser's RECEIVE Reason
// ("directionality=Incoming;connector=EXSRV2\Default EXSRV2").
func trackingField(reason, name string) string {
	for _, kv := range strings.Split(reason, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// exRcpt takes a recipient row: one the client gave (RECEIVE), or one the
// server added (REDIRECT, RESOLVE, EXPAND: OrigRcpt is the address it came
// from), which is remembered so that its deliveries count for the address
// the client gave.
func (c *Correlator) exRcpt(m *Message, ev parsers.Event) {
	if ev.Rcpt == "" {
		return
	}
	if ev.OrigRcpt != "" && !strings.EqualFold(ev.OrigRcpt, ev.Rcpt) {
		if m.ex.redirect == nil {
			m.ex.redirect = make(map[string]string)
		}
		orig := m.ex.root(ev.OrigRcpt)
		if !strings.EqualFold(orig, ev.Rcpt) {
			m.ex.redirect[strings.ToLower(ev.Rcpt)] = orig
		}
		if r := findRcpt(m, orig); r != nil {
			r.Pos = appendPos(r.Pos, ev.Pos)
		}
		c.touch(m)
		return
	}
	r := c.recipient(m, ev.Rcpt)
	r.Pos = appendPos(r.Pos, ev.Pos)
	c.touch(m)
}

// root follows recorded redirects back to the address the client gave.
func (x *exInfo) root(addr string) string {
	for i := 0; i < 8; i++ {
		orig, ok := x.redirect[strings.ToLower(addr)]
		if !ok {
			break
		}
		addr = orig
	}
	return addr
}

// exDeliver records one delivery of m, as Correlator.delivery does.
func (c *Correlator) exDeliver(m *Message, ev parsers.Event) {
	m.lastSeen = ev.Time
	addr := ev.Rcpt
	if ev.OrigRcpt != "" {
		addr = ev.OrigRcpt
	}
	addr = m.ex.root(addr)
	if addr == "" {
		return
	}
	r := findRcpt(m, addr)
	if r == nil && ev.Daemon != "msgtrk" && ev.Daemon != "messagetrace" {
		// Another service's row for a recipient the hub did not list
		// (a distribution group member, say): not one the client gave.
		c.evidence(m, ev.Pos)
		return
	}
	if r == nil {
		r = c.recipient(m, addr)
	}
	r.Pos = appendPos(r.Pos, ev.Pos)
	d := Delivery{To: ev.Rcpt, Relay: ev.Relay, DSN: ev.DSN, Status: ev.Status, Reason: ev.Reason}
	replaced := false
	for i := range r.Deliveries {
		if strings.EqualFold(r.Deliveries[i].To, d.To) {
			replaced = true
			// The mailbox delivery (MSGTRKMD) is final; the hub's
			// intra-organisation SEND that led to it may be read after it.
			if old := r.Deliveries[i]; old.Relay != "local" || old.Status != StatusSent || d.Relay == "local" {
				r.Deliveries[i] = d
			}
		}
	}
	if !replaced {
		r.Deliveries = append(r.Deliveries, d)
	}
	c.touch(m)
}

// exBounce takes a DSN row. On the notification's own row NextQueueID is
// its internal id, MessageID the original's and Reason "ndr=<its
// Message-ID>": the notification is a message the server generated.
func (c *Correlator) exBounce(ev parsers.Event) {
	if ev.NextQueueID == "" {
		return // the original's side of the DSN: nothing to add
	}
	m := c.exFind(ev.Host, ev.NextQueueID)
	if m == nil {
		e := ev
		e.MessageID = strings.TrimPrefix(ev.Reason, "ndr=")
		m = c.exNew(e, ev.Host, ev.NextQueueID)
	}
	m.Origin = OriginBounce
	m.Sender, m.SenderSet = ev.From, true
	m.ex.tracked = true
	c.evidence(m, ev.Pos)
	if ev.Rcpt != "" {
		r := c.recipient(m, ev.Rcpt)
		r.Pos = appendPos(r.Pos, ev.Pos)
	}
	if parent := c.exByMessageID(ev.MessageID, ev.Host, ""); parent != nil && parent != m {
		c.link(parent, m, "", ViaBounce)
	}
	c.exArrived(m)
}

// exOtherService takes a row of the Mailbox Transport Delivery, Submission
// or moderation tracking logs. Their internal ids are their own: the row
// joins the hub's message by Message-ID, or waits for it.
func (c *Correlator) exOtherService(ev parsers.Event) {
	switch ev.Kind {
	case parsers.KindDelivery, parsers.KindPickup, parsers.KindClient:
	case parsers.KindBounce:
		c.exBounce(ev)
		return
	default:
		return
	}
	m := c.exByMessageID(ev.MessageID, ev.Host, ev.Rcpt)
	if m == nil {
		c.exWait(ev)
		return
	}
	if ev.Kind == parsers.KindDelivery {
		c.exDeliver(m, ev)
		return
	}
	// A mailbox submission (Outlook, OWA, ActiveSync: RECEIVE from
	// STOREDRIVER) is how the hub's message arrived, unless a receive
	// session said otherwise.
	if ev.Kind == parsers.KindPickup && m.ex.session == "" {
		m.Origin, m.ex.submitted, m.ex.tracked = OriginLocal, true, true
		m.ClientIP, m.AuthUser = ev.ClientIP, ""
	}
	c.evidence(m, ev.Pos)
	c.touch(m)
}

// exTrace takes one Exchange Online message trace record: a message and
// one recipient's outcome. FromIP is the client of inbound mail and empty
// for mail a mailbox sent.
func (c *Correlator) exTrace(ev parsers.Event) {
	if ev.QueueID == "" {
		return
	}
	m := c.exFind(ev.Host, ev.QueueID)
	if m == nil {
		m = c.exNew(ev, ev.Host, ev.QueueID)
		m.Origin, m.ClientIP = OriginSMTP, ev.ClientIP
		if !ev.ClientIP.IsValid() {
			m.Origin, m.ex.submitted = OriginLocal, true
		}
		m.Sender, m.SenderSet = ev.From, true
		m.ex.trace = true
		c.evidence(m, ev.Pos)
	}
	c.recipient(m, ev.Rcpt)
	c.exDeliver(m, ev)
}

// exFind returns the message of internal id qid on host.
func (c *Correlator) exFind(host, qid string) *Message {
	if qid == "" {
		return nil
	}
	m := c.msgs["exchange|"+host+"|"+qid]
	if m != nil {
		m.lastSeen = c.now
	}
	return m
}

// exNew starts the message of internal id qid on host. Its key does not
// depend on which log named it first.
func (c *Correlator) exNew(ev parsers.Event, host, qid string) *Message {
	c.stats.Messages++
	m := &Message{
		Key:       qid + "@" + host,
		Format:    ev.Format,
		Host:      host,
		QueueID:   qid,
		MessageID: ev.MessageID,
		Time:      ev.Time,
		lastSeen:  ev.Time,
		ex:        &exInfo{},
	}
	c.msgs["exchange|"+host+"|"+qid] = m
	c.msgDirty = append(c.msgDirty, m)
	return m
}

// exArrived indexes m by Message-ID, links it to the same mail on another
// Exchange server, hands it the rows that waited for it and re-judges it.
func (c *Correlator) exArrived(m *Message) {
	x := c.ex
	id := strings.ToLower(m.MessageID)
	if id != "" {
		list := x.byMsgID[id]
		known := false
		for _, o := range list {
			if o == m {
				known = true
				continue
			}
			if o.Host == m.Host || o.Origin == OriginBounce || m.Origin == OriginBounce {
				continue
			}
			if o.Time.After(m.Time) {
				c.link(m, o, "", ViaTransport)
			} else {
				c.link(o, m, "", ViaTransport)
			}
		}
		if !known {
			x.byMsgID[id] = append(list, m)
		}
	}
	c.touch(m)
	if evs, ok := x.waiting[id]; ok && id != "" {
		delete(x.waiting, id)
		x.nwaiting -= len(evs)
		for _, ev := range evs {
			c.exOtherService(ev)
		}
	}
}

// exByMessageID returns the hub message with Message-ID id, preferring one
// on host and one that has the recipient rcpt.
func (c *Correlator) exByMessageID(id, host, rcpt string) *Message {
	if id == "" {
		return nil
	}
	var best *Message
	score := -1
	for _, m := range c.ex.byMsgID[strings.ToLower(id)] {
		s := 0
		if m.Host == host {
			s++
		}
		if rcpt != "" && findRcpt(m, m.ex.root(rcpt)) != nil {
			s += 2
		}
		if s >= score {
			best, score = m, s
		}
	}
	return best
}

// exWait keeps a row of another service until its hub message is known.
func (c *Correlator) exWait(ev parsers.Event) {
	x := c.ex
	id := strings.ToLower(ev.MessageID)
	if id == "" || x.nwaiting >= exchangeMaxWaiting {
		c.stats.Orphans++
		return
	}
	x.waiting[id] = append(x.waiting[id], ev)
	x.nwaiting++
}

// sweepExchange forgets what the shared sweep dropped and rows that waited
// too long.
func (c *Correlator) sweepExchange() {
	x := c.ex
	x.swept = c.now
	for id, list := range x.byMsgID {
		kept := list[:0]
		for _, m := range list {
			if c.msgs["exchange|"+m.Host+"|"+m.QueueID] == m {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			delete(x.byMsgID, id)
		} else {
			x.byMsgID[id] = kept
		}
	}
	for id, evs := range x.waiting {
		if c.now.Sub(evs[len(evs)-1].Time) > c.StaleAfter {
			delete(x.waiting, id)
			x.nwaiting -= len(evs)
			c.stats.Orphans += len(evs)
		}
	}
	for k, s := range x.rcpts {
		if c.now.Sub(s.last) > c.StaleAfter {
			delete(x.rcpts, k)
		}
	}
}

// exchangeNote is added to the reason of a recipient whose origin o came
// through Exchange: which logs the verdict rests on.
func exchangeNote(o *Message, v Verdict) string {
	x := o.ex
	if x == nil || v == SystemBounce {
		return ""
	}
	var b strings.Builder
	switch {
	case x.trace:
		b.WriteString("; lower confidence: an Exchange Online message trace record (FromIP), no session or tracking log")
	case x.submitted:
		b.WriteString("; a mailbox submission (tracking RECEIVE from " + orUnknown(o.Proto) + ")")
	case x.session != "" && x.tracked:
		fmt.Fprintf(&b, "; receive session %s joined to tracking RECEIVE %s", x.session, o.QueueID)
	case x.session != "":
		fmt.Fprintf(&b, "; receive protocol log only (session %s): queued as %s, delivery not in the tracking log", x.session, o.QueueID)
	case x.tracked:
		fmt.Fprintf(&b, "; lower confidence: message tracking only, no receive session for it (directionality=%s, connector %s)", orUnknown(x.direction), orUnknown(x.connector))
		if o.AuthUser == exchangeProxyUser {
			b.WriteString(": authenticated inferred from the Client Proxy connector")
		} else if v == RelayAbuse || v == RelayAttemptRejected {
			b.WriteString(": the tracking log never names an authenticated user")
		}
	}
	if v == RelayAbuse {
		if x.anyRcpt {
			b.WriteString("; the session had SMTPAcceptAnyRecipient without authenticating (open relay connector)")
		}
		if strings.EqualFold(x.direction, "Originating") {
			b.WriteString("; directionality=Originating does not prove authentication (externally secured connector)")
		}
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
