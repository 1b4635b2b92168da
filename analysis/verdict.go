package analysis

import "github.com/relaysleuth/relaysleuth/parsers"

// origin walks from m up through content-filter and forward hops to the
// message that came from the outside, and returns it with m's hop number
// (1 for the original).
func origin(m *Message) (*Message, int) {
	hop := 1
	o := m
	for o.parent != nil && o.Via != ViaBounce && hop < 16 {
		o = o.parent
		hop++
	}
	if o.parent == nil && o.Via == ViaContentFilter {
		// Re-injected by a filter whose first hop is not in this input: the
		// client is the one the filter reported (XFORWARD).
		hop++
	}
	return o, hop
}

// externalDelivery returns the first final address of r that is outside
// the local domains and was handed to a remote host, or "".
func externalDelivery(p Policy, r *Recipient) string {
	for _, d := range r.Deliveries {
		if d.Relay != "local" && d.NextQueueID == "" && p.External(d.To) && !notRelayed(d.Status) {
			return d.To
		}
	}
	return ""
}

// judge fills r's verdict, reason, status and the fields it takes from its
// message and that message's origin.
func (c *Correlator) judge(m *Message, r *Recipient) {
	o, hop := origin(m)
	orig := o
	if by := r.refusedBy; by != nil && r.rejected != "" && o.Origin == OriginUnknown && !o.ClientIP.IsValid() {
		// The arrival is not in the log, the refusal names the client.
		cp := *o
		cp.Origin, cp.ClientIP, cp.ClientName, cp.Helo = OriginSMTP, by.ip, by.name, by.helo
		if cp.AuthUser == "" {
			cp.AuthUser, cp.AuthMethod = by.authUser, by.authMethod
		}
		o = &cp
	}
	r.Time = m.Time
	r.MTA = m.Format
	r.Host = m.Host
	r.QueueID = m.QueueID
	r.MessageID = m.MessageID
	// The texts are built in c.text and kept as new strings only when they
	// differ from the last judgement's: a recipient is judged again at
	// every line about its message (Exchange logs five to ten per
	// message), and its texts seldom change.
	b := c.text[:0]
	if o.ClientIP.IsValid() {
		b = o.ClientIP.AppendTo(b)
	}
	r.ClientIP = keep(r.ClientIP, b)
	r.ClientName = o.ClientName
	r.Helo = o.Helo
	r.AuthUser = o.AuthUser
	r.Authenticated = o.AuthUser != ""
	r.Sender = m.Sender
	r.Hop = hop
	r.OriginQueueID = ""
	if orig != m {
		r.OriginQueueID = orig.QueueID
	}
	r.Status = recipientStatus(r)
	r.Verdict, b = c.appendVerdict(b[:0], m, o, r)
	if notRelayed(r.Status) {
		b = append(append(append(b, "; "...), r.Status...), " by the server: not relayed"...)
	}
	if o.ex != nil {
		b = appendExchangeNote(b, o, r.Verdict)
	}
	r.Reason = keep(r.Reason, b)
	c.text = b
	r.ev = evidenceRef{m: m, nm: len(m.Evidence), np: len(r.Pos)}
	if orig != m {
		r.ev.o, r.ev.no = orig, len(orig.Evidence)
	}
}

// keep returns old when it is the text b holds, else b as a new string.
func keep(old string, b []byte) string {
	if old == string(b) {
		return old
	}
	return string(b)
}

// evidenceRef is where the lines of a recipient's evidence were when it was
// last judged: its origin's (when another message), its message's and its
// own. Flush writes them out as Evidence, once, rather than every judgement
// keeping strings for every recipient in memory. The lists only grow, so
// their first no, nm and np entries are what the judgement saw.
type evidenceRef struct {
	o, m       *Message
	no, nm, np int
}

// nEvidence returns len(r.evidence()).
func (r *Recipient) nEvidence() int {
	if r.ev.m == nil {
		return len(r.Evidence)
	}
	return r.ev.no + r.ev.nm + r.ev.np
}

// evidence returns r's Evidence as of its last judgement.
func (r *Recipient) evidence() []string {
	e := r.ev
	if e.m == nil {
		return append([]string(nil), r.Evidence...) // not judged here: as stored
	}
	out := make([]string, 0, e.no+e.nm+e.np)
	if e.o != nil {
		out = appendStrings(out, e.o.Evidence[:e.no])
	}
	out = appendStrings(out, e.m.Evidence[:e.nm])
	return appendStrings(out, r.Pos[:e.np])
}

