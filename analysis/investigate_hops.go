package analysis

import (
	"context"
	"strings"
)

// markOwnHops sets Own on the complaint's Received headers your servers
// wrote: a hop whose queue id is stored (near the hop's time), or one
// without a queue id (Exchange names none) whose "by" host is one of
// yours: named in the logs beside the complaint's Message-ID, in
// q.Hosts, or in a local domain of q.Policy. Any hop by the same name as an own
// hop is own too (a content filter's second hop on the same host).
func markOwnHops(ctx context.Context, st InvestigationStore, q Query, user TimeRange) error {
	c := q.Complaint
	if c == nil || len(c.Received) == 0 {
		return nil
	}
	hosts := map[string]bool{} // full names and short (syslog) names
	addHost := func(h string) {
		if h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), ".")); h != "" {
			hosts[h] = true
		}
	}
	for _, h := range q.Hosts {
		addHost(h)
	}
	if c.MessageID != "" {
		evs, err := st.EventsBy(ctx, ByMessageID, c.MessageID, user)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			addHost(ev.Host)
		}
	}
	ownName := map[string]bool{}
	for i := range c.Received {
		r := &c.Received[i]
		r.Own = false
		if r.ID == "" {
			continue
		}
		rng := user
		if !r.Time.IsZero() && rng.From.IsZero() && rng.To.IsZero() {
			rng = TimeRange{From: r.Time.Add(-trailBefore), To: r.Time.Add(trailAfter)}
		}
		evs, err := st.EventsBy(ctx, ByQueueID, r.ID, rng)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			r.Own = true
			ownName[byName(r.By)] = true
			for _, ev := range evs {
				addHost(ev.Host)
			}
		}
	}
	for i := range c.Received {
		r := &c.Received[i]
		if r.Own {
			continue
		}
		by := byName(r.By)
		switch {
		case by == "":
		case ownName[by]:
			r.Own = true
		case r.ID == "" && q.ownHost(by, hosts):
			// A queue id that is not stored is not your server's, even
			// when the name looks like one of yours ("mail").
			r.Own = true
		}
	}
	return nil
}

// byName is the lower-cased name in a Received header's "by" clause.
func byName(by string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(by), "."))
}

// ownHost reports whether the host name by is one of yours: equal to a
// known host, in a local domain of the policy, or, when no policy is
// given, with the first label of a known short (syslog) name.
func (q Query) ownHost(by string, hosts map[string]bool) bool {
	if hosts[by] {
		return true
	}
	if q.Policy != nil && len(q.Policy.LocalDomains) > 0 {
		return q.Policy.LocalDomain(by)
	}
	label := firstLabel(by)
	return label != "" && hosts[label] && strings.Contains(by, ".")
}

// placeholders are the local parts reporters put in place of a redacted
// address ("redacted@", "x", "[redacted]"): never a recipient to search.
var placeholders = map[string]bool{"redacted": true, "removed": true, "hidden": true, "x": true, "xx": true, "xxx": true,
	"xxxx": true, "undisclosed-recipients": true, "undisclosed recipients": true, "undisclosed": true, "anonymous": true}

// placeholder reports whether a is no address to search for: without a
// domain, a redacted local part, or a hash in its place (Return Path's
// feedback loops send an MD5 of the address).
func placeholder(a string) bool {
	a = strings.ToLower(strings.Trim(strings.TrimSpace(a), "[]<>"))
	local, domain, ok := strings.Cut(a, "@")
	if !ok || local == "" || domain == "" || !strings.Contains(domain, ".") {
		return true
	}
	local = strings.Trim(local, "[]")
	if placeholders[local] || strings.Contains(local, "redacted") {
		return true
	}
	if len(local) == 32 && strings.Trim(local, "0123456789abcdef") == "" {
		return true
	}
	return false
}
