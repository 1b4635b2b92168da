package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// relayedMessages returns the Postfix lines of n messages relayed for
// 203.0.113.9 to victim.example, all in the same second of log time.
func relayedMessages(n int) []string {
	var out []string
	for i := range n {
		q := fmt.Sprintf("4C%08X", 0xA0+i)
		st := fmt.Sprintf("2026-12-05T10:00:00.%03d000+00:00 mail ", 100+i*10)
		out = append(out,
			st+"postfix/smtpd[100]: "+q+": client=unknown[203.0.113.9]\n",
			st+"postfix/cleanup[101]: "+q+": message-id=<q"+q+"@spam.example>\n",
			st+"postfix/qmgr[102]: "+q+": from=<s@spam.example>, size=300, nrcpt=1 (queue active)\n",
			st+fmt.Sprintf("postfix/smtp[103]: %s: to=<r%d@victim.example>, relay=mx.victim.example[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)\n", q, i),
			st+"postfix/qmgr[102]: "+q+": removed\n",
		)
	}
	return out
}

// TestTailQuietSummaryOnWallClock: alerts held back by the quiet period are
// summarised when it ends on the wall clock, though no line comes to move
// the log's clock on (issue 20, item 6).
func TestTailQuietSummaryOnWallClock(t *testing.T) {
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, nil)
	r := startTail(t, "--db", db, "--quiet", "2s", "--format", "json", log)
	waitFor(t, "the start", func() bool { return strings.Contains(r.stderr.String(), "following") })
	appendLines(t, log, relayedMessages(3))
	waitFor(t, "the first alert", func() bool { return strings.Contains(r.stdout.String(), `"kind":"relay_abuse"`) })
	if strings.Contains(r.stdout.String(), `"summary":true`) {
		t.Fatalf("summary before the quiet period ended:\n%s", r.stdout.String())
	}
	start := time.Now()
	waitFor(t, "the summary", func() bool { return strings.Contains(r.stdout.String(), `"summary":true`) })
	t.Logf("summary %v after the first alert was seen", time.Since(start).Round(time.Millisecond))
	out := r.stdout.String()
	if n := strings.Count(out, "\n"); n != 2 || !strings.Contains(out, `"count":2`) || !strings.Contains(out, "2 more relayed recipients from 203.0.113.9") {
		t.Errorf("want one alert and one summary of 2:\n%s", out)
	}
}

// TestTailQuietSummaryAtExit: at exit, what the quiet period still holds
// back goes out as a summary through the same outputs as alerts, standard
// output and --exec, not only to standard error (issue 20, item 6).
func TestTailQuietSummaryAtExit(t *testing.T) {
	dir := t.TempDir()
	log, db, got := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db"), filepath.Join(dir, "exec.out")
	appendLines(t, log, nil)
	r := startTail(t, "--db", db, "--quiet", "1h", "--format", "json", "--exec", "cat >> "+got, log)
	waitFor(t, "the start", func() bool { return strings.Contains(r.stderr.String(), "following") })
	appendLines(t, log, relayedMessages(4))
	waitFor(t, "the first alert", func() bool { return strings.Contains(r.stdout.String(), `"kind":"relay_abuse"`) })
	time.Sleep(500 * time.Millisecond) // the other three are read and held back
	if strings.Contains(r.stdout.String(), `"summary":true`) {
		t.Fatalf("summary within the quiet hour:\n%s", r.stdout.String())
	}
	r.stop(t)
	out := r.stdout.String()
	if !strings.Contains(out, `"summary":true`) || !strings.Contains(out, "3 more relayed recipients from 203.0.113.9") {
		t.Errorf("stdout at exit lacks the summary:\n%s", out)
	}
	data, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || !strings.Contains(lines[1], `"summary":true`) {
		t.Errorf("--exec got %d alerts, want the alert then the summary:\n%s", len(lines), data)
	}
}
