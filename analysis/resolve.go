package analysis

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// A Resolver finds messages that earlier runs stored, so that a log read in
// pieces (a file that grew, a restart of tail) is joined as if read whole.
type Resolver interface {
	// MessageByQueueID returns the newest stored message with this queue
	// id that was not removed and arrived after since, with its
	// recipients; nil if there is none.
	MessageByQueueID(queueID string, since time.Time) (*Message, []*Recipient, error)
	// MessageByKey returns the stored message with this key.
	MessageByKey(key string) (*Message, []*Recipient, error)
}

// maxQueueAge bounds how far back a queue id is looked up: queue ids are
// reused, and Postfix returns mail after 5 days by default.
const maxQueueAge = 30 * 24 * time.Hour

// restore brings a stored message (and the chain it continued from) back
// into memory. Lookup errors are counted and treated as "not stored".
func (c *Correlator) restore(ev parsers.Event) *Message {
	return c.restoreQueueID(ev.QueueID, ev.Time)
}

// known returns the message in memory for a queue id, or the one an earlier
// run stored.
func (c *Correlator) known(qid string, t time.Time) (*Message, bool) {
	if m, ok := c.msgs[qid]; ok {
		return m, true
	}
	m := c.restoreQueueID(qid, t)
	return m, m != nil
}

func (c *Correlator) restoreQueueID(qid string, t time.Time) *Message {
	if c.Resolver == nil || qid == "" {
		return nil
	}
	m, rs, err := c.Resolver.MessageByQueueID(qid, t.Add(-maxQueueAge))
	if err != nil {
		c.stats.ResolveErrors++
		return nil
	}
	if m == nil {
		return nil
	}
	c.adopt(m, rs, 0)
	m.lastSeen = t
	c.msgs[m.QueueID] = m
	if pl, ok := c.pending[qid]; ok {
		delete(c.pending, qid)
		if pl.via == ViaBounce {
			m.Origin = OriginBounce
		}
		c.link(pl.parent, m, pl.rcpt, pl.via)
	}
	return m
}

func (c *Correlator) adopt(m *Message, rs []*Recipient, depth int) {
	m.rcpts = rs
	if m.ParentKey == "" || depth > 8 {
		return
	}
	p, prs, err := c.Resolver.MessageByKey(m.ParentKey)
	if err != nil || p == nil {
		return
	}
	c.adopt(p, prs, depth+1)
	m.parent = p
	p.children = append(p.children, m)
}

// RestoreRecipient rebuilds the correlator's view of a stored recipient:
// the refusal and forwarding it recorded, and its own evidence lines (those
// not already in the message's evidence).
func RestoreRecipient(r *Recipient, msgEvidence []parsers.Pos) {
	if r.Status == StatusRejected {
		r.rejected = between(r.Reason, "refused (", ") for")
		if r.rejected == "" {
			r.rejected = "refused"
		}
		if ip, err := netip.ParseAddr(r.ClientIP); err == nil {
			// As judged: by the client the refusal named, should the
			// message's arrival still be unknown.
			r.refusedBy = &refuser{ip: ip, name: r.ClientName, helo: r.Helo, authUser: r.AuthUser}
		}
	}
	if r.Verdict == Forwarded {
		r.forwardedOut = between(r.Reason, "to external address ", ";")
	}
	known := make(map[parsers.Pos]bool, len(msgEvidence))
	for _, p := range msgEvidence {
		known[p] = true
	}
	for _, s := range r.Evidence {
		p := ParsePos(s)
		if !known[p] {
			r.Pos = appendPos(r.Pos, p)
		}
	}
}

// ParsePos parses "file:line" as Pos.String writes it.
func ParsePos(s string) parsers.Pos {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return parsers.Pos{File: s}
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return parsers.Pos{File: s}
	}
	return parsers.Pos{File: s[:i], Line: n}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}
