package loggen

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"
)

// LabelAccountAbuse labels a recipient of the spam sent with a stolen
// password (GenerateAccounts).
const LabelAccountAbuse = "account_abuse"

// AccountDays is how many days GenerateAccounts writes.
const AccountDays = 21

// The cases of the accounts scenario, one per account (AccountTruth.Case).
const (
	CaseRegular     = "regular" // office hours, office and home networks
	CaseBruteforced = "takeover_bruteforce"
	CasePhished     = "takeover_phished"
	CaseNewsletter  = "newsletter"   // hundreds of recipients every Monday from the office
	CaseTraveller   = "traveller"    // four days abroad: new networks, other hours, usual mail
	CaseMobile      = "mobile"       // a new address every day in the carrier's /16
	CaseUnderAttack = "under_attack" // brute force from many addresses that never succeeds
	CaseMistyper    = "mistyper"     // two failed logins every morning, then in
)

// AccountTruth is the ground truth about one account of the accounts
// scenario.
type AccountTruth struct {
	Account     string   // as the MTA logs the login (Exchange: CORP\name)
	Case        string   // CaseRegular, ...
	Compromised bool     // taken over
	Attackers   []string // the addresses the spam came from
	// FirstSpam and LastSpam are the times of the first and last spam
	// message (the session's accept line).
	FirstSpam, LastSpam time.Time
}

// GenerateAccounts writes AccountDays days of a server's log whose SASL
// accounts are used as people use them, with two take-overs and the cases
// that must not look like one (issue 15): a password found by brute force
// and spam from several addresses for hours; a phished password used from
// a new network at night; a weekly newsletter; a traveller; a mobile user;
// an account under brute force that never gets in; a user who mistypes his
// password twice every morning. Beside them, inbound mail and brute force
// against names that do not exist. The truth CSV labels every recipient
// (account_abuse for the spam); the returned truth says what each account
// is. opt.Lines is not used; opt.Dir is for exchange as with Generate.
func GenerateAccounts(logw, truthw io.Writer, opt Options) (Stats, []AccountTruth, error) {
	g := &gen{
		opt:   opt,
		rng:   rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x51ed270b)),
		out:   bufio.NewWriterSize(logw, 256<<10),
		truth: csv.NewWriter(truthw),
		stats: Stats{Labels: map[string]int{}},
	}
	if g.opt.Start.IsZero() {
		g.opt.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	}
	g.opt.Start = g.opt.Start.UTC()
	g.write = g.writeSyslog
	var m sim
	var ex *exchange
	switch opt.Format {
	case "postfix":
		g.mta = "postfix"
		g.stamp = func(b []byte, t time.Time) []byte { return t.AppendFormat(b, "Jan _2 15:04:05") }
		m = newPostfix(g)
	case "exim":
		g.mta = "exim"
		g.stamp = func(b []byte, t time.Time) []byte { return t.AppendFormat(b, "2006-01-02 15:04:05") }
		m = newExim(g)
	case "exchange":
		if opt.Dir == "" {
			return g.stats, nil, fmt.Errorf("exchange writes several files: Options.Dir must name a folder")
		}
		g.mta = "exchange"
		ex = newExchange(g)
		defer ex.files.close()
		g.write = ex.files.write
		m = ex
	default:
		return g.stats, nil, fmt.Errorf("unknown format %q (want postfix, exim or exchange)", opt.Format)
	}
	if err := g.truth.Write(TruthHeader); err != nil {
		return g.stats, nil, err
	}
	g.makeClients()
	a := &accountsPlan{g: g, start: g.opt.Start.UnixMilli()}
	a.plan()
	sort.SliceStable(a.eps, func(i, k int) bool { return a.eps[i].atMs < a.eps[k].atMs })
	m.start(a.start)
	g.commit()
	for _, e := range a.eps {
		if err := g.flush(e.atMs); err != nil {
			return g.stats, nil, err
		}
		g.reset()
		e.play(m, e.atMs)
		g.commit()
	}
	if err := g.flush(1 << 62); err != nil {
		return g.stats, nil, err
	}
	if ex != nil {
		if err := ex.files.close(); err != nil {
			return g.stats, nil, err
		}
	} else {
		g.stats.Files = 1
	}
	if err := g.out.Flush(); err != nil {
		return g.stats, nil, err
	}
	g.truth.Flush()
	truth := a.truth()
	return g.stats, truth, g.truth.Error()
}

