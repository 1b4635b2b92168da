package main

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEximSyslogLabels turns each Exim corpus run (mainlog + rejectlog)
// into the one file a server with log_file_path = syslog writes, as rsyslog
// and as journalctl -o json give it, scans that file as a user would
// (format detected, no --input-format) and checks every recipient and
// failed login against labels.csv, as TestEximCorpusLabels does for the two
// files. The conversion follows Exim's write_syslog (specification, "Log
// files"): a line in both logs is sent twice (syslog_duplication), the
// rejectlog entry right after the mainlog line; an entry of several lines
// or over 870 characters goes in pieces "[n\m] " / "[n/m] ". The analysis
// package's TestEximSyslogVerdicts checks more forms against the files'
// verdicts.
func TestEximSyslogLabels(t *testing.T) {
	for _, form := range []string{"rsyslog", "journald"} {
		for _, run := range []string{"dev", "dev-alt"} {
			t.Run(form+"/"+run, func(t *testing.T) {
				src := filepath.Join("../../testdata/exim", run)
				dir := t.TempDir()
				for _, f := range []string{"config.json", "labels.csv"} {
					data, err := os.ReadFile(filepath.Join(src, f))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				mainlog, err := os.ReadFile(filepath.Join(src, "mainlog"))
				if err != nil {
					t.Fatal(err)
				}
				rejectlog, err := os.ReadFile(filepath.Join(src, "rejectlog"))
				if err != nil {
					t.Fatal(err)
				}
				text := eximToSyslog(t, string(mainlog), string(rejectlog), form)
				if err := os.WriteFile(filepath.Join(dir, "mail.log"), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				checkLabels(t, corpusRun{dir: dir, logs: []string{"mail.log"}})
			})
		}
	}
}

var eximLineStamp = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d{3})?( [-+]\d{4})? `)

// eximToSyslog merges a mainlog and its rejectlog into one syslog file.
func eximToSyslog(t *testing.T, mainlog, rejectlog, form string) string {
	t.Helper()
	type entry struct {
		lines []string
		at    time.Time
	}
	split := func(log string) []entry {
		var out []entry
		for _, l := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
			m := eximLineStamp.FindStringSubmatch(l)
			if m == nil {
				out[len(out)-1].lines = append(out[len(out)-1].lines, l)
				continue
			}
			at, err := time.Parse(time.DateTime, m[1])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, entry{[]string{l}, at})
		}
		return out
	}
	var b strings.Builder
	send := func(e entry, severity int) {
		pid := 1000 + int(crc32.ChecksumIEEE([]byte(e.lines[0]))%30000)
		var msgs []string
		for _, l := range e.lines {
			for len(l) > 870 {
				msgs, l = append(msgs, l[:870]+"/"), l[870:]
			}
			msgs = append(msgs, l+`\`)
		}
		for i, m := range msgs {
			text, mark := m[:len(m)-1], m[len(m)-1:]
			if len(msgs) == 1 {
				mark = ""
			} else if i == len(msgs)-1 {
				mark = "/"
			}
			if mark != "" {
				text = fmt.Sprintf("[%d%s%d] %s", i+1, mark, len(msgs), text)
			}
			if form == "journald" {
				j, err := json.Marshal(map[string]string{
					"__REALTIME_TIMESTAMP": fmt.Sprint(e.at.UnixMicro()), "_HOSTNAME": "mail",
					"SYSLOG_IDENTIFIER": "exim4", "_PID": fmt.Sprint(pid), "PRIORITY": fmt.Sprint(severity), "MESSAGE": text,
				})
				if err != nil {
					t.Fatal(err)
				}
				b.Write(j)
			} else {
				fmt.Fprintf(&b, "%s mail exim[%d]: %s", e.at.Format(time.Stamp), pid, text)
			}
			b.WriteByte('\n')
		}
	}
	rejects := split(rejectlog)
	for _, m := range split(mainlog) {
		for len(rejects) > 0 && rejects[0].at.Before(m.at) {
			send(rejects[0], 5)
			rejects = rejects[1:]
		}
		send(m, 6)
		if len(rejects) > 0 && rejects[0].lines[0] == m.lines[0] {
			send(rejects[0], 5)
			rejects = rejects[1:]
		}
	}
	for _, r := range rejects {
		send(r, 5)
	}
	return b.String()
}
