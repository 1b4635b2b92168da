package main

import (
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// withUmask runs the test under umask (the process's; tests of this
// package do not run in parallel) and restores it.
func withUmask(t *testing.T, mask int) {
	t.Helper()
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// A database is created 0600 under the usual umask 022 (its -wal and -shm
// files too), 0640 for the group --group names.
func TestDatabaseIsPrivate(t *testing.T) {
	withUmask(t, 0o022)
	dir := t.TempDir()
	db := filepath.Join(dir, "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skipf("no name for gid %d: %v", os.Getgid(), err)
	}
	shared := filepath.Join(dir, "team.db")
	var stderr bytes.Buffer
	if err := runCLI(t, append([]string{"ingest", "--db", shared, "--group", g.Name, sampleLog}, sampleArgs...), &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("ingest --group: %v\n%s", err, stderr.String())
	}
	fi, err := os.Stat(shared)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || fi.Sys().(*syscall.Stat_t).Gid != uint32(os.Getgid()) {
		t.Errorf("--group %s: mode %04o gid %d, want 0640 and gid %d", g.Name, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Gid, os.Getgid())
	}
	// A database others can read is said to be, with the fix.
	os.Chmod(db, 0o644)
	stderr.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "summary"}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "other users may read "+db+" (0644)") || !strings.Contains(stderr.String(), "chmod go-rwx "+db) {
		t.Errorf("no warning about a database others may read:\n%s", stderr.String())
	}
}

// A policy file that others may write, or that belongs to another user, is
// refused: whoever writes it decides what counts as relay abuse.
func TestPolicyFileRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relaysleuth.json")
	writeFile(t, cfg, readFile(t, "../../testdata/postfix/dev/config.json"))
	os.Chmod(cfg, 0o666)
	var stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "--db", filepath.Join(dir, "rs.db"), "--config", cfg, sampleLog}, &bytes.Buffer{}, &stderr)
	if got := exitCode(err, &stderr); got != exitUsage || !strings.Contains(stderr.String(), cfg+": refused: other users may write it (mode 0666)") {
		t.Errorf("world-writable policy: exit %d, %q", got, stderr.String())
	}
	os.Chmod(cfg, 0o644)
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	if err := os.Chown(cfg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	err = runCLI(t, []string{"scan", "--db", filepath.Join(dir, "rs.db"), "--config", cfg, sampleLog}, &bytes.Buffer{}, &stderr)
	if got := exitCode(err, &stderr); got != exitUsage || !strings.Contains(stderr.String(), "belongs to uid 65534") {
		t.Errorf("policy of another user: exit %d, %q", got, stderr.String())
	}
	// Every run says which policy it used.
	os.Chown(cfg, 0, 0)
	stderr.Reset()
	runCLI(t, []string{"scan", "--db", filepath.Join(dir, "rs.db"), "--config", cfg, "--timezone", "UTC", sampleLog}, &bytes.Buffer{}, &stderr)
	if !strings.Contains(stderr.String(), "policy from --config "+cfg+": local domains corp.example") {
		t.Errorf("the run does not say its policy:\n%s", stderr.String())
	}
}

// --exec commands see the alert on standard input and a clean environment:
// nothing of relaysleuth's own (a database password, a token).
func TestExecEnvironment(t *testing.T) {
	t.Setenv("RELAYSLEUTH_TEST_SECRET", "hunter2")
	lines := devLines(t)
	dir := t.TempDir()
	log, db, envFile := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db"), filepath.Join(dir, "env")
	appendLines(t, log, lines)
	r := startTail(t, "--db", db, "--from-start", "--metrics", "0.0.0.0:0", "--exec", "env > "+envFile+".tmp; mv "+envFile+".tmp "+envFile, log)
	waitFor(t, "an alert's command", func() bool { _, err := os.Stat(envFile); return err == nil })
	r.stop(t)
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(env, []byte("hunter2")) {
		t.Errorf("--exec inherited relaysleuth's environment:\n%s", env)
	}
	for _, want := range []string{"PATH=/usr/local/sbin:", "LANG=C.UTF-8"} {
		if !bytes.Contains(env, []byte(want)) {
			t.Errorf("--exec environment lacks %s:\n%s", want, env)
		}
	}
	if !regexp.MustCompile(`warning: --metrics listens on \S+, beyond loopback`).MatchString(r.stderr.String()) {
		t.Errorf("no warning for metrics beyond loopback:\n%s", r.stderr.String())
	}
}

