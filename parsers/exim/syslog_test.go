package exim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// syslogTests pair a line as a syslog daemon or journald writes it with the
// same entry as Exim writes it to its mainlog: both give the same events,
// but for Host, Raw, Daemon and (where Exim's stamp was left out) Time.
// The shapes are those of real servers (rsyslog, syslog-ng templates,
// journalctl -o json, OSSEC's and fail2ban's samples); the values are ours.
var syslogTests = []struct {
	name, line, mainlog string
	host, daemon        string
	time                time.Time // zero: the mainlog line's
}{
	{"BSD stamp, Exim's stamp kept",
		"Jun 29 16:04:19 mx1 exim[1234]: 2026-06-29 16:04:19 1xX1kN-0007i0-1Z <= a@b.example H=(helo) [192.0.2.7] P=esmtp S=10 id=x@b.example",
		"2026-06-29 16:04:19 1xX1kN-0007i0-1Z <= a@b.example H=(helo) [192.0.2.7] P=esmtp S=10 id=x@b.example",
		"mx1", "mainlog", time.Time{}},
	{"BSD stamp, syslog_timestamp false",
		"Jun 29 16:04:19 mx1 exim[1234]: H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
		"2026-06-29 16:04:19 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
		"mx1", "mainlog", time.Time{}},
	{"BSD stamp, day padded, no host",
		"Jun  3 16:04:19 exim[77]: 1xX1kN-0007i0-1Z Completed",
		"2026-06-03 16:04:19 1xX1kN-0007i0-1Z Completed",
		"", "mainlog", time.Time{}},
	{"RFC 3339 (rsyslog), exim4",
		"2026-06-29T16:04:19.250000+02:00 mx1 exim4[1234]: 1xX1kN-0007i0-1Z => c <c@corp.example> R=local_user T=mail_spool",
		"2026-06-29 14:04:19.250 1xX1kN-0007i0-1Z => c <c@corp.example> R=local_user T=mail_spool",
		"mx1", "mainlog", time.Time{}},
	{"journalctl -o short-iso",
		"2026-06-29T16:04:19+0200 mx1 exim[1234]: 1xX1kN-0007i0-1Z Completed",
		"2026-06-29 14:04:19 1xX1kN-0007i0-1Z Completed",
		"mx1", "mainlog", time.Time{}},
	{"syslog-ng ISO template, failed login",
		"2019-10-22 03:39:17 mx1.fqdn.local exim[29786]: dovecot_login authenticator failed for (User) [192.0.2.37]: 535 Incorrect authentication data (set_id=test@corp.example)",
		"2019-10-22 03:39:17 dovecot_login authenticator failed for (User) [192.0.2.37]: 535 Incorrect authentication data (set_id=test@corp.example)",
		"mx1.fqdn.local", "mainlog", time.Time{}},
	{"syslog-ng, +pid without Exim's stamp",
		"2016-04-01 11:08:00 info exim[8003]: [8003] no MAIL in SMTP connection from (User) [192.0.2.29]:20042 I=[192.0.2.1]:25 Ci=8003 D=0.349s C=EHLO,AUTH,QUIT",
		"2016-04-01 11:08:00 [8003] no MAIL in SMTP connection from (User) [192.0.2.29]:20042 I=[192.0.2.1]:25 Ci=8003 D=0.349s C=EHLO,AUTH,QUIT",
		"info", "mainlog", time.Time{}},
	{"tag alone (OSSEC's sample shape)",
		"exim[14706]: 2006-11-21 15:01:39 1Gmary-0002iA-00 ** x@some-domain.example R=dnslookup T=remote_smtp: SMTP error from remote mailer after RCPT TO:<x@some-domain.example>: host mx.some-domain.example [192.0.2.1]: 550 Mailbox unavailable",
		"2006-11-21 15:01:39 1Gmary-0002iA-00 ** x@some-domain.example R=dnslookup T=remote_smtp: SMTP error from remote mailer after RCPT TO:<x@some-domain.example>: host mx.some-domain.example [192.0.2.1]: 550 Mailbox unavailable",
		"", "mainlog", time.Time{}},
	{"host and tag, no syslog stamp",
		"mail.example.com exim[3751842]: 2021-07-17 23:20:49 plain_server authenticator failed for ([192.0.2.17]) [192.0.2.27]: 535 Incorrect authentication data",
		"2021-07-17 23:20:49 plain_server authenticator failed for ([192.0.2.17]) [192.0.2.27]: 535 Incorrect authentication data",
		"mail.example.com", "mainlog", time.Time{}},
	{"journalctl -o json, LOG_INFO",
		`{"__REALTIME_TIMESTAMP":"1782749059250000","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"exim4","_PID":"1234","PRIORITY":"6","MESSAGE":"H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted"}`,
		"2026-06-29 16:04:19.250 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
		"mx1", "mainlog", time.Time{}},
	{"journalctl -o json, LOG_NOTICE is the rejectlog",
		`{"__REALTIME_TIMESTAMP":"1782749059250000","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"exim4","_PID":"1234","PRIORITY":"5","MESSAGE":"2026-06-29 16:04:19 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted"}`,
		"2026-06-29 16:04:19 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
		"mx1", "rejectlog", time.Time{}},
	{"journalctl -o json, MESSAGE as bytes",
		`{"__REALTIME_TIMESTAMP":"1782749059000000","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"exim","SYSLOG_PID":"9","MESSAGE":[49,120,88,49,107,78,45,48,48,48,55,105,48,45,49,90,32,67,111,109,112,108,101,116,101,100,32,255]}`,
		"2026-06-29 16:04:19 1xX1kN-0007i0-1Z Completed \xff",
		"mx1", "mainlog", time.Time{}},
	{"<PRI> kept: LOG_MAIL|LOG_NOTICE",
		"<21>Jun 29 16:04:19 mx1 exim[1234]: 2026-06-29 16:04:19 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
		"2026-06-29 16:04:19 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
		"mx1", "rejectlog", time.Time{}},
	{"Exim's stamp wins over the syslog daemon's",
		"Jun 29 16:04:20 mx1 exim[1234]: 2026-06-29 18:04:19 +0200 1xX1kN-0007i0-1Z Completed",
		"2026-06-29 16:04:19 1xX1kN-0007i0-1Z Completed",
		"mx1", "mainlog", time.Time{}},
}

