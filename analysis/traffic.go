package analysis

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Traffic is pflogsumm's morning summary, counted from the stored events of
// any MTA: what came in, what went out, what was deferred, bounced and
// refused, per hour and day, per host and MTA, the busiest senders,
// recipients and domains, and how long delivery took per domain.
//
// The counts are pflogsumm's (pflogsumm.pl, "Grand Totals"): received is
// one per message entering a queue from an SMTP client or a local
// submission (a message a content filter re-injects is received twice, as
// pflogsumm counts it); delivered one per recipient delivered (status=sent),
// not counting local(8)'s "forwarded as"; deferred one per message deferred
// at least once (deferrals one per deferral); bounced one per recipient
// bounced; rejected one per refusal line (smtpd, cleanup header/body
// checks). Bytes received add up each received message's size once; bytes
// delivered its size once per delivered recipient. Exim's rejectlog repeats
// the mainlog's refusals and is not counted.
type Traffic struct {
	From       time.Time `json:"from"` // the first and last event counted
	To         time.Time `json:"to"`
	Totals     Counts    `json:"totals"`
	ByHost     []Named   `json:"by_host"`
	ByMTA      []Named   `json:"by_mta"`
	Hourly     []Bucket  `json:"hourly"`
	Daily      []Bucket  `json:"daily"`
	Rejects    []Reason  `json:"reject_reasons"`
	Deferrals  []Reason  `json:"deferral_reasons"`
	Bounces    []Reason  `json:"bounce_reasons"`
	Senders    []Top     `json:"top_senders"`
	Recipients []Top     `json:"top_recipients"`
	// SenderDomains and RecipientDomains are the busiest domains, the
	// latter with the delivery delays to each.
	SenderDomains    []Top         `json:"top_sender_domains"`
	RecipientDomains []DomainDelay `json:"recipient_domains"`
}

// Counts are one row of totals.
type Counts struct {
	Received       int   `json:"received"`
	Delivered      int   `json:"delivered"`
	Forwarded      int   `json:"forwarded"`
	Deferred       int   `json:"deferred"`  // messages
	Deferrals      int   `json:"deferrals"` // deferral lines
	Bounced        int   `json:"bounced"`
	Rejected       int   `json:"rejected"`
	BytesReceived  int64 `json:"bytes_received"`
	BytesDelivered int64 `json:"bytes_delivered"`
}

// Named are the counts of one host or MTA.
type Named struct {
	Name string `json:"name"`
	Counts
}

// A Bucket is the counts of one hour or one day (Start, UTC).
type Bucket struct {
	Start time.Time `json:"start"`
	Counts
}

// A Reason is a refusal, deferral or bounce text and how often it was given.
type Reason struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// A Top is a sender, recipient or domain with its messages and bytes.
type Top struct {
	Name     string `json:"name"`
	Messages int    `json:"messages"`
	Bytes    int64  `json:"bytes"`
}

// A DomainDelay is pflogsumm's "Host/Domain Summary: Message Delivery"
// row: deliveries to one domain, their bytes, the deferrals, and the time
// from a message's arrival line to its delivery line, on average and at
// most.
type DomainDelay struct {
	Domain    string        `json:"domain"`
	Delivered int           `json:"delivered"`
	Bytes     int64         `json:"bytes"`
	Deferrals int           `json:"deferrals"`
	AvgDelay  time.Duration `json:"avg_delay_ns"`
	MaxDelay  time.Duration `json:"max_delay_ns"`
}

// TopN is how many senders, recipients, domains and reasons Traffic keeps.
const TopN = 20

// A TrafficCounter counts events into a Traffic. Feed it every event of
// the span in the order of each file (Add), then call Traffic. Not safe for
// concurrent use.
type TrafficCounter struct {
	t        Traffic
	hosts    map[string]*Counts
	mtas     map[string]*Counts
	hours    map[int64]*Counts
	days     map[int64]*Counts
	rejects  map[string]int
	defers   map[string]int
	bounces  map[string]int
	senders  map[string]*Top
	rcpts    map[string]*Top
	sdomains map[string]*Top
	rdomains map[string]*domainAcc
	msgs     map[msgKey]*msgState
}