// An episode is something that happens at atMs: a session, a submission.
type episode struct {
	atMs int64
	play func(m sim, atMs int64)
}

// accountsPlan lays out the three weeks.
type accountsPlan struct {
	g     *gen
	start int64
	eps   []episode
	users []*acctUser
}

// acctUser is one account and how it is used.
type acctUser struct {
	name, kase string
	home       client
	attackers  []client
	spam       []int64 // times of its spam messages
}

const (
	dayMs  = int64(24 * time.Hour / time.Millisecond)
	hourMs = int64(time.Hour / time.Millisecond)
	minMs  = int64(time.Minute / time.Millisecond)
)

func (a *accountsPlan) at(atMs int64, play func(m sim, atMs int64)) {
	a.eps = append(a.eps, episode{atMs: atMs, play: play})
}

// host returns an outside client at a.b.c.d.
func host(a, b, c, d int) client {
	ip := fmt.Sprintf("%d.%d.%d.%d", a, b, c, d)
	return client{ip: ip, name: "unknown", helo: "[" + ip + "]"}
}

func (a *accountsPlan) plan() {
	g := a.g
	office := host(91, 198, 44, 10) // the office's NAT address
	users := []*acctUser{
		{name: "alice", kase: CaseRegular, home: host(77, 12, 130, 7)},
		{name: "bob", kase: CaseBruteforced, home: host(81, 40, 22, 91), attackers: []client{host(45, 155, 205, 17), host(103, 75, 118, 4), host(185, 220, 101, 33)}},
		{name: "carol", kase: CasePhished, home: host(62, 210, 77, 14), attackers: []client{host(193, 32, 162, 58)}},
		{name: "dave", kase: CaseRegular, home: host(109, 65, 3, 200)},
		{name: "erin", kase: CaseRegular, home: host(212, 58, 9, 41)},
		{name: "newsletter", kase: CaseNewsletter, home: office},
		{name: "judy", kase: CaseTraveller, home: host(88, 72, 14, 5)},
		{name: "kate", kase: CaseMobile, home: host(176, 66, 1, 1)},
		{name: "leo", kase: CaseUnderAttack, home: host(95, 91, 230, 12)},
		{name: "ivan", kase: CaseMistyper, home: host(217, 11, 64, 150)},
	}
	a.users = users
	for _, u := range users {
		for d := range AccountDays {
			day := a.start + int64(d)*dayMs
			weekday := time.UnixMilli(day).UTC().Weekday()
			workday := weekday != time.Saturday && weekday != time.Sunday
			switch u.kase {
			case CaseNewsletter:
				if weekday == time.Monday {
					a.newsletter(u, office, day+10*hourMs+g.between(0, 20)*minMs)
				}
				continue
			case CaseTraveller:
				if d >= 9 && d <= 12 {
					// Abroad: a hotel's network each day, mail at its local
					// office hours (UTC+8), as much as at home.
					hotel := host(pick(g, []int{1, 14, 27, 36, 42, 49, 58, 101, 110, 113, 116, 119, 124}), g.rng.IntN(256), g.rng.IntN(256), 2+g.rng.IntN(250))
					for range 2 + g.rng.IntN(3) {
						a.work(u, hotel, day+g.between(0, 9*60)*minMs)
					}
					continue
				}
			case CaseMobile:
				// The carrier gives another address in its /16 every day.
				phone := host(176, 66, g.rng.IntN(256), 2+g.rng.IntN(250))
				if workday || g.chance(0.5) {
					for range 1 + g.rng.IntN(3) {
						a.work(u, phone, day+(8+g.between(0, 11))*hourMs+g.between(0, 59)*minMs)
					}
				}
				continue
			}
			if !workday {
				if g.chance(0.3) {
					a.work(u, u.home, day+(10+g.between(0, 8))*hourMs+g.between(0, 59)*minMs)
				}
				continue
			}
			if u.kase == CaseMistyper {
				// Twice the wrong password, first thing, then the right one.
				t := day + 8*hourMs + g.between(0, 30)*minMs
				a.at(t, func(m sim, atMs int64) {
					s := m.open(atMs, u.home, true)
					for range 2 {
						m.authFail(s, "LOGIN", u.name)
						g.label(truthRow{clientIP: u.home.ip, label: LabelAuthFailure, notes: "sasl_username=" + u.name})
					}
					m.close(s)
				})
				a.work(u, u.home, t+g.between(1, 3)*minMs)
			}
			for range 2 + g.rng.IntN(4) {
				c := office
				if g.chance(0.25) {
					c = u.home
				}
				a.work(u, c, day+(7+g.between(0, 10))*hourMs+g.between(0, 59)*minMs)
			}
		}
	}
	a.attacks()
	// Brute force against leo from a botnet, every day of the last two
	// weeks, and against names that do not exist from scanners; none gets
	// in.
	bots := make([]client, 20)
	for i := range bots {
		bots[i] = host(pick(g, []int{5, 31, 37, 45, 80, 89, 92, 141, 156, 179}), g.rng.IntN(256), g.rng.IntN(256), 2+g.rng.IntN(250))
	}
	for d := 7; d < AccountDays; d++ {
		day := a.start + int64(d)*dayMs
		for range 6 {
			a.guess(pick(g, bots), []string{"leo"}, day+g.between(0, 24*60-1)*minMs, 3+g.rng.IntN(6))
		}
	}
	for d := range AccountDays {
		day := a.start + int64(d)*dayMs
		for range 3 {
			a.guess(pick(g, g.abusers), []string{"admin", "test", "info", "postmaster"}, day+g.between(0, 24*60-1)*minMs, 2+g.rng.IntN(8))
		}
		// Inbound mail, the server's everyday business.
		for range 40 {
			a.at(day+g.between(0, 24*60-1)*minMs, func(m sim, atMs int64) { g.inbound(m, atMs) })
		}
	}
}

