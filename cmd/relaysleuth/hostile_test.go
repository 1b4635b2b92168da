package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// hostileLog is a Postfix log whose fields were chosen by an attacker: ANSI
// escapes and bells in HELO names and addresses, SQL and HTML, NUL bytes,
// invalid UTF-8, a 10 MB line, CR and CRLF line ends, a stamp far in the
// future, lines out of order and plain garbage.
func hostileLog() []byte {
	var b bytes.Buffer
	w := func(s string) { b.WriteString(s) }
	w("Nov 27 19:30:00 mail postfix/smtpd[999]: connect from unknown[203.0.113.66]\n")
	w("Nov 27 19:30:00 mail postfix/smtpd[999]: NOQUEUE: reject: RCPT from unknown[203.0.113.66]: 554 5.7.1 <x@victim.example>: Relay access denied; from=<a'; DROP TABLE events;--@evil.example> to=<x@victim.example> proto=ESMTP helo=<\x1b[2J\x1b[31mPWNED\x07<script>alert(1)</script>>\n")
	// Out of order: the delivery is logged before the message's arrival.
	w("Nov 27 19:30:01 mail postfix/smtp[1001]: 1A2B3C4D5E: to=<spam\x1b[5m@outside.example>, relay=mx.outside.example[192.0.2.25]:25, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 ok)\n")
	w("Nov 27 19:30:01 mail postfix/smtpd[999]: 1A2B3C4D5E: client=unknown[203.0.113.66]\n")
	w("Nov 27 19:30:01 mail postfix/cleanup[1000]: 1A2B3C4D5E: message-id=<\x1b]0;owned\x07@evil.example>\n")
	w("Nov 27 19:30:01 mail postfix/qmgr[1002]: 1A2B3C4D5E: from=<<b>bold</b>@evil.example>, size=100, nrcpt=1 (queue active)\n")
	w("Nov 27 19:30:02 mail postfix/smtp[1001]: 1A2B3C4D5E: to=<victim@outside.example>, relay=mx.outside.example[192.0.2.25]:25, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 ok)\r\n")
	w("Nov 27 19:30:02 mail postfix/qmgr[1002]: 1A2B3C4D5E: removed\n")
	w("Nov 27 19:30:03 mail postfix/smtpd[999]: connect from unknown[203.0.113.67]\x00\x00garbage after NUL\n")
	w("Nov 27 19:30:03 mail postfix/smtpd[999]: NOQUEUE: reject: RCPT from unknown[203.0.113.67]: 554 5.7.1 <\xff\xfe@victim.example>: Relay access denied; from=<a@b.example> to=<\xff\xfe@victim.example> proto=ESMTP helo=<x>\n")
	w("Nov 27 19:30:04 mail postfix/smtpd[999]: " + strings.Repeat("A", 10<<20) + "\n")
	w("2999-01-01T00:00:00+00:00 mail postfix/smtpd[5]: connect from unknown[203.0.113.68]\n")
	w("Nov 27 19:30:05 mail postfix/smtpd[999]: disconnect from unknown[203.0.113.66]\rthis is not a log line\rNov 27 19:30:05 mail postfix/smtpd[999]: connect from unknown[203.0.113.69]\n")
	w("\x00\x00\x00Nov 27 19:30:06 mail postfix/smtpd[999]: disconnect from unknown[203.0.113.69]\n")
	w("%s%s%s%n garbage \x1b[31m\n")
	return b.Bytes()
}

func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "mail.log")
	if err := os.WriteFile(log, hostileLog(), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "rs.db")
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "--db", db, "--local-domains", "corp.example", "--timezone", "UTC",
		"--progress", "never", "--year", "2026", log}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: err = %v, want relay abuse found\n%s", err, stderr.String())
	}
	msgs := stderr.String()
	for _, want := range []string{log + ":11: input: line longer than", log + ":15: postfix: not a syslog line", "malformed"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msgs[:min(len(msgs), 2000)])
		}
	}
	// Messages about bad lines must not carry the bad bytes to the terminal.
	assertSafe(t, "stderr", []byte(msgs))

	for _, format := range []string{"table", "csv"} {
		for _, kind := range []string{"recipients", "relay", "attempts", "summary"} {
			var out bytes.Buffer
			if err := runCLI(t, []string{"report", "--db", db, "--format", format, "--hops", kind}, &out, nil); err != nil && !errors.Is(err, errRelayFound) {
				t.Fatalf("report %s: %v", kind, err)
			}
			assertSafe(t, format+" "+kind, out.Bytes())
			if kind == "recipients" && !strings.Contains(out.String(), `\x1b[2J\x1b[31mPWNED\x07`) && !strings.Contains(out.String(), `\x1b[5m`) {
				t.Errorf("%s recipients: escaped control characters not shown:\n%s", format, out.String())
			}
		}
	}

	// JSON keeps the exact text (escaped by JSON itself) for scripts.
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	var rs []analysis.Recipient
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("recipients JSON: %v", err)
	}
	var relay, sql int
	for _, r := range rs {
		if r.Verdict == analysis.RelayAbuse && r.Recipient == "victim@outside.example" && r.QueueID == "1A2B3C4D5E" {
			relay++
		}
		if strings.Contains(r.Sender, "DROP TABLE") {
			sql++
		}
	}
	if relay != 1 {
		t.Errorf("the relayed message out of order was not found once as relay_abuse: %+v", rs)
	}
	if sql != 1 {
		t.Errorf("the SQL-looking sender was not stored as text once")
	}
	sum := summaryOf(t, db)
	if sum.Malformed < 3 || sum.Events == 0 {
		t.Errorf("summary: %d malformed, %d events; want the bad lines counted and the rest read", sum.Malformed, sum.Events)
	}
}

// assertSafe fails if b holds bytes that a terminal would act on: C0
// controls other than newline and tab, DEL, or invalid UTF-8.
func assertSafe(t *testing.T, what string, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Errorf("%s: output is not valid UTF-8", what)
	}
	for i, c := range b {
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			t.Errorf("%s: raw control byte %#x at %d: %q", what, c, i, b[max(0, i-40):min(len(b), i+40)])
			return
		}
	}
}
