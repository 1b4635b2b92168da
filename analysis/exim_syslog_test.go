package analysis

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/exim"
)

// The Exim corpora (mainlog + rejectlog, real Exim 4.96) turned into what
// the same server writes with log_file_path = syslog, and read back: the
// verdicts must be those of the two files. The converter follows Exim's
// documented syslog behaviour (specification, "Log files"; log.c,
// write_syslog): one syslog call per entry, at LOG_INFO for the mainlog
// and LOG_NOTICE for the rejectlog; a line in both logs sent twice with
// syslog_duplication (the default), once without; Exim's stamp left out
// with syslog_timestamp false; an entry of several lines or longer than 870
// characters sent in pieces "[n\m] " (the piece ends a line of the entry)
// or "[n/m] " (the line goes on, or the last piece).

// syslogForm is one way a server's Exim logs reach a file through syslog.
type syslogForm struct {
	name        string
	header      func(t time.Time, pid int, severity int, msg string) string
	timestamp   bool // syslog_timestamp
	duplication bool // syslog_duplication
	max         int  // where write_syslog cuts a line (870; smaller to stress the joining)
}

const syslogHost = "mx1"

var syslogForms = []syslogForm{
	{name: "rsyslog BSD stamp", timestamp: true, duplication: true, max: 870,
		header: func(t time.Time, pid, _ int, msg string) string {
			return fmt.Sprintf("%s %s exim[%d]: %s", t.Format(time.Stamp), syslogHost, pid, msg)
		}},
	{name: "BSD stamp, syslog_timestamp false", timestamp: false, duplication: true, max: 870,
		header: func(t time.Time, pid, _ int, msg string) string {
			return fmt.Sprintf("%s %s exim[%d]: %s", t.Format(time.Stamp), syslogHost, pid, msg)
		}},
	{name: "rsyslog RFC 3339, exim4", timestamp: true, duplication: true, max: 870,
		header: func(t time.Time, pid, _ int, msg string) string {
			return fmt.Sprintf("%s %s exim4[%d]: %s", t.Format("2006-01-02T15:04:05.000000-07:00"), syslogHost, pid, msg)
		}},
	{name: "syslog-ng template, syslog_timestamp false", timestamp: false, duplication: true, max: 870,
		header: func(t time.Time, pid, _ int, msg string) string {
			return fmt.Sprintf("%s %s exim[%d]: %s", t.Format(time.DateTime), syslogHost, pid, msg)
		}},
	{name: "journalctl -o json", timestamp: true, duplication: true, max: 870, header: journalLine},
	{name: "journalctl -o json, syslog_timestamp false", timestamp: false, duplication: true, max: 870, header: journalLine},
	{name: "BSD stamp, syslog_duplication false", timestamp: true, duplication: false, max: 870,
		header: func(t time.Time, pid, _ int, msg string) string {
			return fmt.Sprintf("%s %s exim[%d]: %s", t.Format(time.Stamp), syslogHost, pid, msg)
		}},
	{name: "BSD stamp, every line in pieces of 60", timestamp: false, duplication: true, max: 60,
		header: func(t time.Time, pid, _ int, msg string) string {
			return fmt.Sprintf("%s %s exim[%d]: %s", t.Format(time.Stamp), syslogHost, pid, msg)
		}},
}

