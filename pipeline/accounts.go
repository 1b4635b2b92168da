package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

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
// run it at their end, Tail now and then. Memory holds the aggregates of
// the accounts being judged (accountWorkers at a time), and the reports.
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
	judged := slices.DeleteFunc(names, func(name string) bool { return !judgedAccount(name) })
	// The accounts are judged side by side, each on its own reader of the
	// store: a pass over a big database is mostly reading each account's
	// history (a third of an incremental ingest's time, on one core).
	reps := make([]analysis.AccountReport, len(judged))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(accountWorkers())
	for i, name := range judged {
		g.Go(func() error {
			return store.AccountRows(gctx, name, func(next func() (analysis.AccountRow, bool, error)) error {
				rep, err := j.Judge(name, next)
				reps[i] = rep
				return err
			})
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Accounts = reps
	gap := policy.Accounts.SessionGap
	if gap <= 0 {
		gap = analysis.DefaultAccountRules.SessionGap
	}
	res.AccountsApplied, err = store.ApplyAccounts(ctx, res.Accounts, gap)
	return res, err
}

// accountWorkers is how many accounts a pass judges at once: one per
// processor the Go runtime uses, at most 4 (each holds a reader of the
// store and one account's aggregates). A variable for the tests.
var accountWorkers = func() int {
	return min(runtime.GOMAXPROCS(0), 4)
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
