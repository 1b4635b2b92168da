package pipeline

import (
	"context"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// Rejudged is what a Rejudge changed: the recipients per verdict (first
// hops, as the summary counts them) before and after.
type Rejudged struct {
	Events        int64
	Before, After map[analysis.Verdict]int
}

// Rejudge gives every stored recipient its verdict again under policy,
// from the stored events: the same correlator as Ingest and Tail, fed
// from the store instead of the logs. All verdicts are replaced in one
// transaction: on an error the old ones stay.
func Rejudge(ctx context.Context, store *schema.Store, policy analysis.Policy) (Rejudged, error) {
	var r Rejudged
	before, err := store.Summary(ctx, analysis.Filter{})
	if err != nil {
		return r, err
	}
	r.Before = before.Verdicts
	if r.Events, err = store.Rejudge(ctx, analysis.NewCorrelator(policy)); err != nil {
		return r, err
	}
	if _, err := Accounts(ctx, store, policy, time.Time{}); err != nil {
		return r, err
	}
	after, err := store.Summary(ctx, analysis.Filter{})
	if err != nil {
		return r, err
	}
	r.After = after.Verdicts
	return r, nil
}
