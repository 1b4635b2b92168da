package analysis

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// A ReportStore is what the forensic, timeline and traffic reports read
// (schema.Store is one).
type ReportStore interface {
	Path() string
	Summary(ctx context.Context, f Filter) (Summary, error)
	Recipients(ctx context.Context, f Filter, fn func(Recipient) error) error
	ByClient(ctx context.Context, f Filter) ([]ClientReport, error)
	EventsBy(ctx context.Context, field EventField, value string, r TimeRange) ([]parsers.Event, error)
	AuthFailures(ctx context.Context) ([]ClientReport, error)
	Accounts(ctx context.Context) ([]AccountReport, error)
	ServerEvents(ctx context.Context, r TimeRange) ([]parsers.Event, error)
	VerdictSpan(ctx context.Context, v Verdict, r TimeRange) (span VerdictSpan, ok bool, err error)
	// EachEvent gives every event of r in file order, with at least the
	// fields a TrafficCounter counts from (schema's leaves the raw line,
	// client and login out).
	EachEvent(ctx context.Context, r TimeRange, fn func(parsers.Event) error) error
}

// A Forensic is report forensic: everything an incident report to a
// manager, a customer or a blocklist operator holds. --format json writes
// it as it is; --format html renders it (cmd/relaysleuth/html_template.go).
type Forensic struct {
	Generated time.Time `json:"generated"`
	Database  string    `json:"database"`
	Since     time.Time `json:"since,omitzero"`
	Until     time.Time `json:"until,omitzero"`
	// Headline is the answer at a glance; Change the server event last
	// before the relaying began, if any.
	Headline     string          `json:"headline"`
	Change       *TimelineEntry  `json:"change_before_relay,omitempty"`
	Summary      Summary         `json:"summary"`
	Timeline     []TimelineEntry `json:"timeline"`
	RelayClients []RelayClient   `json:"relay_clients"`
	Attempts     []AttemptClient `json:"attempts"`
	// AttemptClients is how many clients made refused attempts; Attempts
	// lists the busiest maxAttemptClients of them.
	AttemptClients int            `json:"attempt_clients"`
	AuthFailures   []ClientReport `json:"auth_failures"`
	// Accounts are the SASL accounts judged compromised or suspicious.
	Accounts []AccountReport `json:"accounts"`
	Traffic  Traffic         `json:"traffic"`
	Policy   PolicyNote      `json:"policy"`

	// Activity are the times charted on the timeline, per lane.
	Activity map[string][]time.Time `json:"-"`
}

// A RelayClient is one client that relayed, with its HELO names and the
// log lines of its first relayed message.
type RelayClient struct {
	ClientReport
	Helos []string       `json:"helos"`
	Lines []EvidenceLine `json:"lines"`
}

// An EvidenceLine is one log line, where it was read and as it was read.
type EvidenceLine struct {
	Pos string `json:"pos"`
	Raw string `json:"raw"`
}

