package main

import (
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// TestPGCrashSafety is TestCrashSafety against PostgreSQL: ingest killed
// with SIGKILL at random points of a large input, several times, then run
// to the end, holds what one clean run holds (and what the same run into
// SQLite holds): no duplicate, no loss.
func TestPGCrashSafety(t *testing.T) {
	crashed := pgtest.DB(t)
	bin, dir, log := crashSetup(t, 60)
	args := func(db string) []string {
		return append([]string{"ingest", "--db", db, "--progress", "never"}, append(sampleArgs, log)...)
	}

	clean := pgtest.DB(t)
	start := time.Now()
	if out, err := exec.Command(bin, args(clean)...).CombinedOutput(); err != nil {
		t.Fatalf("clean ingest: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := pgDump(t, clean)
	sqlite := filepath.Join(dir, "rs.db")
	start = time.Now()
	if out, err := exec.Command(bin, args(sqlite)...).CombinedOutput(); err != nil {
		t.Fatalf("ingest into SQLite: %v\n%s", err, out)
	}
	t.Logf("one ingest of %d copies of the sample: PostgreSQL %v, SQLite %v", 60, full.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if got := pgDump(t, sqlite); got != want {
		t.Errorf("PostgreSQL differs from SQLite:\n%s", firstDiff(want, got))
	}

	rng := rand.New(rand.NewPCG(3, 4))
	kills := killAtRandom(t, rng, full, bin, args(crashed)...)
	if out, err := exec.Command(bin, args(crashed)...).CombinedOutput(); err != nil {
		t.Fatalf("ingest after %d kills: %v\n%s", kills, err, out)
	}
	// As in TestCrashSafety: unsupported lines are counted when a file is
	// finished, so after a crash only the part read again is counted.
	if got, want := withoutUnsupported(pgDump(t, crashed)), withoutUnsupported(want); got != want {
		t.Errorf("after %d kills the database differs from a clean run:\n%s", kills, firstDiff(got, want))
	}
}

// withoutUnsupported drops the lines of a pgDump that count unsupported
// lines.
func withoutUnsupported(dump string) string {
	var kept []string
	for _, l := range strings.Split(dump, "\n") {
		if !strings.Contains(l, `"unsupported":`) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