// msgKey is a queue file. Not the host: Postfix's re-injection smtpd may
// log under its own myhostname ("reinject") while qmgr, of the same queue,
// logs under the server's.
type msgKey struct{ format, queueID string }

// msgState is what the counter remembers of a queue file until it is
// removed: when it arrived, its size, whether it was received here (not
// only seen being delivered) and whether it was counted deferred.
type msgState struct {
	arrived  time.Time
	size     int64
	received bool
	sized    bool
	deferred bool
	// at is the arrival event as counted, sender what was counted of the
	// sender, so that a message found later to be a content filter's
	// re-injection can be taken out again (uncount).
	at     parsers.Event
	sender string
}

type domainAcc struct {
	DomainDelay
	total time.Duration
	timed int
}

// NewTrafficCounter returns an empty counter.
func NewTrafficCounter() *TrafficCounter {
	return &TrafficCounter{
		hosts: map[string]*Counts{}, mtas: map[string]*Counts{}, hours: map[int64]*Counts{}, days: map[int64]*Counts{},
		rejects: map[string]int{}, defers: map[string]int{}, bounces: map[string]int{},
		senders: map[string]*Top{}, rcpts: map[string]*Top{}, sdomains: map[string]*Top{},
		rdomains: map[string]*domainAcc{}, msgs: map[msgKey]*msgState{},
	}
}

// add applies f to the totals and to the rows of ev's host, MTA, hour and day.
func (c *TrafficCounter) add(ev *parsers.Event, f func(*Counts)) {
	f(&c.t.Totals)
	for _, m := range []struct {
		m map[string]*Counts
		k string
	}{{c.hosts, ev.Host}, {c.mtas, ev.Format}} {
		if m.m[m.k] == nil {
			m.m[m.k] = &Counts{}
		}
		f(m.m[m.k])
	}
	t := ev.Time.UTC()
	for _, m := range []struct {
		m map[int64]*Counts
		k int64
	}{{c.hours, t.Truncate(time.Hour).Unix()}, {c.days, time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()}} {
		if m.m[m.k] == nil {
			m.m[m.k] = &Counts{}
		}
		f(m.m[m.k])
	}
}

func (c *TrafficCounter) msg(ev *parsers.Event) *msgState {
	k := msgKey{ev.Format, ev.QueueID}
	m := c.msgs[k]
	if m == nil {
		m = &msgState{arrived: ev.Time}
		c.msgs[k] = m
	}
	return m
}

// Add counts one event.
func (c *TrafficCounter) Add(ev parsers.Event) {
	if ev.Format == "exim" && ev.Daemon == "rejectlog" {
		return
	}
	if c.t.From.IsZero() || ev.Time.Before(c.t.From) {
		c.t.From = ev.Time
	}
	if ev.Time.After(c.t.To) {
		c.t.To = ev.Time
	}
	switch ev.Kind {
	case parsers.KindClient, parsers.KindPickup:
		if ev.QueueID == "" {
			return
		}
		if ev.PrevQueueID != "" {
			// A content filter's re-injection (XFORWARD orig_queue_id):
			// the same message, received once already.
			return
		}
		m := c.msg(&ev)
		if m.received {
			return // Exchange logs RECEIVE once per recipient batch; Exim <= once
		}
		m.received, m.arrived = true, ev.Time
		m.at = ev
		m.at.Raw = "" // keeps only what add needs, not the line
		c.add(&ev, func(n *Counts) { n.Received++ })
		// Exim and Exchange log the sender and size on the arrival line;
		// Postfix in qmgr's "from=<...>, size=N" (KindSender) that follows.
		if ev.Format != "postfix" {
			c.sender(&ev, m)
		}
	case parsers.KindSender:
		// Postfix qmgr "from=<...>, size=N": once per queue file, the
		// first time (it repeats on every retry from the deferred queue).
		if ev.QueueID == "" {
			return
		}
		m := c.msg(&ev)
		if m.received {
			c.sender(&ev, m)
		} else if !m.sized {
			m.size, m.sized = ev.Size, true
		}
	case parsers.KindReject:
		c.add(&ev, func(n *Counts) { n.Rejected++ })
		c.rejects[reasonKey(ev.Reason)]++
	case parsers.KindDelivery:
		c.delivery(&ev)
	case parsers.KindRemoved:
		delete(c.msgs, msgKey{ev.Format, ev.QueueID})
	}
}