// An AttemptClient is one client whose relay attempts were refused: what
// it said it was (HELO), whom it claimed to send for, where to.
type AttemptClient struct {
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

// PolicyNote is the policy the report was made under.
type PolicyNote struct {
	LocalDomains    []string `json:"local_domains"`
	TrustedNetworks []string `json:"trusted_networks"`
	Source          string   `json:"source"`
	// Note says what the verdicts were given with when the report was not
	// given a policy: verdicts are given at ingest (or rejudge).
	Note string `json:"note,omitempty"`
}

// Bounds of what the report lists: enough to read, the counts say the rest.
const (
	maxAttemptClients  = 100
	maxListedPerClient = 8 // HELO names, senders per client
	maxEvidenceLines   = 12
)

// Timeline chart lanes.
const (
	LaneRelay    = "accepted relay"
	LaneAttempts = "refused attempts"
	LaneAccount  = "account abuse"
)

// ForensicOf gathers the forensic report for filter's span from store;
// the caller writes its Headline (words for people).
func ForensicOf(ctx context.Context, store ReportStore, filter Filter, policy PolicyNote) (*Forensic, error) {
	span := Filter{Since: filter.Since, Until: filter.Until}
	r := &Forensic{Generated: time.Now().UTC(), Since: filter.Since, Until: filter.Until, Policy: policy,
		Activity: map[string][]time.Time{}}
	// A SQLite file by its absolute path; a PostgreSQL database
	// ("postgres://user@host:port/name") as it is.
	r.Database = store.Path()
	if abs, err := filepath.Abs(r.Database); err == nil && !strings.Contains(r.Database, "://") {
		r.Database = abs
	}
	var err error
	if r.Summary, err = store.Summary(ctx, span); err != nil {
		return nil, err
	}
	if r.Timeline, err = TimelineOf(ctx, store, span); err != nil {
		return nil, err
	}
	if err := r.relay(ctx, store, span); err != nil {
		return nil, err
	}
	if err := r.attempts(ctx, store, span); err != nil {
		return nil, err
	}
	acc := span
	acc.Verdict = AccountAbuse
	err = store.Recipients(ctx, acc, func(rc Recipient) error {
		r.Activity[LaneAccount] = append(r.Activity[LaneAccount], rc.Time)
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
	r.Accounts = []AccountReport{}
	for _, a := range accounts {
		if a.Verdict != "ok" && inAccountSpan(a, span) {
			r.Accounts = append(r.Accounts, a)
		}
	}
	if r.Traffic, err = TrafficOf(ctx, store, span); err != nil {
		return nil, err
	}
	r.Change = changeBeforeRelay(r.Timeline)
	return r, nil
}

// inSpan keeps the clients whose failures fall in f's span.
func inSpan(cs []ClientReport, f Filter) []ClientReport {
	out := []ClientReport{}
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
func inAccountSpan(a AccountReport, f Filter) bool {
	from, to := a.FirstAbuse, a.LastAbuse
	if from.IsZero() {
		from, to = a.First, a.Last
	}
	return (f.Until.IsZero() || from.Before(f.Until)) && (f.Since.IsZero() || !to.Before(f.Since))
}

// relay gathers the relay clients, their HELO names and the lines of
// their first relayed message.
func (r *Forensic) relay(ctx context.Context, store ReportStore, span Filter) error {
	f := span
	f.Verdict = RelayAbuse
	clients, err := store.ByClient(ctx, f)
	if err != nil {
		return err
	}
	helos := map[string][]string{}
	first := map[string]Recipient{}
	err = store.Recipients(ctx, f, func(rc Recipient) error {
		r.Activity[LaneRelay] = append(r.Activity[LaneRelay], rc.Time)
		if _, ok := first[rc.ClientIP]; !ok {
			first[rc.ClientIP] = rc
		}
		if rc.Helo != "" && len(helos[rc.ClientIP]) < maxListedPerClient && !slices.Contains(helos[rc.ClientIP], rc.Helo) {
			helos[rc.ClientIP] = append(helos[rc.ClientIP], rc.Helo)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.RelayClients = []RelayClient{}
	for _, c := range clients {
		rc := RelayClient{ClientReport: c, Helos: helos[c.ClientIP], Lines: []EvidenceLine{}}
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
func linesOf(ctx context.Context, store ReportStore, rc Recipient) ([]EvidenceLine, error) {
	out := []EvidenceLine{}
	if rc.QueueID == "" || len(rc.Evidence) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, e := range rc.Evidence {
		want[e] = true
	}
	evs, err := store.EventsBy(ctx, ByQueueID, rc.QueueID,
		TimeRange{From: rc.Time.Add(-24 * time.Hour), To: rc.Time.Add(24 * time.Hour)})
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
		out = append(out, EvidenceLine{Pos: p, Raw: ev.Raw})
		if len(out) == maxEvidenceLines {
			break
		}
	}
	return out, nil
}

// attempts gathers the clients of refused relay attempts.
func (r *Forensic) attempts(ctx context.Context, store ReportStore, span Filter) error {
	f := span
	f.Verdict = RelayAttemptRejected
	by := map[string]*AttemptClient{}
	err := store.Recipients(ctx, f, func(rc Recipient) error {
		r.Activity[LaneAttempts] = append(r.Activity[LaneAttempts], rc.Time)
		a := by[rc.ClientIP]
		if a == nil {
			a = &AttemptClient{ClientIP: rc.ClientIP, ClientName: rc.ClientName, First: rc.Time, Helos: []string{},
				Senders: []string{}, Evidence: []string{}, domains: map[string]int{}}
			by[rc.ClientIP] = a
		}
		a.Count++
		a.Last = rc.Time
		a.domains[RelayDomain(rc.Recipient)]++
		if rc.Helo != "" && len(a.Helos) < maxListedPerClient && !slices.Contains(a.Helos, rc.Helo) {
			a.Helos = append(a.Helos, rc.Helo)
		}
		if len(a.Senders) < maxListedPerClient && !slices.Contains(a.Senders, rc.Sender) {
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
	r.Attempts = []AttemptClient{}
	for _, a := range by {
		a.TopDomains = TopKeys(a.domains, 5)
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

// Lanes are the timeline chart's lanes, top to bottom (the server's
// events are the last).
var Lanes = []string{LaneRelay, LaneAttempts, LaneAccount}

// TimelineOf gathers report timeline for filter's span: the servers' own
// events, the first and last recipient of each verdict, and the first and
// last recipient of each relay client.
func TimelineOf(ctx context.Context, store ReportStore, filter Filter) ([]TimelineEntry, error) {
	span := TimeRange{From: filter.Since, To: filter.Until}
	server, err := store.ServerEvents(ctx, span)
	if err != nil {
		return nil, err
	}
	sum, err := store.Summary(ctx, Filter{Since: filter.Since, Until: filter.Until})
	if err != nil {
		return nil, err
	}
	var spans []VerdictSpan
	for _, v := range Verdicts {
		if sum.Verdicts[v] == 0 {
			continue
		}
		s, ok, err := store.VerdictSpan(ctx, v, span)
		if err != nil {
			return nil, err
		}
		if ok {
			s.Count = sum.Verdicts[v]
			spans = append(spans, s)
		}
	}
	clients, err := store.ByClient(ctx, Filter{Verdict: RelayAbuse, Since: filter.Since, Until: filter.Until})
	if err != nil {
		return nil, err
	}
	return Timeline(server, spans, clients), nil
}

// TrafficOf counts report traffic over filter's span from the stored
// events.
func TrafficOf(ctx context.Context, store ReportStore, filter Filter) (Traffic, error) {
	c := NewTrafficCounter()
	err := store.EachEvent(ctx, TimeRange{From: filter.Since, To: filter.Until}, func(ev parsers.Event) error {
		c.Add(ev)
		return nil
	})
	return c.Traffic(), err
}

// changeBeforeRelay is the server event last before the first relayed
// recipient (on its host, else on any), if any.
func changeBeforeRelay(tl []TimelineEntry) *TimelineEntry {
	var first time.Time
	host := ""
	for _, e := range tl {
		if e.What == WhatVerdictFirst && e.Kind == string(RelayAbuse) {
			first, host = e.Time, e.Host
		}
	}
	if first.IsZero() {
		return nil
	}
	change, ok := ChangeBefore(tl, first, host)
	if !ok {
		change, ok = ChangeBefore(tl, first, "")
	}
	if !ok {
		return nil
	}
	return &change
}

// TopKeys returns the n keys of m with the highest counts, ties in key
// order.
func TopKeys(m map[string]int, n int) []string {
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
