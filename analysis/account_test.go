package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// fakeFailures are failed logins: per address, their times; per account,
// the addresses that failed as it.
type fakeFailures struct {
	byIP      map[netip.Addr][]time.Time
	byAccount map[string]map[netip.Addr][]time.Time
}

func (f *fakeFailures) fail(account, ip string, at time.Time, n int) {
	if f.byIP == nil {
		f.byIP, f.byAccount = map[netip.Addr][]time.Time{}, map[string]map[netip.Addr][]time.Time{}
	}
	a := netip.MustParseAddr(ip)
	if f.byAccount[account] == nil {
		f.byAccount[account] = map[netip.Addr][]time.Time{}
	}
	for i := range n {
		t := at.Add(time.Duration(i) * time.Minute)
		f.byIP[a] = append(f.byIP[a], t)
		f.byAccount[account][a] = append(f.byAccount[account][a], t)
	}
}

func in(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

func (f *fakeFailures) FromAddress(ip netip.Addr, from, to time.Time) (int, []string, error) {
	n := 0
	var ev []string
	for _, t := range f.byIP[ip] {
		if in(t, from, to) {
			n++
			ev = append(ev, fmt.Sprintf("mail.log:%d", t.Unix()%10000))
		}
	}
	return n, ev, nil
}

func (f *fakeFailures) Addresses(account string, from, to time.Time) (int, error) {
	n := 0
	for _, ts := range f.byAccount[account] {
		if slices.ContainsFunc(ts, func(t time.Time) bool { return in(t, from, to) }) {
			n++
		}
	}
	return n, nil
}

// rowsBuilder writes an account's mail.
type rowsBuilder struct {
	rows []AccountRow
	n    int
}

// send adds a message at t from ip with rcpts recipients at outside
// domains (domains of them distinct), bad of them bounced.
func (b *rowsBuilder) send(t time.Time, ip, sender string, rcpts, domains, bad int) {
	b.n++
	key := fmt.Sprintf("m%d", b.n)
	for i := range rcpts {
		st := StatusSent
		if i < bad {
			st = StatusBounced
		}
		b.rows = append(b.rows, AccountRow{Time: t, ClientIP: netip.MustParseAddr(ip), MessageKey: key, Sender: sender,
			Recipient: fmt.Sprintf("r%d@d%d.example", i, i%max(domains, 1)), Status: st})
	}
}

// usual adds days of office mail: three messages a workday from ip at
// 09:00, 11:30 and 15:00 UTC, three recipients each.
func (b *rowsBuilder) usual(start time.Time, days int, ip string) {
	for d := range days {
		day := start.AddDate(0, 0, d)
		for _, h := range []time.Duration{9 * time.Hour, 11*time.Hour + 30*time.Minute, 15 * time.Hour} {
			b.send(day.Add(h), ip, "alice@corp.example", 3, 3, 0)
		}
	}
}

// spam adds a spam run from ip: a message of 15 recipients every three
// minutes from `from` for dur, a third of them bounced.
func (b *rowsBuilder) spam(from time.Time, dur time.Duration, ip, sender string) {
	for t := from; t.Before(from.Add(dur)); t = t.Add(3 * time.Minute) {
		b.send(t, ip, sender, 15, 15, 5)
	}
}

func (b *rowsBuilder) judge(t *testing.T, f *fakeFailures) AccountReport {
	t.Helper()
	sort.SliceStable(b.rows, func(i, k int) bool { return b.rows[i].Time.Before(b.rows[k].Time) })
	if f == nil {
		f = &fakeFailures{}
	}
	var p Policy
	if err := p.AddDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	j := &AccountJudge{Policy: p, Failures: f}
	i := 0
	rep, err := j.Judge("alice", func() (AccountRow, bool, error) {
		if i == len(b.rows) {
			return AccountRow{}, false, nil
		}
		i++
		return b.rows[i-1], true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var (
	day0   = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	office = "91.198.44.10"
)

func TestAccountJudge(t *testing.T) {
	attackAt := day0.AddDate(0, 0, 14).Add(2 * time.Hour) // 02:00, never used
	tests := []struct {
		name        string
		build       func(b *rowsBuilder, f *fakeFailures)
		verdict     string
		signals     []string
		ips         []string
		first       time.Time
		rcpts, msgs int
	}{
		{
			name: "phished password used at night from a new network",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 14, office)
				b.spam(attackAt, 2*time.Hour, "193.32.162.58", "alice@corp.example")
			},
			// 40 messages of 15 recipients.
			verdict: AccountCompromised, signals: []string{SignalNewNetwork, SignalVolume, SignalBounces, SignalOddHours},
			ips: []string{"193.32.162.58"}, first: attackAt, rcpts: 600, msgs: 40,
		},
		{
			name: "brute force that worked, spam under another sender",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 14, office)
				at := day0.AddDate(0, 0, 14).Add(14 * time.Hour) // next to the usual 15:00
				f.fail("alice", "45.155.205.17", at.Add(-30*time.Minute), 20)
				b.spam(at, time.Hour, "45.155.205.17", "billing@paypa1.example")
			},
			verdict: AccountCompromised, signals: []string{SignalBruteforce, SignalNewNetwork, SignalVolume, SignalSenders, SignalBounces},
			ips: []string{"45.155.205.17"}, first: day0.AddDate(0, 0, 14).Add(14 * time.Hour), rcpts: 300, msgs: 20,
		},
		{
			name: "brute force that worked on a new account: no history, still compromised",
			build: func(b *rowsBuilder, f *fakeFailures) {
				at := day0.Add(13 * time.Hour)
				f.fail("alice", "45.155.205.17", at.Add(-30*time.Minute), 20)
				b.spam(at, time.Hour, "45.155.205.17", "alice@corp.example")
			},
			verdict: AccountCompromised, signals: []string{SignalBruteforce, SignalVolume, SignalBounces},
			ips: []string{"45.155.205.17"}, first: day0.Add(13 * time.Hour), rcpts: 300, msgs: 20,
		},
		{
			name: "brute force that got in and sent the usual: suspicious",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 14, office)
				at := day0.AddDate(0, 0, 14).Add(10 * time.Hour)
				f.fail("alice", "45.155.205.17", at.Add(-30*time.Minute), 20)
				b.send(at, "45.155.205.17", "alice@corp.example", 2, 2, 0)
			},
			verdict: AccountSuspicious, signals: []string{SignalBruteforce, SignalNewNetwork},
		},
		{
			name: "a traveller: new networks at other hours, the usual mail",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 10, office)
				for d := range 4 {
					hotel := fmt.Sprintf("1%d.%d.7.9", d, 40+d)
					b.usual(day0.AddDate(0, 0, 10+d).Add(-8*time.Hour), 1, hotel)
				}
				b.usual(day0.AddDate(0, 0, 14), 5, office)
			},
			verdict: AccountOK,
		},
		{
			name: "a mobile user: a new /24 every day in the carrier's /16",
			build: func(b *rowsBuilder, f *fakeFailures) {
				for d := range 20 {
					b.usual(day0.AddDate(0, 0, d), 1, fmt.Sprintf("176.66.%d.%d", d*7, 10+d))
				}
				// A busy day from the carrier, with a colleague's address.
				b.spam(day0.AddDate(0, 0, 20).Add(10*time.Hour), time.Hour, "176.66.201.3", "sales@corp.example")
			},
			verdict: AccountOK,
		},
		{
			name: "a weekly newsletter from the office",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 21, office)
				for w := range 3 {
					at := day0.AddDate(0, 0, 7*w).Add(10 * time.Hour)
					for i := range 30 {
						b.send(at.Add(time.Duration(i)*30*time.Second), office, "newsletter@corp.example", 10, 10, 1)
					}
				}
			},
			verdict: AccountOK,
		},
		{
			name: "brute force from many addresses that never gets in",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 21, office)
				for d := 7; d < 21; d++ {
					for k := range 6 {
						f.fail("alice", fmt.Sprintf("5.%d.%d.9", d, k), day0.AddDate(0, 0, d).Add(time.Duration(k)*time.Hour), 5)
					}
				}
			},
			verdict: AccountOK,
		},
		{
			name: "two mistyped passwords every morning",
			build: func(b *rowsBuilder, f *fakeFailures) {
				for d := range 21 {
					f.fail("alice", office, day0.AddDate(0, 0, d).Add(8*time.Hour+50*time.Minute), 2)
				}
				b.usual(day0, 21, office)
			},
			verdict: AccountOK,
		},
		{
			name: "spam from a new network before the account has a usual: no claim",
			build: func(b *rowsBuilder, f *fakeFailures) {
				b.usual(day0, 2, office)
				b.spam(day0.AddDate(0, 0, 2).Add(2*time.Hour), time.Hour, "193.32.162.58", "alice@corp.example")
			},
			verdict: AccountOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b rowsBuilder
			f := &fakeFailures{}
			tt.build(&b, f)
			rep := b.judge(t, f)
			if rep.Verdict != tt.verdict || !slices.Equal(rep.Signals, tt.signals) {
				t.Fatalf("Judge = %s %v, want %s %v (sessions %+v)", rep.Verdict, rep.Signals, tt.verdict, tt.signals, rep.Sessions)
			}
			if !slices.Equal(rep.ClientIPs, tt.ips) || !rep.FirstAbuse.Equal(tt.first) || rep.Recipients != tt.rcpts || rep.Messages != tt.msgs {
				t.Errorf("Judge = ips %v first %s recipients %d messages %d, want %v %s %d %d",
					rep.ClientIPs, rep.FirstAbuse, rep.Recipients, rep.Messages, tt.ips, tt.first, tt.rcpts, tt.msgs)
			}
			if tt.verdict == AccountCompromised && len(rep.Evidence) == 0 && slices.Contains(tt.signals, SignalBruteforce) {
				t.Errorf("a brute force that worked has no evidence lines")
			}
			if rep.Baseline == "" || rep.Total != len(b.rows) {
				t.Errorf("Judge: baseline %q, total %d of %d rows", rep.Baseline, rep.Total, len(b.rows))
			}
		})
	}
}

