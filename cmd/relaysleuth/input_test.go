package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

const sampleLog = "../../testdata/postfix/dev/postfix.log"

var sampleArgs = []string{"--config", "../../testdata/postfix/dev/config.json", "--timezone", "UTC", "--progress", "never"}

// splitSample cuts the sample log into n parts at line boundaries.
func splitSample(t *testing.T, n int) [][]byte {
	t.Helper()
	data, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var parts [][]byte
	per := (len(lines) + n - 1) / n
	for i := 0; i < len(lines); i += per {
		parts = append(parts, bytes.Join(lines[i:min(i+per, len(lines))], nil))
	}
	return parts
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// summaryOf runs `report summary --format json`.
func summaryOf(t *testing.T, db string) analysis.Summary {
	t.Helper()
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "summary"}, &out, nil); err != nil {
		t.Fatalf("report summary: %v", err)
	}
	var s analysis.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// ingestArgs runs ingest with the sample's policy on paths.
func ingestRun(t *testing.T, db string, stdin []byte, paths ...string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	args := append([]string{"ingest", "--db", db}, sampleArgs...)
	err := runWithStdin(t.Context(), append(args, paths...), bytes.NewReader(stdin), &bytes.Buffer{}, &stderr)
	return stderr.String(), err
}

func sameVerdicts(t *testing.T, got, want analysis.Summary) {
	t.Helper()
	for _, v := range analysis.Verdicts {
		if got.Verdicts[v] != want.Verdicts[v] {
			t.Errorf("%s: %d recipients, want %d", v, got.Verdicts[v], want.Verdicts[v])
		}
	}
	if got.Events != want.Events || got.Lines != want.Lines {
		t.Errorf("lines/events = %d/%d, want %d/%d", got.Lines, got.Events, want.Lines, want.Events)
	}
}

// wholeRun is the reference: the sample ingested in one piece.
func wholeRun(t *testing.T) analysis.Summary {
	t.Helper()
	db := filepath.Join(t.TempDir(), "whole.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	return summaryOf(t, db)
}

func TestRotatedGzipAnyOrder(t *testing.T) {
	want := wholeRun(t)
	dir := t.TempDir()
	parts := splitSample(t, 3)
	writeFile(t, filepath.Join(dir, "mail.log.2.gz"), gzipBytes(t, parts[0]))
	writeFile(t, filepath.Join(dir, "mail.log.1"), parts[1])
	writeFile(t, filepath.Join(dir, "mail.log"), parts[2])
	db := filepath.Join(t.TempDir(), "rs.db")
	// Newest first, as a shell glob of mail.log* would not sort them.
	out, err := ingestRun(t, db, nil, filepath.Join(dir, "mail.log"), filepath.Join(dir, "mail.log.2.gz"), filepath.Join(dir, "mail.log.1"))
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	sameVerdicts(t, summaryOf(t, db), want)
}

func TestReingestAddsNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	first := summaryOf(t, db)
	out, err := ingestRun(t, db, nil, sampleLog)
	if err != nil {
		t.Fatalf("second ingest: %v\n%s", err, out)
	}
	if !strings.Contains(out, "already ingested") {
		t.Errorf("second ingest did not say the file was already ingested:\n%s", out)
	}
	sameVerdicts(t, summaryOf(t, db), first)
	// The same content under a rotated name is the same source.
	dir := t.TempDir()
	data, _ := os.ReadFile(sampleLog)
	writeFile(t, filepath.Join(dir, "mail.log.1.gz"), gzipBytes(t, data))
	if out, err := ingestRun(t, db, nil, filepath.Join(dir, "mail.log.1.gz")); err != nil || !strings.Contains(out, "already ingested") {
		t.Errorf("renamed+compressed copy: err=%v\n%s", err, out)
	}
	sameVerdicts(t, summaryOf(t, db), first)
}

func TestGrowingFileAndNameReuse(t *testing.T) {
	want := wholeRun(t)
	dir := t.TempDir()
	parts := splitSample(t, 3)
	log := filepath.Join(dir, "mail.log")
	db := filepath.Join(t.TempDir(), "rs.db")
	writeFile(t, log, parts[0])
	if out, err := ingestRun(t, db, nil, log); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	// The file grows: the next run reads only what is new.
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(parts[1])
	f.Close()
	out, err := ingestRun(t, db, nil, log)
	if err != nil || !strings.Contains(out, "resuming at line") {
		t.Fatalf("ingest of grown file: %v\n%s", err, out)
	}
	// logrotate: mail.log becomes mail.log.1 and a new mail.log starts.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, log, parts[2])
	if out, err := ingestRun(t, db, nil, log+".1", log); err != nil {
		t.Fatalf("ingest after rotation: %v\n%s", err, out)
	}
	sameVerdicts(t, summaryOf(t, db), want)
}

func TestStdin(t *testing.T) {
	want := wholeRun(t)
	data, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "rs.db")
	if out, err := ingestRun(t, db, data, "-"); err != nil {
		t.Fatalf("ingest -: %v\n%s", err, out)
	}
	sameVerdicts(t, summaryOf(t, db), want)
}

