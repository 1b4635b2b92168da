package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cleanLog is a Postfix log of one inbound message for a local domain of
// the dev config, on a day after the dev corpus: no relay abuse in it.
const cleanLog = `Dec  1 10:00:00 mail postfix/smtpd[100]: connect from mx.example.org[198.51.100.7]
Dec  1 10:00:01 mail postfix/smtpd[100]: 4ABC123DEF: client=mx.example.org[198.51.100.7]
Dec  1 10:00:01 mail postfix/cleanup[101]: 4ABC123DEF: message-id=<clean1@example.org>
Dec  1 10:00:01 mail postfix/qmgr[102]: 4ABC123DEF: from=<alice@example.org>, size=1234, nrcpt=1 (queue active)
Dec  1 10:00:02 mail postfix/local[103]: 4ABC123DEF: to=<bob@corp.example>, relay=local, delay=1, delays=0.1/0/0/0.9, dsn=2.0.0, status=sent (delivered to mailbox)
Dec  1 10:00:02 mail postfix/qmgr[102]: 4ABC123DEF: removed
Dec  1 10:00:03 mail postfix/smtpd[100]: disconnect from mx.example.org[198.51.100.7] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
`

// A run that reads nothing as a mail log gives no all-clear: it is an
// error (exit 1), says so, and leaves no database behind.
func TestNothingReadIsAnError(t *testing.T) {
	dir := t.TempDir()
	dpkg := filepath.Join(dir, "dpkg.log")
	writeFile(t, dpkg, []byte("2026-11-27 06:25:01 startup archives unpack\n2026-11-27 06:25:02 install libfoo:amd64 <none> 1.2-1\n2026-11-27 06:25:02 status half-installed libfoo:amd64 1.2-1\n"))
	empty := filepath.Join(dir, "empty.log")
	writeFile(t, empty, nil)
	bin := filepath.Join(dir, "core")
	writeFile(t, bin, bytes.Repeat([]byte{0x7f, 'E', 'L', 'F', 0, 0, 1, 2}, 100))
	for _, input := range []string{filepath.Join(dir, "missing.log"), empty, bin, dpkg} {
		db := filepath.Join(t.TempDir(), "rs.db")
		var stderr bytes.Buffer
		err := runCLI(t, append([]string{"scan", "--db", db, input}, sampleArgs...), &bytes.Buffer{}, &stderr)
		if got := exitCode(err, &stderr); got != exitError {
			t.Errorf("scan %s: exit %d, want 1\n%s", filepath.Base(input), got, stderr.String())
		}
		if !strings.Contains(stderr.String(), "no input was read as a mail log") || strings.Contains(stderr.String(), "no relay abuse") {
			t.Errorf("scan %s does not say that nothing was read:\n%s", filepath.Base(input), stderr.String())
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("scan %s created a database", filepath.Base(input))
		}
	}
}

