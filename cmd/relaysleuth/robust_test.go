package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/schema"
)

// TestSpecialFiles: a FIFO is read like standard input; a symlink loop, a
// socket-like non-regular path and a missing file are reported by name.
func TestSpecialFiles(t *testing.T) {
	want := wholeRun(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "mail.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	data, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(data)
		f.Close()
	}()
	loop := filepath.Join(dir, "loop")
	os.Symlink(loop, loop)
	db := filepath.Join(t.TempDir(), "rs.db")
	out, err := ingestRun(t, db, nil, fifo, loop)
	if !errors.Is(err, errInputs) {
		t.Errorf("ingest: err = %v, want some inputs unreadable", err)
	}
	if !strings.Contains(out, loop+": too many levels of symbolic links") {
		t.Errorf("symlink loop not reported by name:\n%s", out)
	}
	sameVerdicts(t, summaryOf(t, db), want)
}

// TestReportWhileIngesting runs reports while another ingest writes to the
// same database (WAL): every report answers, and two writers at once both
// succeed (the second waits for the lock) or say clearly that the database
// is busy.
func TestReportWhileIngesting(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.log")
	bigLog(t, big, 40)
	other := filepath.Join(dir, "other.log")
	bigLogFrom(t, other, 100, 2)
	db := filepath.Join(dir, "rs.db")
	// Create the database first, so that both writers find it.
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([]string, 2)
	for i, f := range []string{big, other} {
		wg.Go(func() { outs[i], errs[i] = ingestRun(t, db, nil, f) })
	}
	for range 20 {
		var out bytes.Buffer
		if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "summary"}, &out, nil); err != nil {
			t.Errorf("report during ingest: %v", err)
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !strings.Contains(err.Error(), "database is busy") {
			t.Errorf("writer %d: %v\n%s", i, err, outs[i])
		}
	}
	s := stateOf(t, db) // integrity_check inside
	if s.rows["events"] == 0 {
		t.Error("no events stored")
	}
}

// TestDiskFull runs ingest under a file-size limit (a full disk, as far as
// SQLite can tell): it must fail with a clear error and leave what was
// stored before intact.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	before := summaryOf(t, db)
	big := filepath.Join(dir, "big.log")
	bigLog(t, big, 60)
	// ulimit -f counts 512-byte blocks: the database may not grow past 4 MB.
	cmd := exec.Command("sh", "-c", `ulimit -f 8192 && exec "$0" "$@"`, bin, "ingest", "--db", db,
		"--config", "../../testdata/postfix/dev/config.json", "--timezone", "UTC", "--progress", "never", big)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("ingest under a 4 MB limit succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "full") && !strings.Contains(string(out), "too large") {
		t.Errorf("error does not say the disk is full:\n%s", out)
	}
	after := stateOf(t, db) // integrity_check inside
	if after.rows["events"] < before.Events {
		t.Errorf("events after the failed ingest = %d, want at least the %d stored before", after.rows["events"], before.Events)
	}
	got := summaryOf(t, db)
	if got.Verdicts[analysis.RelayAbuse] < before.Verdicts[analysis.RelayAbuse] {
		t.Errorf("relay_abuse recipients lost: %d, had %d", got.Verdicts[analysis.RelayAbuse], before.Verdicts[analysis.RelayAbuse])
	}
}

// TestSameFileTwoWriters runs two ingests of the same new file into one
// database at once: whichever commits second skips the lines the first
// stored, so the database ends as after one ingest — no event twice.
func TestSameFileTwoWriters(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.log")
	bigLog(t, big, 40)
	ref := filepath.Join(dir, "ref.db")
	if out, err := ingestRun(t, ref, nil, big); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "rs.db")
	s, err := schema.Open(t.Context(), db) // the database exists for both
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([]string, 2)
	for i := range errs {
		wg.Go(func() { outs[i], errs[i] = ingestRun(t, db, nil, big) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !strings.Contains(err.Error(), "database is busy") {
			t.Errorf("writer %d: %v\n%s", i, err, outs[i])
		}
	}
	if errs[0] != nil && errs[1] != nil {
		t.Fatal("both writers failed")
	}
	got, want := stateOf(t, db), stateOf(t, ref)
	for _, table := range []string{"events", "messages", "recipients", "sources"} {
		if got.rows[table] != want.rows[table] {
			t.Errorf("%s: %d rows after two writers, %d after one", table, got.rows[table], want.rows[table])
		}
	}
	if got.recipients != want.recipients {
		t.Error("recipients differ from one ingest's")
	}
}

// TestSlowInputCommits feeds ingest a pipe that sends a batch and a half of
// lines and then stalls: the batch is committed while the pipe is quiet
// (pipeline.HoldTime), not held in an open transaction until more input comes.
func TestSlowInputCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for pipeline.HoldTime")
	}
	run := writeGenerated(t, "postfix", pipeline.BatchEvents*3/2, 1)
	data, err := os.ReadFile(filepath.Join(run.dir, run.logs[0]))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "rs.db")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runWithStdin(t.Context(), []string{"ingest", "--db", db, "--config", filepath.Join(run.dir, "config.json"),
			"--timezone", "UTC", "--progress", "never", "-"}, pr, io.Discard, io.Discard)
	}()
	if _, err := pw.Write(data); err != nil {
		t.Fatal(err)
	}
	committed := func() int {
		return countRows(t, openDB(t, db), `SELECT coalesce(max(lines), 0) FROM sources`)
	}
	deadline := time.Now().Add(pipeline.HoldTime + 5*time.Second)
	for committed() < pipeline.BatchEvents && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := committed(); n < pipeline.BatchEvents {
		t.Errorf("%d lines committed %v after the input stalled, want the first batch (%d)", n, pipeline.HoldTime+5*time.Second, pipeline.BatchEvents)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
