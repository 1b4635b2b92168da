package analysis

import (
	"net/netip"
	"slices"
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
//
// Exchange logs no removal of a queue file. When the inputs come in order
// (Correlator.ReadingInput), a message leaves memory RemovedGrace after no
// line still to come can be older than its last one, once it is done with
// (exDone). A recipient or delivery row about it that comes after all (a
// retry) brings it back from the store (exRestore), if this run stored it.
// Rows joined by Message-ID cannot bring it back: they come within seconds
// of the hub's.

// ViaTransport marks a message that another Exchange server received from
// this one (intra-organisation SEND, then RECEIVE with the same
// Message-ID).
const ViaTransport = "transport"

// format is the Format of every Exchange event.
const format = "exchange"

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
	rcpts    map[string]*exSession // by host|session: accepted RCPTs not yet queued
	byMsgID  map[string][]*Message // lower-cased Message-ID → hub messages
	waiting  map[string][]exRow    // lower-cased Message-ID → rows of other services
	nwaiting int
	files    map[string]bool // Pos.File of every input fed
	file     string          // of the event being fed
	at       time.Time       // the time of the event being fed
	// swept and sweptLow are the newest time and the bound of
	// ReadingInput at the last sweep: a file read after a newer one moves
	// only the bound.
	swept, sweptLow time.Time

	// What sweepExchange looks at (see exchange_sweep.go).
	due         exDueHeap           // messages in msgs, by their last line
	dueOn       bool                // due is kept: ReadingInput was called
	overdue     []*Message          // past RemovedGrace, not done with
	stale       map[string]struct{} // byMsgID lists holding a message gone from msgs
	waitedSince time.Time           // no later than any waiting list's last row
	idleSince   time.Time           // no later than any rcpts session's last line

	// fed and copied are the strings of the last event fed and the copies
	// detach made of them.
	fed, copied [19]string
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
	last      time.Time // the newest line about it
	key       string    // in Correlator.msgs
	listed    []string  // the byMsgID lists it was added to
}

func (c *Correlator) exchange() *exchangeState {
	if c.ex == nil {
		c.ex = &exchangeState{
			rcpts:   make(map[string]*exSession),
			byMsgID: make(map[string][]*Message),
			waiting: make(map[string][]exRow),
			files:   make(map[string]bool),
			stale:   make(map[string]struct{}),
		}
	}
	return c.ex
}