// sender counts a received message's sender and size, once.
func (c *TrafficCounter) sender(ev *parsers.Event, m *msgState) {
	if m.sized {
		return
	}
	m.size, m.sized = ev.Size, true
	size := ev.Size
	c.add(ev, func(n *Counts) { n.BytesReceived += size })
	from := strings.ToLower(ev.From)
	if from == "" {
		from = "<>"
	}
	m.sender = from
	topAdd(c.senders, from, size, 1)
	if d := Domain(from); d != "" {
		topAdd(c.sdomains, d, size, 1)
	}
}

// uncount takes a message out of the received counts: it turned out to be
// a content filter's re-injection of a message received before, which the
// parent's delivery line names ("250 2.0.0 Ok: queued as 92842BC340").
// pflogsumm does not count those either: their smtpd has a syslog_name of
// its own (postfix/reinject/smtpd), which pflogsumm does not read.
func (c *TrafficCounter) uncount(m *msgState) {
	if !m.received {
		return
	}
	m.received = false
	var size int64
	if m.sender != "" {
		size = m.size
		topAdd(c.senders, m.sender, -size, -1)
		if d := Domain(m.sender); d != "" {
			topAdd(c.sdomains, d, -size, -1)
		}
	}
	c.add(&m.at, func(n *Counts) { n.Received--; n.BytesReceived -= size })
}

func topAdd(m map[string]*Top, k string, size int64, n int) {
	t := m[k]
	if t == nil {
		t = &Top{Name: k}
		m[k] = t
	}
	t.Messages += n
	t.Bytes += size
	if t.Messages <= 0 {
		delete(m, k)
	}
}

func (c *TrafficCounter) delivery(ev *parsers.Event) {
	rcpt := strings.ToLower(ev.Rcpt)
	dom := Domain(rcpt)
	d := c.rdomains[dom]
	if d == nil {
		d = &domainAcc{DomainDelay: DomainDelay{Domain: dom}}
		c.rdomains[dom] = d
	}
	var m *msgState
	if ev.QueueID != "" {
		m = c.msgs[msgKey{ev.Format, ev.QueueID}]
	}
	switch ev.Status {
	case parsers.StatusSent:
		if strings.Contains(ev.Reason, "forwarded as ") {
			c.add(ev, func(n *Counts) { n.Forwarded++ })
			return
		}
		var size int64
		if m != nil && m.sized {
			size = m.size
		}
		c.add(ev, func(n *Counts) { n.Delivered++; n.BytesDelivered += size })
		if ev.NextQueueID != "" && ev.NextQueueID != ev.QueueID {
			if next := c.msgs[msgKey{ev.Format, ev.NextQueueID}]; next != nil && next.arrived.Sub(ev.Time) < time.Minute {
				c.uncount(next)
			}
		}
		topAdd(c.rcpts, rcpt, size, 1)
		d.Delivered++
		d.Bytes += size
		if m != nil {
			delay := max(ev.Time.Sub(m.arrived), 0)
			d.total += delay
			d.timed++
			d.MaxDelay = max(d.MaxDelay, delay)
		}
	case parsers.StatusDeferred:
		first := m == nil || !m.deferred
		if m != nil {
			m.deferred = true
		} else if ev.QueueID != "" {
			c.msg(ev).deferred = true
		}
		c.add(ev, func(n *Counts) {
			n.Deferrals++
			if first {
				n.Deferred++
			}
		})
		c.defers[reasonKey(ev.Reason)]++
		d.Deferrals++
		if m != nil {
			d.MaxDelay = max(d.MaxDelay, ev.Time.Sub(m.arrived))
		}
	case parsers.StatusBounced:
		c.add(ev, func(n *Counts) { n.Bounced++ })
		c.bounces[reasonKey(ev.Reason)]++
	}
}

