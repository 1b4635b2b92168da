package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFileChangesWhileIngesting: a log that grows during an ingest is read
// up to where it was, and the next ingest reads the rest; one truncated
// during an ingest ends that read cleanly. Neither loses or doubles a line.
func TestFileChangesWhileIngesting(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.log")
	bigLog(t, full, 40)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cleanDB := filepath.Join(dir, "clean.db")
	if out, err := ingestRun(t, cleanDB, nil, full); err != nil {
		t.Fatalf("clean ingest: %v\n%s", err, out)
	}
	want := summaryOf(t, cleanDB)

	// Growing: the first half is there when ingest starts, the second half
	// is appended while it runs.
	log := filepath.Join(dir, "mail.log")
	half := bytes.LastIndexByte(data[:len(data)/2], '\n') + 1
	writeFile(t, log, data[:half])
	db := filepath.Join(dir, "grow.db")
	done := make(chan error, 1)
	go func() {
		_, err := ingestRun(t, db, nil, log)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for rest := data[half:]; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		f.Write(rest[:n]) // in pieces: a line may be cut at a write
		rest = rest[n:]
	}
	f.Close()
	if err := <-done; err != nil {
		t.Fatalf("ingest while growing: %v", err)
	}
	if out, err := ingestRun(t, db, nil, log); err != nil {
		t.Fatalf("ingest after growth: %v\n%s", err, out)
	}
	sameVerdicts(t, summaryOf(t, db), want)

	// Truncated (copytruncate) while being read: the run ends cleanly.
	trunc := filepath.Join(dir, "trunc.log")
	writeFile(t, trunc, data)
	tdb := filepath.Join(dir, "trunc.db")
	go func() {
		_, err := ingestRun(t, tdb, nil, trunc)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := os.Truncate(trunc, 0); err != nil {
		t.Fatal(err)
	}
	// (When the truncation came before a line was read, nothing was:
	// that is said as an error too, never an all-clear.)
	if err := <-done; err != nil && !errors.Is(err, errInputs) && !errors.Is(err, errNothingRead) {
		t.Fatalf("ingest of a file truncated under it: %v", err)
	}
	stateOf(t, tdb) // integrity_check
}

// TestCorruptGzip: damage inside the compressed data (not just a cut) is
// reported with the file and the line reached; what came before is kept.
func TestCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat(data, 4))
	zw.Close()
	gz := buf.Bytes()
	for i := len(gz) / 2; i < len(gz)/2+64; i++ {
		gz[i] ^= 0x5a
	}
	path := filepath.Join(dir, "mail.log.3.gz")
	writeFile(t, path, gz)
	db := filepath.Join(dir, "rs.db")
	out, err := ingestRun(t, db, nil, path)
	if err == nil {
		t.Fatalf("corrupt gzip ingested without error:\n%s", out)
	}
	if !strings.Contains(out, path+":") || !strings.Contains(out, "read error after") {
		t.Errorf("error does not name the file and line:\n%s", out)
	}
	if s := summaryOf(t, db); s.Events == 0 {
		t.Error("nothing kept from before the damage")
	}
}

// TestReadOnlyDatabaseDir: a database in a directory the user cannot write
// gives a clear error naming it, and leaves it as it was. (Run as an
// unprivileged user: root writes anywhere.)
func TestReadOnlyDatabaseDir(t *testing.T) {
	setpriv, bin, dir, _, db := asNobodySetup(t)
	before := summaryOf(t, db)
	logCopy := filepath.Join(dir, "mail.log")
	bigLogFrom(t, logCopy, 5, 1)
	for _, p := range []string{bin, filepath.Dir(bin), logCopy} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(logCopy, 0o644)
	os.Chmod(db, 0o644)
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Chmod(db+suffix, 0o644)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin,
		"ingest", "--db", db, "--local-domains", "corp.example", "--progress", "never", logCopy)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("ingest into a read-only database succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), db) && !strings.Contains(string(out), "readonly") && !strings.Contains(string(out), "read-only") {
		t.Errorf("error does not say what is read-only:\n%s", out)
	}
	t.Logf("as nobody: %s", out)
	sameVerdicts(t, summaryOf(t, db), before)
}

// asNobodySetup skips unless the test can run the binary as nobody (root
// and setpriv), and makes a database of the sample in a directory of its
// own (roDir), for tests of what an unprivileged user may do with it.
func asNobodySetup(t *testing.T) (setpriv, bin, dir, roDir, db string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv to run as nobody")
	}
	bin = buildBinary(t)
	dir = t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	roDir = filepath.Join(dir, "ro")
	os.Mkdir(roDir, 0o755)
	db = filepath.Join(roDir, "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	return setpriv, bin, dir, roDir, db
}
