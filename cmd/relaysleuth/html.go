package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// A forensicReport is report forensic: everything an incident report to a
// manager, a customer or a blocklist operator holds. --format json writes
// it as it is; --format html renders it (html_template.go).
type forensicReport struct {
	Generated time.Time `json:"generated"`
	Database  string    `json:"database"`
	Since     time.Time `json:"since,omitzero"`
	Until     time.Time `json:"until,omitzero"`
	// Headline is the answer at a glance; Change the server event last
	// before the relaying began, if any.
	Headline     string                   `json:"headline"`
	Change       *analysis.TimelineEntry  `json:"change_before_relay,omitempty"`
	Summary      analysis.Summary         `json:"summary"`
	Timeline     []analysis.TimelineEntry `json:"timeline"`
	RelayClients []relayClient            `json:"relay_clients"`
	Attempts     []attemptClient          `json:"attempts"`
	// AttemptClients is how many clients made refused attempts; Attempts
	// lists the busiest maxAttemptClients of them.
	AttemptClients int                     `json:"attempt_clients"`
	AuthFailures   []analysis.ClientReport `json:"auth_failures"`
	// Accounts are the SASL accounts judged compromised or suspicious.
	Accounts []analysis.AccountReport `json:"accounts"`
	Traffic  analysis.Traffic         `json:"traffic"`
	Policy   policyNote               `json:"policy"`

	// activity are the times charted on the timeline, per lane.
	activity map[string][]time.Time
}

// A relayClient is one client that relayed, with its HELO names and the
// log lines of its first relayed message.
type relayClient struct {
	analysis.ClientReport
	Helos []string       `json:"helos"`
	Lines []evidenceLine `json:"lines"`
}

// An evidenceLine is one log line, where it was read and as it was read.
type evidenceLine struct {
	Pos string `json:"pos"`
	Raw string `json:"raw"`
}