// TestAccountJudgeKeepsNormalMail: the user's own mail on the day of the
// take-over is not abusive, and the attacker's networks are not learnt.
func TestAccountJudgeKeepsNormalMail(t *testing.T) {
	var b rowsBuilder
	b.usual(day0, 21, office)
	b.spam(day0.AddDate(0, 0, 14).Add(2*time.Hour), time.Hour, "193.32.162.58", "alice@corp.example")
	b.spam(day0.AddDate(0, 0, 16).Add(3*time.Hour), time.Hour, "193.32.162.59", "alice@corp.example")
	rep := b.judge(t, nil)
	if rep.Verdict != AccountCompromised {
		t.Fatalf("verdict %s, want compromised", rep.Verdict)
	}
	abusive := 0
	for _, s := range rep.Sessions {
		if s.ClientIP == office && s.Abusive {
			t.Errorf("the office session %+v is abusive", s)
		}
		if s.Abusive {
			abusive++
		}
	}
	if abusive != 2 || rep.Recipients != 2*20*15 {
		t.Errorf("%d abusive sessions, %d recipients, want 2 and 600: %+v", abusive, rep.Recipients, rep.Sessions)
	}
}

func TestAbuseReason(t *testing.T) {
	s := AccountSession{ClientIP: "192.0.2.7", From: day0, Signals: []string{SignalNewNetwork, SignalVolume}}
	for _, acct := range []string{"alice", `CORP\bob`, "odd); name"} {
		old := "accepted for external domain x.example from client 192.0.2.7 authenticated as " + acct + " (PLAIN)"
		r := AbuseReason(acct, s, old)
		if !strings.Contains(r, "new_network, volume") || !strings.HasPrefix(r, "compromised account "+acct) {
			t.Errorf("AbuseReason = %q", r)
		}
		if got := TrimAbuseReason(acct, r); got != old {
			t.Errorf("TrimAbuseReason(%q) = %q, want %q", r, got, old)
		}
		if got := TrimAbuseReason(acct, old); got != old {
			t.Errorf("TrimAbuseReason of a plain reason = %q", got)
		}
	}
}

