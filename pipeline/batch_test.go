package pipeline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

func newBatch(t *testing.T, dir string, log *bytes.Buffer) *Batch {
	t.Helper()
	var p analysis.Policy
	if err := p.AddDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	return &Batch{DB: filepath.Join(dir, "rs.db"), Policy: p, PolicySource: "test", Options: Options{Year: 2026, Location: time.UTC}, Log: log}
}

// TestBatchNothingRead: inputs that hold no mail log give no all-clear and
// leave no database behind; a file found in a directory that is no log is
// a note, an empty one too.
func TestBatchNothingRead(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, logs, "config.json", `{"not": "a log"}`+"\n")
	writeFile(t, logs, "mail.log.1", "")
	var log bytes.Buffer
	b := newBatch(t, dir, &log)
	if _, err := b.Run(t.Context(), []string{logs}); !errors.Is(err, ErrNothingRead) {
		t.Errorf("Run = %v, want ErrNothingRead\n%s", err, log.String())
	}
	if _, err := os.Stat(b.DB); err == nil {
		t.Error("a database was left behind")
	}
	if strings.Count(log.String(), "relaysleuth: note: ") != 2 {
		t.Errorf("want two notes:\n%s", log.String())
	}
}

// TestBatchSkips: an input named on the command line that cannot be read
// is an error at the end (ErrInputs); the others are read.
func TestBatchSkips(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "mail.log", overlapLog)
	var log bytes.Buffer
	b := newBatch(t, dir, &log)
	b.Verbose = true
	res, err := b.Run(t.Context(), []string{good, filepath.Join(dir, "missing.log")})
	if !errors.Is(err, ErrInputs) || res.Stats.Events != 5 {
		t.Errorf("Run = %d events, %v; want 5 and ErrInputs\n%s", res.Stats.Events, err, log.String())
	}
	for _, want := range []string{"mail.log: read as postfix", "total: 1 files, 5 lines, 5 events, 0 unsupported, 0 malformed, 1 skipped",
		"policy from test: local domains corp.example; trusted networks none", "warning: no trusted networks given"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
