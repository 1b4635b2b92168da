package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/relaysleuth/relaysleuth/internal/loggen"
)

// writeGenerated writes a generated log of n lines, its truth as labels.csv
// and the policy as config.json into a new directory, the layout of a corpus
// run, and returns the run.
func writeGenerated(t testing.TB, format string, n int, seed uint64) corpusRun {
	t.Helper()
	dir := t.TempDir()
	name := format + ".log"
	if format == "exim" {
		name = "mainlog"
	}
	logf, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := os.Create(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := loggen.Generate(logf, truth, loggen.Options{Format: format, Lines: n, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{logf, truth} {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.Create(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := loggen.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Lines != n {
		t.Fatalf("generated %d lines, want %d", st.Lines, n)
	}
	if st.Labels[loggen.LabelRelayAbuse] == 0 {
		t.Fatalf("generated log has no relay abuse: %+v", st)
	}
	return corpusRun{dir: dir, logs: []string{name}}
}

// TestGeneratedLabels scans a generated log of each format through the CLI
// and checks every recipient's verdict against the generator's truth.
func TestGeneratedLabels(t *testing.T) {
	for _, format := range []string{"postfix", "exim"} {
		t.Run(format, func(t *testing.T) {
			checkLabels(t, writeGenerated(t, format, 20000, 8))
		})
	}
}

// TestGeneratorDeterministic checks that a seed always gives the same log,
// and another seed another one.
func TestGeneratorDeterministic(t *testing.T) {
	gen := func(seed uint64) string {
		var log, truth bytes.Buffer
		if _, err := loggen.Generate(&log, &truth, loggen.Options{Format: "exim", Lines: 2000, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		return log.String() + "\x00" + truth.String()
	}
	if first, again := gen(3), gen(3); first != again {
		t.Error("same seed, different output")
	}
	if gen(3) == gen(4) {
		t.Error("different seeds, same output")
	}
}