func TestAccountRulesConfig(t *testing.T) {
	dir := t.TempDir()
	load := func(body string) (Policy, error) {
		p := filepath.Join(dir, "c.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return LoadPolicy(p)
	}
	p, err := load(`{"local_domains": ["corp.example"]}`)
	if err != nil || p.Accounts != DefaultAccountRules {
		t.Errorf("no accounts key: %+v, %v; want the defaults", p.Accounts, err)
	}
	p, err = load(`{"local_domains": ["corp.example"], "accounts": {"session_gap": "30m", "min_history_days": 3,
		"bruteforce_failures": 8, "bruteforce_addresses": 9, "bruteforce_window": "2h", "volume_recipients": 100,
		"volume_domains": 40, "volume_factor": 2.5, "bounce_recipients": 15, "bounce_share": 0.5}}`)
	want := AccountRules{SessionGap: 30 * time.Minute, MinHistoryDays: 3, BruteforceFailures: 8, BruteforceAddresses: 9,
		BruteforceWindow: 2 * time.Hour, VolumeRecipients: 100, VolumeDomains: 40, VolumeFactor: 2.5, BounceRecipients: 15, BounceShare: 0.5}
	if err != nil || p.Accounts != want {
		t.Errorf("accounts set: %+v, %v; want %+v", p.Accounts, err, want)
	}
	p, err = load(`{"accounts": {"volume_recipients": 80}}`)
	if err != nil || p.Accounts.VolumeRecipients != 80 || p.Accounts.SessionGap != time.Hour {
		t.Errorf("one threshold set: %+v, %v", p.Accounts, err)
	}
	for _, bad := range []string{
		`{"accounts": {"volume_recipent": 80}}`,
		`{"accounts": {"session_gap": "an hour"}}`,
		`{"accounts": {"session_gap": "-1h"}}`,
		`{"accounts": {"bounce_share": 1.5}}`,
		`{"accounts": {"volume_factor": 0.5}}`,
		`{"accounts": {"min_history_days": 0}}`,
		`{"accounts": [1]}`,
	} {
		if _, err := load(bad); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("LoadPolicy(%s) = %v, want ErrBadPolicy", bad, err)
		}
	}
	if b, _ := json.Marshal(DefaultAccountRules.withDefaults()); string(b) != mustJSON(DefaultAccountRules) {
		t.Errorf("withDefaults changes the defaults")
	}
	if got := (AccountRules{VolumeRecipients: 7}).withDefaults(); got.VolumeRecipients != 7 || got.BounceShare != DefaultAccountRules.BounceShare {
		t.Errorf("withDefaults = %+v", got)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fakePlaces locates addresses by their first octet.
type fakePlaces map[byte]Place

func (f fakePlaces) Locate(ip netip.Addr) (Place, bool) {
	p, ok := f[ip.As4()[0]]
	return p, ok
}

// TestAccountJudgePlaces: with a Locator, a new /16 of the account's own
// carrier (same country and AS) is not a new network; another country's is.
func TestAccountJudgePlaces(t *testing.T) {
	places := fakePlaces{176: {Country: "DE", ASN: 3320}, 193: {Country: "RU", ASN: 9009}, 91: {Country: "DE", ASN: 680}}
	build := func() *rowsBuilder {
		var b rowsBuilder
		b.usual(day0, 14, office)
		for d := range 14 {
			b.usual(day0.AddDate(0, 0, d).Add(2*time.Hour), 1, fmt.Sprintf("176.%d.3.4", 60+d%3))
		}
		return &b
	}
	judge := func(b *rowsBuilder, loc Locator) AccountReport {
		t.Helper()
		var p Policy
		if err := p.AddDomains("corp.example"); err != nil {
			t.Fatal(err)
		}
		sort.SliceStable(b.rows, func(i, k int) bool { return b.rows[i].Time.Before(b.rows[k].Time) })
		j := &AccountJudge{Policy: p, Failures: &fakeFailures{}, Rules: AccountRules{Places: loc}}
		i := 0
		rep, err := j.Judge("alice", func() (AccountRow, bool, error) {
			if i == len(b.rows) {
				return AccountRow{}, false, nil
			}
			i++
			return b.rows[i-1], true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	// The carrier's fourth /16, on a busy day: a new network by /16 alone.
	b := build()
	b.spam(day0.AddDate(0, 0, 15).Add(10*time.Hour), time.Hour, "176.99.3.4", "alice@corp.example")
	if rep := judge(b, nil); !slices.Contains(rep.Signals, SignalNewNetwork) {
		t.Errorf("without places: %s %v, want new_network", rep.Verdict, rep.Signals)
	}
	if rep := judge(b, places); rep.Verdict != AccountOK {
		t.Errorf("with places, the carrier's other /16: %s %v, want ok", rep.Verdict, rep.Signals)
	}
	if rep := judge(b, places); !strings.Contains(rep.Baseline, "1 countries, 2 AS") {
		t.Errorf("baseline %q does not count the places", rep.Baseline)
	}
	b = build()
	b.spam(day0.AddDate(0, 0, 15).Add(10*time.Hour), time.Hour, "193.32.162.58", "alice@corp.example")
	if rep := judge(b, places); rep.Verdict != AccountCompromised || !slices.Contains(rep.Signals, SignalNewNetwork) {
		t.Errorf("with places, another country: %s %v, want compromised with new_network", rep.Verdict, rep.Signals)
	}
}
