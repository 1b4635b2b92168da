package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// Alert kinds. A summary of alerts held back by the quiet period has the
// kind of the alerts it stands for and Summary set.
const (
	alertRelayAbuse   = "relay_abuse"
	alertRelayAttempt = "relay_attempts"
	alertAuthFailures = "auth_failures"
)

// An alert is one finding worth waking someone for. Times are those of the
// log lines, never the clock: replaying the same lines gives the same alerts.
type alert struct {
	Kind    string    `json:"kind"`
	Client  string    `json:"client"`
	Time    time.Time `json:"time"` // of the line that decided it
	From    time.Time `json:"from"` // first line it covers
	Count   int       `json:"count"`
	Summary bool      `json:"summary"` // stands for Count alerts held back
	Text    string    `json:"text"`
	// Key and Recipient are the recipient a relay_abuse alert is about.
	Key       string              `json:"key,omitempty"`
	Recipient *analysis.Recipient `json:"recipient,omitempty"`
	// Recipients lists (some of) the recipients a summary stands for.
	Recipients []string `json:"recipients,omitempty"`
	Evidence   []string `json:"evidence,omitempty"`
}

// outboxKey names what a is about, so that the same alert decided again
// (from lines read again after a crash) is found in the outbox: the
// recipient of a relay_abuse alert; the kind, client and window (first and
// last line) of a burst; the kind, client and period (its first alert held
// back) of a summary.
func (a *alert) outboxKey() string {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	switch {
	case a.Summary:
		return strings.Join([]string{a.Kind, a.Client, "summary", ms(a.From)}, "|")
	case a.Kind == alertRelayAbuse && a.Key != "":
		return a.Key
	}
	return strings.Join([]string{a.Kind, a.Client, ms(a.From), ms(a.Time), lastEvidence(a.Evidence)}, "|")
}

// maxListed bounds the recipients and evidence a summary carries.
const maxListed = 20

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
type quietGate struct {
	Quiet time.Duration
	open  map[string]*held // by kind and client
}

type held struct {
	kind, client string
	since        time.Time // the alert that opened the quiet period
	from         time.Time // first one held back
	last         time.Time
	count        int
	rcpts        []string
	evidence     []string
}

// admit reports whether a, about to be sent, may go; if not it is counted
// into the period's summary.
func (g *quietGate) admit(a *alert) bool {
	if g.Quiet <= 0 {
		return true
	}
	if g.open == nil {
		g.open = make(map[string]*held)
	}
	k := a.Kind + "|" + a.Client
	h := g.open[k]
	if h == nil || a.Time.Sub(h.since) >= g.Quiet && h.count == 0 {
		g.open[k] = &held{kind: a.Kind, client: a.Client, since: a.Time}
		return true
	}
	if h.count == 0 {
		h.from = a.From
	}
	h.count += max(a.Count, 1)
	h.last = a.Time
	if a.Recipient != nil && len(h.rcpts) < maxListed {
		h.rcpts = append(h.rcpts, a.Recipient.Recipient)
	}
	for _, e := range a.Evidence {
		if len(h.evidence) >= maxListed {
			break
		}
		h.evidence = append(h.evidence, e)
	}
	return false
}

// due returns the summaries of the quiet periods over at now; a period
// that held nothing back closes silently. A summary opens the next period, so
// an attack that goes on gets one line per Quiet.
func (g *quietGate) due(now time.Time) []alert {
	var out []alert
	for k, h := range g.open {
		if now.Sub(h.since) < g.Quiet {
			continue
		}
		if h.count == 0 {
			delete(g.open, k)
			continue
		}
		out = append(out, h.summary())
		g.open[k] = &held{kind: h.kind, client: h.client, since: h.since.Add(g.Quiet)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Client < out[j].Kind+out[j].Client })
	return out
}

// pending returns what is held back now, for the summary at exit.
func (g *quietGate) pending() []alert {
	var out []alert
	for _, h := range g.open {
		if h.count > 0 {
			out = append(out, h.summary())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Client < out[j].Kind+out[j].Client })
	return out
}

func (h *held) summary() alert {
	what := map[string]string{
		alertRelayAbuse:   "relayed recipients",
		alertRelayAttempt: "refused relay attempts",
		alertAuthFailures: "authentication failures",
	}[h.kind]
	return alert{
		Kind: h.kind, Client: h.client, Time: h.last, From: h.from, Count: h.count, Summary: true,
		Text:       fmt.Sprintf("%d more %s from %s since %s", h.count, what, h.client, h.from.Format(time.RFC3339)),
		Recipients: h.rcpts, Evidence: h.evidence,
	}
}

// alertRules turns what the correlator and the parsers saw into alerts.
type alertRules struct {
	attempts burstRule // relay_attempt_rejected recipients per client
	auth     burstRule // KindAuthFailed events per client
	gate     quietGate
	now      time.Time // the newest line's time
}

