package analysis

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Correlator joins events into messages and recipients as they stream in,
// and re-judges a recipient whenever a new line changes what is known of it:
// a content filter's second queue id is linked to the first, a local(8)
// forward to the alias it expanded. Feed it events in log order; collect
// what changed with Flush. Memory is bounded: a message leaves memory
// RemovedGrace after its queue file was removed (an Exchange message, which
// has no such line, RemovedGrace after every recipient's outcome: see
// ReadingInput), or StaleAfter after its last line (a log cut mid-message or
// a crashed MTA).
//
// Not safe for concurrent use.
type Correlator struct {
	Policy Policy
	// Resolver, if not nil, finds messages stored by earlier runs.
	Resolver Resolver
	// RemovedGrace keeps a removed message in memory for late links (the
	// content filter's child names its parent after the parent's removal).
	RemovedGrace time.Duration
	// StaleAfter drops a message that has had no line for this long.
	StaleAfter time.Duration
	// DeferredStaleAfter is StaleAfter for a message with a deferred
	// recipient: the MTA retries it for days (Postfix's
	// maximal_queue_lifetime is 5d, Exim's default retry rule 4d), and a
	// retry after a silence is still the same queue file, not a message of
	// its own that arrived who knows how (issue 14).
	DeferredStaleAfter time.Duration

	msgs     map[string]*Message // by queue id: the current message
	sessions map[string]*session // by host and session id
	pending  map[string]pendingLink
	ex       *exchangeState // see exchange.go
	changed  []*Recipient
	msgDirty []*Message
	now      time.Time
	swept    time.Time
	seq      int
	stats    CorrelatorStats
	seconds  map[string]*logSecond // see numberedKey
	input    inputOrder
	text     []byte // where judge builds a recipient's texts
}

// inputOrder is what ReadingInput said of the inputs.
type inputOrder struct {
	known bool
	next  time.Time // the first line of the next input; zero: there is none
	// low is the time no event still to come is older than (give or take
	// the disorder of one input's lines).
	low time.Time
}

// CorrelatorStats counts what the correlator dropped or could not join.
type CorrelatorStats struct {
	Messages      int // messages seen
	StaleMessages int // dropped from memory without their queue file's removal
	Orphans       int // lines about a queue id never introduced in this input
	ResolveErrors int // failed look-ups of stored messages
}

type session struct {
	host, id   string
	ip         string
	name, helo string
	authUser   string
	authMethod string
	lastSeen   time.Time
}

// pendingLink is a parent's "forwarded as X", "queued as X" or bounce "X"
// waiting for X to appear.
type pendingLink struct {
	parent *Message
	rcpt   string
	via    string
	at     time.Time
}

// NewCorrelator returns a Correlator judging by policy.
func NewCorrelator(policy Policy) *Correlator {
	return &Correlator{
		Policy:             policy,
		RemovedGrace:       10 * time.Minute,
		StaleAfter:         6 * time.Hour,
		DeferredStaleAfter: 6 * 24 * time.Hour,
		msgs:               make(map[string]*Message),
		sessions:           make(map[string]*session),
		pending:            make(map[string]pendingLink),
	}
}

// ReadingInput tells the correlator that the events fed from now on are one
// input's, each no older than the one before it (give or take a few
// seconds), and that every input fed after this one begins at next or later;
// the zero next means none will be. Ingest reads its inputs so, oldest
// first, and says so before each.
//
// From it the correlator knows that no event still to come is older than
// both the last one fed and next, whichever log it comes from. Exchange
// logs no removal of a queue file, and its receive and tracking logs are
// separate files read one after the other, so that the newest line read is
// no measure of what may still come: an Exchange message leaves memory
// RemovedGrace after that bound has passed its last line, once every
// recipient has an outcome (see exchange.go). A caller that never calls
// ReadingInput (tail, rejudge) keeps Exchange messages until StaleAfter.
func (c *Correlator) ReadingInput(next time.Time) {
	c.input.known, c.input.next = true, next
}

// Stats returns the counts so far.
func (c *Correlator) Stats() CorrelatorStats { return c.stats }

// InFlight returns the number of messages held in memory.
func (c *Correlator) InFlight() int { return len(c.msgs) }

