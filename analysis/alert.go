package analysis

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Alert kinds. A summary of alerts held back by the quiet period has the
// kind of the alerts it stands for and Summary set.
const (
	AlertRelayAbuse    = "relay_abuse"
	AlertRelayAttempts = "relay_attempts"
	AlertAuthFailures  = "auth_failures"
	// AlertAccountTakeover: an abusive session of a compromised account
	// (see AccountJudge); AlertBruteforceSuccess: a login after a brute
	// force from its address. One each per account, client and session.
	AlertAccountTakeover   = "account_takeover"
	AlertBruteforceSuccess = "bruteforce_success"
)

// An Alert is one finding worth waking someone for. Times are those of the
// log lines, never the clock: replaying the same lines gives the same alerts.
type Alert struct {
	Kind    string    `json:"kind"`
	Client  string    `json:"client"`
	Time    time.Time `json:"time"` // of the line that decided it
	From    time.Time `json:"from"` // first line it covers
	Count   int       `json:"count"`
	Summary bool      `json:"summary"` // stands for Count alerts held back
	Text    string    `json:"text"`
	// Key and Recipient are the recipient a relay_abuse alert is about.
	Key       string     `json:"key,omitempty"`
	Recipient *Recipient `json:"recipient,omitempty"`
	// Recipients lists (some of) the recipients a summary stands for.
	Recipients []string `json:"recipients,omitempty"`
	Evidence   []string `json:"evidence,omitempty"`
	// Account is the SASL account an account_takeover or
	// bruteforce_success alert is about.
	Account string `json:"account,omitempty"`
}

// OutboxKey names what a is about, so that the same alert decided again
// (from lines read again after a crash) is found in the outbox: the
// recipient of a relay_abuse alert; the kind, client and window (first and
// last line) of a burst; the kind, client and period (its first alert held
// back) of a summary.
func (a *Alert) OutboxKey() string {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	switch {
	case a.Summary:
		return strings.Join([]string{a.Kind, a.Client, "summary", ms(a.From)}, "|")
	case a.Kind == AlertRelayAbuse && a.Key != "":
		return a.Key
	case a.Account != "":
		// A session grows while it is watched: its start names it.
		return strings.Join([]string{a.Kind, a.Account, a.Client, ms(a.From)}, "|")
	}
	return strings.Join([]string{a.Kind, a.Client, ms(a.From), ms(a.Time), lastEvidence(a.Evidence)}, "|")
}

// maxAlertListed bounds the recipients and evidence a summary carries.
const maxAlertListed = 20

// burstRule finds bursts: at least Min hits from one client within Window.
// Hits older than Window are forgotten.
type burstRule struct {
	Kind   string
	Min    int
	Window time.Duration
	hits   map[string][]hit
}

type hit struct {
	at  time.Time
	pos string
}

// add records a hit from client at time at, and returns the burst it
// completes (its hits are then forgotten, so the next burst needs Min new
// ones), or nil.
func (r *burstRule) add(client string, at time.Time, pos string) []hit {
	if r.Min <= 0 || client == "" {
		return nil
	}
	if r.hits == nil {
		r.hits = make(map[string][]hit)
	}
	hs := append(r.hits[client], hit{at, pos})
	i := 0
	for i < len(hs) && at.Sub(hs[i].at) > r.Window {
		i++
	}
	hs = hs[i:]
	if len(hs) >= r.Min {
		delete(r.hits, client)
		return hs
	}
	r.hits[client] = hs
	return nil
}

// expire forgets hits older than Window before now.
func (r *burstRule) expire(now time.Time) {
	for c, hs := range r.hits {
		if len(hs) == 0 || now.Sub(hs[len(hs)-1].at) > r.Window {
			delete(r.hits, c)
		}
	}
}

// quietGate lets the first alert about a client through and holds back the
// ones that follow within Quiet, to be summarised when the period ends. A
// zero Quiet lets every alert through.
//
// A period ends when Quiet has passed on the log's clock or on the wall
// clock (wall, as the caller last read it; zero when it never did): on a
// quiet server the log's clock stands still, and a summary held for it
// would wait for the next line, however late.
type quietGate struct {
	Quiet time.Duration
	open  map[string]*held // by kind and client
	wall  time.Time
}