// An attemptClient is one client whose relay attempts were refused: what
// it said it was (HELO), whom it claimed to send for, where to.
type attemptClient struct {
	ClientIP   string    `json:"client_ip"`
	ClientName string    `json:"client_name"`
	Count      int       `json:"count"`
	Helos      []string  `json:"helos"`
	Senders    []string  `json:"senders"`
	TopDomains []string  `json:"top_domains"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Evidence   []string  `json:"evidence"`

	domains map[string]int
}

// policyNote is the policy the report was made under.
type policyNote struct {
	LocalDomains    []string `json:"local_domains"`
	TrustedNetworks []string `json:"trusted_networks"`
	Source          string   `json:"source"`
	// Note says what the verdicts were given with when the report was not
	// given a policy: verdicts are given at ingest (or rejudge).
	Note string `json:"note,omitempty"`
}

// Bounds of what the report lists: enough to read, the counts say the rest.
const (
	maxAttemptClients = 100
	maxListed         = 8 // HELO names, senders per client
	maxEvidenceLines  = 12
)

// Timeline chart lanes.
const (
	laneRelay    = "accepted relay"
	laneAttempts = "refused attempts"
	laneAccount  = "account abuse"
)

// policyInForce is the policy given to this report, or a note that none
// was.
func (f *reportFlags) policyInForce() policyNote {
	p, err := f.policy()
	if err != nil {
		return policyNote{LocalDomains: []string{}, TrustedNetworks: []string{}, Source: "none",
			Note: "no policy was given to this report (--config or --local-domains): the verdicts are those given when the logs were read (ingest, scan, tail) or by the last rejudge"}
	}
	n := policyNote{LocalDomains: p.LocalDomains, TrustedNetworks: []string{}, Source: f.policySource(),
		Note: "the verdicts are those given when the logs were read or by the last rejudge: if this policy differs from that one, run relaysleuth rejudge with it"}
	for _, t := range p.TrustedNetworks {
		n.TrustedNetworks = append(n.TrustedNetworks, t.String())
	}
	return n
}

// forensicOf gathers the forensic report for filter's span.
func forensicOf(ctx context.Context, store *schema.Store, filter analysis.Filter, policy policyNote) (*forensicReport, error) {
	span := analysis.Filter{Since: filter.Since, Until: filter.Until}
	r := &forensicReport{Generated: time.Now().UTC(), Since: filter.Since, Until: filter.Until, Policy: policy,
		activity: map[string][]time.Time{}}
	if abs, err := filepath.Abs(store.Path()); err == nil {
		r.Database = abs
	}
	var err error
	if r.Summary, err = store.Summary(ctx, span); err != nil {
		return nil, err
	}
	if r.Timeline, err = timelineOf(ctx, store, span); err != nil {
		return nil, err
	}
	if err := r.relay(ctx, store, span); err != nil {
		return nil, err
	}
	if err := r.attempts(ctx, store, span); err != nil {
		return nil, err
	}
	acc := span
	acc.Verdict = analysis.AccountAbuse
	err = store.Recipients(ctx, acc, func(rc analysis.Recipient) error {
		r.activity[laneAccount] = append(r.activity[laneAccount], rc.Time)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.AuthFailures, err = store.AuthFailures(ctx); err != nil {
		return nil, err
	}
	r.AuthFailures = inSpan(r.AuthFailures, span)
	accounts, err := store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	r.Accounts = []analysis.AccountReport{}
	for _, a := range accounts {
		if a.Verdict != "ok" && inAccountSpan(a, span) {
			r.Accounts = append(r.Accounts, a)
		}
	}
	if r.Traffic, err = trafficOf(ctx, store, span); err != nil {
		return nil, err
	}
	r.Headline = r.headline()
	return r, nil
}

// inSpan keeps the clients whose failures fall in f's span.
func inSpan(cs []analysis.ClientReport, f analysis.Filter) []analysis.ClientReport {
	out := []analysis.ClientReport{}
	for _, c := range cs {
		if !f.Until.IsZero() && !c.First.Before(f.Until) || !f.Since.IsZero() && c.Last.Before(f.Since) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// inAccountSpan reports whether an account's abuse (or, without abuse, its
// mail) falls in f's span.
func inAccountSpan(a analysis.AccountReport, f analysis.Filter) bool {
	from, to := a.FirstAbuse, a.LastAbuse
	if from.IsZero() {
		from, to = a.First, a.Last
	}
	return (f.Until.IsZero() || from.Before(f.Until)) && (f.Since.IsZero() || !to.Before(f.Since))
}

// relay gathers the relay clients, their HELO names and the lines of
// their first relayed message.
func (r *forensicReport) relay(ctx context.Context, store *schema.Store, span analysis.Filter) error {
	f := span
	f.Verdict = analysis.RelayAbuse
	clients, err := store.ByClient(ctx, f)
	if err != nil {
		return err
	}
	helos := map[string][]string{}
	first := map[string]analysis.Recipient{}
	err = store.Recipients(ctx, f, func(rc analysis.Recipient) error {
		r.activity[laneRelay] = append(r.activity[laneRelay], rc.Time)
		if _, ok := first[rc.ClientIP]; !ok {
			first[rc.ClientIP] = rc
		}
		if rc.Helo != "" && len(helos[rc.ClientIP]) < maxListed && !contains(helos[rc.ClientIP], rc.Helo) {
			helos[rc.ClientIP] = append(helos[rc.ClientIP], rc.Helo)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.RelayClients = []relayClient{}
	for _, c := range clients {
		rc := relayClient{ClientReport: c, Helos: helos[c.ClientIP], Lines: []evidenceLine{}}
		if rc.Helos == nil {
			rc.Helos = []string{}
		}
		if fr, ok := first[c.ClientIP]; ok {
			if rc.Lines, err = linesOf(ctx, store, fr); err != nil {
				return err
			}
		}
		r.RelayClients = append(r.RelayClients, rc)
	}
	return nil
}

// linesOf returns the log lines of a recipient's evidence, found through
// its queue id (the events of a message are stored by queue id).
func linesOf(ctx context.Context, store *schema.Store, rc analysis.Recipient) ([]evidenceLine, error) {
	out := []evidenceLine{}
	if rc.QueueID == "" || len(rc.Evidence) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, e := range rc.Evidence {
		want[e] = true
	}
	evs, err := store.EventsBy(ctx, analysis.ByQueueID, rc.QueueID,
		analysis.TimeRange{From: rc.Time.Add(-24 * time.Hour), To: rc.Time.Add(24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		p := ev.Pos.String()
		if !want[p] || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, evidenceLine{Pos: p, Raw: ev.Raw})
		if len(out) == maxEvidenceLines {
			break
		}
	}
	return out, nil
}

// attempts gathers the clients of refused relay attempts.
func (r *forensicReport) attempts(ctx context.Context, store *schema.Store, span analysis.Filter) error {
	f := span
	f.Verdict = analysis.RelayAttemptRejected
	by := map[string]*attemptClient{}
	err := store.Recipients(ctx, f, func(rc analysis.Recipient) error {
		r.activity[laneAttempts] = append(r.activity[laneAttempts], rc.Time)
		a := by[rc.ClientIP]
		if a == nil {
			a = &attemptClient{ClientIP: rc.ClientIP, ClientName: rc.ClientName, First: rc.Time, Helos: []string{},
				Senders: []string{}, Evidence: []string{}, domains: map[string]int{}}
			by[rc.ClientIP] = a
		}
		a.Count++
		a.Last = rc.Time
		a.domains[analysis.RelayDomain(rc.Recipient)]++
		if rc.Helo != "" && len(a.Helos) < maxListed && !contains(a.Helos, rc.Helo) {
			a.Helos = append(a.Helos, rc.Helo)
		}
		if len(a.Senders) < maxListed && !contains(a.Senders, rc.Sender) {
			a.Senders = append(a.Senders, rc.Sender)
		}
		if len(a.Evidence) < 3 && len(rc.Evidence) > 0 {
			a.Evidence = append(a.Evidence, rc.Evidence[len(rc.Evidence)-1])
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.Attempts = []attemptClient{}
	for _, a := range by {
		a.TopDomains = topOf(a.domains, 5)
		r.Attempts = append(r.Attempts, *a)
	}
	sort.Slice(r.Attempts, func(i, j int) bool {
		if r.Attempts[i].Count != r.Attempts[j].Count {
			return r.Attempts[i].Count > r.Attempts[j].Count
		}
		return r.Attempts[i].ClientIP < r.Attempts[j].ClientIP
	})
	r.AttemptClients = len(r.Attempts)
	if len(r.Attempts) > maxAttemptClients {
		r.Attempts = r.Attempts[:maxAttemptClients]
	}
	return nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func topOf(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// headline is the answer at a glance, and sets r.Change.
func (r *forensicReport) headline() string {
	n := r.Summary.Verdicts[analysis.RelayAbuse]
	attempts := r.Summary.Verdicts[analysis.RelayAttemptRejected]
	if n == 0 {
		return fmt.Sprintf("No relay abuse found: no recipient was accepted for an external domain from an unauthenticated client outside the trusted networks (%s refused).",
			plural(attempts, "relay attempt"))
	}
	var first time.Time
	host := ""
	for _, e := range r.Timeline {
		if e.What == analysis.WhatVerdictFirst && e.Kind == string(analysis.RelayAbuse) {
			first, host = e.Time, e.Host
		}
	}
	s := fmt.Sprintf("RELAY ABUSE: %s relayed for %s", plural(n, "recipient"), plural(len(r.RelayClients), "outside client"))
	if !first.IsZero() {
		s += " from " + clock(first)
		change, ok := analysis.ChangeBefore(r.Timeline, first, host)
		if !ok {
			change, ok = analysis.ChangeBefore(r.Timeline, first, "")
		}
		if ok {
			r.Change = &change
			s += fmt.Sprintf(", %s after the server's %s at %s", since(first.Sub(change.Time)), change.Kind, clock(change.Time))
		}
	}
	s += fmt.Sprintf("; %s refused", plural(attempts, "relay attempt"))
	if n := r.Summary.Verdicts[analysis.AccountAbuse]; n > 0 {
		s += fmt.Sprintf("; %s sent through %s", plural(n, "account_abuse recipient"), plural(len(r.Accounts), "suspect account"))
	}
	return s + "."
}

// writeForensic writes report forensic in the format asked for.
func writeForensic(ctx context.Context, store *schema.Store, f *reportFlags, filter analysis.Filter, w io.Writer) (int, error) {
	r, err := forensicOf(ctx, store, filter, f.policyInForce())
	if err != nil {
		return 0, err
	}
	n := r.Summary.Verdicts[analysis.RelayAbuse]
	switch f.outputFormat {
	case "html":
		return n, renderHTML(w, r)
	case "json":
		return n, writeJSON(w, r)
	case "csv":
		return n, printTimeline(w, "csv", r.Timeline)
	}
	say(w, clean(r.Headline))
	fmt.Fprintln(w)
	if err := printTimeline(w, "table", r.Timeline); err != nil {
		return n, err
	}
	fmt.Fprintln(w)
	say(w, "Traffic: "+strconv.Itoa(r.Traffic.Totals.Received)+" received, "+strconv.Itoa(r.Traffic.Totals.Delivered)+
		" delivered, "+strconv.Itoa(r.Traffic.Totals.Rejected)+" rejected (report traffic has the rest; --format html the whole report)")
	return n, nil
}

// openOutput returns where the report goes: w, or the --output file. done
// closes the file and, on an error, removes it: no half-written report is
// left to be attached to a mail.
func (f *reportFlags) openOutput(w io.Writer) (io.Writer, func(error) error, error) {
	if f.output == "" || f.output == "-" {
		return w, func(err error) error { return err }, nil
	}
	file, err := createPrivate(f.output, f.group)
	if err != nil {
		return nil, nil, fmt.Errorf("--output: %w", err)
	}
	return file, func(err error) error {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--output: %w", cerr)
		}
		if err != nil {
			os.Remove(f.output)
		}
		return err
	}, nil
}

// laneNames are the timeline chart's lanes, top to bottom (the server's
// events are the last).
var laneNames = []string{laneRelay, laneAttempts, laneAccount}

// joinOr is ss joined with ", ", or "-" when there is none.
func joinOr(ss []string) string {
	if len(ss) == 0 {
		return "-"
	}
	return strings.Join(ss, ", ")
}
