package schema

import (
	"fmt"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// TestPGDeadlockRetried forces a real deadlock between a batch's upserts
// and another connection's transaction (as another host's accounts pass
// rewriting verdicts would): the batch upserts recipient a, then waits
// for b, which the other transaction holds and which then asks for a.
// PostgreSQL ends the batch's transaction (its deadlock_timeout, 1 s,
// runs out first); the batch is run again once the other commits, and is
// stored, after the other's change.
func TestPGDeadlockRetried(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	ctx := t.Context()
	src, err := s.Source(ctx, "mail.log", "fp", "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	rcpt := func(key, status string) analysis.Recipient {
		return analysis.Recipient{Key: key, MessageKey: "m", MTA: "postfix", Host: "mx1", Recipient: key + "@example.net",
			Time: t0, Verdict: analysis.Inbound, Hop: 1, Status: status, Evidence: []string{"mail.log:1"}}
	}
	w := s.NewWriter(src)
	if err := w.Commit(ctx, nil, []analysis.Recipient{rcpt("a", "deferred"), rcpt("b", "deferred")}, nil, Progress{Offset: 10, Lines: 1}); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	deadlock(t, s, `UPDATE recipients SET reason = 'other' WHERE key = 'b'`,
		`UPDATE recipients SET reason = 'other', status = 'other' WHERE key = 'a'`, func() {
			done <- w.Commit(ctx, nil, []analysis.Recipient{rcpt("a", "sent"), rcpt("b", "sent")}, nil, Progress{Offset: 20, Lines: 2})
		})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Commit after a deadlock: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Commit still waits")
	}
	// The batch ran again after the other transaction: its values won.
	for _, key := range []string{"a", "b"} {
		var status string
		if err := s.db.QueryRowContext(ctx, `SELECT status FROM recipients WHERE key = ?`, key).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status != "sent" {
			t.Errorf("recipient %s: status %q, want the batch's (sent)", key, status)
		}
	}
	var offset int64
	if err := s.db.QueryRowContext(ctx, `SELECT byte_offset FROM sources WHERE id = ?`, src.ID).Scan(&offset); err != nil || offset != 20 {
		t.Errorf("source offset %d, %v; want 20", offset, err)
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("IntegrityCheck = %q, %v", res, err)
	}
	// PostgreSQL counted the deadlock (its statistics reach the view
	// within a second or so of the backend going idle).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("pg_stat_database counts no deadlock: was there one?")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deadlock makes run (which writes recipient a, then b) deadlock with
// another transaction: that one takes b (takeB), starts run on its own
// goroutine, waits until run waits for b, then asks for a (thenA) and
// commits. The other transaction waits long before looking for a
// deadlock (deadlock_timeout 30 s), so run's side finds it and is the one
// PostgreSQL ends; the other's statements must all succeed.
func deadlock(t *testing.T, s *Store, takeB, thenA string, run func()) {
	t.Helper()
	ctx := t.Context()
	other, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `SET LOCAL deadlock_timeout = '30s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, takeB); err != nil {
		t.Fatal(err)
	}
	go run()
	waitFor(t, s, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
	if _, err := other.ExecContext(ctx, thenA); err != nil {
		t.Fatalf("the other transaction was ended instead of the one under test: %v", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls q (a count) until it is positive.
func waitFor(t *testing.T, s *Store, q string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := s.db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", q)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPGHoldCommitsEachBatch: on PostgreSQL each held batch is committed
// at once (another connection reads it before Flush), and Held counts the
// batches since the last Flush as on SQLite, for the caller's rhythm.
func TestPGHoldCommitsEachBatch(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	ctx := t.Context()
	src, err := s.Source(ctx, "mail.log", "fp", "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(src)
	batches := monthLog(t, time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), 3500, 5)
	if len(batches) < 3 {
		t.Fatalf("%d batches, want 3 or more", len(batches))
	}
	var events int64
	for i, b := range batches[:3] {
		if err := w.Hold(ctx, Prepare(b.events, b.rs, b.ms), b.p); err != nil {
			t.Fatal(err)
		}
		events += int64(len(b.events))
		if n, _ := w.Held(); n != i+1 {
			t.Errorf("Held after %d batches = %d", i+1, n)
		}
		var stored int64
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM event_blocks`).Scan(&stored); err != nil || stored != events {
			t.Errorf("before Flush another connection reads %d events, %v; want %d", stored, err, events)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, open := w.Held(); n != 0 || open != 0 {
		t.Errorf("Held after Flush = %d, %v", n, open)
	}
}

// TestPGAccountsPassDeadlockRetried forces a deadlock on an accounts pass
// (it rewrites an abusive session's recipients a, then b; another
// transaction holds b, then asks for a): the pass ended by PostgreSQL runs
// again, its recipients end account_abuse, and the evidence it lists is
// not doubled by the attempt rolled back.
func TestPGAccountsPassDeadlockRetried(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	ctx := t.Context()
	src, err := s.Source(ctx, "mail.log", "fp", "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	rcpt := func(key string, i int) analysis.Recipient {
		return analysis.Recipient{Key: key, MessageKey: "m" + key, MTA: "postfix", Host: "mx1", Recipient: key + "@example.net",
			Time: t0.Add(time.Duration(i) * time.Second), Verdict: analysis.AuthenticatedOutbound, Hop: 1, Status: "sent",
			Authenticated: true, AuthUser: "carol", ClientIP: "203.0.113.9", Evidence: []string{fmt.Sprintf("mail.log:%d", i+1)}}
	}
	if err := s.NewWriter(src).Commit(ctx, nil, []analysis.Recipient{rcpt("a", 0), rcpt("b", 1)}, nil, Progress{Offset: 10, Lines: 2}); err != nil {
		t.Fatal(err)
	}
	reps := []analysis.AccountReport{{Account: "carol", Verdict: "abused", First: t0, Last: t0.Add(time.Second), Total: 2,
		Sessions: []analysis.AccountSession{{ClientIP: "203.0.113.9", From: t0, To: t0.Add(time.Second), Abusive: true}}}}

	type result struct {
		out AccountsApplied
		err error
	}
	done := make(chan result, 1)
	deadlock(t, s, `UPDATE recipients SET status = 'other' WHERE key = 'b'`,
		`UPDATE recipients SET status = 'other' WHERE key = 'a'`, func() {
			out, err := s.ApplyAccounts(ctx, reps, time.Minute)
			done <- result{out, err}
		})
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the accounts pass still waits")
	}
	if res.err != nil {
		t.Fatalf("ApplyAccounts after a deadlock: %v", res.err)
	}
	if res.out.Abused != 2 {
		t.Errorf("ApplyAccounts = %+v, want 2 recipients abused", res.out)
	}
	for _, key := range []string{"a", "b"} {
		var verdict, status string
		if err := s.db.QueryRowContext(ctx, `SELECT verdict, status FROM recipients WHERE key = ?`, key).Scan(&verdict, &status); err != nil {
			t.Fatal(err)
		}
		if verdict != string(analysis.AccountAbuse) || status != "other" {
			t.Errorf("recipient %s: %s, %s; want account_abuse after the other's change", key, verdict, status)
		}
	}
	if ev := reps[0].Sessions[0].Evidence; len(ev) != 1 {
		t.Errorf("session evidence %v, want the first recipient's line once", ev)
	}
	if ev := reps[0].Evidence; len(ev) != 1 {
		t.Errorf("account evidence %v, want one line", ev)
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("IntegrityCheck = %q, %v", res, err)
	}
}