type held struct {
	kind, client string
	since        time.Time // the alert that opened the quiet period
	sinceWall    time.Time // the wall clock then; zero when not known
	from         time.Time // first one held back
	last         time.Time
	count        int
	rcpts        []string
	evidence     []string
}

// admit reports whether a, about to be sent, may go; if not it is counted
// into the period's summary.
func (g *quietGate) admit(a *Alert) bool {
	if g.Quiet <= 0 {
		return true
	}
	if g.open == nil {
		g.open = make(map[string]*held)
	}
	k := a.Kind + "|" + a.Client
	h := g.open[k]
	if h == nil || g.over(h, a.Time) && h.count == 0 {
		g.open[k] = &held{kind: a.Kind, client: a.Client, since: a.Time, sinceWall: g.wall}
		return true
	}
	if h.count == 0 {
		h.from = a.From
	}
	h.count += max(a.Count, 1)
	h.last = a.Time
	if a.Recipient != nil && len(h.rcpts) < maxAlertListed {
		h.rcpts = append(h.rcpts, a.Recipient.Recipient)
	}
	for _, e := range a.Evidence {
		if len(h.evidence) >= maxAlertListed {
			break
		}
		h.evidence = append(h.evidence, e)
	}
	return false
}

// due returns the summaries of the quiet periods over at now; a period
// that held nothing back closes silently. A summary opens the next period, so
// an attack that goes on gets one line per Quiet.
func (g *quietGate) due(now time.Time) []Alert {
	var out []Alert
	for k, h := range g.open {
		if !g.over(h, now) {
			continue
		}
		if h.count == 0 {
			delete(g.open, k)
			continue
		}
		out = append(out, h.summary())
		// The next period starts where this one ended on the clock that
		// ended it: the log's, one Quiet on; else the newest line's time.
		next := h.since.Add(g.Quiet)
		if now.Before(next) {
			next = now
			for _, t := range []time.Time{h.since, h.last} {
				if t.After(next) {
					next = t
				}
			}
		}
		g.open[k] = &held{kind: h.kind, client: h.client, since: next, sinceWall: g.wall}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Client < out[j].Kind+out[j].Client })
	return out
}

// over reports whether h's quiet period has ended at log time now or on
// the wall clock.
func (g *quietGate) over(h *held, now time.Time) bool {
	return now.Sub(h.since) >= g.Quiet ||
		!h.sinceWall.IsZero() && !g.wall.IsZero() && g.wall.Sub(h.sinceWall) >= g.Quiet
}

// release returns the summaries of everything held back, and closes their
// periods: at exit, they go out like the alerts they stand for.
func (g *quietGate) release() []Alert {
	out := g.pending()
	for k, h := range g.open {
		if h.count > 0 {
			delete(g.open, k)
		}
	}
	return out
}

// pending returns what is held back now, for the summary at exit.
func (g *quietGate) pending() []Alert {
	var out []Alert
	for _, h := range g.open {
		if h.count > 0 {
			out = append(out, h.summary())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Client < out[j].Kind+out[j].Client })
	return out
}

func (h *held) summary() Alert {
	what := map[string]string{
		AlertRelayAbuse:    "relayed recipients",
		AlertRelayAttempts: "refused relay attempts",
		AlertAuthFailures:  "authentication failures",
	}[h.kind]
	return Alert{
		Kind: h.kind, Client: h.client, Time: h.last, From: h.from, Count: h.count, Summary: true,
		Text:       fmt.Sprintf("%d more %s from %s since %s", h.count, what, h.client, h.from.Format(time.RFC3339)),
		Recipients: h.rcpts, Evidence: h.evidence,
	}
}

// AlertRules turns what the correlator and the parsers saw into alerts.
type AlertRules struct {
	attempts burstRule // relay_attempt_rejected recipients per client
	auth     burstRule // KindAuthFailed events per client
	gate     quietGate
	now      time.Time // the newest line's time
}

// NewAlertRules returns the rules with their thresholds: a burst of attempts
// refused relay attempts within attemptsWindow, of authFailures failed logins
// within authWindow, and the quiet period after an alert about a client.
func NewAlertRules(attempts int, attemptsWindow time.Duration, authFailures int, authWindow, quiet time.Duration) *AlertRules {
	return &AlertRules{
		attempts: burstRule{Kind: AlertRelayAttempts, Min: attempts, Window: attemptsWindow},
		auth:     burstRule{Kind: AlertAuthFailures, Min: authFailures, Window: authWindow},
		gate:     quietGate{Quiet: quiet},
	}
}

