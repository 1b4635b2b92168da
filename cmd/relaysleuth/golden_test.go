package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// checkGolden compares got with testdata/golden/name, or rewrites it with
// -update (review the diff like code).
// padding is the run of spaces between two columns of a plain table.
var padding = regexp.MustCompile(`  +`)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	// Evidence is stored with absolute paths: the golden files hold them
	// as seen from this directory, and the plain tables' padding, which
	// depends on the path's length, as two spaces.
	if abs, err := filepath.Abs("../../testdata"); err == nil {
		got = bytes.ReplaceAll(got, []byte(abs), []byte("../../testdata"))
	}
	got = padding.ReplaceAll(got, []byte("  "))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestGoldenReports runs scan on the Postfix sample and checks every report
// kind and output format against its golden file, byte for byte.
func TestGoldenReports(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rs.db")
	log := "../../testdata/postfix/dev/postfix.log"
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "--db", db, "--config", "../../testdata/postfix/dev/config.json",
		"--timezone", "UTC", "--progress", "never", log}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	checkGolden(t, "scan.txt", stdout.Bytes())
	for _, tc := range []struct{ name, kind, format string }{
		{"summary.txt", "summary", "table"},
		{"summary.json", "summary", "json"},
		{"relay.txt", "relay", "table"},
		{"relay.json", "relay", "json"},
		{"relay.csv", "relay", "csv"},
		{"attempts.txt", "attempts", "table"},
		{"auth.txt", "auth", "table"},
		{"recipients.json", "recipients", "json"},
		{"recipients.csv", "recipients", "csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := runCLI(t, []string{"report", "--db", db, "--format", tc.format, tc.kind}, &out, nil); err != nil && !(tc.kind == "relay" && errors.Is(err, errRelayFound)) {
				t.Fatalf("report %s: %v", tc.kind, err)
			}
			checkGolden(t, tc.name, out.Bytes())
		})
	}
}
