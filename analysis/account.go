package analysis

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Account verdicts, one per SASL account.
const (
	// AccountCompromised: a session of the account had signals that
	// together leave little doubt (an access signal, a content signal and
	// at least one more).
	AccountCompromised = "compromised"
	// AccountSuspicious: a session had an access and a content signal but
	// nothing more, or a login followed a brute force: worth a look, its
	// mail keeps its verdict.
	AccountSuspicious = "suspicious"
	// AccountOK: nothing out of the account's usual.
	AccountOK = "ok"
)

// The signals of a take-over. bruteforce_success and new_network say who
// logged in (access); volume, foreign_senders and bounces what was sent
// (content); odd_hours only adds to the others.
const (
	SignalBruteforce = "bruteforce_success"
	SignalNewNetwork = "new_network"
	SignalVolume     = "volume"
	SignalSenders    = "foreign_senders"
	SignalBounces    = "bounces"
	SignalOddHours   = "odd_hours"
)

// signalOrder is the order signals are listed in.
var signalOrder = []string{SignalBruteforce, SignalNewNetwork, SignalVolume, SignalSenders, SignalBounces, SignalOddHours}

// An AccountRow is one first-hop recipient of an authenticated message, as
// the account judge reads it: in time order, a message's recipients in a
// row.
type AccountRow struct {
	Time       time.Time
	ClientIP   netip.Addr
	MessageKey string
	Sender     string
	Recipient  string
	Status     string // StatusSent, StatusBounced, ...
}

// Failures answers the account judge's questions about failed logins.
type Failures interface {
	// FromAddress counts the failed logins from ip in [from, to] and
	// returns the first lines of a few.
	FromAddress(ip netip.Addr, from, to time.Time) (int, []string, error)
	// Addresses counts the distinct addresses that failed to log in as
	// account in [from, to].
	Addresses(account string, from, to time.Time) (int, error)
}

