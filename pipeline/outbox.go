package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// decide judges rs, the recipients the correlator changed, and puts the
// alerts decided since the last commit in the outbox. The caller commits
// rs next.
func (t *tailer) decide(rs []analysis.Recipient) ([]analysis.Alert, error) {
	if err := t.judge(rs); err != nil {
		return nil, err
	}
	as := append(t.pending, t.rules.Due()...)
	t.pending = nil
	// Alerts go out in the order of the lines that decided them: a burst
	// of failed logins decided while reading comes before the relayed
	// recipient judged at the end of the batch only if its lines did.
	sort.SliceStable(as, func(i, j int) bool { return as[i].Time.Before(as[j].Time) })
	if err := t.enqueue(as); err != nil {
		return nil, err
	}
	return as, t.at(AfterQueue, as)
}

// enqueue puts as in the outbox. One decided before (from lines read again
// after a crash) is there already, sent or about to be: it is not sent
// again.
func (t *tailer) enqueue(as []analysis.Alert) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]schema.Alert, len(as))
	for i := range as {
		body, err := json.Marshal(as[i])
		if err != nil {
			return err
		}
		rows[i] = schema.Alert{Key: as[i].OutboxKey(), JSON: body}
	}
	n, err := t.store.AddAlerts(t.sctx, rows)
	if err != nil {
		return StoreError{err}
	}
	t.m.redecided(len(as) - n)
	if n > 0 {
		t.unsent = true
	}
	return nil
}

// sendQueued sends the outbox's alerts not sent yet, in the order they
// were decided, and returns how many it sent. Each is marked sent as soon
// as it is out: a crash in between, the only window for a duplicate,
// repeats that one alert on restart.
func (t *tailer) sendQueued(ctx context.Context) (int, error) {
	if !t.unsent {
		return 0, nil
	}
	queued, err := t.store.PendingAlerts(t.sctx)
	if err != nil {
		return 0, StoreError{err}
	}
	for i, q := range queued {
		var a analysis.Alert
		if err := json.Unmarshal(q.JSON, &a); err != nil {
			// Written by us, so never; if it were, retrying could not help.
			fmt.Fprintf(t.stderr, "relaysleuth: alert %s in the outbox: %v; dropped\n", parsers.Clean(q.Key), err)
		} else {
			t.sent[a.Kind]++
			if err := t.al.send(ctx, a); err != nil {
				return i, err
			}
			if err := t.at(AfterSend, []analysis.Alert{a}); err != nil {
				return i, err
			}
		}
		if err := t.store.MarkSent(t.sctx, q.Key); err != nil {
			return i, StoreError{err}
		}
	}
	t.unsent = false
	return len(queued), nil
}

// startOutbox sends, before any line is read, the alerts that an earlier
// run decided and did not send (it stopped in between), and forgets the
// alerts sent long ago.
func (t *tailer) startOutbox(ctx context.Context) error {
	if _, err := t.store.PruneAlerts(ctx, time.Now().Add(-alertRetention)); err != nil {
		return err
	}
	t.unsent = true
	n, err := t.sendQueued(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(t.stderr, "relaysleuth: sent %d alerts decided before the restart\n", n)
	}
	return nil
}

// judge compares the changed recipients with their stored verdicts (before
// this commit) and asks the rules about those whose verdict changed: a
// verdict stored already was alerted about already, even before a restart.
func (t *tailer) judge(rs []analysis.Recipient) error {
	if len(rs) == 0 {
		return nil
	}
	keys := make([]string, len(rs))
	for i := range rs {
		keys[i] = rs[i].Key
	}
	was, err := t.store.RecipientVerdicts(t.sctx, keys)
	if err != nil {
		return StoreError{err}
	}
	for i := range rs {
		r := &rs[i]
		if was[r.Key] == r.Verdict {
			continue
		}
		t.m.verdict(string(r.Verdict), r.MTA)
		t.pending = append(t.pending, t.rules.Recipient(r, was[r.Key])...)
	}
	return nil
}

// releaseHeld sends, at exit, the summaries of the alerts the quiet period
// still holds back, through the outbox and to the same outputs as every
// alert (standard output, --exec): an operator who stops tail must not
// lose them to standard error.
func (t *tailer) releaseHeld() error {
	as := t.rules.Release()
	if len(as) == 0 {
		return nil
	}
	if err := t.enqueue(as); err != nil {
		return err
	}
	_, err := t.sendQueued(t.sctx)
	return err
}
