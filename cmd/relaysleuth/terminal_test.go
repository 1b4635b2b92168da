package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"
)

// onTerminal runs the binary with args on a pseudo-terminal of cols x 40,
// as a user at a terminal would, and returns what it printed.
func onTerminal(t *testing.T, bin string, cols uint16, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: 40})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	io.Copy(&out, f) // ends with EIO once the child has exited
	cmd.Wait()
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// Tables fit a 120-column terminal: nothing wider than the terminal, the
// key columns kept; --wide shows everything; piped output is plain.
func TestTablesFitTheTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	complaint := "../../testdata/investigate/arf-open-relay.eml"
	for _, args := range [][]string{
		{"report", "--db", db, "recipients"},
		{"report", "--db", db, "relay"},
		{"report", "--db", db, "summary"},
		{"report", "--db", db, "attempts"},
		{"investigate", "--db", db, "--client-ip", "127.198.128.166"},
		{"investigate", "--db", db, complaint},
	} {
		out := onTerminal(t, bin, 120, args...)
		if !strings.Contains(out, "│") {
			t.Errorf("%v on a terminal drew no table:\n%s", args, out)
		}
		for i, line := range strings.Split(out, "\n") {
			if w := runewidth.StringWidth(line); w > 120 {
				t.Errorf("%v: line %d is %d columns wide, the terminal 120:\n%s", args[:len(args)-1], i+1, w, line)
				break
			}
		}
	}
	out := onTerminal(t, bin, 120, "report", "--db", db, "recipients")
	for _, want := range []string{"TIME", "CLIENT", "RECIPIENT", "VERDICT", "relay_abuse"} {
		if !strings.Contains(out, want) {
			t.Errorf("the fitted recipients table lost %q:\n%s", want, out)
		}
	}
	wide := onTerminal(t, bin, 120, "report", "--wide", "--db", db, "recipients")
	widest := 0
	for _, line := range strings.Split(wide, "\n") {
		widest = max(widest, runewidth.StringWidth(line))
	}
	if widest <= 120 || !strings.Contains(wide, "MESSAGE-ID") {
		t.Errorf("--wide: widest line %d columns, MESSAGE-ID shown %v; want every column in full", widest, strings.Contains(wide, "MESSAGE-ID"))
	}
	piped, err := exec.Command(bin, "report", "--db", db, "recipients").Output()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(piped, []byte("│")) || !bytes.Contains(piped, []byte("relay_abuse")) {
		t.Errorf("piped output is not plain columns:\n%s", piped[:min(len(piped), 500)])
	}
}

// --local-time shows times in the zone of TZ, with the offset; without it
// they are UTC.
func TestLocalTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "rs.db")
	if out, err := ingestRun(t, db, nil, sampleLog); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(cmd.Environ(), "TZ=Europe/Berlin")
		out, _ := cmd.Output()
		return string(out)
	}
	if out := run("report", "--db", db, "--local-time", "relay"); !strings.Contains(out, "2026-11-27T20:28:47+01:00") || !strings.Contains(out, "2026-11-27 20:28:47 CET") {
		t.Errorf("--local-time with TZ=Europe/Berlin:\n%s", out)
	}
	if out := run("report", "--db", db, "relay"); !strings.Contains(out, "2026-11-27T19:28:47Z") {
		t.Errorf("without --local-time, times are not UTC:\n%s", out)
	}
}