// journalLine is one line of journalctl -o json for a syslog message.
func journalLine(t time.Time, pid, severity int, msg string) string {
	b, err := json.Marshal(map[string]string{
		"__REALTIME_TIMESTAMP": fmt.Sprint(t.UnixMicro()),
		"_HOSTNAME":            syslogHost,
		"SYSLOG_IDENTIFIER":    "exim4",
		"_PID":                 fmt.Sprint(pid),
		"PRIORITY":             fmt.Sprint(severity),
		"SYSLOG_FACILITY":      "2",
		"MESSAGE":              msg,
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// eximStamp is the stamp an Exim log line starts with, and the space after.
var eximStamp = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d{3})?( [-+]\d{4})? `)

// logEntry is one log_write call: a line, and for the rejectlog the dump
// that follows it.
type logEntry struct {
	lines []string
	time  time.Time
}

func (e logEntry) text() string { return strings.Join(e.lines, "\n") }

// entries splits a log into entries: a stamped line starts one.
func entries(t *testing.T, log string) []logEntry {
	t.Helper()
	var out []logEntry
	for _, l := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		m := eximStamp.FindStringSubmatch(l)
		if m == nil {
			if len(out) == 0 {
				t.Fatalf("log starts with an unstamped line %q", l)
			}
			out[len(out)-1].lines = append(out[len(out)-1].lines, l)
			continue
		}
		ts, err := time.Parse(time.DateTime, m[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logEntry{lines: []string{l}, time: ts})
	}
	return out
}

// writeSyslog returns the messages write_syslog sends for one entry.
func writeSyslog(s string, max int) []string {
	s += "\n" // log_write ends every entry with a newline
	var out []string
	linecount := 0
	for pass := range 2 {
		ss := 0
		for i, tlen := 1, len(s); tlen > 0; i++ {
			plen := tlen
			if nl := strings.IndexByte(s[ss:], '\n'); nl >= 0 {
				plen = nl
			}
			plen = min(plen, max)
			tlen -= plen
			endsLine := ss+plen < len(s) && s[ss+plen] == '\n'
			if endsLine {
				tlen--
			}
			switch {
			case pass == 0:
				linecount++
			case linecount == 1:
				out = append(out, s[ss:ss+plen])
			default:
				mark := '/'
				if endsLine && tlen != 0 {
					mark = '\\'
				}
				out = append(out, fmt.Sprintf("[%d%c%d] %s", i, mark, linecount, s[ss:ss+plen]))
			}
			ss += plen
			if ss < len(s) && s[ss] == '\n' {
				ss++
			}
		}
	}
	return out
}

// toSyslog merges a mainlog and its rejectlog into one syslog file in form
// f, in the order Exim writes: a line in both logs is written to the
// mainlog first, the rejectlog entry right after it.
func toSyslog(t *testing.T, mainlog, rejectlog string, f syslogForm) string {
	t.Helper()
	var b strings.Builder
	send := func(e logEntry, severity int) {
		text := e.text()
		if !f.timestamp {
			text = eximStamp.ReplaceAllString(text, "")
		}
		// One process writes a line and its rejectlog copy: the pid
		// follows the line's text.
		pid := 1000 + int(crc32.ChecksumIEEE([]byte(eximStamp.ReplaceAllString(e.lines[0], "")))%30000)
		for _, msg := range writeSyslog(text, f.max) {
			b.WriteString(f.header(e.time, pid, severity, msg))
			b.WriteByte('\n')
		}
	}
	const info, notice = 6, 5
	rejects := entries(t, rejectlog)
	for _, m := range entries(t, mainlog) {
		for len(rejects) > 0 && rejects[0].time.Before(m.time) {
			send(rejects[0], notice) // in the rejectlog only
			rejects = rejects[1:]
		}
		inBoth := len(rejects) > 0 && rejects[0].lines[0] == m.lines[0]
		if f.duplication || !inBoth {
			send(m, info)
		}
		if inBoth {
			send(rejects[0], notice)
			rejects = rejects[1:]
		}
	}
	for _, r := range rejects {
		send(r, notice)
	}
	return b.String()
}

// syslogRecipients reads logs (name → text) with the Exim parser, file by
// file in the order given, and returns every recipient as a comparable
// string: what it is, not where it was read.
func syslogRecipients(t *testing.T, policy Policy, opt exim.Options, files [][2]string) []string {
	t.Helper()
	c := NewCorrelator(policy)
	for _, f := range files {
		o := opt
		o.Rejectlog = strings.Contains(f[0], "reject")
		p := exim.NewParser(o)
		bad := func(err error) { t.Errorf("malformed: %v", err) }
		_, err := parsers.Scan(t.Context(), strings.NewReader(f[1]), f[0], parsers.Start{}, p, func(ev parsers.Event) error {
			c.Feed(ev)
			return nil
		}, bad)
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, _ := c.Flush()
	last := map[string]Recipient{}
	for _, r := range rs {
		last[r.Key] = r
	}
	var out []string
	for _, r := range last {
		out = append(out, strings.Join([]string{r.Time.Format(time.RFC3339Nano), r.QueueID, strings.ToLower(r.Recipient),
			string(r.Verdict), r.Status, r.ClientIP, r.Helo, r.Sender, r.AuthUser, r.MessageID, r.Reason, fmt.Sprint(r.Hop)}, "|"))
	}
	slices.Sort(out)
	return out
}

func TestEximSyslogVerdicts(t *testing.T) {
	type run struct {
		name               string
		policy             Policy
		mainlog, rejectlog string
	}
	var runs []run
	for _, dir := range []string{"../testdata/exim/dev", "../testdata/exim/dev-alt"} {
		p, err := LoadPolicy(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		main, err := os.ReadFile(filepath.Join(dir, "mainlog"))
		if err != nil {
			t.Fatal(err)
		}
		rej, err := os.ReadFile(filepath.Join(dir, "rejectlog"))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run{filepath.Base(dir), p, string(main), string(rej)})
	}
	// A refusal after DATA, whose rejectlog entry carries the header dump
	// (the corpora have none), and a line over 870 characters.
	var p Policy
	if err := p.AddDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	long := "2026-11-27 19:40:06 1xX1kF-0007ff-1F <= s@spam.example H=(spam.example) [203.0.113.66] P=esmtp S=500 id=f1@spam.example T=\"" +
		strings.Repeat("very long subject ", 60) + "\""
	runs = append(runs, run{"refusal after DATA", p, `2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:05 1xX1kE-0007ee-1E H=(spam.example) [203.0.113.66] F=<s@spam.example> rejected after DATA: spam detected
` + long + `
2026-11-27 19:40:06 1xX1kF-0007ff-1F => x@outside.example R=dnslookup T=remote_smtp H=mx.outside.example [203.0.113.8]
2026-11-27 19:40:06 1xX1kF-0007ff-1F Completed
`, `2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:03 H=(helo.example) [203.0.113.66] F=<s@spam.example> rejected RCPT <v@victim.example>: relay not permitted
2026-11-27 19:40:05 1xX1kE-0007ee-1E H=(spam.example) [203.0.113.66] F=<s@spam.example> rejected after DATA: spam detected
Envelope-from: <s@spam.example>
Envelope-to: <t@victim.example>
    <carol@corp.example>
P Received: from [203.0.113.66] (helo=spam.example)
        by mail.corp.example with esmtp (Exim 4.96)
        id 1xX1kE-0007ee-1E
        for t@victim.example; Fri, 27 Nov 2026 19:40:05 +0000
I Message-ID: <e1@spam.example>
`})

	opt := exim.Options{Location: time.UTC, Year: 2026}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			want := syslogRecipients(t, r.policy, opt, [][2]string{{"mainlog", r.mainlog}, {"rejectlog", r.rejectlog}})
			verdicts := map[string]int{}
			for _, w := range want {
				verdicts[strings.Split(w, "|")[3]]++
			}
			if verdicts[string(RelayAbuse)] == 0 || verdicts[string(RelayAttemptRejected)] == 0 {
				t.Fatalf("mainlog + rejectlog: verdicts %v: the run should hold relaying and refused relaying", verdicts)
			}
			for _, f := range syslogForms {
				t.Run(f.name, func(t *testing.T) {
					log := toSyslog(t, r.mainlog, r.rejectlog, f)
					if f.max < 870 && !strings.Contains(log, `\`) && !strings.Contains(log, "/2] ") {
						t.Fatal("no line was cut")
					}
					got := syslogRecipients(t, r.policy, opt, [][2]string{{"mail.log", log}})
					want := want
					if !f.duplication {
						// Without syslog_duplication nothing tells a client's
						// refusal repeated word for word in one second from a
						// rejectlog copy: such repeats count once (an
						// undercount of refused attempts, never a false alarm).
						got, want = slices.Compact(got), slices.Compact(slices.Clone(want))
					}
					if !slices.Equal(got, want) {
						t.Errorf("%d recipients from syslog, %d from mainlog + rejectlog; differences:\n%s",
							len(got), len(want), diffLines(got, want))
					}
				})
			}
		})
	}
}

// diffLines lists what got has more of (+) and what want has more of (-).
func diffLines(got, want []string) string {
	n := map[string]int{}
	for _, g := range got {
		n[g]++
	}
	for _, w := range want {
		n[w]--
	}
	var b strings.Builder
	for _, s := range slices.Sorted(maps.Keys(n)) {
		for ; n[s] > 0; n[s]-- {
			fmt.Fprintf(&b, "+ %s\n", s)
		}
		for ; n[s] < 0; n[s]++ {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}
