package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Lines in the shapes real servers write; the values are ours.
const (
	w3cLog = `#Software: Microsoft Internet Information Services 5.0
#Version: 1.0
#Date: 2006-10-09 05:00:15
#Fields: date time c-ip cs-username s-sitename s-computername s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status sc-win32-status sc-bytes cs-bytes time-taken cs-version cs-host cs(User-Agent) cs(Cookie) cs(Referer) 
2006-10-09 05:00:15 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 HELO - +36A42160 250 0 48 13 0 SMTP - - - -
2006-10-09 05:00:16 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 MAIL - +FROM:+<a@spam.example> 250 0 57 45 0 SMTP - - - -
2006-10-09 05:00:16 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 RCPT - +TO:+<pam@corp.example> 250 0 29 27 0 SMTP - - - -
2006-10-09 05:00:16 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 RCPT - +TO:+<v@victim.example> 250 0 29 27 0 SMTP - - - -
2006-10-09 05:00:19 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 DATA - +<4F5002F2.860022@spam.example> 250 0 108 1399 1922 SMTP - - - -
2006-10-09 05:00:19 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 QUIT - MX-PDC 240 1922 66 4 0 SMTP - - - -
`
	receiveRows = `2022-07-20T21:12:06.200Z,EXCH1\Default Frontend EXCH1,08DA4F7C11473A60,0,192.168.9.241:25,203.0.113.12:53722,+,,
2022-07-20T21:12:06.210Z,EXCH1\Default Frontend EXCH1,08DA4F7C11473A60,1,192.168.9.241:25,203.0.113.12:53722,<,EHLO x,
2022-07-20T21:12:06.220Z,EXCH1\Default Frontend EXCH1,08DA4F7C11473A60,2,192.168.9.241:25,203.0.113.12:53722,<,AUTH LOGIN,
2022-07-20T21:12:06.270Z,EXCH1\Default Frontend EXCH1,08DA4F7C11473A60,3,192.168.9.241:25,203.0.113.12:53722,>,535 5.7.3 Authentication unsuccessful,
`
	eximSyslog = `Jun 29 16:04:05 server exim[1234]: dovecot_plain authenticator failed for (mail.example.net) [203.0.113.181]:47807: 535 Incorrect authentication data (set_id=dave)
Jun 29 15:33:46 server exim[1234]: H=test.example [203.0.113.4]:53343 F=<info@test.example> rejected RCPT <toto@corp.example>: "JunkMail rejected"
`
	postfixLog = `Jun 12 08:58:35 mx postfix/smtpd[27296]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<a@spam.example> to=<v@victim.example> proto=ESMTP helo=<spam.example>
Jun 12 08:58:36 mx postfix/smtpd[27296]: disconnect from unknown[192.0.2.4] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4
`
	opendkimLog = `Jan 28 07:52:03 mail opendkim[289]: B08573012026: key retrieval failed (s=2020, d=example.org): record not found
Jan 27 22:27:12 mail opendmarc[295]: 334623012026: opendmarc_policy_query_dmarc(example.org) returned status 4
`
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrepareDetects checks the format chosen for each shape, its kind
// and the reason given (issue 14 items 1-3: a W3C log with its header is
// Exchange whatever its rows look like, whatever its name; header-less
// Exchange rows are told by their shape; Exim through syslog is Exim).
func TestPrepareDetects(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, text   string
		format, kind string
		why          string
	}{
		{"EX061009.LOG", w3cLog, "exchange", "", "line 1 is an Exchange or IIS log header"},
		{"smtp.txt", w3cLog, "exchange", "", "line 1 is an Exchange or IIS log header"},
		{"iis-rows.txt", strings.SplitN(w3cLog, "\n", 5)[4], "exchange", "w3c", "6 of the first 6 lines are Exchange w3c log rows"},
		{"ticket.csv", receiveRows, "exchange", "receive", "4 of the first 4 lines are Exchange receive log rows"},
		{"exim.log", eximSyslog, "exim", "", "2 of the first 2 lines are Exim log lines"},
		{"mail.log", postfixLog, "postfix", "", "2 of the first 2 lines are Postfix syslog lines"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, tt.text)
			ins, errs := Prepare(t.Context(), []string{p}, Options{Location: time.UTC}, nil)
			if len(errs) > 0 || len(ins) != 1 {
				t.Fatalf("Prepare: %d inputs, errors %v", len(ins), errs)
			}
			in := ins[0]
			if in.Format.Name != tt.format || in.Format.Kind != tt.kind || !strings.Contains(in.Why, tt.why) || in.Warning != "" {
				t.Errorf("format %s/%s, why %q, warning %q; want %s/%s, %q", in.Format.Name, in.Format.Kind, in.Why, in.Warning, tt.format, tt.kind, tt.why)
			}
			// And it reads as that: events, nothing malformed.
			n, bad := readAll(t, in)
			if n == 0 || bad > 0 {
				t.Errorf("read as %s: %d events, %d malformed", in.Format.Name, n, bad)
			}
		})
	}
}

