package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestRejudgeCrashSafety kills `relaysleuth rejudge` with SIGKILL at
// random points, each time on a copy of the database with the old
// verdicts. Rejudge drops a trigger and the report indexes inside its one
// transaction: after every kill the database must hold the old verdicts or
// the new ones, whole, with its schema and counts intact, and a rejudge run
// to the end must give what a clean one gives.
func TestRejudgeCrashSafety(t *testing.T) {
	bin, dir, log := crashSetup(t, 60)
	cfg := "../../testdata/postfix/dev/config.json"
	// Ingested trusting every client, as if all were ours: rejudge with
	// the right policy changes verdicts.
	wrong := filepath.Join(dir, "wrong.db")
	ingest := exec.Command(bin, "ingest", "--db", wrong, "--config", cfg, "--trusted-networks", "0.0.0.0/0,::/0",
		"--timezone", "UTC", "--progress", "never", log)
	if out, err := ingest.CombinedOutput(); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	// Each kill interrupts a rejudge of its own copy of the old verdicts.
	orig := filepath.Join(dir, "orig.db")
	copyFile(t, wrong, orig)
	if _, err := os.Stat(wrong + "-wal"); err == nil {
		copyFile(t, wrong+"-wal", orig+"-wal")
	}
	old := stateOf(t, wrong)
	schema0 := schemaOf(t, wrong)

	rejudgeArgs := func(db string) []string { return []string{"rejudge", "--db", db, "--config", cfg} }
	rejudge := func(db string) *exec.Cmd { return exec.Command(bin, rejudgeArgs(db)...) }
	start := time.Now()
	if out, err := rejudge(wrong).CombinedOutput(); err != nil {
		t.Fatalf("clean rejudge: %v\n%s", err, out)
	}
	full := time.Since(start)
	t.Logf("a clean rejudge takes %v", full)
	want := stateOf(t, wrong)
	if want.recipients == old.recipients {
		t.Fatal("rejudge changed no verdict: the test proves nothing")
	}

	rng := rand.New(rand.NewPCG(3, 4))
	kills := 0
	var crashed string
	for i := range 5 {
		crashed = filepath.Join(dir, fmt.Sprintf("crashed%d.db", i+1))
		copyFile(t, orig, crashed)
		if _, err := os.Stat(orig + "-wal"); err == nil {
			copyFile(t, orig+"-wal", crashed+"-wal")
		}
		if killOnce(t, rng, full, bin, rejudgeArgs(crashed)...) {
			kills++
		}
		if got := schemaOf(t, crashed); got != schema0 {
			t.Fatalf("kill %d: the schema differs:\n%s", i+1, firstDiff(got, schema0))
		}
		got := stateOf(t, crashed) // counts checked against the recipients too
		switch got.recipients {
		case old.recipients:
			t.Logf("kill %d: the old verdicts", i+1)
		case want.recipients:
			t.Logf("kill %d: the new verdicts", i+1)
		default:
			t.Fatalf("kill %d: the recipients are neither the old verdicts nor the new:\n%s", i+1, firstDiff(got.recipients, want.recipients))
		}
	}
	if kills == 0 {
		t.Fatal("no kill landed before rejudge ended")
	}
	if out, err := rejudge(crashed).CombinedOutput(); err != nil {
		t.Fatalf("rejudge after %d kills: %v\n%s", kills, err, out)
	}
	got := stateOf(t, crashed)
	if got.recipients != want.recipients || got.summary != want.summary {
		t.Errorf("after %d kills and a rejudge to the end, recipients or summary differ from a clean rejudge:\n%s", kills, firstDiff(got.recipients, want.recipients))
	}
	if g := schemaOf(t, crashed); g != schema0 {
		t.Errorf("the schema differs after %d kills:\n%s", kills, firstDiff(g, schema0))
	}
}

// copyFile copies the file src to dst (a small database).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
