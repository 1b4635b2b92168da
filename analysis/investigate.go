package analysis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Key is a correlation key an investigation looks messages up by.
type Key string

// The correlation keys, strongest first: a queue id or a Message-ID names
// one message; the others name whoever sent it and need a time to narrow.
const (
	KeyQueueID   Key = "queue_id"
	KeyMessageID Key = "message_id"
	KeyAuthUser  Key = "auth_user"
	KeyClientIP  Key = "client_ip"
	KeySender    Key = "sender"
	KeyRecipient Key = "recipient"
	KeyTime      Key = "time" // every message in the time range
)

// TimeRange is [From, To); a zero bound is open.
type TimeRange struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Contains reports whether t is in r.
func (r TimeRange) Contains(t time.Time) bool {
	return (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To))
}

// An InvestigationStore answers an investigation's questions, one small
// query per correlation key. *schema.Store satisfies it. Every method
// returns rows in time order.
type InvestigationStore interface {
	// RecipientsBy calls fn for every recipient (any hop) whose key field
	// equals value (addresses compared case-insensitively), in r. KeyTime
	// ignores value and returns the first-hop recipients in r.
	RecipientsBy(ctx context.Context, key Key, value string, r TimeRange, fn func(Recipient) error) error
	// EventsBy returns the events whose queue id, next queue id ("queued
	// as", "forwarded as", a bounce's notification) or Message-ID is value.
	EventsBy(ctx context.Context, field EventField, value string, r TimeRange) ([]parsers.Event, error)
	// Logins returns the events of kind client that authenticated as user.
	Logins(ctx context.Context, user string, r TimeRange) ([]parsers.Event, error)
	// AuthFailuresBy returns the failed logins for user (field KeyAuthUser)
	// or from one client address (KeyClientIP).
	AuthFailuresBy(ctx context.Context, key Key, value string, r TimeRange) ([]parsers.Event, error)
}

// EventField names the event column EventsBy looks up.
type EventField int

// The event columns a trail is followed by.
const (
	ByQueueID     EventField = iota // the event's own queue id
	ByNextQueueID                   // the queue id the message went on as
	ByMessageID
)

// Query is what to investigate: a complaint, flags, or both. Flags are
// strict (a message must match them all); the complaint's keys are hints
// (one that matches nothing, or disagrees with a stronger key, is noted and
// skipped).
type Query struct {
	Complaint *Complaint
	MessageID string
	QueueID   string
	Recipient string
	Sender    string
	ClientIP  string
	AuthUser  string
	Since     time.Time // zero: open
	Until     time.Time
	// Window is the time around the message searched for the sender's
	// other mail, half before and half after. Zero means DefaultWindow.
	Window time.Duration
	// Hosts are the names of your mail servers, and Policy (nil: none)
	// says which domains are yours: a complaint's Received header written
	// by a host of these names, or under a local domain, is one of yours,
	// and its client and queue id are searched. Hosts named in the logs
	// and hops whose queue id is stored are yours without them.
	Hosts  []string
	Policy *Policy
}

// Limits of one investigation: what a terminal can show, and a bound on the
// queries a hostile complaint (a Message-ID shared by a million messages)
// can cause.
const (
	DefaultWindow   = 24 * time.Hour
	MaxIncidents    = 10
	MaxTrailQueues  = 32
	MaxCandidates   = 10
	maxFailedLogins = 50
	maxKeys         = 40
	// maxCandidateRows bounds the rows read to pick the candidates from.
	maxCandidateRows = 10000
	// trailBefore and trailAfter bound the search for a message's other
	// queue files around its arrival: Postfix's maximal_queue_lifetime is
	// 5 days, and queue ids are reused after a while.
	trailBefore = 24 * time.Hour
	trailAfter  = 6 * 24 * time.Hour
)

// Investigation is the answer: which keys were tried, the messages they
// found, how each got in, and what else its sender sent.
type Investigation struct {
	Complaint  *Complaint  `json:"complaint,omitempty"`
	Keys       []KeyResult `json:"keys"`
	Found      bool        `json:"found"`
	Incidents  []Incident  `json:"incidents"`
	More       int         `json:"more_incidents"` // matched but not shown (MaxIncidents)
	Radius     []Radius    `json:"blast_radius"`
	Candidates []Recipient `json:"candidates"` // when nothing matched: the nearest messages sharing a key
	Window     TimeRange   `json:"window"`     // the range searched for the weak keys
}

// KeyResult is one key tried, where it came from and what it found.
type KeyResult struct {
	Key     Key    `json:"key"`
	Value   string `json:"value"`
	Source  string `json:"source"`  // "--client-ip", "Message-ID header", "Received header 2 (by mail)"
	Matched int    `json:"matched"` // messages found with this key alone
	Used    bool   `json:"used"`    // it narrowed the answer
	Note    string `json:"note,omitempty"`
	strict  bool
	weak    bool
}

// Incident is one message (with all its queue files) that matched.
type Incident struct {
	MessageID  string      `json:"message_id"`
	QueueIDs   []string    `json:"queue_ids"`
	Time       time.Time   `json:"time"`
	Trail      []Step      `json:"trail"`
	Truncated  bool        `json:"truncated,omitempty"` // more queue files than MaxTrailQueues
	Recipients []Recipient `json:"recipients"`
	Cause      Cause       `json:"cause"`

	links []link // deliveries from one of its queue files to another server
}