// Flush returns the recipients and messages changed since the last Flush.
// The values are copies, safe to keep.
func (c *Correlator) Flush() ([]Recipient, []Message) {
	rs := make([]Recipient, 0, len(c.changed))
	for _, r := range c.changed {
		r.dirty = false
		cp := *r
		cp.Deliveries = append([]Delivery(nil), r.Deliveries...)
		cp.Evidence, cp.ev = r.evidence(), evidenceRef{}
		rs = append(rs, cp)
	}
	// msgDirty names a message once per change: the copies are made for
	// each message once, into a slice of their number.
	seen := make(map[*Message]bool, len(c.msgDirty))
	unique := c.msgDirty[:0]
	for _, m := range c.msgDirty {
		if !seen[m] {
			seen[m] = true
			unique = append(unique, m)
		}
	}
	ms := make([]Message, 0, len(unique))
	for _, m := range unique {
		cp := *m
		cp.Evidence = append([]parsers.Pos(nil), m.Evidence...)
		ms = append(ms, cp)
	}
	c.changed, c.msgDirty = c.changed[:0], c.msgDirty[:0]
	return rs, ms
}

// Feed takes one event.
func (c *Correlator) Feed(ev parsers.Event) {
	if ev.Format == "exim" {
		ev = eximEvent(ev)
	}
	if ev.Time.After(c.now) {
		c.now = ev.Time
	}
	if c.input.known {
		low := ev.Time
		if !c.input.next.IsZero() && c.input.next.Before(low) {
			low = c.input.next
		}
		if low.After(c.input.low) {
			c.input.low = low
		}
	}
	if c.now.Sub(c.swept) > time.Minute {
		c.sweep()
	}
	if ev.Format == "exchange" {
		c.feedExchange(ev)
		return
	}
	switch ev.Kind {
	case parsers.KindConnect:
		if s := c.session(ev, true); s != nil {
			s.ip, s.name, s.helo, s.authUser, s.authMethod = ipString(ev), ev.ClientName, "", "", ""
		}
	case parsers.KindDisconnect:
		if ev.Session != "" {
			delete(c.sessions, ev.Host+"|"+ev.Session)
		}
	case parsers.KindHelo:
		if s := c.session(ev, true); s != nil {
			s.helo = ev.Helo
		}
	case parsers.KindAuth:
		if s := c.session(ev, true); s != nil {
			s.authUser, s.authMethod = ev.SASLUser, ev.SASLMethod
		}
	case parsers.KindClient:
		c.client(ev)
	case parsers.KindPickup:
		m := c.message(ev, true)
		if m == nil {
			return
		}
		m.Origin = OriginLocal
		m.Sender, m.SenderSet = ev.From, true
		if ev.MessageID != "" { // Exim logs it on a local submission's "<=" line
			m.MessageID = ev.MessageID
		}
		c.evidence(m, ev.Pos)
		c.touch(m)
	case parsers.KindMessageID:
		if m := c.message(ev, false); m != nil {
			m.MessageID = ev.MessageID
			c.evidence(m, ev.Pos)
			c.touch(m)
		}
	case parsers.KindSender:
		if m := c.message(ev, false); m != nil {
			if !m.SenderSet {
				m.Sender, m.SenderSet = ev.From, true
				c.evidence(m, ev.Pos)
				c.touch(m)
			}
		}
	case parsers.KindRcpt:
		if m := c.message(ev, false); m != nil && ev.Rcpt != "" {
			r := c.recipient(m, ev.Rcpt)
			r.Pos = appendPos(r.Pos, ev.Pos)
			c.touch(m)
		}
	case parsers.KindReject:
		c.reject(ev)
	case parsers.KindDelivery:
		c.delivery(ev)
	case parsers.KindBounce:
		if ev.NextQueueID == "" {
			return
		}
		parent := c.message(ev, false)
		if child, ok := c.known(ev.NextQueueID, ev.Time); ok && child != parent {
			child.Origin = OriginBounce
			c.link(parent, child, "", ViaBounce)
			c.evidence(child, ev.Pos)
			c.touch(child)
		} else {
			c.pending[ev.NextQueueID] = pendingLink{parent: parent, via: ViaBounce, at: ev.Time}
		}
	case parsers.KindRemoved:
		if m, ok := c.msgs[ev.QueueID]; ok {
			m.Removed, m.removed = true, ev.Time
			c.msgDirty = append(c.msgDirty, m)
		}
	case parsers.KindExpired:
		if m, ok := c.msgs[ev.QueueID]; ok {
			for _, r := range m.rcpts {
				for i := range r.Deliveries {
					if r.Deliveries[i].Status == StatusDeferred {
						r.Deliveries[i].Status = parsers.StatusExpired
					}
				}
				r.Pos = appendPos(r.Pos, ev.Pos)
			}
			c.touch(m)
		}
	}
}

