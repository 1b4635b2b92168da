package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// defaultAccountsEvery is how often tail runs the accounts pass while mail
// from SASL accounts comes in: an abusive session is alerted about within
// about this long (plus a commit) of its signals being clear.
const defaultAccountsEvery = 30 * time.Second

// accountWatch decides when tail runs the accounts pass. It is the
// tailer's: due is called on its goroutine.
type accountWatch struct {
	every  time.Duration
	policy analysis.Policy
	last   time.Time // wall clock of the last pass
	since  time.Time // the oldest authenticated recipient no pass has seen (log time)
}

// due notes the authenticated recipients of rs, about to be committed, and
// reports whether a pass is due after their commit (every so often, and
// when tail stops), with the time it is to look from.
func (w *accountWatch) due(rs []analysis.Recipient, now time.Time, stopping bool) (time.Time, bool) {
	for i := range rs {
		if rs[i].AuthUser != "" && (w.since.IsZero() || rs[i].Time.Before(w.since)) {
			w.since = rs[i].Time
		}
	}
	every := w.every
	if every <= 0 {
		every = defaultAccountsEvery
	}
	if w.since.IsZero() || !stopping && !w.last.IsZero() && now.Sub(w.last) < every {
		return time.Time{}, false
	}
	since := w.since
	w.since, w.last = time.Time{}, now
	return since, true
}

// accountPass runs the accounts pass for the accounts with mail since
// since and puts the alerts it decides in the outbox. It runs on the
// committer's goroutine, after a commit, like sendQueued.
func (t *tailer) accountPass(since time.Time) error {
	res, err := Accounts(t.sctx, t.store, t.acct.policy, since)
	if err != nil {
		return StoreError{err}
	}
	return t.enqueue(accountAlerts(res.Accounts, since))
}

// accountAlerts are the alerts about reps, the accounts judged by a pass
// over mail since since: one per abusive session of a compromised account
// and per login after a brute force, among the sessions that sent since
// then (the older ones were alerted about when they were new).
func accountAlerts(reps []analysis.AccountReport, since time.Time) []analysis.Alert {
	var out []analysis.Alert
	for _, r := range reps {
		for _, s := range r.Sessions {
			if s.To.Before(since) {
				continue
			}
			a := analysis.Alert{Client: s.ClientIP, Time: s.From, From: s.From, Count: s.Recipients, Account: r.Account,
				Evidence: s.Evidence}
			switch {
			case s.Abusive:
				a.Kind = analysis.AlertAccountTakeover
				a.Text = fmt.Sprintf("account %s taken over (%s): %d recipients in %d messages from %s since %s",
					r.Account, strings.Join(s.Signals, ", "), s.Recipients, s.Messages, s.ClientIP, s.From.UTC().Format(time.RFC3339))
			case containsString(s.Signals, analysis.SignalBruteforce):
				a.Kind = analysis.AlertBruteforceSuccess
				a.Text = fmt.Sprintf("account %s logged in from %s after a brute force from there (%s); %d recipients since %s",
					r.Account, s.ClientIP, strings.Join(s.Signals, ", "), s.Recipients, s.From.UTC().Format(time.RFC3339))
			default:
				continue
			}
			out = append(out, a)
			if s.Abusive && containsString(s.Signals, analysis.SignalBruteforce) {
				b := a
				b.Kind = analysis.AlertBruteforceSuccess
				b.Text = fmt.Sprintf("account %s logged in from %s after a brute force from there", r.Account, s.ClientIP)
				out = append(out, b)
			}
		}
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