func TestSyslog(t *testing.T) {
	mod := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range syslogTests {
		t.Run(tt.name, func(t *testing.T) {
			pos := parsers.Pos{File: "mail.log", Line: 7, Offset: 99}
			got, err := NewParser(Options{Location: time.UTC, ModTime: mod}).Parse(nil, []byte(tt.line), pos)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.line, err)
			}
			want, err := NewParser(Options{Location: time.UTC}).Parse(nil, []byte(tt.mainlog), pos)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.mainlog, err)
			}
			for i := range want {
				w := &want[i]
				w.Host, w.Raw, w.Daemon = tt.host, tt.line, tt.daemon
				if !tt.time.IsZero() {
					w.Time = tt.time
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", tt.line, got, want)
			}
		})
	}
}

func TestSyslogNotExim(t *testing.T) {
	for _, tt := range []struct {
		line string
		want error
	}{
		{"Jun 29 16:04:19 mx1 dovecot[12]: imap-login: Login: user=<a>", parsers.ErrUnsupported},
		{"2026-06-29T16:04:19.250000+02:00 mx1 opendkim[99]: 4B49DBC34B: DKIM-Signature field added", parsers.ErrUnsupported},
		{"2019-10-22 03:39:17 mx1 postfix/smtpd[29786]: connect from unknown[192.0.2.1]", parsers.ErrUnsupported},
		{`{"__REALTIME_TIMESTAMP":"1782749059000000","SYSLOG_IDENTIFIER":"dovecot","MESSAGE":"x"}`, parsers.ErrUnsupported},
		{`{"__REALTIME_TIMESTAMP":"1782749059000000","SYSLOG_IDENTIFIER":"exim","MESSAGE":`, errBadJSON},
		{`{"SYSLOG_IDENTIFIER":"exim","MESSAGE":"1xX1kN-0007i0-1Z Completed"}`, errBadJSON},
		{"Jun 29 16:04:19 mx1 exim[1234]: 1xX1kN-0007i0-1Z Completed", nil},
		{"Feb 29 16:04:19 mx1 exim[1234]: 1xX1kN-0007i0-1Z Completed", errBadSyslogStamp}, // 2026 has none
		{"exim[1234]: 1xX1kN-0007i0-1Z Completed", errNoStamp},                            // no stamp at all
		{"Jun 29 16:04:19 mx1 exim[1234]: 2026-13-29 16:04:19 1xX1kN-0007i0-1Z Completed", errBadStamp},
	} {
		mod := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
		_, err := NewParser(Options{Location: time.UTC, ModTime: mod}).Parse(nil, []byte(tt.line), parsers.Pos{})
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.line, err, tt.want)
		}
	}
}

