package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line args the way main does, with stdin empty.
func runCLI(t *testing.T, args []string, stdout, stderr io.Writer) error {
	t.Helper()
	if stderr == nil {
		stderr = &bytes.Buffer{}
	}
	return run(t.Context(), args, stdout, stderr)
}

func TestExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, exitUsage},
		{[]string{"nosuchcommand"}, exitUsage},
		{[]string{"report", "--format", "xml", "summary"}, exitUsage},
		{[]string{"scan", "--db", t.TempDir() + "/x.db", "../../testdata/postfix/dev/postfix.log"}, exitUsage}, // no local domains
		{[]string{"help"}, exitOK},
		{[]string{"scan", "-h"}, exitOK},
		{[]string{"report", "--db", t.TempDir() + "/none.db", "summary"}, exitError},
		{[]string{"--version"}, exitOK},
		{[]string{"report", "--db"}, exitUsage},
		{[]string{"report", "summary", "--nosuchflag"}, exitUsage},
		{[]string{"report", "--db", t.TempDir() + "/none.db", "nosuchkind"}, exitUsage},
	} {
		if got := exitCode(runCLI(t, tc.args, &bytes.Buffer{}, &stderr), &stderr); got != tc.want {
			t.Errorf("relaysleuth %v: exit %d, want %d\n%s", tc.args, got, tc.want, stderr.String())
		}
	}
}

// Flags go anywhere on the line, global ones before the command too, as in
// every GNU-style tool.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mine.db")
	_, statErr := os.Stat("relaysleuth.db")
	hadDefault := statErr == nil
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "../../testdata/postfix/dev/postfix.log", "--db", db, "--config", devConfig, "--timezone", "UTC", "--year", "2026"}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan FILE --db DB: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("--db after the file was not used: %v", err)
	}
	if _, err := os.Stat("relaysleuth.db"); err == nil && !hadDefault {
		t.Errorf("a default ./relaysleuth.db was written")
	}
	for _, args := range [][]string{
		{"report", "summary", "--db", db},
		{"--db", db, "report", "summary"},
		{"--db", db, "--config", devConfig, "report", "--format", "json", "summary"},
	} {
		stdout.Reset()
		if err := runCLI(t, args, &stdout, &stderr); err != nil {
			t.Errorf("relaysleuth %v: %v", args, err)
		}
		if !strings.Contains(stdout.String(), "relay_abuse") {
			t.Errorf("relaysleuth %v printed no summary:\n%s", args, stdout.String())
		}
	}
	// report relay exits 3 when there is relay abuse, for monitoring.
	if err := runCLI(t, []string{"report", "relay", "--db", db}, &bytes.Buffer{}, nil); !errors.Is(err, errRelayFound) {
		t.Errorf("report relay on a database with relay abuse: %v, want exit 3", err)
	}
}

// Help goes to standard output with exit 0; a mistyped command gets a
// suggestion.
func TestHelpAndSuggestions(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runCLI(t, []string{"scan", "--help"}, &stdout, &stderr); err != nil {
		t.Fatalf("scan --help: %v", err)
	}
	if !strings.Contains(stdout.String(), "--input-format") || !strings.Contains(stdout.String(), "--db") {
		t.Errorf("scan --help lacks its own and the global flags:\n%s", stdout.String())
	}
	stderr.Reset()
	err := runCLI(t, []string{"reprot", "summary"}, &bytes.Buffer{}, &stderr)
	if got := exitCode(err, &stderr); got != exitUsage || !strings.Contains(stderr.String(), "did you mean report?") {
		t.Errorf("reprot: exit %d, %q; want 2 with a suggestion", got, stderr.String())
	}
	stdout.Reset()
	if err := runCLI(t, []string{"completion", "bash"}, &stdout, nil); err != nil || !strings.Contains(stdout.String(), "relaysleuth") {
		t.Errorf("completion bash: %v", err)
	}
}

// The README's usage section is what --help prints.
func TestREADMEMatchesHelp(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	if err := runCLI(t, []string{"--help"}, &help, nil); err != nil {
		t.Fatal(err)
	}
	out := help.String()
	start := strings.Index(out, "Available Commands:")
	end := strings.Index(out, "\nUse \"relaysleuth")
	if start < 0 || end < 0 {
		t.Fatalf("--help has no command list:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out[start:end]), "\n") {
		if line == "" {
			continue
		}
		if !bytes.Contains(readme, []byte("    "+line+"\n")) {
			t.Errorf("README lacks this line of --help (indented 4): %q", line)
		}
	}
}
