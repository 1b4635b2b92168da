package schema

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/internal/loggen"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/postfix"
)

// batch is one Writer.Commit's worth, as the ingest loop makes it.
type batch struct {
	events []parsers.Event
	rs     []analysis.Recipient
	ms     []analysis.Message
	p      Progress
}

// benchBatchEvents is the batch size of `relaysleuth ingest`.
const benchBatchEvents = 10000

// benchSize is n lines, or a tenth of it under -short (the CI smoke run).
func benchSize(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// generatedBatches parses and correlates a generated Postfix log of n lines
// into the batches `relaysleuth ingest` would commit, benchBatchEvents each.
func generatedBatches(b *testing.B, n int) (batches []batch, bytesRead int64, events int) {
	b.Helper()
	var log, truth bytes.Buffer
	if _, err := loggen.Generate(&log, &truth, loggen.Options{Format: "postfix", Lines: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	cfg := loggen.Policy()
	policy := analysis.Policy{}
	if err := policy.AddDomains(cfg.LocalDomains...); err != nil {
		b.Fatal(err)
	}
	if err := policy.AddNetworks(cfg.TrustedNetworks...); err != nil {
		b.Fatal(err)
	}
	corr := analysis.NewCorrelator(policy)
	p := postfix.NewParser(postfix.Options{Year: 2026, Location: time.UTC})
	var cur []parsers.Event
	lastLine := -1
	emit := func(ev parsers.Event) error {
		if ev.Pos.Line != lastLine && len(cur) >= benchBatchEvents {
			rs, ms := corr.Flush()
			batches = append(batches, batch{events: cur, rs: rs, ms: ms,
				p: Progress{Offset: ev.Pos.Offset, Lines: int64(ev.Pos.Line - 1)}})
			cur = nil
		}
		lastLine = ev.Pos.Line
		cur = append(cur, ev)
		corr.Feed(ev)
		return nil
	}
	st, err := parsers.Scan(context.Background(), bytes.NewReader(log.Bytes()), "bench.log", parsers.Start{}, p, emit, nil)
	if err != nil {
		b.Fatal(err)
	}
	rs, ms := corr.Flush()
	batches = append(batches, batch{events: cur, rs: rs, ms: ms, p: Progress{Offset: st.Bytes, Lines: st.Lines, Stats: st, Complete: true}})
	return batches, st.Bytes, int(st.Events)
}

// commitAll writes batches into a new store at path.
func commitAll(ctx context.Context, b *testing.B, path string, batches []batch) *Store {
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	src, err := s.Source(ctx, "bench.log", "fingerprint", "postfix", 0)
	if err != nil {
		b.Fatal(err)
	}
	w := s.NewWriter(src)
	for _, bt := range batches {
		if err := w.Commit(ctx, bt.events, bt.rs, bt.ms, bt.p); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkWriterCommit stores the batches of a 100k-line log into a fresh
// database per iteration: the store's share of ingest.
func BenchmarkWriterCommit(b *testing.B) {
	batches, _, events := generatedBatches(b, benchSize(100000))
	recipients := 0
	for _, bt := range batches {
		recipients += len(bt.rs)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := commitAll(b.Context(), b, filepath.Join(dir, fmt.Sprintf("%d.db", i)), batches)
		i++
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*events)/sec, "events/s")
	b.ReportMetric(float64(b.N*recipients)/sec, "recipient-upserts/s")
}

// BenchmarkReport runs the report queries on a database holding a 300k-line
// log (bench-out/ holds the 5M-line one scripts/bench.sh times).
func BenchmarkReport(b *testing.B) {
	batches, _, _ := generatedBatches(b, benchSize(300000))
	ctx := b.Context()
	s := commitAll(ctx, b, filepath.Join(b.TempDir(), "report.db"), batches)
	defer s.Close()
	for _, q := range []struct {
		name string
		run  func() error
	}{
		{"summary", func() error { _, err := s.Summary(ctx, analysis.Filter{}); return err }},
		{"relay", func() error { _, err := s.ByClient(ctx, analysis.Filter{Verdict: analysis.RelayAbuse}); return err }},
		{"attempts", func() error {
			_, err := s.ByClient(ctx, analysis.Filter{Verdict: analysis.RelayAttemptRejected})
			return err
		}},
		{"auth", func() error { _, err := s.AuthFailures(ctx); return err }},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				if err := q.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
		})
	}
}