func appendStrings(out []string, ps []parsers.Pos) []string {
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func recipientStatus(r *Recipient) string {
	if r.rejected != "" {
		return StatusRejected
	}
	if len(r.Deliveries) == 0 {
		return StatusQueued
	}
	status, kept := "", ""
	for _, d := range r.Deliveries {
		switch d.Status {
		case "deferred":
			return StatusDeferred
		case "bounced", "expired":
			status = StatusBounced
		case StatusHeld, StatusDiscarded:
			kept = d.Status // until a delivery of a released message says more
		default:
			if status == "" {
				status = StatusSent
			}
		}
	}
	switch {
	case status != "":
		return status
	case kept != "":
		return kept
	}
	return StatusSent
}

// notRelayed reports whether a delivery status says the server kept or
// threw the message away instead of delivering it.
func notRelayed(status string) bool { return status == StatusHeld || status == StatusDiscarded }

// appendVerdict applies the relay rules to r, a recipient of m whose origin
// is o, and appends the reason to b.
func (c *Correlator) appendVerdict(b []byte, m, o *Message, r *Recipient) (Verdict, []byte) {
	p := c.Policy
	if m.Origin == OriginBounce || (o.Origin == OriginUnknown && o.SenderSet && o.Sender == "" && !o.ClientIP.IsValid()) {
		about := "a message"
		if m.parent != nil {
			about = m.parent.QueueID
		}
		return SystemBounce, append(append(b, "delivery status notification generated by the server about "...), about...)
	}
	ext := p.External(r.Recipient)
	trusted := o.Origin == OriginLocal || p.Trusted(o.ClientIP)
	auth := o.AuthUser != ""
	if r.rejected != "" {
		b = append(append(append(b, "refused ("...), r.rejected...), ')')
		var v Verdict
		switch {
		case !ext:
			return Inbound, appendClient(append(b, " for local recipient from "...), p, o)
		case auth:
			v = AuthenticatedOutbound
		case trusted:
			v = InternalOutbound
		default:
			v = RelayAttemptRejected
		}
		b = appendTarget(append(b, " for "...), r.Recipient)
		return v, appendClient(append(b, " from "...), p, o)
	}
	if !ext {
		out := r.forwardedOut
		if out == "" {
			out = externalDelivery(p, r)
		}
		if out != "" {
			b = append(append(b, "local recipient forwarded by the server to external address "...), out...)
			return Forwarded, appendClient(append(b, "; received from "...), p, o)
		}
		b = append(append(b, "local recipient domain "...), Domain(r.Recipient)...)
		return Inbound, appendClient(append(b, "; received from "...), p, o)
	}
	var v Verdict
	switch {
	case auth:
		v = AuthenticatedOutbound
	case trusted:
		v = InternalOutbound
	case o.Origin == OriginUnknown && !o.ClientIP.IsValid():
		// The arrival is not in the log: we cannot say who sent it.
		b = appendTarget(append(b, "accepted for "...), r.Recipient)
		return UnknownOrigin, append(b, "; how the message arrived is not in the log"...)
	default:
		v = RelayAbuse
	}
	b = appendTarget(append(b, "accepted for "...), r.Recipient)
	return v, appendClient(append(b, " from "...), p, o)
}

// appendTarget appends what an external recipient is: "external domain
// example.org", or "relay-trick address ..." for an address that would
// route mail on (RelayTrick).
func appendTarget(b []byte, rcpt string) []byte {
	if RelayTrick(rcpt) {
		return append(append(b, "relay-trick address "...), rcpt...)
	}
	return append(append(b, "external domain "...), Domain(rcpt)...)
}

// appendClient appends who the client of o was: "client 192.0.2.1
// authenticated as alice (PLAIN)", "unauthenticated client 192.0.2.1
// outside the trusted networks", ...
func appendClient(b []byte, p Policy, o *Message) []byte {
	ip := func(b []byte) []byte {
		if o.ClientIP.IsValid() {
			return o.ClientIP.AppendTo(b)
		}
		return append(b, "with unknown address"...)
	}
	switch {
	case o.Origin == OriginLocal:
		return append(b, "a local submission (sendmail)"...)
	case o.AuthUser != "":
		b = append(append(ip(append(b, "client "...)), " authenticated as "...), o.AuthUser...)
		if o.AuthMethod != "" {
			b = append(append(append(b, " ("...), o.AuthMethod...), ')')
		}
		return b
	case p.Trusted(o.ClientIP):
		return append(ip(append(b, "unauthenticated client "...)), " in the trusted networks"...)
	}
	return append(ip(append(b, "unauthenticated client "...)), " outside the trusted networks"...)
}