// TestBadInputs gives ingest the inputs a user's archive really holds next
// to good logs: each gets a clear message naming the file, the good log is
// still read, and the total says how many were skipped.
func TestBadInputs(t *testing.T) {
	want := wholeRun(t)
	dir := t.TempDir()
	data, _ := os.ReadFile(sampleLog)
	binary := bytes.Repeat([]byte{0x7f, 'E', 'L', 'F', 0, 0, 1, 2, 0xff, 0xfe}, 500)
	writeFile(t, filepath.Join(dir, "core.bin"), binary)
	// Another log (not the sample's first line), cut in the middle.
	gz := gzipBytes(t, bytes.Repeat(data[bytes.IndexByte(data, '\n')+1:], 3))
	writeFile(t, filepath.Join(dir, "truncated.log.gz"), gz[:len(gz)/2])
	writeFile(t, filepath.Join(dir, "dovecot.log"), []byte("Nov 27 19:27:54 mail dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.1\n"))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("hello\nthis is not a log\n"))
	writeFile(t, filepath.Join(dir, "empty.log"), nil)
	missing := filepath.Join(dir, "no-such-file.log")

	db := filepath.Join(t.TempDir(), "rs.db")
	var stdout, stderr bytes.Buffer
	args := append([]string{"scan", "--db", db}, sampleArgs...)
	args = append(args, missing, filepath.Join(dir, "core.bin"), filepath.Join(dir, "truncated.log.gz"),
		filepath.Join(dir, "dovecot.log"), filepath.Join(dir, "notes.txt"), filepath.Join(dir, "empty.log"), sampleLog)
	err := runCLI(t, args, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Errorf("scan: err = %v, want relay abuse found (the good log has some)", err)
	}
	msgs := stderr.String()
	for _, want := range []string{
		missing + ": no such file",
		"core.bin:1: binary file",
		"truncated.log.gz:",
		"truncated",
		"note: " + filepath.Join(dir, "dovecot.log") + ": holds no mail server's lines (dovecot only), skipped",
		"notes.txt:1: not a Postfix, Exim or Exchange log",
		"note: " + filepath.Join(dir, "empty.log") + ": empty file",
		"skipped",
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msgs)
		}
	}
	// The empty file (normal after a rotation) and a syslog file of
	// other programs' lines are notes, not failures.
	if !strings.Contains(msgs, "4 skipped") {
		t.Errorf("total does not count 4 skipped inputs:\n%s", msgs)
	}
	// The good log and the readable part of the truncated one were stored:
	// at least everything of the good log.
	got := summaryOf(t, db)
	if got.Verdicts[analysis.RelayAbuse] < want.Verdicts[analysis.RelayAbuse] {
		t.Errorf("relay_abuse = %d, want at least %d", got.Verdicts[analysis.RelayAbuse], want.Verdicts[analysis.RelayAbuse])
	}
}

// TestProgressBar: a bar on a terminal (forced here with --progress always),
// none when standard error is a pipe or a file, which --progress auto sees.
func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want bool
	}{{"auto", false}, {"never", false}, {"always", true}} {
		var stderr bytes.Buffer
		dir := t.TempDir()
		log := filepath.Join(dir, "mail.log")
		bigLog(t, log, 30) // long enough for the bar to be drawn
		db := filepath.Join(dir, "rs.db")
		args := []string{"ingest", "--db", db, "--config", "../../testdata/postfix/dev/config.json", "--progress", tc.mode, log}
		if err := runCLI(t, args, &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("ingest --progress %s: %v", tc.mode, err)
		}
		if got := strings.Contains(stderr.String(), "ingesting"); got != tc.want {
			t.Errorf("--progress %s: bar shown = %v, want %v\n%q", tc.mode, got, tc.want, stderr.String())
		}
	}
}

// compressWith runs a compressor of logrotate's (compresscmd) on b.
func compressWith(t *testing.T, tool string, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed (.ci/run installs it)", tool)
	}
	cmd := exec.Command(tool, "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

// Rotations compressed with bzip2, xz or zstd (logrotate's compresscmd)
// read like gzip ones, told by their content, not their names.
func TestRotatedOtherCompressions(t *testing.T) {
	want := wholeRun(t)
	dir := t.TempDir()
	parts := splitSample(t, 4)
	writeFile(t, filepath.Join(dir, "mail.log.4.zst"), compressWith(t, "zstd", parts[0]))
	writeFile(t, filepath.Join(dir, "mail.log.3.xz"), compressWith(t, "xz", parts[1]))
	writeFile(t, filepath.Join(dir, "mail.log.2"), compressWith(t, "bzip2", parts[2])) // no telling suffix
	writeFile(t, filepath.Join(dir, "mail.log"), parts[3])
	db := filepath.Join(t.TempDir(), "rs.db")
	out, err := ingestRun(t, db, nil, dir)
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	sameVerdicts(t, summaryOf(t, db), want)
	if !strings.Contains(out, "total: 4 files") || !strings.Contains(out, " 0 malformed, 0 skipped") {
		t.Errorf("want 4 files read cleanly:\n%s", out)
	}
	// Read again: nothing new (the compressed files are known by content).
	out, err = ingestRun(t, db, nil, dir)
	if err != nil || strings.Count(out, "already ingested") != 4 {
		t.Errorf("second run: %v, want all 4 already ingested:\n%s", err, out)
	}
}