// An empty file (just rotated) and a file in a directory that is no mail
// log (config.json) are noted and skipped, not an error.
func TestSkippedWithANote(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mail.log"), readFile(t, sampleLog))
	writeFile(t, filepath.Join(dir, "mail.log.1"), nil)
	writeFile(t, filepath.Join(dir, "config.json"), readFile(t, "../../testdata/postfix/dev/config.json"))
	var stderr bytes.Buffer
	err := runCLI(t, append([]string{"scan", "--db", filepath.Join(t.TempDir(), "rs.db"), dir}, sampleArgs...), &bytes.Buffer{}, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan DIR: %v, want relay abuse found (exit 3), not an error\n%s", err, stderr.String())
	}
	for _, want := range []string{"note: " + filepath.Join(dir, "mail.log.1") + ": empty file", "note: " + filepath.Join(dir, "config.json") + ":1: not a Postfix, Exim or Exchange log", ", 0 skipped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// scan answers for the logs it read, not for everything the database ever
// held: a clean log scanned into a database with an old incident exits 0,
// and its headline gives the time it read. report relay still sees the
// incident (exit 3).
func TestScanReportsWhatItRead(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "rs.db")
	args := append([]string{"--year", "2026"}, sampleArgs...)
	var stderr bytes.Buffer
	if err := runCLI(t, append([]string{"scan", "--db", db, sampleLog}, args...), &bytes.Buffer{}, &stderr); !errors.Is(err, errRelayFound) {
		t.Fatalf("scan of the incident: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "RELAY ABUSE between 2026-11-27") {
		t.Errorf("the headline lacks the span read:\n%s", stderr.String())
	}
	clean := filepath.Join(dir, "clean.log")
	writeFile(t, clean, []byte(cleanLog))
	stderr.Reset()
	var stdout bytes.Buffer
	err := runCLI(t, append([]string{"scan", "--db", db, clean}, args...), &stdout, &stderr)
	if err != nil {
		t.Fatalf("scan of a clean log into a database with an old incident: %v, want exit 0\n%s", err, stderr.String())
	}
	if want := "no relay abuse between 2026-12-01 10:00:00 UTC and 2026-12-01 10:00:03 UTC"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	// --since chooses another span: the incident's day.
	stderr.Reset()
	err = runCLI(t, append([]string{"scan", "--db", db, "--since", "2026-11-27", "--until", "2026-11-28", clean}, args...), &bytes.Buffer{}, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Errorf("scan --since the incident's day: %v, want exit 3\n%s", err, stderr.String())
	}
	if err := runCLI(t, []string{"report", "relay", "--db", db}, &bytes.Buffer{}, nil); !errors.Is(err, errRelayFound) {
		t.Errorf("report relay: %v, want exit 3", err)
	}
}

// A misspelt or mistyped key in the policy file is a usage error naming
// the key, not a silently empty list.
func TestConfigKeys(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ json, want string }{
		{`{"local_domains": ["corp.example"], "trusted_netwroks": ["127.0.0.1/32"]}`, `unknown key "trusted_netwroks"`},
		{`{"local_domains": "corp.example"}`, `key "local_domains": want a list of strings, not a JSON string`},
		{`{"local_domains": ["corp.example"], "trusted_networks": ["not-a-net"]}`, `trusted_networks`},
		{`{"local_domains": ["corp.example"],}`, `not valid JSON`},
	} {
		cfg := filepath.Join(dir, "policy.json")
		writeFile(t, cfg, []byte(tc.json))
		var stderr bytes.Buffer
		err := runCLI(t, []string{"scan", "--db", filepath.Join(dir, "rs.db"), "--config", cfg, sampleLog}, &bytes.Buffer{}, &stderr)
		if got := exitCode(err, &stderr); got != exitUsage || !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), cfg) {
			t.Errorf("config %s: exit %d, %q; want 2 naming the file and %q", tc.json, got, stderr.String(), tc.want)
		}
	}
}

// --verbose says the policy in force and where it came from, and each
// input's format.
func TestVerbosePolicy(t *testing.T) {
	var stderr bytes.Buffer
	err := runCLI(t, []string{"--verbose", "scan", "--db", filepath.Join(t.TempDir(), "rs.db"), "--config", "../../testdata/postfix/dev/config.json",
		"--trusted-networks", "192.0.2.0/24", "--timezone", "UTC", sampleLog}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: %v", err)
	}
	for _, want := range []string{
		"policy from --config ../../testdata/postfix/dev/config.json and --trusted-networks 192.0.2.0/24",
		"local domains corp.example, corp-mail.example",
		"trusted networks 127.0.0.1/32, 192.0.2.0/24",
		sampleLog + ": read as postfix: ",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// A database the user may read but not write (a forensic copy, the
// service's database read by an admin) is read read-only by report and
// investigate; a database in a directory the user may not write says so.
// Run as nobody: root writes anywhere.
func TestReadOnlyDatabaseReadable(t *testing.T) {
	setpriv, bin, dir, roDir, db := asNobodySetup(t)
	for _, p := range []string{bin, filepath.Dir(bin), dir} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(db, 0o444)
	os.Chmod(roDir, 0o555)
	asNobody := func(args ...string) (string, error) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := asNobody("report", "--db", db, "summary")
	if err != nil || !strings.Contains(out, "relay_abuse") {
		t.Errorf("report summary of a read-only database as nobody: %v\n%s", err, out)
	}
	out, err = asNobody("investigate", "--db", db, "--client-ip", "203.0.113.50")
	if strings.Contains(out, "readonly") || strings.Contains(out, "read-only database") {
		t.Errorf("investigate of a read-only database as nobody: %v\n%s", err, out)
	}
	out, err = asNobody("ingest", "--db", filepath.Join(roDir, "new.db"), "--local-domains", "corp.example", sampleLogAbs(t))
	if err == nil || !strings.Contains(out, "directory "+roDir+" is not writable by you") {
		t.Errorf("ingest into a read-only directory: %v\n%s", err, out)
	}
	out, err = asNobody("ingest", "--db", filepath.Join(dir, "nosuchdir", "new.db"), "--local-domains", "corp.example", sampleLogAbs(t))
	if err == nil || !strings.Contains(out, "nosuchdir does not exist") {
		t.Errorf("ingest into a missing directory: %v\n%s", err, out)
	}
}

func sampleLogAbs(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