// TestSyslogYear checks the year given to yearless stamps: from the file's
// modification time, or from Options.Year across New Year.
func TestSyslogYear(t *testing.T) {
	lines := []string{
		"Dec 31 23:59:59 mx1 exim[1]: 1xX1kN-0007i0-1Z Completed",
		"Jan  1 00:00:01 mx1 exim[1]: 1xX1kN-0007i1-1Z Completed",
	}
	for _, tt := range []struct {
		opt  Options
		want []int
	}{
		{Options{ModTime: time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)}, []int{2026, 2027}},
		{Options{Year: 2020}, []int{2020, 2021}},
	} {
		tt.opt.Location = time.UTC
		p := NewParser(tt.opt)
		for i, l := range lines {
			evs, err := p.Parse(nil, []byte(l), parsers.Pos{})
			if err != nil {
				t.Fatal(err)
			}
			if y := evs[0].Time.Year(); y != tt.want[i] {
				t.Errorf("%+v: %q in %d, want %d", tt.opt, l, y, tt.want[i])
			}
		}
	}
}

// rejectEntry is a rejectlog entry, the refusal of a message after DATA
// with the header dump, as Exim's write_syslog sends it: one line per
// syslog call, numbered, the backslash ending each line of the entry.
// Another process's line comes in between, as it can.
var rejectEntry = []string{
	`Jun 29 16:04:19 mx1 exim[4242]: [1\7] 2026-06-29 16:04:19 1xX1kN-0007i0-1Z H=(helo) [192.0.2.7] F=<a@b.example> rejected after DATA: spam`,
	`Jun 29 16:04:19 mx1 exim[4242]: [2\7] Envelope-from: <a@b.example>`,
	`Jun 29 16:04:19 mx1 exim[4243]: 2026-06-29 16:04:19 1xX1kN-0007i1-1Z Completed`,
	`Jun 29 16:04:19 mx1 exim[4242]: [3\7] Envelope-to: <c@outside.example>`,
	`Jun 29 16:04:19 mx1 exim[4242]: [4\7]     <e@f.example>`,
	`Jun 29 16:04:19 mx1 exim[4242]: [5\7] P Received: from [192.0.2.7] (helo=helo)`,
	`Jun 29 16:04:19 mx1 exim[4242]: [6\7] #011by mx1 with esmtp (Exim 4.96)`,
	`Jun 29 16:04:19 mx1 exim[4242]: [7/7] I Message-ID: <x@b.example>`,
}