// guess is a session that tries n passwords for names and fails.
func (a *accountsPlan) guess(c client, names []string, atMs int64, n int) {
	g := a.g
	a.at(atMs, func(m sim, atMs int64) {
		s := m.open(atMs, c, true)
		for range n {
			user := pick(g, names)
			m.authFail(s, "LOGIN", user)
			g.label(truthRow{clientIP: c.ip, label: LabelAuthFailure, notes: "sasl_username=" + user})
		}
		m.close(s)
	})
}

// work is a session of u's own: one or two messages to a few outside
// addresses (now and then a colleague), as the user.
func (a *accountsPlan) work(u *acctUser, c client, atMs int64) {
	g := a.g
	a.at(atMs, func(m sim, atMs int64) {
		s := m.open(atMs, c, true)
		for range 1 + g.rng.IntN(2) {
			msg := &message{sender: u.name + "@corp.example", authUser: u.name, authMethod: "PLAIN"}
			g.outbound(msg, LabelAuthenticated)
			m.accept(s, msg)
		}
		m.close(s)
	})
}

// newsletter is the weekly mailing: 30 messages of 10 recipients each over
// a quarter of an hour, a few of the addresses dead.
func (a *accountsPlan) newsletter(u *acctUser, c client, atMs int64) {
	g := a.g
	for i := range 30 {
		a.at(atMs+int64(i)*30000, func(m sim, atMs int64) {
			s := m.open(atMs, c, true)
			msg := &message{sender: "newsletter@corp.example", authUser: u.name, authMethod: "PLAIN"}
			for _, to := range g.outsiders(10) {
				f := sent
				if g.chance(0.04) {
					f = bounced
				}
				msg.rcpts = append(msg.rcpts, rcpt{addr: to, label: LabelAuthenticated, how: toRemote, to: to, fate: f})
			}
			m.accept(s, msg)
			m.close(s)
		})
	}
}