// An AccountSession is a session the judge found abusive or suspicious:
// one account, one client address, messages no more than the session gap
// apart.
type AccountSession struct {
	ClientIP   string    `json:"client_ip"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Signals    []string  `json:"signals"`
	Messages   int       `json:"messages"`
	Recipients int       `json:"recipients"`
	Abusive    bool      `json:"abusive"` // its mail is account_abuse
	Evidence   []string  `json:"evidence,omitempty"`
}

// AccountReport is one SASL account: its verdict, the signals and sessions
// behind it, and what its usual use was.
type AccountReport struct {
	Account    string    `json:"account"`
	Verdict    string    `json:"verdict"`
	Signals    []string  `json:"signals"`
	FirstAbuse time.Time `json:"first_abuse"`
	LastAbuse  time.Time `json:"last_abuse"`
	ClientIPs  []string  `json:"client_ips"`
	Recipients int       `json:"recipients"` // account_abuse recipients (first hops)
	Messages   int       `json:"messages"`   // their messages
	Baseline   string    `json:"baseline"`
	Evidence   []string  `json:"evidence"`
	// First and Last are the account's first and last message; Total its
	// recipients (first hops).
	First    time.Time        `json:"first"`
	Last     time.Time        `json:"last"`
	Total    int              `json:"total_recipients"`
	Sessions []AccountSession `json:"sessions,omitempty"`
}

// AccountJudge learns each account's usual use from its own mail, in time
// order, and judges every session (account, client address, time) against
// what came before it:
//
//   - bruteforce_success: BruteforceFailures failed logins from the
//     session's address shortly before it, or failures for the account from
//     BruteforceAddresses addresses before a session from a new network;
//   - new_network: a /16 (IPv6 /32) the account never sent from, once it
//     has MinHistoryDays days of mail (a new /24 in a known /16 is a mobile
//     user's next address, not a signal);
//   - volume: more recipients or external domains in an hour than both the
//     Volume minimum and VolumeFactor times the account's busiest hour;
//   - foreign_senders: envelope senders the account never used;
//   - bounces: a high share of bounced and deferred recipients;
//   - odd_hours: mail at hours of the day the account never sent at.
//
// A session is abusive when an access signal (bruteforce_success,
// new_network) meets a content signal (volume, foreign_senders, bounces):
// a traveller's new networks at odd hours, a newsletter's volume from the
// usual network or a brute force that never got in are not. Abusive
// sessions are not learnt from, so an attacker's networks stay new.
type AccountJudge struct {
	Rules    AccountRules
	Policy   Policy
	Failures Failures
}

// Judge judges one account from its rows; next returns them in time order
// and false after the last.
func (j *AccountJudge) Judge(account string, next func() (AccountRow, bool, error)) (AccountReport, error) {
	rules := j.Rules.withDefaults()
	a := &accountRun{j: j, rules: rules, account: account, h: newAccountHistory(), open: map[netip.Addr]*acctSession{}}
	rep := AccountReport{Account: account, Verdict: AccountOK}
	for {
		r, ok, err := next()
		if err != nil {
			return rep, err
		}
		if !ok {
			break
		}
		if rep.First.IsZero() {
			rep.First = r.Time
		}
		rep.Last = r.Time
		rep.Total++
		if err := a.closeBefore(r.Time); err != nil {
			return rep, err
		}
		s := a.open[r.ClientIP]
		if s == nil {
			s = newAcctSession(r)
			a.open[r.ClientIP] = s
		}
		s.add(j.Policy, r)
	}
	if err := a.closeBefore(time.Time{}); err != nil {
		return rep, err
	}
	a.report(&rep)
	return rep, nil
}

// accountRun is the state of one Judge.
type accountRun struct {
	j       *AccountJudge
	rules   AccountRules
	account string
	h       *accountHistory
	open    map[netip.Addr]*acctSession
	judged  []judgedSession // abusive or suspicious sessions
	bfLogin bool            // a login after a brute force, abusive or not
	// seen is the newest row's time closeBefore was given; until
	// quietUntil no open session can have ended (see closeBefore).
	seen, quietUntil time.Time
}

type judgedSession struct {
	s       *acctSession
	signals []string
	abusive bool
	strong  bool // three signals or more
	bfEvid  []string
}

// closeBefore judges the open sessions whose gap has passed at t (all of
// them when t is zero), oldest first, so that each is judged against the
// sessions before it.
//
// Rows come in time order, and a session's last time only grows: no open
// session can close before the earliest last time the previous look saw
// (or that look's own time, when none stayed open) plus the gap, so until
// then nothing is looked at (a look per row over every open session was
// a third of an accounts pass on 20M lines).
func (a *accountRun) closeBefore(t time.Time) error {
	if !t.IsZero() && !t.Before(a.seen) && !t.After(a.quietUntil) {
		a.seen = t
		return nil
	}
	a.seen = t
	var done []*acctSession
	earliest := t
	for ip, s := range a.open {
		if t.IsZero() || t.Sub(s.last) > a.rules.SessionGap {
			done = append(done, s)
			delete(a.open, ip)
		} else if s.last.Before(earliest) {
			earliest = s.last
		}
	}
	a.quietUntil = earliest.Add(a.rules.SessionGap)
	sort.Slice(done, func(i, k int) bool { return done[i].first.Before(done[k].first) })
	for _, s := range done {
		if err := a.judge(s); err != nil {
			return err
		}
	}
	return nil
}

// judge gives s its signals, records it when abusive or suspicious, and
// learns from it when not abusive.
func (a *accountRun) judge(s *acctSession) error {
	r, h := a.rules, a.h
	ready := len(h.days) >= r.MinHistoryDays
	n16 := wideNet(s.ip)
	newNet := ready && !h.net16[n16]
	if newNet && r.Places != nil && h.located > 0 {
		// A /16 the account never used, in a country and an AS it uses:
		// its provider's other range, not someone else.
		if pl, ok := r.Places.Locate(s.ip); ok && (pl.Country != "" || pl.ASN != 0) {
			newNet = pl.Country != "" && !h.countries[pl.Country] || pl.ASN != 0 && !h.asns[pl.ASN]
		}
	}
	var sig []string
	var bfEvid []string
	failures, ev, err := a.j.Failures.FromAddress(s.ip, s.first.Add(-r.BruteforceWindow), s.last)
	if err != nil {
		return err
	}
	bf := failures >= r.BruteforceFailures
	if bf {
		bfEvid = ev
	} else if newNet {
		n, err := a.j.Failures.Addresses(a.account, s.first.Add(-24*time.Hour), s.first)
		if err != nil {
			return err
		}
		bf = n >= r.BruteforceAddresses
	}
	if bf {
		sig = append(sig, SignalBruteforce)
		a.bfLogin = true
	}
	if newNet {
		sig = append(sig, SignalNewNetwork)
	}
	content := 0
	if float64(s.maxRcptsHour) > max(float64(r.VolumeRecipients-1), r.VolumeFactor*float64(h.maxRcptsHour)) ||
		float64(s.maxDomainsHour) > max(float64(r.VolumeDomains-1), r.VolumeFactor*float64(h.maxDomainsHour)) {
		sig = append(sig, SignalVolume)
		content++
	}
	if ready && s.foreignSenders(h) {
		sig = append(sig, SignalSenders)
		content++
	}
	if s.rcpts >= r.BounceRecipients && float64(s.bad) >= r.BounceShare*float64(s.rcpts) && s.badShare() >= 3*h.badShare() {
		sig = append(sig, SignalBounces)
		content++
	}
	if ready && s.oddHours(h) {
		sig = append(sig, SignalOddHours)
	}
	access := bf || newNet
	abusive := access && content > 0
	if abusive || bf {
		a.judged = append(a.judged, judgedSession{s: s, signals: sig, abusive: abusive, strong: len(sig) >= 3, bfEvid: bfEvid})
	}
	if !abusive {
		h.learn(s)
		if r.Places != nil {
			if pl, ok := r.Places.Locate(s.ip); ok {
				h.learnPlace(pl)
			}
		}
	}
	return nil
}

// report fills rep from the judged sessions.
func (a *accountRun) report(rep *AccountReport) {
	rep.Baseline = a.h.summary()
	compromised := false
	for _, js := range a.judged {
		compromised = compromised || (js.abusive && js.strong)
	}
	signals := map[string]bool{}
	ips := map[string]bool{}
	for _, js := range a.judged {
		ev := append([]string(nil), js.bfEvid...)
		as := AccountSession{
			ClientIP: js.s.ip.String(), From: js.s.first, To: js.s.last, Signals: js.signals,
			Messages: js.s.msgs, Recipients: js.s.rcpts, Abusive: compromised && js.abusive, Evidence: ev,
		}
		rep.Sessions = append(rep.Sessions, as)
		if compromised && !js.abusive {
			continue // a login after a brute force that sent nothing odd
		}
		for _, s := range js.signals {
			signals[s] = true
		}
		if !as.Abusive {
			continue
		}
		if !ips[as.ClientIP] {
			ips[as.ClientIP] = true
			rep.ClientIPs = append(rep.ClientIPs, as.ClientIP)
		}
		if rep.FirstAbuse.IsZero() || as.From.Before(rep.FirstAbuse) {
			rep.FirstAbuse = as.From
		}
		if as.To.After(rep.LastAbuse) {
			rep.LastAbuse = as.To
		}
		rep.Recipients += as.Recipients
		rep.Messages += as.Messages
		if len(rep.Evidence) < 10 {
			rep.Evidence = append(rep.Evidence, ev...)
		}
	}
	switch {
	case compromised:
		rep.Verdict = AccountCompromised
	case len(a.judged) > 0:
		rep.Verdict = AccountSuspicious
		for _, js := range a.judged {
			rep.Evidence = append(rep.Evidence, js.bfEvid...)
		}
	}
	for _, s := range signalOrder {
		if signals[s] {
			rep.Signals = append(rep.Signals, s)
		}
	}
	sort.Strings(rep.ClientIPs)
	if len(rep.Evidence) > 10 {
		rep.Evidence = rep.Evidence[:10]
	}
}

// AbuseReason is the reason an account_abuse recipient of session s of
// account gets, before the reason it had (see TrimAbuseReason).
func AbuseReason(account string, s AccountSession, old string) string {
	return fmt.Sprintf("compromised account %s (%s; session from %s since %s); %s",
		account, strings.Join(s.Signals, ", "), s.ClientIP, s.From.UTC().Format(time.RFC3339), old)
}

// TrimAbuseReason returns the reason an account_abuse recipient of account
// had before AbuseReason, or reason itself.
func TrimAbuseReason(account, reason string) string {
	rest, ok := strings.CutPrefix(reason, "compromised account "+account+" (")
	if !ok {
		return reason
	}
	if _, old, ok := strings.Cut(rest, "); "); ok {
		return old
	}
	return reason
}

// wideNet is the network a mobile user's addresses stay in: the /16 of an
// IPv4 address, the /32 of an IPv6 one.
func wideNet(ip netip.Addr) netip.Prefix {
	bits := 16
	if ip.Is6() && !ip.Is4In6() {
		bits = 32
	}
	p, _ := ip.Unmap().Prefix(bits)
	return p
}

// narrowNet is one site: a /24, or an IPv6 /48.
func narrowNet(ip netip.Addr) netip.Prefix {
	bits := 24
	if ip.Is6() && !ip.Is4In6() {
		bits = 48
	}
	p, _ := ip.Unmap().Prefix(bits)
	return p
}
