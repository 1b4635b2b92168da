package main

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestReportLiftsMemoryLimit: scan keeps the heap's soft limit main sets;
// report lifts it (a report's memory is what it counts, and past the
// limit the collector ran all the time: traffic over a 20M-line database
// 149 s with it, 50 s without), unless the user set GOMEMLIMIT, which
// stays as set.
func TestReportLiftsMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	prev := debug.SetMemoryLimit(memoryLimit)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	db := filepath.Join(t.TempDir(), "rs.db")
	var stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "--db", db, "--config", "../../testdata/postfix/dev/config.json",
		"--timezone", "UTC", "--progress", "never", "../../testdata/postfix/dev/postfix.log"}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	if got := debug.SetMemoryLimit(-1); got != memoryLimit {
		t.Errorf("after scan: soft limit %d, want %d", got, memoryLimit)
	}
	report := func() {
		t.Helper()
		var out bytes.Buffer
		if err := runCLI(t, []string{"report", "--db", db, "traffic"}, &out, &stderr); err != nil || out.Len() == 0 {
			t.Fatalf("report traffic: %v (%d bytes)\n%s", err, out.Len(), stderr.String())
		}
	}
	report()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after report: soft limit %d, want none", got)
	}

	t.Setenv("GOMEMLIMIT", "200MiB")
	debug.SetMemoryLimit(200 << 20) // what the runtime does with that variable
	report()
	if got := debug.SetMemoryLimit(-1); got != 200<<20 {
		t.Errorf("after report with GOMEMLIMIT=200MiB: soft limit %d, want %d", got, 200<<20)
	}
}