func ipString(ev parsers.Event) string {
	if ev.ClientIP.IsValid() {
		return ev.ClientIP.String()
	}
	return ""
}

func (c *Correlator) session(ev parsers.Event, create bool) *session {
	if ev.Session == "" {
		return nil
	}
	key := ev.Host + "|" + ev.Session
	s := c.sessions[key]
	if s == nil && create {
		s = &session{host: ev.Host, id: ev.Session, ip: ipString(ev), name: ev.ClientName}
		c.sessions[key] = s
	}
	if s != nil {
		s.lastSeen = ev.Time
	}
	return s
}

// message returns the current message for ev's queue id. With create, a new
// message is started when there is none or the one there is already
// complete (queue ids are reused).
func (c *Correlator) message(ev parsers.Event, create bool) *Message {
	if ev.QueueID == "" {
		return nil
	}
	m := c.msgs[ev.QueueID]
	if m != nil && !(create && (m.Removed || m.Origin != OriginUnknown)) {
		m.lastSeen = ev.Time
		return m
	}
	if !create && m == nil {
		// A line about a message whose start is not in this input: an
		// earlier run may have stored it (a log read in pieces, a restart).
		if m := c.restore(ev); m != nil {
			return m
		}
		c.stats.Orphans++
	}
	c.seq++
	c.stats.Messages++
	m = &Message{
		Key:      messageKey(ev),
		Format:   ev.Format,
		Host:     ev.Host,
		QueueID:  ev.QueueID,
		Time:     ev.Time,
		lastSeen: ev.Time,
	}
	c.msgs[ev.QueueID] = m
	if pl, ok := c.pending[ev.QueueID]; ok {
		delete(c.pending, ev.QueueID)
		if pl.via == ViaBounce {
			m.Origin = OriginBounce
		}
		c.link(pl.parent, m, pl.rcpt, pl.via)
	}
	c.msgDirty = append(c.msgDirty, m)
	return m
}

// client records how a message arrived from an SMTP client.
func (c *Correlator) client(ev parsers.Event) {
	m := c.message(ev, true)
	if m == nil {
		return
	}
	m.Origin = OriginSMTP
	m.ClientIP, m.ClientName = ev.ClientIP, ev.ClientName
	m.Session = ev.Session
	if ev.Proto != "" {
		m.Proto = ev.Proto
	}
	if ev.Helo != "" {
		m.Helo = ev.Helo
	}
	if ev.MessageID != "" {
		m.MessageID = ev.MessageID
	}
	if ev.Format != "postfix" || ev.From != "" {
		// Exim and Exchange name the sender on the arrival line.
		m.Sender, m.SenderSet = ev.From, true
	}
	if ev.SASLUser != "" {
		m.AuthUser, m.AuthMethod = ev.SASLUser, ev.SASLMethod
	}
	if s := c.session(ev, false); s != nil {
		if m.Helo == "" {
			m.Helo = s.helo
		}
		if m.AuthUser == "" {
			m.AuthUser, m.AuthMethod = s.authUser, s.authMethod
		} else {
			s.authUser, s.authMethod = m.AuthUser, m.AuthMethod
		}
	}
	c.evidence(m, ev.Pos)
	if ev.PrevQueueID != "" {
		// XFORWARD: re-injected by a content filter.
		if parent, ok := c.msgs[ev.PrevQueueID]; ok && parent != m {
			c.link(parent, m, "", ViaContentFilter)
		} else if ev.OrigClientIP.IsValid() {
			// The parent is not in this input; judge by the client the
			// filter says it had.
			m.ClientIP, m.ClientName = ev.OrigClientIP, ev.OrigClientName
			m.Via = ViaContentFilter
		}
	}
	c.touch(m)
}

// link makes child a continuation of parent.
func (c *Correlator) link(parent, child *Message, rcpt, via string) {
	if parent == nil || child == nil || parent == child || child.parent == parent {
		return
	}
	for p := parent; p != nil; p = p.parent {
		if p == child {
			return // a cycle: queue id reuse; keep the first link
		}
	}
	child.parent, child.ParentKey, child.Via = parent, parent.Key, via
	parent.children = append(parent.children, child)
	c.msgDirty = append(c.msgDirty, child)
	c.touch(child)
}