// link is a delivery of one of an incident's queue files to another
// server: the queue id the next server gave it ("queued as") and the name
// and address it was sent to.
type link struct {
	fromHost, fromQueueID, toQueueID, relayName string
}

// Step is one stored event of a message's trail, with its evidence.
type Step struct {
	Time     time.Time `json:"time"`
	Host     string    `json:"host"`
	QueueID  string    `json:"queue_id"`
	Event    string    `json:"event"`
	Detail   string    `json:"detail"`
	Evidence string    `json:"evidence"` // file:line
	Raw      string    `json:"raw"`
	pos      parsers.Pos
}

// CauseKind says how a message got out through the server.
type CauseKind string

// The causes an investigation tells apart.
const (
	CauseOpenRelay     CauseKind = "open_relay"          // unauthenticated outside client, external recipient
	CauseAuthenticated CauseKind = "authenticated"       // an account logged in: likely a stolen password
	CauseCompromised   CauseKind = "compromised_account" // a session the account rules judged a take-over
	CauseForwarding    CauseKind = "forwarding"          // a local recipient forwarded out by the server
	CauseInternal      CauseKind = "internal_host"       // a trusted network host or local submission
	CauseRefused       CauseKind = "refused"             // relay attempted and refused: nothing left
	CauseBounce        CauseKind = "bounce"              // a notification the server generated
	CauseInbound       CauseKind = "inbound"             // mail for local recipients only
	CauseUnknown       CauseKind = "unknown"
)

// Cause is how one incident got through: who the server took it from.
type Cause struct {
	Kind         CauseKind     `json:"kind"`
	Summary      string        `json:"summary"`
	Verdict      Verdict       `json:"verdict"`
	Reason       string        `json:"reason"`
	Host         string        `json:"host"` // the server that took it from outside
	QueueID      string        `json:"queue_id"`
	ClientIP     string        `json:"client_ip"`
	ClientName   string        `json:"client_name"`
	Helo         string        `json:"helo"`
	AuthUser     string        `json:"auth_user,omitempty"`
	Logins       []Login       `json:"logins,omitempty"`        // where the account logged in from, in the window
	FailedLogins []FailedLogin `json:"failed_logins,omitempty"` // for the account or from its addresses, before the message
	Evidence     []string      `json:"evidence"`
}