// readAll parses a prepared input whole, as Run would.
func readAll(t *testing.T, in *Input) (events, malformed int64) {
	t.Helper()
	rc, err := OpenInput(in)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	p := in.Format.New(ParserOptions{Path: in.Path, ModTime: in.ModTime, Year: 2026, Location: time.UTC})
	st, err := parsers.Scan(t.Context(), rc, in.Path, parsers.Start{}, p, func(parsers.Event) error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Events, st.Malformed
}

// TestInputFormatKinds: --input-format can name the kind of Exchange log
// of rows without a header, and a format that does not fit is said.
func TestInputFormatKinds(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "rows.txt", receiveRows)
	ins, errs := Prepare(t.Context(), []string{p}, Options{Format: "exchange-receive", Location: time.UTC}, nil)
	if len(errs) > 0 || len(ins) != 1 || ins[0].Format.Kind != "receive" || ins[0].Warning != "" {
		t.Fatalf("Prepare: %+v %v", ins, errs)
	}
	if n, bad := readAll(t, ins[0]); n == 0 || bad > 0 {
		t.Errorf("%d events, %d malformed", n, bad)
	}
	// --input-format exchange alone: the rows' shape tells which log.
	ins, errs = Prepare(t.Context(), []string{p}, Options{Format: "exchange", Location: time.UTC}, nil)
	if len(errs) > 0 || len(ins) != 1 || ins[0].Format.Kind != "receive" || ins[0].Warning != "" {
		t.Fatalf("--input-format exchange: %+v %v", ins, errs)
	}
	if n, bad := readAll(t, ins[0]); n == 0 || bad > 0 {
		t.Errorf("--input-format exchange: %d events, %d malformed", n, bad)
	}
	// A Postfix log forced as Exim: read as said, with a warning.
	p = writeFile(t, dir, "mail.log", postfixLog)
	ins, errs = Prepare(t.Context(), []string{p}, Options{Format: "exim", Location: time.UTC}, nil)
	if len(errs) > 0 || len(ins) != 1 || !strings.Contains(ins[0].Warning, "looks like postfix") || ins[0].Why != "--input-format exim" {
		t.Errorf("forced exim on a Postfix log: %+v %v", ins, errs)
	}
	// Rows forced as the wrong Exchange log: most do not read.
	ins, _ = Prepare(t.Context(), []string{writeFile(t, dir, "w3c.txt", strings.SplitN(w3cLog, "\n", 5)[4])},
		Options{Format: "exchange-tracking", Location: time.UTC}, nil)
	if len(ins) != 1 || !strings.Contains(ins[0].Warning, "6 of its first 6 lines do not read as exchange") {
		t.Errorf("W3C rows forced as tracking: %+v", ins)
	}
	if _, ok := FormatByName("exchange-nonsense"); ok {
		t.Error("exchange-nonsense accepted")
	}
	if _, ok := FormatByName("postfix-tracking"); ok {
		t.Error("postfix-tracking accepted")
	}
}

// TestNoMailLines: a syslog file of other programs only (Debian's mail.err
// with opendkim's lines) is skipped with ErrNoMailLines; one whose mail
// lines start after many other lines is read (issue 14 item 11).
func TestNoMailLines(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "mail.err", opendkimLog)
	ins, errs := Prepare(t.Context(), []string{p}, Options{Location: time.UTC}, nil)
	if len(ins) != 0 || len(errs) != 1 || !errors.Is(errs[0], ErrNoMailLines) || !errors.Is(errs[0], ErrNotMailLog) ||
		!strings.Contains(errs[0].Error(), "opendkim, opendmarc only") {
		t.Errorf("mail.err: %+v, %v", ins, errs)
	}
	late := strings.Repeat(opendkimLog, 60) + postfixLog
	p = writeFile(t, dir, "mail.log", late)
	ins, errs = Prepare(t.Context(), []string{p}, Options{Location: time.UTC}, nil)
	if len(errs) != 0 || len(ins) != 1 || ins[0].Format.Name != "postfix" || !strings.Contains(ins[0].Why, "line 121") {
		t.Fatalf("late mail lines: %+v, %v", ins, errs)
	}
	// Not a syslog file at all: not a mail log, but not ErrNoMailLines.
	p = writeFile(t, dir, "notes.txt", "hello\nworld\n")
	_, errs = Prepare(t.Context(), []string{p}, Options{Location: time.UTC}, nil)
	if len(errs) != 1 || !errors.Is(errs[0], ErrNotMailLog) || errors.Is(errs[0], ErrNoMailLines) {
		t.Errorf("notes.txt: %v", errs)
	}
}
