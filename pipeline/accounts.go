package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// AccountsResult is what an accounts pass found and changed.
type AccountsResult struct {
	Accounts []analysis.AccountReport
	schema.AccountsApplied
}

// Accounts judges the SASL accounts that sent mail at or after since
// (every account when since is zero) against their own history in the
// store, and writes the verdicts in one transaction: the recipients of
// abusive sessions of compromised accounts become account_abuse, the rest
// keep (or get back) the verdict the correlator gave. Ingest and Rejudge
// run it at their end, Tail now and then. Memory holds one account's
// aggregates at a time, and the reports.
func Accounts(ctx context.Context, store *schema.Store, policy analysis.Policy, since time.Time) (AccountsResult, error) {
	var res AccountsResult
	unlock, err := store.LockAccounts(ctx) // one pass at a time (PostgreSQL)
	if err != nil {
		return res, err
	}
	defer unlock()
	names, err := store.AccountNames(ctx, since)
	if err != nil {
		return res, err
	}
	j := &analysis.AccountJudge{Rules: policy.Accounts, Policy: policy, Failures: schema.NewAccountFailures(ctx, store)}
	for _, name := range names {
		if !judgedAccount(name) {
			continue
		}
		err := store.AccountRows(ctx, name, func(next func() (analysis.AccountRow, bool, error)) error {
			rep, err := j.Judge(name, next)
			if err == nil {
				res.Accounts = append(res.Accounts, rep)
			}
			return err
		})
		if err != nil {
			return res, err
		}
	}
	gap := policy.Accounts.SessionGap
	if gap <= 0 {
		gap = analysis.DefaultAccountRules.SessionGap
	}
	res.AccountsApplied, err = store.ApplyAccounts(ctx, res.Accounts, gap)
	return res, err
}

// judgedAccount reports whether name is an account that has a usual: not
// one of the placeholders in parentheses the Exchange reader gives a login
// whose user the log does not name ("(unknown)", "(Client Proxy
// connector)").
func judgedAccount(name string) bool {
	return !strings.HasPrefix(name, "(")
}

// accounts runs the accounts pass at the end of an ingest and says on Log
// which accounts look taken over.
func (ing *Ingest) accounts(ctx context.Context) error {
	res, err := Accounts(ctx, ing.Store, ing.Policy, time.Time{})
	if err != nil {
		return StoreError{err}
	}
	for _, a := range res.Accounts {
		if a.Verdict == analysis.AccountOK {
			continue
		}
		fmt.Fprintf(ing.Log, "relaysleuth: account %s is %s (%s): relaysleuth report accounts\n",
			parsers.Clean(a.Account), a.Verdict, strings.Join(a.Signals, ", "))
	}
	return nil
}