// Login is the successful logins of an account from one address.
type Login struct {
	ClientIP   string    `json:"client_ip"`
	ClientName string    `json:"client_name"`
	Count      int       `json:"count"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Evidence   string    `json:"evidence"`
}

// FailedLogin is one failed SASL login.
type FailedLogin struct {
	Time     time.Time `json:"time"`
	ClientIP string    `json:"client_ip"`
	User     string    `json:"user"`
	Reason   string    `json:"reason"`
	Evidence string    `json:"evidence"`
}

// Radius is what else one client address, account or sender sent in the
// window: first-hop recipients, so a message re-injected by a content
// filter counts once.
type Radius struct {
	Key             Key             `json:"key"`
	Value           string          `json:"value"`
	Window          TimeRange       `json:"window"`
	Recipients      int             `json:"recipients"`
	Messages        int             `json:"messages"`
	Domains         int             `json:"domains"`
	ExternalDomains int             `json:"external_domains"`
	First           time.Time       `json:"first"`
	Last            time.Time       `json:"last"`
	TopDomains      []DomainCount   `json:"top_domains"`
	Verdicts        map[Verdict]int `json:"verdicts"`
	Evidence        []string        `json:"evidence"` // the first lines
}

// DomainCount is a recipient domain and how many recipients it had.
type DomainCount struct {
	Domain string `json:"domain"`
	Count  int    `json:"count"`
}

// outbound reports whether v is about an external recipient.
func outbound(v Verdict) bool {
	switch v {
	case RelayAbuse, RelayAttemptRejected, InternalOutbound, AuthenticatedOutbound, UnknownOrigin:
		return true
	}
	return false
}

// Investigate looks the query's keys up in st, one key at a time, follows
// each message found across its queue files, and says how it got in and
// what else its sender sent.
func Investigate(ctx context.Context, st InvestigationStore, q Query) (*Investigation, error) {
	if q.Window <= 0 {
		q.Window = DefaultWindow
	}
	user := TimeRange{From: q.Since, To: q.Until}
	anchor := anchorTime(q)
	if err := markOwnHops(ctx, st, q, user); err != nil {
		return nil, err
	}
	inv := &Investigation{Complaint: q.Complaint, Keys: keysOf(q), Incidents: []Incident{}, Radius: []Radius{}, Candidates: []Recipient{}}
	if len(inv.Keys) == 0 {
		if c := q.Complaint; c != nil && len(c.Notes) > 0 {
			// A report that holds no message (a blocklist notice, an
			// X-ARF report about a web attack): its notes say what to do
			// instead; nothing is found.
			inv.Keys = []KeyResult{}
			return inv, nil
		}
		return nil, ErrNoKeys
	}
	weak := user
	if weak.From.IsZero() && weak.To.IsZero() && !anchor.IsZero() {
		weak = TimeRange{From: anchor.Add(-q.Window / 2), To: anchor.Add(q.Window / 2)}
	}
	inv.Window = weak

	var roots map[string]root // by message: msgKey → where it entered
	failed := false
	for i := range inv.Keys {
		k := &inv.Keys[i]
		rng := user
		if k.weak {
			rng = weak
		}
		got, err := rootsBy(ctx, st, k.Key, k.Value, rng)
		if err != nil {
			return nil, err
		}
		if !anchor.IsZero() && !k.weak && len(got) > 1 {
			// A queue id reused over the months: keep the one near the
			// complaint.
			near := map[string]root{}
			for m, r := range got {
				if weak.Contains(r.at) {
					near[m] = r
				}
			}
			if len(near) > 0 {
				got = near
			}
		}
		k.Matched = len(got)
		switch {
		case len(got) == 0 && k.strict:
			k.Note = "no message matched"
			failed = true
		case len(got) == 0:
			k.Note = "no message matched; ignored"
		case roots == nil:
			roots, k.Used = got, true
		default:
			// Keys meet per message, not per queue file: the queue id one
			// server gave it and the client another saw are the same
			// message when its Message-ID is.
			both := map[string]root{}
			for m, r := range roots {
				if _, ok := got[m]; ok {
					both[m] = r
				}
			}
			switch {
			case len(both) > 0:
				roots, k.Used = both, true
			case k.strict:
				k.Note = "matched, but not together with the keys above"
				failed = true
			default:
				k.Note = "matched other messages than the keys above; ignored"
			}
		}
	}
	roots = sameMessageID(inv.Keys, roots)
	if failed || len(roots) == 0 {
		cands, err := candidates(ctx, st, inv.Keys, anchor)
		if err != nil {
			return nil, err
		}
		inv.Candidates = cands
		return inv, nil
	}
	inv.Found = true

	order := make([]root, 0, len(roots))
	for _, r := range roots {
		order = append(order, r)
	}
	slices.SortFunc(order, func(a, b root) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.queueID, b.queueID), strings.Compare(a.host, b.host))
	})
	covered := map[string]bool{}
	for _, r := range order {
		if covered[r.queueID] {
			continue
		}
		if len(inv.Incidents) == MaxIncidents {
			inv.More++
			continue
		}
		inc, err := incident(ctx, st, r.queueID, r.at, q, user)
		if err != nil {
			return nil, err
		}
		for _, qid := range inc.QueueIDs {
			covered[qid] = true
		}
		inv.Incidents = append(inv.Incidents, inc)
	}
	for i := range inv.Incidents {
		if err := cause(ctx, st, &inv.Incidents[i], q); err != nil {
			return nil, err
		}
	}
	rad, err := radius(ctx, st, inv, q, user)
	if err != nil {
		return nil, err
	}
	inv.Radius = rad
	return inv, nil
}

// localhost4 and localhost6 are the clients of an MTA's own hops.
var (
	localhost4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	localhost6 = netip.IPv6Loopback()
)

// sameMessageID drops the messages the weak keys found that have another
// Message-ID than the complaint's, when that Message-ID matched nothing:
// the complaint is about a message that is not in the logs, and the same
// recipient or sender's other mail around that time is not it. A queue id
// your server wrote in the message's Received header outweighs it.
func sameMessageID(keys []KeyResult, roots map[string]root) map[string]root {
	var k *KeyResult
	for i := range keys {
		if !keys[i].weak && keys[i].Used {
			return roots
		}
		if keys[i].Key == KeyMessageID && !keys[i].strict && k == nil {
			k = &keys[i]
		}
	}
	if k == nil || k.Matched > 0 || len(roots) == 0 {
		return roots
	}
	kept := map[string]root{}
	for m, r := range roots {
		if r.messageID == "" || strings.EqualFold(r.messageID, k.Value) {
			kept[m] = r
		}
	}
	if n := len(roots) - len(kept); n > 0 {
		k.Note = fmt.Sprintf("no message matched, and the %d message(s) the other keys found have another Message-ID: not the one complained about", n)
		for i := range keys {
			keys[i].Used = keys[i].Used && len(kept) > 0
		}
	}
	return kept
}

// ErrNoKeys reports a query with nothing to look up: no flag, and a
// complaint without a Message-ID, Received header, address or Source-IP.
var ErrNoKeys = errors.New("nothing to look up: no Message-ID, queue id, address or client address")

// keysOf lists the keys to try, strongest first: the flags, then what the
// complaint says.
func keysOf(q Query) []KeyResult {
	var ks []KeyResult
	seen := map[string]bool{}
	add := func(k Key, v, src string, strict bool) {
		v = strings.TrimSpace(v)
		if k == KeyMessageID {
			v = strings.Trim(v, "<>")
		}
		if k == KeySender || k == KeyRecipient {
			v = strings.ToLower(strings.Trim(v, "<>"))
		}
		if v == "" || len(ks) == maxKeys || seen[string(k)+"\x00"+v] {
			return
		}
		seen[string(k)+"\x00"+v] = true
		weak := k != KeyQueueID && k != KeyMessageID
		ks = append(ks, KeyResult{Key: k, Value: v, Source: src, strict: strict, weak: weak})
	}
	add(KeyQueueID, q.QueueID, "--queue-id", true)
	add(KeyMessageID, q.MessageID, "--message-id", true)
	add(KeyAuthUser, q.AuthUser, "--auth-user", true)
	add(KeyClientIP, q.ClientIP, "--client-ip", true)
	add(KeySender, q.Sender, "--sender", true)
	add(KeyRecipient, q.Recipient, "--recipient", true)
	if c := q.Complaint; c != nil {
		// Only hops your servers wrote name your client and queue id: the
		// sender's own "from localhost by mail.shop.example" hop, or the
		// recipient's MX, would find unrelated local mail.
		add(KeyMessageID, c.MessageID, "Message-ID header", false)
		for i, r := range c.Received {
			if r.Own {
				add(KeyQueueID, r.ID, receivedSource(i, r), false)
			}
		}
		for i, r := range c.Received {
			if r.Own {
				add(KeyAuthUser, r.AuthUser, receivedSource(i, r), false)
			}
		}
		if c.SourceIP.IsValid() {
			add(KeyClientIP, c.SourceIP.String(), orWord(c.SourceIPFrom, "Source-IP"), false)
		}
		for i, r := range c.Received {
			// 127.0.0.1 and ::1 are a content filter or a local
			// submission: they name every message that took that way.
			if r.Own && r.ClientIP.IsValid() && r.ClientIP != localhost4 && r.ClientIP != localhost6 {
				add(KeyClientIP, r.ClientIP.String(), receivedSource(i, r), false)
			}
		}
		addr := func(k Key, a, src string) {
			if !placeholder(a) {
				add(k, a, src, false)
			}
		}
		addr(KeySender, c.OriginalMailFrom, "Original-Mail-From")
		addr(KeySender, c.ReturnPath, "Return-Path header")
		for _, a := range c.OriginalRcptTo {
			addr(KeyRecipient, a, orWord(c.RcptFrom, "Original-Rcpt-To"))
		}
		for i, r := range c.Received {
			for _, a := range r.For {
				addr(KeyRecipient, a, receivedSource(i, r))
			}
		}
		for _, a := range c.To {
			addr(KeyRecipient, a, "To/Cc header")
		}
		for _, a := range c.From {
			addr(KeySender, a, "From header")
		}
	}
	if len(ks) == 0 && (!q.Since.IsZero() || !q.Until.IsZero()) {
		ks = append(ks, KeyResult{Key: KeyTime, Value: TimeRange{q.Since, q.Until}.String(), Source: "--since/--until", strict: true})
	}
	return ks
}

func receivedSource(i int, r Received) string {
	if r.By != "" {
		return fmt.Sprintf("Received header %d (by %s)", i+1, r.By)
	}
	return fmt.Sprintf("Received header %d", i+1)
}

// String formats r as "FROM .. TO" in RFC 3339, "…" for an open end.
func (r TimeRange) String() string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "…"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return f(r.From) + " .. " + f(r.To)
}

// anchorTime is when the complaint says the message arrived: Arrival-Date,
// else the oldest Received stamp, else the Date header; or the middle of
// --since/--until.
func anchorTime(q Query) time.Time {
	if c := q.Complaint; c != nil {
		if !c.ArrivalDate.IsZero() {
			return c.ArrivalDate
		}
		for i := len(c.Received) - 1; i >= 0; i-- {
			if !c.Received[i].Time.IsZero() {
				return c.Received[i].Time
			}
		}
		if !c.Date.IsZero() {
			return c.Date
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() {
		return q.Since.Add(q.Until.Sub(q.Since) / 2)
	}
	return time.Time{}
}

// root is where a message entered one of the servers: the queue id it
// was first stored under (the origin of content-filter and forward hops).
type root struct {
	host, queueID, messageID string
	at                       time.Time
}

// msgKey names the message a root belongs to: its Message-ID when it has
// one, so that its queue files on several of the admin's servers (one log
// per host) are one message, as incident joins them.
func (r root) msgKey() string {
	if r.messageID != "" {
		return "<" + r.messageID + ">"
	}
	return r.host + "|" + r.queueID
}

// rootsBy returns the messages a key finds, by msgKey, each with the
// earliest queue file it entered a server with.
func rootsBy(ctx context.Context, st InvestigationStore, k Key, v string, r TimeRange) (map[string]root, error) {
	out := map[string]root{}
	add := func(rt root) {
		if old, ok := out[rt.msgKey()]; !ok || rt.at.Before(old.at) {
			out[rt.msgKey()] = rt
		}
	}
	err := st.RecipientsBy(ctx, k, v, r, func(rc Recipient) error {
		id := rc.QueueID
		if rc.Hop > 1 && rc.OriginQueueID != "" {
			id = rc.OriginQueueID
		}
		if id == "" {
			return nil // refused before a queue file existed: nothing to trace
		}
		add(root{host: rc.Host, queueID: id, messageID: rc.MessageID, at: rc.Time})
		return nil
	})
	if err != nil || len(out) > 0 {
		return out, err
	}
	// A message whose recipients were never logged still has events.
	var f EventField
	switch k {
	case KeyQueueID:
		f = ByQueueID
	case KeyMessageID:
		f = ByMessageID
	default:
		return out, nil
	}
	evs, err := st.EventsBy(ctx, f, v, r)
	mids := map[string]string{} // host|queue id → Message-ID
	for _, ev := range evs {
		if ev.MessageID != "" {
			mids[ev.Host+"|"+ev.QueueID] = ev.MessageID
		}
	}
	for _, ev := range evs {
		if ev.QueueID != "" {
			add(root{host: ev.Host, queueID: ev.QueueID, messageID: mids[ev.Host+"|"+ev.QueueID], at: ev.Time})
		}
	}
	return out, err
}

// incident follows the message that entered as root through every queue
// file it became or came from: content filter re-injection, forwards,
// bounces, and the same Message-ID on the other servers.
func incident(ctx context.Context, st InvestigationStore, root string, at time.Time, q Query, user TimeRange) (Incident, error) {
	inc := Incident{Time: at, Trail: []Step{}, Recipients: []Recipient{}}
	rng := TimeRange{From: at.Add(-trailBefore), To: at.Add(trailAfter)}
	if !user.From.IsZero() && user.From.After(rng.From) {
		rng.From = user.From
	}
	if !user.To.IsZero() && user.To.Before(rng.To) {
		rng.To = user.To
	}
	seen := map[string]bool{}
	mids := map[string]bool{}
	queue := []string{root}
	push := func(id string) {
		if id != "" && !seen[id] && !slices.Contains(queue, id) {
			queue = append(queue, id)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		if len(seen) == MaxTrailQueues {
			inc.Truncated = true
			break
		}
		seen[id] = true
		evs, err := st.EventsBy(ctx, ByQueueID, id, rng)
		if err != nil {
			return inc, err
		}
		if len(evs) == 0 && id != root {
			continue // another server's id ("queued as" on a remote host)
		}
		inc.QueueIDs = append(inc.QueueIDs, id)
		parents, err := st.EventsBy(ctx, ByNextQueueID, id, rng)
		if err != nil {
			return inc, err
		}
		for _, ev := range parents {
			push(ev.QueueID)
		}
		for _, ev := range evs {
			inc.Trail = append(inc.Trail, step(ev))
			if ev.Kind == parsers.KindDelivery && (ev.NextQueueID != "" || ev.Relay != "") {
				name, _, _ := strings.Cut(ev.Relay, "[")
				inc.links = append(inc.links, link{fromHost: ev.Host, fromQueueID: ev.QueueID, toQueueID: ev.NextQueueID, relayName: name})
			}
			push(ev.NextQueueID)
			push(ev.PrevQueueID)
			if ev.MessageID != "" && !mids[ev.MessageID] && len(mids) < 4 {
				mids[ev.MessageID] = true
				if inc.MessageID == "" {
					inc.MessageID = ev.MessageID
				}
				same, err := st.EventsBy(ctx, ByMessageID, ev.MessageID, rng)
				if err != nil {
					return inc, err
				}
				for _, s := range same {
					push(s.QueueID)
				}
			}
		}
	}
	slices.SortStableFunc(inc.Trail, func(a, b Step) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.pos.File, b.pos.File), cmp.Compare(a.pos.Line, b.pos.Line))
	})
	for _, id := range inc.QueueIDs {
		err := st.RecipientsBy(ctx, KeyQueueID, id, rng, func(r Recipient) error {
			inc.Recipients = append(inc.Recipients, r)
			return nil
		})
		if err != nil {
			return inc, err
		}
	}
	slices.SortStableFunc(inc.Recipients, func(a, b Recipient) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Hop, b.Hop), strings.Compare(a.QueueID, b.QueueID))
	})
	return inc, nil
}

// step describes one event of a trail in the words of its log line.
func step(ev parsers.Event) Step {
	s := Step{Time: ev.Time, Host: ev.Host, QueueID: ev.QueueID, Event: ev.Kind.String(), Evidence: ev.Pos.String(), Raw: ev.Raw, pos: ev.Pos}
	var d []string
	add := func(k, v string) {
		if v != "" {
			d = append(d, k+"="+v)
		}
	}
	switch ev.Kind {
	case parsers.KindClient, parsers.KindConnect, parsers.KindAuthFailed:
		if ev.ClientIP.IsValid() {
			d = append(d, fmt.Sprintf("client=%s[%s]", ev.ClientName, ev.ClientIP))
		}
		add("sasl_user", ev.SASLUser)
		add("prev", ev.PrevQueueID)
		if ev.OrigClientIP.IsValid() {
			add("orig_client", ev.OrigClientIP.String())
		}
	case parsers.KindRcpt:
		if ev.Rcpt != "" {
			d = append(d, "to=<"+ev.Rcpt+">")
		}
	case parsers.KindAuth:
		add("sasl_user", ev.SASLUser)
	case parsers.KindMessageID:
		d = append(d, "message-id=<"+ev.MessageID+">")
	case parsers.KindSender:
		d = append(d, "from=<"+ev.From+">")
		if ev.Format == "exchange" {
			// a tracking row kept for the record: its event id
			// (AGENTINFO, SUBMIT, HAREDIRECT, ...) says what happened
			add("event", ev.Reason)
		}
	case parsers.KindDelivery, parsers.KindReject:
		if ev.Rcpt != "" {
			d = append(d, "to=<"+ev.Rcpt+">")
		}
		add("relay", ev.Relay)
		add("status", ev.Status)
		add("dsn", ev.DSN)
		add("next", ev.NextQueueID)
		if ev.Kind == parsers.KindReject {
			add("reason", ev.Reason)
		}
	case parsers.KindBounce:
		add("notification", ev.NextQueueID)
	}
	s.Detail = strings.Join(d, " ")
	return s
}

// causeRank orders verdicts by what they say about how the mail got out.
var causeRank = []Verdict{RelayAbuse, AccountAbuse, AuthenticatedOutbound, Forwarded, InternalOutbound, UnknownOrigin, RelayAttemptRejected, SystemBounce, Inbound}

// cause finds the queue file that came from outside (the earliest first
// hop, not a bounce, that none of the admin's own servers handed on) and
// says who the server took it from.
func cause(ctx context.Context, st InvestigationStore, inc *Incident, q Query) error {
	c := Cause{Kind: CauseUnknown, Evidence: []string{}}
	fed := relayedInside(inc, q.Complaint)
	var entry *Recipient
	for pass := 0; pass < 2 && entry == nil; pass++ {
		for i := range inc.Recipients {
			r := &inc.Recipients[i]
			if r.Hop != 1 || pass == 0 && fed[r.Host+"|"+r.QueueID] {
				continue
			}
			if entry == nil || (entry.Verdict == SystemBounce && r.Verdict != SystemBounce) {
				entry = r
			}
		}
	}
	if entry == nil {
		c.Summary = "no recipient of this message was recorded: how it arrived is not in the log"
		inc.Cause = c
		return nil
	}
	// The verdict that explains the complaint: the complained-about
	// recipients' if we know them, else the gravest of the first hop's.
	want := map[string]bool{}
	for _, k := range keysOf(q) {
		if k.Key == KeyRecipient {
			want[k.Value] = true
		}
	}
	best := -1
	var pick *Recipient
	for pass := 0; pass < 2 && pick == nil; pass++ {
		for i := range inc.Recipients {
			r := &inc.Recipients[i]
			if pass == 0 && (!want[strings.ToLower(r.Recipient)] || r.Host != entry.Host && fed[r.Host+"|"+r.QueueID]) {
				continue // another server's copy says how it got there from ours
			}
			if pass == 1 && (r.Host != entry.Host || r.QueueID != entry.QueueID) {
				continue
			}
			rank := slices.Index(causeRank, r.Verdict)
			if rank >= 0 && (pick == nil || rank < best) {
				pick, best = r, rank
			}
		}
	}
	if pick == nil {
		pick = entry
	}
	c.Verdict, c.Reason = pick.Verdict, pick.Reason
	c.Host, c.QueueID = entry.Host, entry.QueueID
	c.ClientIP, c.ClientName, c.Helo = entry.ClientIP, entry.ClientName, entry.Helo
	evidence := entry.Evidence
	if pick != entry && pick.Host == entry.Host && pick.QueueID == entry.QueueID {
		// The complained-about recipient's own lines, beside the message's.
		evidence = append(slices.Clip(evidence), pick.Evidence...)
	}
	for _, e := range evidence {
		if !slices.Contains(c.Evidence, e) {
			c.Evidence = append(c.Evidence, e)
		}
	}
	client := c.ClientIP
	if client == "" {
		client = "an unknown address"
	}
	server := "the server" // Exim's mainlog does not name its host
	if entry.Host != "" {
		server = "host " + entry.Host
	}
	switch pick.Verdict {
	case RelayAbuse:
		c.Kind = CauseOpenRelay
		c.Summary = fmt.Sprintf("open relay: %s accepted mail for external recipients from unauthenticated client %s", server, client)
		if c.ClientName != "" {
			c.Summary += " (" + c.ClientName + ")"
		}
	case AuthenticatedOutbound:
		c.Kind = CauseAuthenticated
		c.Summary = fmt.Sprintf("authenticated account %s sent it from %s: likely a compromised password", entry.AuthUser, client)
	case AccountAbuse:
		c.Kind = CauseCompromised
		c.Summary = fmt.Sprintf("compromised account %s: sent from %s in a session judged a take-over (relaysleuth report accounts)", entry.AuthUser, client)
	case Forwarded:
		c.Kind = CauseForwarding
		c.Summary = "forwarding: a local recipient's alias or .forward sent it on to an external address"
		var to []string
		for _, d := range pick.Deliveries {
			if d.To != "" && !strings.EqualFold(d.To, pick.Recipient) && !slices.Contains(to, d.To) {
				to = append(to, d.To)
			}
		}
		if len(to) > 0 {
			c.Summary = fmt.Sprintf("forwarding: local recipient %s was sent on to %s by its alias or .forward (from %s)", pick.Recipient, strings.Join(to, ", "), client)
		}
	case InternalOutbound:
		c.Kind = CauseInternal
		c.Summary = fmt.Sprintf("internal host: sent from %s, which your policy trusts (or a local submission)", client)
	case RelayAttemptRejected:
		c.Kind = CauseRefused
		c.Summary = fmt.Sprintf("relay attempt from %s, refused: the server did not send it", client)
	case SystemBounce:
		c.Kind = CauseBounce
		c.Summary = "a delivery status notification the server generated (backscatter)"
	case Inbound:
		c.Kind = CauseInbound
		c.Summary = fmt.Sprintf("inbound mail from %s for local recipients: not relayed", client)
	}
	if entry.AuthUser != "" {
		c.AuthUser = entry.AuthUser
		if c.Kind != CauseAuthenticated && c.Kind != CauseCompromised {
			c.Summary += fmt.Sprintf("; the client had authenticated as %s", entry.AuthUser)
		}
	}
	var inside []string
	for k := range fed {
		host, _, _ := strings.Cut(k, "|")
		if host != entry.Host && host != "" && !slices.Contains(inside, host) {
			inside = append(inside, host)
		}
	}
	if len(inside) > 0 {
		slices.Sort(inside)
		c.Summary += fmt.Sprintf("; it then crossed your own server(s) %s", strings.Join(inside, ", "))
	}
	if err := logins(ctx, st, &c, entry.Time, q.Window); err != nil {
		return err
	}
	inc.Cause = c
	return nil
}

// relayedInside returns the queue files (host|queue id) of an incident
// that one of the admin's own servers handed on, so that the hop that
// took the message from outside is the cause, whatever the clocks of the
// hosts say. A queue file was handed on when another host's delivery
// names its queue id ("queued as") or its host (relay=hub.example[...]),
// when its client is another host of the incident (by name), or when the
// complaint's Received headers show its client address as the server that
// wrote the header below (RFC 5321 section 4.4: each hop prepends one).
func relayedInside(inc *Incident, c *Complaint) map[string]bool {
	hosts := map[string]bool{}
	for _, r := range inc.Recipients {
		if r.Host != "" {
			hosts[strings.ToLower(r.Host)] = true
		}
	}
	ids := map[string]bool{}
	for _, id := range inc.QueueIDs {
		ids[id] = true
	}
	ownIPs := map[string]string{} // client address → the host whose Received header is below
	if c != nil {
		for i := 0; i+1 < len(c.Received); i++ {
			up, below := c.Received[i], c.Received[i+1]
			if up.ClientIP.IsValid() && (ids[below.ID] || hosts[firstLabel(below.By)]) {
				ownIPs[up.ClientIP.String()] = below.ID
			}
		}
	}
	fed := map[string]bool{}
	for _, r := range inc.Recipients {
		k := r.Host + "|" + r.QueueID
		host := firstLabel(r.Host)
		for _, l := range inc.links {
			if l.fromHost == r.Host || l.fromQueueID == r.QueueID {
				continue
			}
			if l.toQueueID == r.QueueID || host != "" && firstLabel(l.relayName) == host {
				fed[k] = true
			}
		}
		for _, name := range []string{r.ClientName, r.Helo} {
			if n := firstLabel(name); n != "" && n != host && hosts[n] {
				fed[k] = true
			}
		}
		if id, ok := ownIPs[r.ClientIP]; ok && id != r.QueueID {
			fed[k] = true
		}
	}
	return fed
}

// firstLabel returns the lower-cased first label of a host name
// ("hub.corp.example" → "hub"): syslog names a host by its short name,
// peers by the full one. An address literal has none.
func firstLabel(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == "unknown" || strings.HasPrefix(name, "[") || strings.ContainsRune(name, ':') {
		return ""
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return ""
	}
	label, _, _ := strings.Cut(name, ".")
	return label
}

// logins fills the account's logins in the window and the failed logins
// (for the account, or from the addresses it or the client used) before
// the message.
func logins(ctx context.Context, st InvestigationStore, c *Cause, at time.Time, window time.Duration) error {
	rng := TimeRange{From: at.Add(-window / 2), To: at.Add(window / 2)}
	before := TimeRange{From: rng.From, To: at.Add(time.Second)}
	ips := []string{}
	if c.ClientIP != "" {
		ips = append(ips, c.ClientIP)
	}
	var failed []parsers.Event
	if c.AuthUser != "" {
		evs, err := st.Logins(ctx, c.AuthUser, rng)
		if err != nil {
			return err
		}
		byIP := map[string]*Login{}
		for _, ev := range evs {
			ip := ipString(ev)
			l := byIP[ip]
			if l == nil {
				l = &Login{ClientIP: ip, ClientName: ev.ClientName, First: ev.Time, Evidence: ev.Pos.String()}
				byIP[ip] = l
				if !slices.Contains(ips, ip) && ip != "" {
					ips = append(ips, ip)
				}
			}
			l.Count++
			l.Last = ev.Time
		}
		for _, l := range byIP {
			c.Logins = append(c.Logins, *l)
		}
		slices.SortFunc(c.Logins, func(a, b Login) int { return cmp.Or(a.First.Compare(b.First), strings.Compare(a.ClientIP, b.ClientIP)) })
		evs, err = st.AuthFailuresBy(ctx, KeyAuthUser, c.AuthUser, before)
		if err != nil {
			return err
		}
		failed = append(failed, evs...)
	}
	for _, ip := range ips {
		evs, err := st.AuthFailuresBy(ctx, KeyClientIP, ip, before)
		if err != nil {
			return err
		}
		failed = append(failed, evs...)
	}
	slices.SortFunc(failed, func(a, b parsers.Event) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
	failed = slices.CompactFunc(failed, func(a, b parsers.Event) bool { return a.Pos == b.Pos })
	failed = oneFileEach(failed)
	for _, ev := range failed {
		if len(c.FailedLogins) == maxFailedLogins {
			break
		}
		c.FailedLogins = append(c.FailedLogins, FailedLogin{Time: ev.Time, ClientIP: ipString(ev), User: ev.SASLUser, Reason: ev.Reason, Evidence: ev.Pos.String()})
	}
	if c.Kind == CauseAuthenticated {
		c.Summary += fmt.Sprintf("; the account logged in from %d address(es) in the window, %d failed login(s) before", len(c.Logins), len(c.FailedLogins))
	}
	if c.Kind == CauseCompromised {
		c.Summary += takeoverLogin(c)
	}
	return nil
}

// oneFileEach drops the copies of failed logins that another file also
// logged: Exim writes each refused login to both mainlog and rejectlog.
// For every (time, client, user, reason) it keeps the lines of the file
// that has the most of them (the first file by name on a tie), so two real
// failures in one second are still two.
func oneFileEach(evs []parsers.Event) []parsers.Event {
	type key struct {
		ms               int64
		ip, user, reason string
	}
	keyOf := func(ev parsers.Event) key { return key{ev.Time.UnixMilli(), ipString(ev), ev.SASLUser, ev.Reason} }
	count := map[key]map[string]int{}
	for _, ev := range evs {
		k := keyOf(ev)
		if count[k] == nil {
			count[k] = map[string]int{}
		}
		count[k][ev.Pos.File]++
	}
	best := map[key]string{}
	for k, files := range count {
		for f, n := range files {
			b, ok := best[k]
			if !ok || n > files[b] || n == files[b] && f < b {
				best[k] = f
			}
		}
	}
	return slices.DeleteFunc(evs, func(ev parsers.Event) bool { return ev.Pos.File != best[keyOf(ev)] })
}

// radius counts what else each incident's client address, account and
// sender (and the flags' own) sent around the incidents.
func radius(ctx context.Context, st InvestigationStore, inv *Investigation, q Query, user TimeRange) ([]Radius, error) {
	type subject struct {
		k Key
		v string
	}
	var subs []subject
	seen := map[subject]bool{}
	add := func(k Key, v string) {
		s := subject{k, v}
		if v != "" && !seen[s] {
			seen[s] = true
			subs = append(subs, s)
		}
	}
	var first, last time.Time
	for _, inc := range inv.Incidents {
		add(KeyClientIP, inc.Cause.ClientIP)
		add(KeyAuthUser, inc.Cause.AuthUser)
		for _, r := range inc.Recipients {
			if r.Hop == 1 && r.QueueID == inc.Cause.QueueID {
				add(KeySender, strings.ToLower(r.Sender))
				break
			}
		}
		if first.IsZero() || inc.Time.Before(first) {
			first = inc.Time
		}
		if inc.Time.After(last) {
			last = inc.Time
		}
	}
	add(KeyClientIP, q.ClientIP)
	add(KeyAuthUser, q.AuthUser)
	add(KeySender, strings.ToLower(q.Sender))
	rng := TimeRange{From: first.Add(-q.Window / 2), To: last.Add(q.Window / 2)}
	if !user.From.IsZero() || !user.To.IsZero() {
		rng = user
	}
	out := []Radius{}
	for _, s := range subs {
		rd := Radius{Key: s.k, Value: s.v, Window: rng, TopDomains: []DomainCount{}, Verdicts: map[Verdict]int{}, Evidence: []string{}}
		msgs := map[string]bool{}
		domains := map[string]int{}
		external := map[string]bool{}
		onHost := map[string]string{} // Message-ID|recipient → the host it was first counted on
		err := st.RecipientsBy(ctx, s.k, s.v, rng, func(r Recipient) error {
			if r.Hop != 1 {
				return nil
			}
			if r.MessageID != "" {
				// The same message on the next of the admin's servers
				// (edge, then hub) is not another recipient.
				mk := r.MessageID + "|" + strings.ToLower(r.Recipient)
				if h, ok := onHost[mk]; ok && h != r.Host {
					return nil
				}
				onHost[mk] = r.Host
			}
			rd.Recipients++
			if rd.First.IsZero() {
				rd.First = r.Time
			}
			rd.Last = r.Time
			rd.Verdicts[r.Verdict]++
			key := r.Host + "|" + r.QueueID
			if r.MessageID != "" {
				key = "<" + r.MessageID + ">"
			} else if r.QueueID == "" {
				key = r.Host + "|" + r.Time.String() + "|" + r.ClientIP + "|" + r.Sender
			}
			msgs[key] = true
			d := Domain(r.Recipient)
			domains[d]++
			if outbound(r.Verdict) {
				external[d] = true
			}
			if len(rd.Evidence) < 3 && len(r.Evidence) > 0 {
				rd.Evidence = append(rd.Evidence, r.Evidence[len(r.Evidence)-1])
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rd.Messages, rd.Domains, rd.ExternalDomains = len(msgs), len(domains), len(external)
		for d, n := range domains {
			rd.TopDomains = append(rd.TopDomains, DomainCount{d, n})
		}
		slices.SortFunc(rd.TopDomains, func(a, b DomainCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Domain, b.Domain))
		})
		if len(rd.TopDomains) > 5 {
			rd.TopDomains = rd.TopDomains[:5]
		}
		out = append(out, rd)
	}
	return out, nil
}

// candidates returns the first-hop recipients that share the complaint's
// recipient or sender (first) or client address, nearest to its time: what
// the admin looks at when the exact message is not in the logs.
func candidates(ctx context.Context, st InvestigationStore, keys []KeyResult, anchor time.Time) ([]Recipient, error) {
	var out []Recipient
	score := map[string]int{}
	id := func(r Recipient) string { return r.Host + "|" + r.QueueID + "|" + r.Recipient + "|" + r.Time.String() }
	for _, k := range keys {
		weight := 2 // the same recipient or sender says more than the same client
		switch k.Key {
		case KeyRecipient, KeySender:
		case KeyClientIP:
			weight = 1
		default:
			continue
		}
		err := st.RecipientsBy(ctx, k.Key, k.Value, TimeRange{}, func(r Recipient) error {
			if r.Hop != 1 {
				return nil
			}
			if _, ok := score[id(r)]; !ok {
				if len(out) == maxCandidateRows {
					return nil
				}
				out = append(out, r)
			}
			score[id(r)] += weight
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	dist := func(r Recipient) time.Duration {
		d := r.Time.Sub(anchor)
		if d < 0 {
			return -d
		}
		return d
	}
	slices.SortStableFunc(out, func(a, b Recipient) int {
		if c := cmp.Compare(score[id(b)], score[id(a)]); c != 0 {
			return c
		}
		if anchor.IsZero() {
			return b.Time.Compare(a.Time) // newest first
		}
		return cmp.Compare(dist(a), dist(b))
	})
	if len(out) > MaxCandidates {
		out = out[:MaxCandidates]
	}
	if out == nil {
		out = []Recipient{}
	}
	return out, nil
}