// reasonKey is a refusal, deferral or bounce text without what changes
// from one line to the next: the command and address it was about
// ("RCPT: <x@victim.example>: Relay access denied" is "Relay access
// denied"), and a leading SMTP reply code.
func reasonKey(s string) string {
	s = strings.TrimSpace(s)
	for {
		if m := replyPrefix.FindString(s); m != "" {
			s = s[len(m):]
			continue
		}
		cmd, rest, ok := strings.Cut(s, ": ")
		if ok && (smtpCommands[cmd] || strings.HasPrefix(cmd, "<") && strings.HasSuffix(cmd, ">") && !strings.Contains(cmd, " ")) {
			s = rest
			continue
		}
		break
	}
	s = reasonAddress.ReplaceAllString(s, "<address>")
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "")
	}
	if s == "" {
		s = "(no reason logged)"
	}
	return s
}

// replyPrefix is an SMTP reply code or enhanced status code (RFC 3463)
// leading a reason.
var replyPrefix = regexp.MustCompile(`^(?:[245][0-9][0-9]|[245]\.[0-9]{1,3}\.[0-9]{1,3}) `)

// smtpCommands are the commands Postfix names before a refusal's text.
var smtpCommands = map[string]bool{"CONNECT": true, "EHLO": true, "HELO": true, "MAIL": true, "RCPT": true, "DATA": true,
	"END-OF-MESSAGE": true, "VRFY": true, "ETRN": true, "BDAT": true}

// reasonAddress is a mail address in a reason: one per recipient, they
// would make every bounce a reason of its own.
var reasonAddress = regexp.MustCompile(`<[^<>\s]*@[^<>\s]*>`)

// Traffic returns what was counted.
func (c *TrafficCounter) Traffic() Traffic {
	t := c.t
	t.ByHost = named(c.hosts)
	t.ByMTA = named(c.mtas)
	t.Hourly = buckets(c.hours)
	t.Daily = buckets(c.days)
	t.Rejects = reasons(c.rejects)
	t.Deferrals = reasons(c.defers)
	t.Bounces = reasons(c.bounces)
	t.Senders = tops(c.senders)
	t.Recipients = tops(c.rcpts)
	t.SenderDomains = tops(c.sdomains)
	for _, d := range c.rdomains {
		if d.timed > 0 {
			d.AvgDelay = d.total / time.Duration(d.timed)
		}
		t.RecipientDomains = append(t.RecipientDomains, d.DomainDelay)
	}
	sort.Slice(t.RecipientDomains, func(i, j int) bool {
		a, b := t.RecipientDomains[i], t.RecipientDomains[j]
		if a.Delivered+a.Deferrals != b.Delivered+b.Deferrals {
			return a.Delivered+a.Deferrals > b.Delivered+b.Deferrals
		}
		return a.Domain < b.Domain
	})
	if len(t.RecipientDomains) > TopN {
		t.RecipientDomains = t.RecipientDomains[:TopN]
	}
	if t.RecipientDomains == nil {
		t.RecipientDomains = []DomainDelay{}
	}
	return t
}

func named(m map[string]*Counts) []Named {
	out := make([]Named, 0, len(m))
	for k, c := range m {
		out = append(out, Named{Name: k, Counts: *c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func buckets(m map[int64]*Counts) []Bucket {
	out := make([]Bucket, 0, len(m))
	for k, c := range m {
		out = append(out, Bucket{Start: time.Unix(k, 0).UTC(), Counts: *c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func reasons(m map[string]int) []Reason {
	out := make([]Reason, 0, len(m))
	for k, n := range m {
		out = append(out, Reason{Reason: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	if len(out) > TopN {
		out = out[:TopN]
	}
	return out
}

func tops(m map[string]*Top) []Top {
	out := make([]Top, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Messages != out[j].Messages {
			return out[i].Messages > out[j].Messages
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > TopN {
		out = out[:TopN]
	}
	return out
}
