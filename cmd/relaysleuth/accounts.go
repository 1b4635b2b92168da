package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// accountColumns are the columns of 'report accounts', named as in JSON;
// the baseline and the evidence give way first on a narrow terminal.
var accountColumns = []column{
	{header: "ACCOUNT", name: "account"},
	{header: "VERDICT", name: "verdict"},
	{header: "SIGNALS", name: "signals"},
	{header: "FIRST ABUSE", name: "first_abuse", drop: 2},
	{header: "LAST ABUSE", name: "last_abuse", drop: 3},
	{header: "CLIENT IPS", name: "client_ips"},
	{header: "RECIPIENTS", name: "recipients"},
	{header: "MESSAGES", name: "messages", drop: 1},
	{header: "BASELINE", name: "baseline", drop: 5},
	{header: "EVIDENCE", name: "evidence", drop: 4},
}

// accountJSON is an account as 'report accounts --format json' writes it:
// first_abuse and last_abuse are null when nothing was abusive.
type accountJSON struct {
	Account    string                    `json:"account"`
	Verdict    string                    `json:"verdict"`
	Signals    []string                  `json:"signals"`
	FirstAbuse *time.Time                `json:"first_abuse"`
	LastAbuse  *time.Time                `json:"last_abuse"`
	ClientIPs  []string                  `json:"client_ips"`
	Recipients int                       `json:"recipients"`
	Messages   int                       `json:"messages"`
	Baseline   string                    `json:"baseline"`
	Evidence   []string                  `json:"evidence"`
	First      time.Time                 `json:"first"`
	Last       time.Time                 `json:"last"`
	Total      int                       `json:"total_recipients"`
	Sessions   []analysis.AccountSession `json:"sessions"`
}

// printAccounts renders 'report accounts': one row per SASL account,
// taken-over ones first. It returns the number of compromised accounts.
func printAccounts(ctx context.Context, store *schema.Store, w io.Writer, format string) (int, error) {
	accts, err := store.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	compromised := 0
	for _, a := range accts {
		if a.Verdict == analysis.AccountCompromised {
			compromised++
		}
	}
	if format == "json" {
		out := make([]accountJSON, 0, len(accts))
		for _, a := range accts {
			out = append(out, accountJSON{
				Account: a.Account, Verdict: a.Verdict, Signals: nonNil(a.Signals),
				FirstAbuse: timeOrNil(a.FirstAbuse), LastAbuse: timeOrNil(a.LastAbuse), ClientIPs: nonNil(a.ClientIPs),
				Recipients: a.Recipients, Messages: a.Messages, Baseline: a.Baseline, Evidence: nonNil(a.Evidence),
				First: a.First, Last: a.Last, Total: a.Total, Sessions: nonNilSessions(a.Sessions),
			})
		}
		return compromised, writeJSON(w, out)
	}
	all := everything(w, format)
	some := func(ss []string) string {
		if all {
			return strings.Join(ss, " ")
		}
		return firstOf(ss)
	}
	var rows [][]string
	for _, a := range accts {
		rows = append(rows, []string{a.Account, a.Verdict, strings.Join(a.Signals, " "), stamp(a.FirstAbuse), stamp(a.LastAbuse),
			strings.Join(a.ClientIPs, " "), strconv.Itoa(a.Recipients), strconv.Itoa(a.Messages), a.Baseline, some(a.Evidence)})
	}
	if format == "csv" {
		return compromised, writeCSV(w, accountColumns, rows)
	}
	if len(rows) == 0 {
		// Accounts are judged at the end of ingest, scan and rejudge (and
		// by tail): a database older than the accounts table has none yet.
		fmt.Fprintln(w, "No SASL account judged: none sent mail, or the database predates account judging (run relaysleuth rejudge).")
		return 0, nil
	}
	say(w, accountsHeadline(accts))
	return compromised, writeColumns(w, accountColumns, rows)
}

// accountsHeadline is the answer at a glance: which accounts were taken
// over, since when, and how much they sent.
func accountsHeadline(accts []analysis.AccountReport) string {
	var taken []string
	suspicious := 0
	for _, a := range accts {
		switch a.Verdict {
		case analysis.AccountCompromised:
			taken = append(taken, fmt.Sprintf("%s since %s (%s from %s)", a.Account, clock(a.FirstAbuse),
				plural(a.Recipients, "recipient"), addresses(len(a.ClientIPs))))
		case analysis.AccountSuspicious:
			suspicious++
		}
	}
	s := fmt.Sprintf("%s judged: ", plural(len(accts), "account"))
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

func addresses(n int) string {
	if n == 1 {
		return "1 address"
	}
	return strconv.Itoa(n) + " addresses"
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func nonNilSessions(ss []analysis.AccountSession) []analysis.AccountSession {
	if ss == nil {
		return []analysis.AccountSession{}
	}
	return ss
}