// attacks plays the two take-overs.
func (a *accountsPlan) attacks() {
	for _, u := range a.users {
		switch u.kase {
		case CaseBruteforced:
			// Day 15, 13:05: 40 guesses in 25 minutes from the first
			// address, then in; spam from it and, from 14:00 and 15:00,
			// from two more, until about 18:30.
			t := a.start + 14*dayMs + 13*hourMs + 5*minMs
			for i := range 8 {
				a.guess(u.attackers[0], []string{u.name}, t+int64(i)*3*minMs, 5)
			}
			begin := t + 26*minMs
			a.spam(u, u.attackers[0], begin, begin+5*hourMs+20*minMs, false)
			a.spam(u, u.attackers[1], t+55*minMs, t+5*hourMs, false)
			a.spam(u, u.attackers[2], t+115*minMs, t+5*hourMs+25*minMs, false)
		case CasePhished:
			// Day 18, 01:40: straight in from a new network, at night.
			t := a.start + 17*dayMs + 1*hourMs + 40*minMs
			a.spam(u, u.attackers[0], t, t+2*hourMs+30*minMs, true)
		}
	}
}

// spam is a spammer's connections as u from c between from and to: one
// every two to four minutes, one or two messages of 5 to 20 recipients at
// outside addresses, many of them dead; with forge, some under other
// senders.
func (a *accountsPlan) spam(u *acctUser, c client, from, to int64, forge bool) {
	g := a.g
	for t := from; t < to; t += g.between(2*60, 4*60) * 1000 {
		a.at(t, func(m sim, atMs int64) {
			s := m.open(atMs, c, g.chance(0.5))
			for range 1 + g.rng.IntN(2) {
				sender := u.name + "@corp.example"
				if forge && g.chance(0.5) {
					sender = pick(g, []string{"billing@paypa1-secure.example", "no-reply@dhl-track.example", "admin@corp.example"})
				}
				msg := &message{sender: sender, authUser: u.name, authMethod: "LOGIN"}
				for range 5 + g.rng.IntN(16) {
					addr := fmt.Sprintf("%s%d@%s%d.example", pick(g, firstNames), g.rng.IntN(100000), pick(g, []string{"mail", "web", "inbox", "post", "net"}), g.rng.IntN(400))
					f := sent
					switch x := g.rng.Float64(); {
					case x < 0.3:
						f = bounced
					case x < 0.4:
						f = deferred
					}
					msg.rcpts = append(msg.rcpts, rcpt{addr: addr, label: LabelAccountAbuse, how: toRemote, to: addr, fate: f})
				}
				u.spam = append(u.spam, s.atMs)
				m.accept(s, msg)
			}
			m.close(s)
		})
	}
}

// truth says what every account is. The spam times are those of the
// sessions' accept lines, which the sims move on from atMs: the first and
// last recorded are close to the real ones.
func (a *accountsPlan) truth() []AccountTruth {
	var out []AccountTruth
	for _, u := range a.users {
		t := AccountTruth{Account: u.name, Case: u.kase, Compromised: len(u.attackers) > 0}
		if a.g.mta == "exchange" {
			t.Account = `CORP\` + u.name
		}
		for _, c := range u.attackers {
			t.Attackers = append(t.Attackers, c.ip)
		}
		for _, ms := range u.spam {
			tm := time.UnixMilli(ms).UTC()
			if t.FirstSpam.IsZero() || tm.Before(t.FirstSpam) {
				t.FirstSpam = tm
			}
			if tm.After(t.LastSpam) {
				t.LastSpam = tm
			}
		}
		out = append(out, t)
	}
	return out
}
