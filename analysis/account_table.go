package analysis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// accountColumns are the columns of report accounts, named as in JSON;
// the baseline and the evidence give way first on a narrow terminal.
var accountColumns = []Column{
	{Header: "ACCOUNT", Name: "account"},
	{Header: "VERDICT", Name: "verdict"},
	{Header: "SIGNALS", Name: "signals"},
	{Header: "FIRST ABUSE", Name: "first_abuse", Drop: 2},
	{Header: "LAST ABUSE", Name: "last_abuse", Drop: 3},
	{Header: "CLIENT IPS", Name: "client_ips"},
	{Header: "RECIPIENTS", Name: "recipients"},
	{Header: "MESSAGES", Name: "messages", Drop: 1},
	{Header: "BASELINE", Name: "baseline", Drop: 5},
	{Header: "EVIDENCE", Name: "evidence", Drop: 4},
}

// AccountsTable is report accounts: one row per SASL account, in the order
// given (taken-over ones first).
func AccountsTable(accts []AccountReport, l Layout) Table {
	t := Table{Columns: accountColumns}
	for _, a := range accts {
		t.Rows = append(t.Rows, []string{a.Account, a.Verdict, strings.Join(a.Signals, " "), l.Stamp(a.FirstAbuse), l.Stamp(a.LastAbuse),
			strings.Join(a.ClientIPs, " "), strconv.Itoa(a.Recipients), strconv.Itoa(a.Messages), a.Baseline, l.some(a.Evidence)})
	}
	return t
}

// Compromised counts the accounts judged compromised.
func Compromised(accts []AccountReport) int {
	n := 0
	for _, a := range accts {
		if a.Verdict == AccountCompromised {
			n++
		}
	}
	return n
}

// AccountsHeadline is report accounts' answer at a glance: which accounts
// were taken over, since when, and how much they sent.
func AccountsHeadline(accts []AccountReport, l Layout) string {
	var taken []string
	suspicious := 0
	for _, a := range accts {
		switch a.Verdict {
		case AccountCompromised:
			taken = append(taken, fmt.Sprintf("%s since %s (%s from %s)", a.Account, l.Clock(a.FirstAbuse),
				Plural(a.Recipients, "recipient"), addressCount(len(a.ClientIPs))))
		case AccountSuspicious:
			suspicious++
		}
	}
	s := fmt.Sprintf("%s judged: ", Plural(len(accts), "account"))
	if len(taken) == 0 {
		s += "none compromised"
	} else {
		s += fmt.Sprintf("%d compromised: %s", len(taken), strings.Join(taken, "; "))
	}
	if suspicious > 0 {
		s += fmt.Sprintf("; %d suspicious", suspicious)
	}
	return s + "."
}

func addressCount(n int) string {
	if n == 1 {
		return "1 address"
	}
	return strconv.Itoa(n) + " addresses"
}

// AccountJSON is an account as report accounts --format json writes it:
// first_abuse and last_abuse are null when nothing was abusive, lists are
// never null.
type AccountJSON struct {
	Account    string           `json:"account"`
	Verdict    string           `json:"verdict"`
	Signals    []string         `json:"signals"`
	FirstAbuse *time.Time       `json:"first_abuse"`
	LastAbuse  *time.Time       `json:"last_abuse"`
	ClientIPs  []string         `json:"client_ips"`
	Recipients int              `json:"recipients"`
	Messages   int              `json:"messages"`
	Baseline   string           `json:"baseline"`
	Evidence   []string         `json:"evidence"`
	First      time.Time        `json:"first"`
	Last       time.Time        `json:"last"`
	Total      int              `json:"total_recipients"`
	Sessions   []AccountSession `json:"sessions"`
}

// AccountsJSON is accts as report accounts --format json writes them.
func AccountsJSON(accts []AccountReport) []AccountJSON {
	out := make([]AccountJSON, 0, len(accts))
	for _, a := range accts {
		out = append(out, AccountJSON{
			Account: a.Account, Verdict: a.Verdict, Signals: nonNil(a.Signals),
			FirstAbuse: timeOrNil(a.FirstAbuse), LastAbuse: timeOrNil(a.LastAbuse), ClientIPs: nonNil(a.ClientIPs),
			Recipients: a.Recipients, Messages: a.Messages, Baseline: a.Baseline, Evidence: nonNil(a.Evidence),
			First: a.First, Last: a.Last, Total: a.Total, Sessions: nonNil(a.Sessions),
		})
	}
	return out
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nonNil is ss, or an empty list for nil: JSON [] rather than null.
func nonNil[T any](ss []T) []T {
	if ss == nil {
		return []T{}
	}
	return ss
}