// prune deletes what is older than a date and gives the space back; what
// remains answers as a fresh ingest of the kept period does.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.log")
	writeFile(t, clean, []byte(cleanLog))
	args := append([]string{"--year", "2026"}, sampleArgs...)
	both, kept := filepath.Join(dir, "both.db"), filepath.Join(dir, "kept.db")
	for _, run := range []struct {
		db    string
		paths []string
	}{{both, []string{sampleLog, clean}}, {kept, []string{clean}}} {
		var stderr bytes.Buffer
		err := runCLI(t, append(append([]string{"ingest", "--db", run.db}, args...), run.paths...), &bytes.Buffer{}, &stderr)
		if err != nil {
			t.Fatalf("ingest %v: %v\n%s", run.paths, err, stderr.String())
		}
	}
	sizeBefore := fileSize(t, both)
	var out bytes.Buffer
	if err := runCLI(t, []string{"prune", "--db", both, "--before", "2026-11-30"}, &out, nil); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if !strings.Contains(out.String(), "pruned what is older than 2026-11-30 00:00:00 UTC: 168 recipients, 87 messages, 1 blocks") {
		t.Errorf("prune says: %s", out.String())
	}
	if after := fileSize(t, both); after >= sizeBefore {
		t.Errorf("database %d bytes after prune, %d before: space not given back", after, sizeBefore)
	}
	report := func(db string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := runCLI(t, append([]string{"--db", db, "--format", "json"}, args...), &out, nil); err != nil && !strings.Contains(err.Error(), "no stored message") {
			t.Fatalf("%v on %s: %v", args, db, err)
		}
		return out.String()
	}
	for _, q := range [][]string{
		{"report", "recipients", "--hops"},
		{"report", "relay"},
		{"report", "attempts"},
		{"report", "auth"},
		{"investigate", "--message-id", "clean1@example.org"},
	} {
		if got, want := report(both, q...), report(kept, q...); got != want {
			t.Errorf("%v after prune differs from a fresh ingest of the kept period:\n--- pruned\n%s\n--- fresh\n%s", q, got, want)
		}
	}
	if s := summaryOf(t, both); s.Verdicts["relay_abuse"] != 0 || s.Verdicts["inbound"] != 1 {
		t.Errorf("summary after prune: %v", s.Verdicts)
	}
	// Reading the pruned log again brings nothing back.
	if out, err := ingestRun(t, both, nil, sampleLog); err != nil || !strings.Contains(out, "already ingested") {
		t.Errorf("re-ingest after prune: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	err := runCLI(t, []string{"prune", "--db", both}, &bytes.Buffer{}, &stderr)
	if got := exitCode(err, &stderr); got != exitUsage {
		t.Errorf("prune without a date: exit %d, want 2", got)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A report written with --output is as private as the database.
func TestOutputIsPrivate(t *testing.T) {
	withUmask(t, 0o022)
	dir := t.TempDir()
	db := filepath.Join(dir, "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "report.html")
	if err := runCLI(t, []string{"report", "--db", db, "--format", "html", "--output", out, "relay"}, &bytes.Buffer{}, nil); err != nil && !strings.Contains(err.Error(), "relay abuse") {
		t.Fatalf("report --output: %v", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("--output file mode %04o, want 0600", fi.Mode().Perm())
	}
}