func TestSyslogPieces(t *testing.T) {
	p := NewParser(Options{Location: time.UTC})
	var evs []parsers.Event
	for i, l := range rejectEntry {
		pos := parsers.Pos{File: "mail.log", Line: i + 1, Offset: int64(100 * i)}
		got, err := p.Parse(nil, []byte(l), pos)
		if err != nil && (i == 2 || i == len(rejectEntry)-1) {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err == nil && i != 2 && i != len(rejectEntry)-1 && len(got) > 0 {
			t.Errorf("line %d: events before the entry's last piece: %+v", i+1, got)
		}
		evs = append(evs, got...)
	}
	var rcpts []string
	for _, ev := range evs {
		if ev.Kind != parsers.KindReject {
			if ev.Kind != parsers.KindRemoved || ev.Pos.Line != 3 || ev.Daemon != "mainlog" {
				t.Errorf("interleaved line: %+v", ev)
			}
			continue
		}
		rcpts = append(rcpts, ev.Rcpt)
		if ev.Pos.Line != 8 || ev.Daemon != "rejectlog" || ev.Host != "mx1" || ev.QueueID != "1xX1kN-0007i0-1Z" ||
			ev.ClientIP != ip("192.0.2.7") || ev.Reason != "after DATA: spam" {
			t.Errorf("entry's event: %+v", ev)
		}
		if !strings.HasPrefix(ev.Raw, `Jun 29 16:04:19 mx1 exim[4242]: [1\7] `) {
			t.Errorf("Raw = %q, want the first piece's header", ev.Raw)
		}
	}
	if want := []string{"", "c@outside.example", "e@f.example"}; !reflect.DeepEqual(rcpts, want) {
		t.Errorf("refused recipients = %q, want %q", rcpts, want)
	}
}

// TestSyslogLongLine checks an entry longer than 870 characters, cut into
// pieces marked with a slash, joined back into the line Exim logged.
func TestSyslogLongLine(t *testing.T) {
	var rcpts []string
	for i := range 40 {
		rcpts = append(rcpts, "recipient-number-"+string(rune('a'+i%26))+"@corp.example")
	}
	line := "2026-06-29 16:04:19 1xX1kN-0007i0-1Z <= a@b.example H=(helo) [192.0.2.7] P=esmtp S=10 for " + strings.Join(rcpts, " ")
	pieces := cut(line, 870)
	if len(pieces) < 2 {
		t.Fatalf("line of %d characters in %d pieces", len(line), len(pieces))
	}
	p := NewParser(Options{Location: time.UTC})
	var got []parsers.Event
	for i, piece := range pieces {
		l := "Jun 29 16:04:19 mx1 exim[9]: " + piece
		evs, err := p.Parse(nil, []byte(l), parsers.Pos{Line: i + 1})
		if i < len(pieces)-1 && (err != nil || len(evs) > 0) {
			t.Fatalf("piece %d: %v %+v", i+1, err, evs)
		}
		got = append(got, evs...)
	}
	want, err := NewParser(Options{Location: time.UTC}).Parse(nil, []byte(line), parsers.Pos{Line: len(pieces)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != 41 {
		t.Fatalf("%d events, want %d (of 41)", len(got), len(want))
	}
	for i := range want {
		want[i].Host, want[i].Raw = "mx1", `Jun 29 16:04:19 mx1 exim[9]: [1/`+string(rune('0'+len(pieces)))+"] "+line
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("event %d =\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}

// cut splits one log line the way write_syslog does when it is longer than
// max: pieces of max characters, "[n/m] " before each.
func cut(line string, max int) []string {
	var parts []string
	for len(line) > max {
		parts = append(parts, line[:max])
		line = line[max:]
	}
	parts = append(parts, line)
	if len(parts) == 1 {
		return parts
	}
	for i := range parts {
		parts[i] = "[" + string(rune('1'+i)) + "/" + string(rune('0'+len(parts))) + "] " + parts[i]
	}
	return parts
}

// TestSyslogLostPieces checks that an entry whose start or middle is not in
// the log is dropped without taking the next entry with it.
func TestSyslogLostPieces(t *testing.T) {
	p := NewParser(Options{Location: time.UTC})
	for i, tt := range []struct {
		line    string
		wantErr error
		events  int
	}{
		{`Jun 29 16:04:19 mx1 exim[1]: [2\3] Envelope-to: <c@d.example>`, parsers.ErrUnsupported, 0},
		{`Jun 29 16:04:19 mx1 exim[1]: [1\3] 2026-06-29 16:04:19 1xX1kN-0007i0-1Z H=[192.0.2.7] rejected after DATA: spam`, nil, 0},
		{`Jun 29 16:04:19 mx1 exim[1]: [3/3] I Message-ID: <x@y>`, parsers.ErrUnsupported, 0},                            // piece 2 lost
		{`Jun 29 16:04:19 mx1 exim[1]: [1\2] 2026-06-29 16:04:19 H=[192.0.2.7] rejected RCPT <c@d.example>: no`, nil, 0}, // a new entry
		{`Jun 29 16:04:20 mx1 exim[1]: [1\2] 2026-06-29 16:04:20 H=[192.0.2.8] rejected RCPT <e@f.example>: no`, nil, 0}, // its end lost too
		{`Jun 29 16:04:20 mx1 exim[1]: [2/2] Envelope-from: <>`, nil, 1},
	} {
		evs, err := p.Parse(nil, []byte(tt.line), parsers.Pos{Line: i + 1})
		if !errors.Is(err, tt.wantErr) || len(evs) != tt.events {
			t.Errorf("line %d: %d events, error %v; want %d, %v", i+1, len(evs), err, tt.events, tt.wantErr)
		}
		if len(evs) == 1 && (evs[0].Rcpt != "e@f.example" || evs[0].Daemon != "rejectlog") {
			t.Errorf("line %d: %+v", i+1, evs[0])
		}
	}
}

// TestSyslogDuplication checks that with syslog_duplication a refusal
// written to both logs is read once as the mainlog's and once as the
// rejectlog's, and that a client's repeated refusal still counts each time.
func TestSyslogDuplication(t *testing.T) {
	const (
		refusal = "2026-06-29 16:04:19 H=(helo) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted"
		other   = "2026-06-29 16:04:19 H=(helo) [192.0.2.9] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted"
		login   = "2026-06-29 16:04:19 plain authenticator failed for (x) [192.0.2.7]: 535 Incorrect authentication data (set_id=bob)"
		dataRej = "2026-06-29 16:04:19 1xX1kN-0007i0-1Z H=(helo) [192.0.2.7] F=<a@b.example> rejected after DATA: spam"
		arrival = "2026-06-29 16:04:19 1xX1kN-0007i1-1Z <= a@b.example H=(helo) [192.0.2.7] P=esmtp S=10"
	)
	line := func(pid, msg string) string { return "Jun 29 16:04:19 mx1 exim[" + pid + "]: " + msg }
	for _, tt := range []struct {
		name  string
		lines []string
		want  []string // the daemon of each line's events; "" for none
	}{
		{"duplicated refusal", []string{line("1", refusal), line("1", refusal)}, []string{"mainlog", "rejectlog"}},
		{"client repeats it", []string{line("1", refusal), line("1", refusal), line("1", refusal), line("1", refusal)},
			[]string{"mainlog", "rejectlog", "mainlog", "rejectlog"}},
		{"other process between", []string{line("1", refusal), line("2", other), line("1", refusal), line("2", other)},
			[]string{"mainlog", "mainlog", "rejectlog", "rejectlog"}},
		{"same text, other process", []string{line("1", refusal), line("2", refusal)}, []string{"mainlog", "mainlog"}},
		{"failed login", []string{line("1", login), line("1", login)}, []string{"mainlog", "rejectlog"}},
		{"arrival is never a copy", []string{line("1", arrival), line("1", arrival)}, []string{"mainlog", "mainlog"}},
		{"copy with header dump", []string{line("1", dataRej), line("1", `[1\2] `+dataRej), line("1", "[2/2] Envelope-to: <c@d.example>"), line("1", dataRej)},
			[]string{"mainlog", "", "rejectlog", "mainlog"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(Options{Location: time.UTC})
			for i, l := range tt.lines {
				evs, _ := p.Parse(nil, []byte(l), parsers.Pos{Line: i + 1})
				got := ""
				for _, ev := range evs {
					if got != "" && ev.Daemon != got {
						t.Errorf("line %d: events of two logs: %+v", i+1, evs)
					}
					got = ev.Daemon
				}
				if got != tt.want[i] {
					t.Errorf("line %d %q: daemon %q, want %q", i+1, l, got, tt.want[i])
				}
			}
		})
	}
}

func TestSniffSyslog(t *testing.T) {
	for _, tt := range []struct {
		line string
		want bool
	}{
		{"Jun 29 16:04:19 server exim[1234]: dovecot_login authenticator failed for ([192.0.2.5]) [192.0.2.4]:55379: 535 Incorrect authentication data (set_id=a@b.example)", true},
		{"2019-10-22 03:39:17 mx1.fqdn.local exim[29786]: dovecot_login authenticator failed for (User) [192.0.2.37]: 535 Incorrect authentication data", true},
		{"exim[14700]: 2006-11-21 15:01:33 1Glsgv-0002wv-00 Completed", true},
		{"2026-06-29T16:04:19.250000+02:00 mx1 exim4[1234]: 1xX1kN-0007i0-1Z Completed", true},
		{`{"__REALTIME_TIMESTAMP":"1782749059000000","SYSLOG_IDENTIFIER":"exim4","MESSAGE":"1xX1kN-0007i0-1Z Completed"}`, true},
		{`{"__REALTIME_TIMESTAMP":"1782749059000000","SYSLOG_IDENTIFIER":"postfix/smtpd","MESSAGE":"connect from x"}`, false},
		{"Jun 29 16:04:19 mx1 dovecot[12]: imap-login: Login", false},
		{"Jun 29 16:04:19 mx1 eximstats: report", false},
	} {
		if got := Sniff([]byte(tt.line)); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

// FuzzSyslogPieces feeds two lines to one parser, so that the second sees
// the pieces and refusals the first left: no panic, and every event is the
// second line's.
func FuzzSyslogPieces(f *testing.F) {
	f.Add(rejectEntry[0], rejectEntry[1])
	f.Add(`Jun 29 16:04:19 mx1 exim[9]: [1/2] 2026-06-29 16:04:19 1xX1kN-0007i0-1Z <= a@b.example H=[192.0.2.7] P=esmtp S=10 for x`,
		`Jun 29 16:04:19 mx1 exim[9]: [2/2] y@corp.example`)
	for _, tt := range syslogTests {
		f.Add(tt.line, tt.line)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		p := NewParser(Options{Location: time.UTC, ModTime: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)})
		for i, line := range []string{a, b} {
			pos := parsers.Pos{File: "fuzz", Line: i + 1}
			evs, err := p.Parse(nil, []byte(line), pos)
			var pe *parsers.ParseError
			if err != nil && !errors.Is(err, parsers.ErrUnsupported) && !errors.As(err, &pe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			for _, ev := range evs {
				if ev.Pos != pos || ev.Raw == "" || ev.Time.Location() != time.UTC || ev.Format != "exim" {
					t.Fatalf("event lost its evidence: %+v", ev)
				}
			}
		}
	})
}