// feedExchange takes one Exchange event (see Feed).
func (c *Correlator) feedExchange(ev parsers.Event) {
	x := c.exchange()
	ev = x.detach(ev)
	x.at = ev.Time
	if ev.Pos.File != x.file {
		x.file = ev.Pos.File
		x.files[x.file] = true
	}
	if c.now.Sub(x.swept) > time.Minute || c.input.low.Sub(x.sweptLow) > time.Minute {
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

// detach returns ev without Raw, which the correlator does not read, and
// with copies of its other strings: the fields of a CSV row share the line,
// so that a message in memory held every whole line it kept a field of (an
// address, a Message-ID, a reply). Each is copied alone, so that what is
// kept holds only itself. A field the event before had too (the server's
// name, a row's message facts on each of its recipients' events, a
// session's client) gets that event's copy.
func (x *exchangeState) detach(ev parsers.Event) parsers.Event {
	for i, f := range [...]*string{&ev.Host, &ev.Session, &ev.QueueID, &ev.NextQueueID, &ev.PrevQueueID, &ev.MessageID,
		&ev.ClientName, &ev.OrigClientName, &ev.Helo, &ev.Proto, &ev.SASLMethod, &ev.SASLUser, &ev.From, &ev.Rcpt,
		&ev.OrigRcpt, &ev.Relay, &ev.Status, &ev.DSN, &ev.Reason} {
		if *f != x.fed[i] {
			x.fed[i], x.copied[i] = *f, strings.Clone(*f)
		}
		*f = x.copied[i]
	}
	ev.Raw = ""
	return ev
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
	if ev.Time.Before(x.idleSince) {
		x.idleSince = ev.Time
	}
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
			m = c.exRestore(ev.Host, ev.QueueID, 0)
		}
		if m == nil {
			c.stats.Orphans++
			return
		}
		m.lastSeen = ev.Time
		c.exRcpt(m, ev)
	case parsers.KindDelivery:
		m := c.exFind(ev.Host, ev.QueueID)
		if m == nil {
			m = c.exRestore(ev.Host, ev.QueueID, 0)
		}
		if m == nil {
			// A SEND, DELIVER, FAIL... whose RECEIVE is not in the log:
			// the message is judged as one whose arrival is unknown
			// (UnknownOrigin for an outside recipient), and its RECEIVE, if
			// read later, still says how it came.
			// It is not indexed by Message-ID: a message of unknown
			// arrival must not become the parent that another server's
			// copy of the mail is judged by.
			c.stats.Orphans++
			m = c.exNew(ev, ev.Host, ev.QueueID)
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
	m := c.msgs[exKey(host, qid)]
	if m != nil {
		m.lastSeen = c.now
		c.exSeen(m)
	}
	return m
}

// exKey is the key in Correlator.msgs of the message of internal id qid on
// host.
func exKey(host, qid string) string { return "exchange|" + host + "|" + qid }

// exSeen notes that the event being fed is about m.
func (c *Correlator) exSeen(m *Message) {
	if m.ex != nil && c.ex.at.After(m.ex.last) {
		m.ex.last = c.ex.at
	}
}

// exRestore brings back from the store a message of internal id qid on
// host that this run let go of (see exDone), with the message it continued
// from and those in memory that continue it; nil if there is none. A
// message another run stored stays its own (see the package doc).
func (c *Correlator) exRestore(host, qid string, depth int) *Message {
	x, k := c.ex, exKey(host, qid)
	if m := c.msgs[k]; m != nil {
		return m
	}
	if c.Resolver == nil || qid == "" || depth > 8 {
		return nil
	}
	m, rs, err := c.Resolver.MessageByKey(qid + "@" + host)
	if err != nil {
		c.stats.ResolveErrors++
		return nil
	}
	if m == nil || m.Format != format || !c.exFed(m) {
		return nil
	}
	m.rcpts = rs
	m.ex = exRecall(m, rs)
	m.lastSeen, m.ex.last = c.now, x.at
	c.msgs[k] = m
	c.exHeld(m, k)
	if id := strings.ToLower(m.MessageID); id != "" {
		x.byMsgID[id] = append(x.byMsgID[id], m)
		m.exListed(id)
	}
	if pqid, phost, ok := strings.Cut(m.ParentKey, "@"); ok {
		if p := c.exRestore(phost, pqid, depth+1); p != nil {
			m.parent = p
			p.children = append(p.children, m)
		} else {
			c.adopt(m, rs, 0) // another run's, or gone for good: as stored
		}
	}
	for _, o := range c.msgs {
		if o.ParentKey == m.Key && o.parent != m {
			o.parent = m
			m.children = append(m.children, o)
		}
	}
	o, _ := origin(m)
	for _, r := range rs {
		ownPos(r, o, m)
	}
	return m
}

// ownPos sets r.Pos to the lines of r's stored Evidence after those of its
// origin o and message m: judge wrote them in that order. RestoreRecipient
// can only leave out every line the message has, and a line that is both
// (a RECEIVE row names the message and its recipients) was then lost.
func ownPos(r *Recipient, o, m *Message) {
	var lead []parsers.Pos
	if o != m {
		lead = o.Evidence
	}
	lead = append(slices.Clip(lead), m.Evidence...)
	if len(r.Evidence) < len(lead) {
		return
	}
	for i, p := range lead {
		if r.Evidence[i] != p.String() {
			return
		}
	}
	r.Pos = r.Pos[:0]
	for _, s := range r.Evidence[len(lead):] {
		r.Pos = appendPos(r.Pos, ParsePos(s))
	}
}

// exFed reports whether a stored message has a line of an input this run
// was fed.
func (c *Correlator) exFed(m *Message) bool {
	for _, p := range m.Evidence {
		if c.ex.files[p.File] {
			return true
		}
	}
	return false
}

// exRecall rebuilds what the store does not hold of an Exchange message
// from what it does: exchangeNote's account of the logs behind its
// recipients' verdicts, and the addresses they were delivered to (a
// redirect's target, counted for the address the client gave).
func exRecall(m *Message, rs []*Recipient) *exInfo {
	x := &exInfo{}
	m.SenderSet = true // every Exchange message's first line names its sender
	if m.Origin == OriginBounce || m.Via == ViaTransport {
		// A DSN row, or another server's RECEIVE: tracked. The note, if any,
		// is about the message it continues.
		x.tracked = true
	}
	for _, r := range rs {
		why := r.Reason
		if m.Via != ViaTransport {
			switch {
			case strings.Contains(why, noteSubmission):
				x.submitted, x.tracked = true, true
				if p := between(why, noteSubmission, ")"); p != "unknown" {
					m.Proto = p
				}
			case strings.Contains(why, noteJoined):
				x.session, x.tracked = between(why, noteJoined, " "), true
			case strings.Contains(why, noteReceiveOnly):
				x.session = between(why, noteReceiveOnly, ")")
			case strings.Contains(why, noteTrackingOnly):
				dir := between(why, noteTrackingOnly, ", connector ")
				x.tracked, x.direction = true, knownOr(dir)
				x.connector = knownOr(between(why, noteTrackingOnly+dir+", connector ", ")"))
			case strings.Contains(why, noteTrace):
				x.trace = true
			}
			x.anyRcpt = x.anyRcpt || strings.Contains(why, noteAnyRcpt)
			if strings.Contains(why, noteOriginating) {
				x.direction = "Originating"
			}
		}
		for _, d := range r.Deliveries {
			if !strings.EqualFold(d.To, r.Recipient) && d.To != "" {
				if x.redirect == nil {
					x.redirect = make(map[string]string)
				}
				x.redirect[strings.ToLower(d.To)] = r.Recipient
			}
		}
	}
	return x
}

func knownOr(s string) string {
	if s == "unknown" {
		return ""
	}
	return s
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
		ex:        &exInfo{last: ev.Time},
	}
	k := exKey(host, qid)
	if old := c.msgs[k]; old != nil {
		c.exGone(old) // an empty qid's
	}
	c.msgs[k] = m
	c.exHeld(m, k)
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
			m.exListed(id)
		}
	}
	c.touch(m)
	if evs, ok := x.waiting[id]; ok && id != "" {
		delete(x.waiting, id)
		x.nwaiting -= len(evs)
		for _, r := range evs {
			c.exOtherService(r.event())
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
	if best != nil {
		c.exSeen(best)
	}
	return best
}

// exRow is a row of another service waiting for its hub message: what
// exOtherService reads of its event, in half an event's memory (a tracking
// file of a whole hour can wait for the next files).
type exRow struct {
	pos      parsers.Pos
	time     time.Time
	kind     parsers.Kind
	clientIP netip.Addr

	host, daemon, messageID, rcpt, origRcpt, relay, status, dsn, reason string
}

func (r exRow) event() parsers.Event {
	return parsers.Event{
		Pos: r.pos, Time: r.time, Format: format, Kind: r.kind, ClientIP: r.clientIP, Host: r.host, Daemon: r.daemon,
		MessageID: r.messageID, Rcpt: r.rcpt, OrigRcpt: r.origRcpt, Relay: r.relay, Status: r.status, DSN: r.dsn,
		Reason: r.reason,
	}
}

// exWait keeps a row of another service until its hub message is known.
func (c *Correlator) exWait(ev parsers.Event) {
	x := c.ex
	id := strings.ToLower(ev.MessageID)
	if id == "" || x.nwaiting >= exchangeMaxWaiting {
		c.stats.Orphans++
		return
	}
	if ev.Time.Before(x.waitedSince) {
		x.waitedSince = ev.Time
	}
	x.waiting[id] = append(x.waiting[id], exRow{
		pos: ev.Pos, time: ev.Time, kind: ev.Kind, clientIP: ev.ClientIP, host: ev.Host, daemon: ev.Daemon,
		messageID: ev.MessageID, rcpt: ev.Rcpt, origRcpt: ev.OrigRcpt, relay: ev.Relay, status: ev.Status,
		dsn: ev.DSN, reason: ev.Reason,
	})
	x.nwaiting++
}

// exDone reports whether m is done with: a line about it is no longer
// expected. That is when every recipient has its outcome (refused, or
// sent, delivered, failed or dropped at every address it went to: a
// deferred one is tried again), or when only the receive session said it
// was queued (its hub's RECEIVE, logged before the session's 250 2.6.0, is
// not in the input). An Exchange Online trace export is never done with:
// it lists the newest first, so the order ReadingInput promises does not
// hold for it.
func exDone(m *Message) bool {
	switch x := m.ex; {
	case x.trace:
		return false
	case !x.tracked:
		return x.session != ""
	}
	if len(m.rcpts) == 0 {
		return false
	}
	for _, r := range m.rcpts {
		if s := recipientStatus(r); s == StatusQueued || s == StatusDeferred {
			return false
		}
	}
	return true
}

// The parts of exchangeNote that exRecall reads back.
const (
	noteTrace        = "; lower confidence: an Exchange Online message trace record"
	noteSubmission   = "; a mailbox submission (tracking RECEIVE from "
	noteJoined       = "; receive session "
	noteReceiveOnly  = "; receive protocol log only (session "
	noteTrackingOnly = "; lower confidence: message tracking only, no receive session for it (directionality="
	noteAnyRcpt      = "; the session had SMTPAcceptAnyRecipient"
	noteOriginating  = "; directionality=Originating does not prove authentication"
)

// appendExchangeNote appends what is added to the reason of a recipient
// whose origin o came through Exchange: which logs the verdict rests on.
func appendExchangeNote(b []byte, o *Message, v Verdict) []byte {
	x := o.ex
	if x == nil || v == SystemBounce {
		return b
	}
	switch {
	case x.trace:
		b = append(b, noteTrace+" (FromIP), no session or tracking log"...)
	case x.submitted:
		b = append(append(append(b, noteSubmission...), orUnknown(o.Proto)...), ')')
	case x.session != "" && x.tracked:
		b = append(append(append(append(b, noteJoined...), x.session...), " joined to tracking RECEIVE "...), o.QueueID...)
	case x.session != "":
		b = append(append(append(append(b, noteReceiveOnly...), x.session...), "): queued as "...), o.QueueID...)
		b = append(b, ", delivery not in the tracking log"...)
	case x.tracked:
		b = append(append(append(append(b, noteTrackingOnly...), orUnknown(x.direction)...), ", connector "...), orUnknown(x.connector)...)
		b = append(b, ')')
		if o.AuthUser == exchangeProxyUser {
			b = append(b, ": authenticated inferred from the Client Proxy connector"...)
		} else if v == RelayAbuse || v == RelayAttemptRejected {
			b = append(b, ": the tracking log never names an authenticated user"...)
		}
	}
	if v == RelayAbuse {
		if x.anyRcpt {
			b = append(b, noteAnyRcpt+" without authenticating (open relay connector)"...)
		}
		if strings.EqualFold(x.direction, "Originating") {
			b = append(b, noteOriginating+" (externally secured connector)"...)
		}
	}
	return b
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