// Event looks at one event as it is read.
func (r *AlertRules) Event(ev *parsers.Event) []Alert {
	if ev.Time.After(r.now) {
		r.now = ev.Time
	}
	if ev.Kind != parsers.KindAuthFailed || !ev.ClientIP.IsValid() {
		return nil
	}
	client := ev.ClientIP.String()
	hs := r.auth.add(client, ev.Time, ev.Pos.String())
	if hs == nil {
		return nil
	}
	user := ""
	if ev.SASLUser != "" {
		user = " (last tried user " + ev.SASLUser + ")"
	}
	return r.gated(burstAlert(AlertAuthFailures, client, hs, r.auth.Window,
		fmt.Sprintf("%d SASL authentication failures from %s within %s%s", len(hs), client, r.auth.Window, user)))
}

// Recipient looks at a recipient whose verdict changed from was to its
// current one.
func (r *AlertRules) Recipient(rc *Recipient, was Verdict) []Alert {
	// A recipient counts once, at its first hop, as in the reports: the
	// copy a content filter or a forward sends on is not another relay.
	if rc.Verdict == was || rc.Hop > 1 {
		return nil
	}
	switch rc.Verdict {
	case RelayAbuse:
		cp := *rc
		a := Alert{
			Kind: AlertRelayAbuse, Client: rc.ClientIP, Time: rc.Time, From: rc.Time, Count: 1,
			Text: fmt.Sprintf("relayed: %s → %s (queue %s): %s", rc.Sender, rc.Recipient, rc.QueueID, rc.Reason),
			Key:  rc.Key, Recipient: &cp, Evidence: rc.Evidence,
		}
		return r.gated(a)
	case RelayAttemptRejected:
		hs := r.attempts.add(rc.ClientIP, rc.Time, lastEvidence(rc.Evidence))
		if hs == nil {
			return nil
		}
		return r.gated(burstAlert(AlertRelayAttempts, rc.ClientIP, hs, r.attempts.Window,
			fmt.Sprintf("%d refused relay attempts from %s within %s (last for %s)", len(hs), rc.ClientIP, r.attempts.Window, rc.Recipient)))
	}
	return nil
}

// Due returns the summaries whose quiet period is over, and forgets old hits.
func (r *AlertRules) Due() []Alert {
	r.attempts.expire(r.now)
	r.auth.expire(r.now)
	if r.gate.Quiet <= 0 {
		return nil
	}
	return r.gate.due(r.now)
}

func (r *AlertRules) gated(a Alert) []Alert {
	if r.gate.admit(&a) {
		return []Alert{a}
	}
	return nil
}

func burstAlert(kind, client string, hs []hit, window time.Duration, text string) Alert {
	a := Alert{Kind: kind, Client: client, Time: hs[len(hs)-1].at, From: hs[0].at, Count: len(hs), Text: text}
	for _, h := range hs {
		if len(a.Evidence) < maxAlertListed && h.pos != "" {
			a.Evidence = append(a.Evidence, h.pos)
		}
	}
	return a
}

func lastEvidence(ss []string) string {
	if len(ss) > 0 {
		return ss[len(ss)-1]
	}
	return ""
}

// Pending returns the alerts held back by the quiet period now, for the
// summary at exit.
func (r *AlertRules) Pending() []Alert { return r.gate.pending() }

// Clock tells the rules the wall clock, as the caller read it (the rules
// never read it themselves, so that tests are exact). A quiet period then
// also ends when Quiet has passed on it, even while no line comes.
func (r *AlertRules) Clock(wall time.Time) { r.gate.wall = wall }

// SummaryDue reports whether a quiet period holding alerts back has ended,
// so that Due has a summary to give.
func (r *AlertRules) SummaryDue() bool {
	for _, h := range r.gate.open {
		if h.count > 0 && r.gate.over(h, r.now) {
			return true
		}
	}
	return false
}

// Release returns the summaries of all the alerts held back now and
// closes their quiet periods: at exit, they are sent like alerts.
func (r *AlertRules) Release() []Alert { return r.gate.release() }