func (c *Correlator) evidence(m *Message, pos parsers.Pos) {
	for _, p := range m.Evidence {
		if p.File == pos.File && p.Line == pos.Line {
			c.msgDirty = append(c.msgDirty, m)
			return // restored from the store, or a line read twice
		}
	}
	if len(m.Evidence) < 16 {
		m.Evidence = append(m.Evidence, pos)
	}
	c.msgDirty = append(c.msgDirty, m)
}

func appendPos(ps []parsers.Pos, p parsers.Pos) []parsers.Pos {
	if len(ps) < 32 {
		ps = append(ps, p)
	}
	return ps
}

// recipient returns m's recipient for addr, creating it.
func (c *Correlator) recipient(m *Message, addr string) *Recipient {
	for _, r := range m.rcpts {
		if strings.EqualFold(r.Recipient, addr) {
			return r
		}
	}
	r := &Recipient{
		Key:        m.Key + "|" + strings.ToLower(addr),
		MessageKey: m.Key,
		Recipient:  addr,
	}
	m.rcpts = append(m.rcpts, r)
	return r
}

// reject records a refusal. A refused RCPT is a recipient of its own; a
// refused message (DATA, END-OF-MESSAGE, header checks) refuses all the
// recipients it had.
func (c *Correlator) reject(ev parsers.Event) {
	s := c.session(ev, false)
	if s != nil && ev.Helo != "" {
		s.helo = ev.Helo
	}
	reason := strings.TrimSpace(ev.DSN + " " + ev.Reason)
	if reason == "" {
		reason = "refused"
	}
	var m *Message
	if ev.QueueID != "" {
		m = c.message(ev, false)
	}
	if m != nil && ev.Format == "exim" {
		eximRefused(m, ev)
	}
	messageLevel := ev.Rcpt == "" || ev.Daemon == "cleanup" ||
		strings.HasPrefix(ev.Reason, "DATA") || strings.HasPrefix(ev.Reason, "END-OF-MESSAGE")
	by := refuserOf(ev, s)
	if m != nil && messageLevel {
		m.Rejected = reason
		for _, r := range m.rcpts {
			r.rejected, r.refusedBy = reason, by
			r.Pos = appendPos(r.Pos, ev.Pos)
		}
		if ev.Rcpt != "" {
			r := c.recipient(m, ev.Rcpt)
			r.rejected, r.refusedBy = reason, by
			r.Pos = appendPos(r.Pos, ev.Pos)
		}
		c.touch(m)
		return
	}
	if ev.Rcpt == "" {
		return // a refused connection or MAIL FROM: no recipient
	}
	if m != nil {
		r := c.recipient(m, ev.Rcpt)
		r.rejected, r.refusedBy = reason, by
		r.Pos = appendPos(r.Pos, ev.Pos)
		c.touch(m)
		return
	}
	// A refusal before any queue file existed (Postfix NOQUEUE, Exim
	// rejected RCPT): a recipient with no message. The key is the same for
	// the same refusal logged twice (Exim's mainlog and rejectlog).
	msg := &Message{
		Format:     ev.Format,
		Host:       ev.Host,
		Time:       ev.Time,
		Origin:     OriginSMTP,
		ClientIP:   ev.ClientIP,
		ClientName: ev.ClientName,
		Helo:       ev.Helo,
		Sender:     ev.From,
		SenderSet:  true,
		Session:    ev.Session,
	}
	if s != nil {
		msg.AuthUser, msg.AuthMethod = s.authUser, s.authMethod
		if msg.Helo == "" {
			msg.Helo = s.helo
		}
	}
	if ev.SASLUser != "" {
		msg.AuthUser, msg.AuthMethod = ev.SASLUser, ev.SASLMethod // Exim's A=
	}
	r := &Recipient{
		Recipient: ev.Rcpt,
		rejected:  reason,
		Pos:       []parsers.Pos{ev.Pos},
	}
	if ev.Format == "exim" {
		r.Key = c.eximRejectKey(ev)
	} else {
		// The session (Postfix's smtpd pid) and the reason are in the key:
		// two smtpd processes refusing the same sender and recipient from
		// one client in one second are two refusals (issue 14).
		r.Key = c.numberedKey(ev, strings.Join([]string{"reject", ev.Format, ev.Host, strconv.FormatInt(ev.Time.Unix(), 10),
			ipString(ev), strings.ToLower(ev.From), strings.ToLower(ev.Rcpt), ev.Session, reason}, "|"))
	}
	c.judge(msg, r)
	c.changed = append(c.changed, r)
}

