package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// BenchmarkPGWriters ingests four generated Postfix logs of benchLines
// lines each (a fleet's four hosts: their own host names and queue ids)
// at once into one PostgreSQL database per iteration, and reports the
// lines/s of all four and the database's size; BenchmarkIngest/postfix is
// SQLite's single writer. Skipped without RELAYSLEUTH_TEST_PG.
func BenchmarkPGWriters(b *testing.B) {
	pgtest.DB(b) // skips now when there is no server
	lines := benchLines
	if testing.Short() {
		lines = 10000
	}
	const writers = 4
	var logs []string
	var cfg string
	for i := range writers {
		run := writeGenerated(b, "postfix", lines, uint64(i+1))
		data, err := os.ReadFile(filepath.Join(run.dir, run.logs[0]))
		if err != nil {
			b.Fatal(err)
		}
		// " mail postfix/" is the generator's host name.
		data = bytes.ReplaceAll(data, []byte(" mail postfix"), fmt.Appendf(nil, " mx%d postfix", i+1))
		log := filepath.Join(run.dir, "mx.log")
		if err := os.WriteFile(log, data, 0o644); err != nil {
			b.Fatal(err)
		}
		logs, cfg = append(logs, log), filepath.Join(run.dir, "config.json")
	}
	var size int64
	for b.Loop() {
		b.StopTimer()
		db := pgtest.DB(b)
		b.StartTimer()
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i, log := range logs {
			wg.Go(func() {
				errs[i] = run1(b, "ingest", "--db", db, "--config", cfg, "--timezone", "UTC", "--year", "2026", "--progress", "never", log)
			})
		}
		wg.Wait()
		b.StopTimer()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		size = pgSize(b, db)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*writers*lines)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(size)/1e6, "MB")
}

// pgSize is the size of the PostgreSQL database db.
func pgSize(b *testing.B, db string) int64 {
	s, err := schema.Open(b.Context(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n, err := s.Size(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	return n
}
