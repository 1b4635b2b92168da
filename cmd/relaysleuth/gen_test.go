package main

import (
	"bytes"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/relaysleuth/relaysleuth/internal/loggen"
)

// writeGenerated writes a generated log of n lines, its truth as labels.csv
// and the policy as config.json into a new directory, the layout of a corpus
// run, and returns the run. An Exchange log set goes to the folder "logs"
// (its RECV and MSGTRK files in their subfolders), which the run names.
func writeGenerated(t testing.TB, format string, n int, seed uint64) corpusRun {
	t.Helper()
	dir := t.TempDir()
	name := format + ".log"
	opt := loggen.Options{Format: format, Lines: n, Seed: seed}
	switch format {
	case "exim":
		name = "mainlog"
	case "exchange":
		name = "logs"
		opt.Dir = filepath.Join(dir, name)
	}
	var logw io.Writer = io.Discard
	if opt.Dir == "" {
		logf, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		logw = logf
	}
	truth, err := os.Create(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := loggen.Generate(logw, truth, opt)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := logw.(*os.File); ok {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := truth.Close(); err != nil {
		t.Fatal(err)
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
	for _, format := range []string{"postfix", "exim", "exchange"} {
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

// TestExchangeGeneratorDeterministic checks the same of an Exchange log
// set: every file, and the truth.
func TestExchangeGeneratorDeterministic(t *testing.T) {
	gen := func(seed uint64) map[string]string {
		dir := t.TempDir()
		var truth bytes.Buffer
		opt := loggen.Options{Format: "exchange", Lines: 3000, Seed: seed, Dir: dir}
		if _, err := loggen.Generate(io.Discard, &truth, opt); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"truth": truth.String()}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			rel, _ := filepath.Rel(dir, path)
			files[rel] = string(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	if first, again := gen(3), gen(3); !maps.Equal(first, again) {
		t.Error("same seed, different output")
	}
	if maps.Equal(gen(3), gen(4)) {
		t.Error("different seeds, same output")
	}
}