func newAlertRules(attempts int, attemptsWindow time.Duration, authFailures int, authWindow, quiet time.Duration) *alertRules {
	return &alertRules{
		attempts: burstRule{Kind: alertRelayAttempt, Min: attempts, Window: attemptsWindow},
		auth:     burstRule{Kind: alertAuthFailures, Min: authFailures, Window: authWindow},
		gate:     quietGate{Quiet: quiet},
	}
}

// event looks at one event as it is read.
func (r *alertRules) event(ev *parsers.Event) []alert {
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
	return r.gated(burstAlert(alertAuthFailures, client, hs, r.auth.Window,
		fmt.Sprintf("%d SASL authentication failures from %s within %s%s", len(hs), client, r.auth.Window, user)))
}

// recipient looks at a recipient whose verdict changed from was to its
// current one.
func (r *alertRules) recipient(rc *analysis.Recipient, was analysis.Verdict) []alert {
	if rc.Verdict == was {
		return nil
	}
	switch rc.Verdict {
	case analysis.RelayAbuse:
		cp := *rc
		a := alert{
			Kind: alertRelayAbuse, Client: rc.ClientIP, Time: rc.Time, From: rc.Time, Count: 1,
			Text: fmt.Sprintf("relayed: %s → %s (queue %s): %s", rc.Sender, rc.Recipient, rc.QueueID, rc.Reason),
			Key:  rc.Key, Recipient: &cp, Evidence: rc.Evidence,
		}
		return r.gated(a)
	case analysis.RelayAttemptRejected:
		hs := r.attempts.add(rc.ClientIP, rc.Time, lastEvidence(rc.Evidence))
		if hs == nil {
			return nil
		}
		return r.gated(burstAlert(alertRelayAttempt, rc.ClientIP, hs, r.attempts.Window,
			fmt.Sprintf("%d refused relay attempts from %s within %s (last for %s)", len(hs), rc.ClientIP, r.attempts.Window, rc.Recipient)))
	}
	return nil
}

// due returns the summaries whose quiet period is over, and forgets old hits.
func (r *alertRules) due() []alert {
	r.attempts.expire(r.now)
	r.auth.expire(r.now)
	if r.gate.Quiet <= 0 {
		return nil
	}
	return r.gate.due(r.now)
}

func (r *alertRules) gated(a alert) []alert {
	if r.gate.admit(&a) {
		return []alert{a}
	}
	return nil
}

func burstAlert(kind, client string, hs []hit, window time.Duration, text string) alert {
	a := alert{Kind: kind, Client: client, Time: hs[len(hs)-1].at, From: hs[0].at, Count: len(hs), Text: text}
	for _, h := range hs {
		if len(a.Evidence) < maxListed && h.pos != "" {
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

// alerter delivers alerts: a line on out each, and the --exec command.
type alerter struct {
	out     io.Writer
	stderr  io.Writer
	json    bool
	cmd     string
	timeout time.Duration
	slots   chan struct{} // bounds the commands running at once
	wg      sync.WaitGroup
	mu      sync.Mutex // guards stderr from the commands' goroutines
	m       *tailMetrics
}

// send writes a and starts the command for it. It blocks while every
// command slot is taken: a slow command slows the reader, no queue grows.
func (al *alerter) send(ctx context.Context, a alert) error {
	al.m.alert(a.Kind)
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if al.json {
		_, err = fmt.Fprintf(al.out, "%s\n", body)
	} else {
		_, err = fmt.Fprintln(al.out, humanAlert(a))
	}
	if err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	if al.cmd == "" {
		return nil
	}
	select {
	case al.slots <- struct{}{}:
	case <-ctx.Done():
		// Shutting down: run it anyway, the alert is already committed.
		al.slots <- struct{}{}
	}
	al.wg.Add(1)
	go func() {
		defer al.wg.Done()
		defer func() { <-al.slots }()
		if err := al.run(body); err != nil {
			al.m.execFailed()
			al.mu.Lock()
			fmt.Fprintf(al.stderr, "relaysleuth: --exec for %s alert about %s: %v\n", a.Kind, clean(a.Client), err)
			al.mu.Unlock()
		}
	}()
	return nil
}

// run runs the command with body on its stdin. It is not tied to the
// command's context: an alert read before a shutdown is still delivered.
func (al *alerter) run(body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), al.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", al.cmd)
	cmd.Stdin = bytes.NewReader(append(body, '\n'))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("timed out after %s", al.timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg != "" {
			return fmt.Errorf("%w: %s", err, clean(msg))
		}
	}
	return err
}

// wait waits for the commands still running.
func (al *alerter) wait() { al.wg.Wait() }

// humanAlert renders a for a terminal; every log field goes through clean.
func humanAlert(a alert) string {
	kind := strings.ToUpper(a.Kind)
	if a.Summary {
		kind += " (summary)"
	}
	s := fmt.Sprintf("%s %s client %s: %s", a.Time.UTC().Format(time.RFC3339), kind, clean(a.Client), clean(a.Text))
	if len(a.Evidence) > 0 {
		s += " [" + clean(a.Evidence[0])
		if len(a.Evidence) > 1 {
			s += fmt.Sprintf(" +%d", len(a.Evidence)-1)
		}
		s += "]"
	}
	return s
}
