package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// TestGoldenMTAReports runs scan on the Exim and Exchange dev sets, as the
// Postfix golden test does on its sample (relative paths, so the evidence
// columns are stable), and checks the relay report scan prints and every
// report kind against testdata/golden/<mta>/, byte for byte.
func TestGoldenMTAReports(t *testing.T) {
	for _, tc := range []struct {
		mta    string
		config string
		paths  []string
	}{
		// mainlog and rejectlog together, as an Exim admin has them.
		{"exim", "../../testdata/exim/dev/config.json",
			[]string{"../../testdata/exim/dev/mainlog", "../../testdata/exim/dev/rejectlog"}},
		// The copy of the server's TransportRoles\Logs folder: everything
		// under it is found.
		{"exchange", "../../testdata/exchange/dev/config.json",
			[]string{"../../testdata/exchange/dev/EXSRV2"}},
	} {
		t.Run(tc.mta, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "rs.db")
			args := []string{"scan", "--db", db, "--config", tc.config, "--timezone", "UTC", "--progress", "never"}
			var stdout, stderr bytes.Buffer
			err := runCLI(t, append(args, tc.paths...), &stdout, &stderr)
			if !errors.Is(err, errRelayFound) {
				t.Fatalf("scan: %v\n%s", err, stderr.String())
			}
			checkGolden(t, tc.mta+"/scan.txt", stdout.Bytes())
			for _, r := range []struct{ name, kind, format string }{
				{"summary.txt", "summary", "table"},
				{"summary.json", "summary", "json"},
				{"relay.txt", "relay", "table"},
				{"relay.json", "relay", "json"},
				{"attempts.txt", "attempts", "table"},
				{"auth.txt", "auth", "table"},
				{"recipients.json", "recipients", "json"},
			} {
				t.Run(r.name, func(t *testing.T) {
					var out bytes.Buffer
					if err := runCLI(t, []string{"report", "--db", db, "--format", r.format, r.kind}, &out, nil); err != nil && !(r.kind == "relay" && errors.Is(err, errRelayFound)) {
						t.Fatalf("report %s: %v", r.kind, err)
					}
					checkGolden(t, tc.mta+"/"+r.name, out.Bytes())
				})
			}
		})
	}
}