// messageKey is the stored key of the message ev starts: its time first,
// then its queue id and host ("1772431402000.00125A2D44@mail"). Keys that
// grow with time make the store's key indexes (messages, recipients and a
// message's recipients) take appends instead of inserts at random places,
// which keeps a load's cost per line flat as the database grows (issue
// 13). Keys stored by earlier versions ("00125A2D44@1772431402000.mail")
// stay as they are: a message continued from the store keeps its stored
// key, and rejudge writes every key anew.
func messageKey(ev parsers.Event) string {
	return strconv.FormatInt(ev.Time.UnixMilli(), 10) + "." + ev.QueueID + "@" + ev.Host
}

// delivery records one delivery attempt.
func (c *Correlator) delivery(ev parsers.Event) {
	m := c.message(ev, false)
	if m == nil {
		return
	}
	addr := ev.Rcpt
	if ev.OrigRcpt != "" {
		addr = ev.OrigRcpt
	}
	r := c.recipient(m, addr)
	r.Pos = appendPos(r.Pos, ev.Pos)
	d := Delivery{To: ev.Rcpt, Relay: ev.Relay, DSN: ev.DSN, Status: ev.Status, Reason: ev.Reason}
	replaced := false
	for i := range r.Deliveries {
		if strings.EqualFold(r.Deliveries[i].To, d.To) {
			r.Deliveries[i], replaced = d, true
		}
	}
	if !replaced {
		r.Deliveries = append(r.Deliveries, d)
	}
	if ev.NextQueueID != "" && ev.NextQueueID != m.QueueID {
		via := ViaContentFilter
		if ev.Relay == "local" || strings.Contains(ev.Reason, "forwarded as") {
			via = ViaForward
		}
		child, ok := c.msgs[ev.NextQueueID]
		if !ok && sameHostHop(ev.Relay) {
			// Only a hop back into this server (a content filter on
			// loopback, local(8)) can name a queue file an earlier run
			// stored; a remote host's "queued as" is its own id.
			child, ok = c.known(ev.NextQueueID, ev.Time)
		}
		if ok && !child.Removed && child.Time.Sub(ev.Time).Abs() < time.Hour {
			c.link(m, child, addr, via)
			r.Deliveries[len(r.Deliveries)-1].NextQueueID = ev.NextQueueID
		} else if !ok {
			c.pending[ev.NextQueueID] = pendingLink{parent: m, rcpt: addr, via: via, at: ev.Time}
		}
	}
	c.touch(m)
}

// touch re-judges every recipient of m and of the messages that continued
// from it, and queues those that changed.
func (c *Correlator) touch(m *Message) {
	c.touchDepth(m, 0)
}

func (c *Correlator) touchDepth(m *Message, depth int) {
	if depth > 8 {
		return
	}
	for _, r := range m.rcpts {
		before := *r
		c.judge(m, r)
		if !r.dirty && recipientChanged(&before, r) {
			r.dirty = true
			c.changed = append(c.changed, r)
		}
		// What a child did decides the parent's forwarded verdict.
		if m.parent != nil && r.forwardedOut != "" || m.parent != nil && externalDelivery(c.Policy, r) != "" {
			if pr := findRcpt(m.parent, r.Recipient); pr != nil && pr.forwardedOut == "" {
				out := r.forwardedOut
				if out == "" {
					out = externalDelivery(c.Policy, r)
				}
				pr.forwardedOut = out
				c.touchDepth(m.parent, depth+1)
			}
		}
	}
	for _, ch := range m.children {
		c.touchDepth(ch, depth+1)
	}
}

func findRcpt(m *Message, addr string) *Recipient {
	for _, r := range m.rcpts {
		if strings.EqualFold(r.Recipient, addr) {
			return r
		}
	}
	return nil
}

