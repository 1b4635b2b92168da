package analysis

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// maxKnownSenders bounds the envelope senders remembered per account and
// per session: an account that uses more (a list server, a ticket system)
// is not judged by its senders.
const maxKnownSenders = 200

// acctSession is what one session sent, in aggregate.
type acctSession struct {
	ip          netip.Addr
	first, last time.Time
	msgs, rcpts int
	bad         int // bounced or deferred
	lastKey     string
	senders     map[string]bool
	hours       [24]int // messages per hour of the day (UTC)

	hour           int64 // the Unix hour being counted
	hourRcpts      int
	hourDomains    map[string]bool
	maxRcptsHour   int
	maxDomainsHour int
}

func newAcctSession(r AccountRow) *acctSession {
	return &acctSession{ip: r.ClientIP, first: r.Time, senders: map[string]bool{}, hourDomains: map[string]bool{}, hour: -1}
}

// add counts r, a recipient of the session.
func (s *acctSession) add(p Policy, r AccountRow) {
	s.last = r.Time
	if r.MessageKey != s.lastKey || s.msgs == 0 {
		s.lastKey = r.MessageKey
		s.msgs++
		s.hours[r.Time.UTC().Hour()]++
		if len(s.senders) < maxKnownSenders && r.Sender != "" {
			s.senders[strings.ToLower(r.Sender)] = true
		}
	}
	s.rcpts++
	if r.Status == StatusBounced || r.Status == StatusDeferred {
		s.bad++
	}
	if h := r.Time.Unix() / 3600; h != s.hour {
		s.hour, s.hourRcpts = h, 0
		clear(s.hourDomains)
	}
	s.hourRcpts++
	s.maxRcptsHour = max(s.maxRcptsHour, s.hourRcpts)
	if p.External(r.Recipient) {
		if len(s.hourDomains) < 10000 {
			s.hourDomains[Domain(r.Recipient)] = true
		}
		s.maxDomainsHour = max(s.maxDomainsHour, len(s.hourDomains))
	}
}

func (s *acctSession) badShare() float64 {
	if s.rcpts == 0 {
		return 0
	}
	return float64(s.bad) / float64(s.rcpts)
}

// foreignSenders reports whether s used an envelope sender the account
// never used before.
func (s *acctSession) foreignSenders(h *accountHistory) bool {
	if h.sendersFull || len(h.senders) == 0 {
		return false
	}
	for snd := range s.senders {
		if !h.senders[snd] {
			return true
		}
	}
	return false
}

// oddHours reports whether most of s's messages were sent at hours of the
// day (give or take one) the account never sent at.
func (s *acctSession) oddHours(h *accountHistory) bool {
	odd := 0
	for hr, n := range s.hours {
		if n > 0 && h.hourSessions[(hr+23)%24]+h.hourSessions[hr]+h.hourSessions[(hr+1)%24] == 0 {
			odd += n
		}
	}
	return odd*2 > s.msgs
}

// accountHistory is an account's usual use, learnt from its sessions that
// were not abusive.
type accountHistory struct {
	days           map[int64]bool // days (Unix day number) it sent mail on
	net16, net24   map[netip.Prefix]bool
	senders        map[string]bool
	sendersFull    bool
	hourSessions   [24]int // sessions that sent at each hour of the day
	maxRcptsHour   int
	maxDomainsHour int
	rcpts, bad     int
	sessions       int
	countries      map[string]bool // with a Locator: where it sent from
	asns           map[uint32]bool
	located        int // sessions whose place was found
}

func newAccountHistory() *accountHistory {
	return &accountHistory{days: map[int64]bool{}, net16: map[netip.Prefix]bool{}, net24: map[netip.Prefix]bool{}, senders: map[string]bool{},
		countries: map[string]bool{}, asns: map[uint32]bool{}}
}

// learnPlace adds where a session came from to the usual.
func (h *accountHistory) learnPlace(p Place) {
	if p.Country != "" {
		h.countries[p.Country] = true
	}
	if p.ASN != 0 && len(h.asns) < 10000 {
		h.asns[p.ASN] = true
	}
	h.located++
}

// learn adds s to the usual.
func (h *accountHistory) learn(s *acctSession) {
	for d := s.first.Unix() / 86400; d <= s.last.Unix()/86400; d++ {
		h.days[d] = true
	}
	h.net16[wideNet(s.ip)] = true
	if len(h.net24) < 10000 {
		h.net24[narrowNet(s.ip)] = true
	}
	for snd := range s.senders {
		if len(h.senders) >= maxKnownSenders {
			h.sendersFull = true
			break
		}
		h.senders[snd] = true
	}
	for hr, n := range s.hours {
		if n > 0 {
			h.hourSessions[hr]++
		}
	}
	h.maxRcptsHour = max(h.maxRcptsHour, s.maxRcptsHour)
	h.maxDomainsHour = max(h.maxDomainsHour, s.maxDomainsHour)
	h.rcpts += s.rcpts
	h.bad += s.bad
	h.sessions++
}

func (h *accountHistory) badShare() float64 {
	if h.rcpts == 0 {
		return 0
	}
	return float64(h.bad) / float64(h.rcpts)
}

// summary says the usual in a line: "12 days, networks: 2 /16, 3 /24,
// 1 sender, hours 07-18 UTC, busiest hour 14 recipients to 9 domains, 2%
// bounced".
func (h *accountHistory) summary() string {
	if h.sessions == 0 {
		return "no usual use learnt"
	}
	senders := fmt.Sprintf("%d senders", len(h.senders))
	if len(h.senders) == 1 {
		senders = "1 sender"
	}
	if h.sendersFull {
		senders = fmt.Sprintf("over %d senders", maxKnownSenders)
	}
	lo, hi := -1, -1
	for hr, n := range h.hourSessions {
		if n > 0 {
			if lo < 0 {
				lo = hr
			}
			hi = hr
		}
	}
	places := ""
	if h.located > 0 {
		places = fmt.Sprintf(", %d countries, %d AS", len(h.countries), len(h.asns))
	}
	return fmt.Sprintf("%d days, networks: %d /16, %d /24%s, %s, hours %02d-%02d UTC, busiest hour %d recipients to %d domains, %.0f%% bounced or deferred",
		len(h.days), len(h.net16), len(h.net24), places, senders, lo, hi, h.maxRcptsHour, h.maxDomainsHour, 100*h.badShare())
}