func recipientChanged(a, b *Recipient) bool {
	if a.Verdict != b.Verdict || a.Status != b.Status || a.Reason != b.Reason || a.MessageID != b.MessageID ||
		a.Sender != b.Sender || a.ClientIP != b.ClientIP || a.Helo != b.Helo || a.AuthUser != b.AuthUser ||
		len(a.Deliveries) != len(b.Deliveries) || a.nEvidence() != b.nEvidence() || a.Hop != b.Hop {
		return true
	}
	for i := range a.Deliveries {
		if a.Deliveries[i] != b.Deliveries[i] {
			return true
		}
	}
	return false
}

// sweep drops complete and stale messages, sessions and pending links.
func (c *Correlator) sweep() {
	c.swept = c.now
	for qid, m := range c.msgs {
		switch {
		case m.Removed && c.now.Sub(m.removed) > c.RemovedGrace:
		case !m.Removed && c.now.Sub(m.lastSeen) > c.StaleAfter && (c.now.Sub(m.lastSeen) > c.DeferredStaleAfter || !deferred(m)):
			c.stats.StaleMessages++
		default:
			continue
		}
		delete(c.msgs, qid)
		// Children keep their parent (they are judged by its client);
		// the parent lets go of them so finished chains can be collected.
		m.children = nil
		c.exGone(m)
	}
	for k, s := range c.sessions {
		if c.now.Sub(s.lastSeen) > c.StaleAfter {
			delete(c.sessions, k)
		}
	}
	for k, pl := range c.pending {
		if c.now.Sub(pl.at) > c.RemovedGrace {
			delete(c.pending, k)
		}
	}
}

// sameHostHop reports whether a delivery's relay is this server itself:
// local(8), or a host on a loopback address ("127.0.0.1[127.0.0.1]:10025").
func sameHostHop(relay string) bool {
	if relay == "local" {
		return true
	}
	open := strings.LastIndexByte(relay, '[')
	end := strings.LastIndexByte(relay, ']')
	if open < 0 || end < open {
		return false
	}
	ip, err := netip.ParseAddr(relay[open+1 : end])
	return err == nil && ip.Unmap().IsLoopback()
}

// logSecond is the refusals one log gave in its current second.
type logSecond struct {
	unix int64
	seen map[string]int
}

// numberedKey returns key, numbered ("|2", "|3") when the same key was
// given before in ev's second of ev's log (its file and ev.Daemon): each of
// identical refusals in one second is a recipient of its own, while the
// n-th copy of a refusal in Exim's rejectlog meets the n-th in the mainlog.
func (c *Correlator) numberedKey(ev parsers.Event, key string) string {
	if c.seconds == nil {
		c.seconds = make(map[string]*logSecond)
	}
	sec := ev.Time.Unix()
	log := ev.Pos.File + "\x00" + ev.Daemon
	f := c.seconds[log]
	if f == nil || f.unix != sec {
		f = &logSecond{unix: sec, seen: make(map[string]int)}
		c.seconds[log] = f
	}
	f.seen[key]++
	if n := f.seen[key]; n > 1 {
		key += "|" + strconv.Itoa(n)
	}
	return key
}

// refuser is the client a refusal line names ("00ADB3C0899: reject: RCPT
// from example.com[192.0.2.1]: ..."). A refused recipient of a message
// whose arrival is not in the log is judged by it (see judge): the line
// says who was refused. It is not taken as the message's client, which
// would judge the recipients accepted before the cut too, without the
// authentication the missing arrival line may have named.
type refuser struct {
	ip         netip.Addr
	name, helo string
	authUser   string
	authMethod string
}

// refuserOf returns the client of a refusal, with the authentication its
// SMTP session is known to have, or nil when the line names no client.
func refuserOf(ev parsers.Event, s *session) *refuser {
	if !ev.ClientIP.IsValid() {
		return nil
	}
	by := &refuser{ip: ev.ClientIP, name: ev.ClientName, helo: ev.Helo, authUser: ev.SASLUser, authMethod: ev.SASLMethod}
	if s != nil && by.authUser == "" {
		by.authUser, by.authMethod = s.authUser, s.authMethod
	}
	if s != nil && by.helo == "" {
		by.helo = s.helo
	}
	return by
}

// deferred reports whether a recipient of m waits in the queue for another
// delivery attempt.
func deferred(m *Message) bool {
	for _, r := range m.rcpts {
		for _, d := range r.Deliveries {
			if d.Status == StatusDeferred {
				return true
			}
		}
	}
	return false
}
