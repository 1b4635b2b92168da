package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
)

// verdictCounts runs `report recipients --format json` and counts the
// recipients per "mta verdict".
func verdictCounts(t *testing.T, db string) map[string]int {
	t.Helper()
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "recipients"}, &out, nil); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	var rs []analysis.Recipient
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("report recipients JSON: %v", err)
	}
	n := map[string]int{}
	for _, r := range rs {
		n[r.MTA+" "+string(r.Verdict)]++
	}
	return n
}

// scanInto runs scan with a config and returns stderr; relay abuse found is
// not an error here.
func scanInto(t *testing.T, db, config string, paths ...string) (string, error) {
	t.Helper()
	args := []string{"scan", "--db", db, "--config", config, "--timezone", "UTC", "--year", "2026", "--progress", "never"}
	var stdout, stderr bytes.Buffer
	err := runCLI(t, append(args, paths...), &stdout, &stderr)
	if errors.Is(err, errRelayFound) {
		err = nil
	}
	return stderr.String(), err
}

// splitLines cuts data in two at the line boundary nearest the middle.
func splitLines(data []byte) (first, second []byte) {
	i := bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
	return data[:i], data[i:]
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMixedMTADirectory: a directory holding Postfix and Exim logs side by
// side, rotated and partly gzipped, is scanned in one command; each file is
// read by its own parser (told by content, not name) and every MTA's
// verdicts are those of its corpus scanned alone.
func TestMixedMTADirectory(t *testing.T) {
	// Both dev corpora share one policy (corp.example, 127.0.0.1/32).
	const config = "../../testdata/postfix/dev/config.json"
	if !bytes.Equal(readFile(t, config), readFile(t, "../../testdata/exim/dev/config.json")) {
		t.Fatal("the Postfix and Exim dev policies differ: pass their union")
	}
	want := map[string]int{}
	for _, paths := range [][]string{
		{"../../testdata/postfix/dev/postfix.log"},
		{"../../testdata/exim/dev/mainlog", "../../testdata/exim/dev/rejectlog"},
	} {
		db := filepath.Join(t.TempDir(), "alone.db")
		if out, err := scanInto(t, db, config, paths...); err != nil {
			t.Fatalf("scan %v: %v\n%s", paths, err, out)
		}
		for k, n := range verdictCounts(t, db) {
			want[k] += n
		}
	}

	dir := t.TempDir()
	pf1, pf2 := splitLines(readFile(t, "../../testdata/postfix/dev/postfix.log"))
	ex1, ex2 := splitLines(readFile(t, "../../testdata/exim/dev/mainlog"))
	formats := map[string]string{
		"mail.log.1.gz": "postfix", "mail.log": "postfix",
		"mainlog.1.gz": "exim", "mainlog": "exim", "rejectlog": "exim",
	}
	writeFile(t, filepath.Join(dir, "mail.log.1.gz"), gzipBytes(t, pf1))
	writeFile(t, filepath.Join(dir, "mail.log"), pf2)
	writeFile(t, filepath.Join(dir, "mainlog.1.gz"), gzipBytes(t, ex1))
	writeFile(t, filepath.Join(dir, "mainlog"), ex2)
	writeFile(t, filepath.Join(dir, "rejectlog"), readFile(t, "../../testdata/exim/dev/rejectlog"))

	db := filepath.Join(t.TempDir(), "mixed.db")
	out, err := scanInto(t, db, config, dir)
	if err != nil {
		t.Fatalf("scan %s: %v\n%s", dir, err, out)
	}
	if !strings.Contains(out, "total: 5 files,") || !strings.Contains(out, " 0 malformed, 0 skipped") {
		t.Errorf("scan did not read all five files cleanly:\n%s", out)
	}
	sum := summaryOf(t, db)
	for _, f := range sum.Files {
		if want := formats[filepath.Base(f.Path)]; f.Format != want || f.Malformed != 0 || !f.Complete {
			t.Errorf("%s: read as %s (%d malformed, complete %v), want %s, 0 malformed, complete",
				f.Path, f.Format, f.Malformed, f.Complete, want)
		}
	}
	if len(sum.Files) != len(formats) {
		t.Errorf("%d files in the summary, want %d", len(sum.Files), len(formats))
	}
	got := verdictCounts(t, db)
	for k := range merged(got, want) {
		if got[k] != want[k] {
			t.Errorf("%s: %d recipients, want %d as when scanned alone", k, got[k], want[k])
		}
	}
	if want["postfix relay_abuse"] == 0 || want["exim relay_abuse"] == 0 {
		t.Errorf("the corpora lost their relay abuse: %v", want)
	}
}

func merged(a, b map[string]int) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// TestInputFormatMismatch: --input-format forces a parser; forcing the
// wrong one is not silent. Postfix's syslog lines read as Exim are
// well-formed syslog lines of another program (Exim may log through
// syslog): of no interest, and the file is flagged as holding no Exim line.
// A file that is not syslog at all is malformed line by line, the first
// ones shown by file:line.
func TestInputFormatMismatch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rs.db")
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"scan", "--db", db, "--config", "../../testdata/postfix/dev/config.json",
		"--timezone", "UTC", "--progress", "never", "--input-format", "exim", sampleLog}, &stdout, &stderr)
	// Nothing was read as a mail log: exit 1, no all-clear, no database.
	if !errors.Is(err, errNothingRead) {
		t.Fatalf("scan: err = %v, want nothing read\n%s", err, stderr.String())
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a database was left behind by a run that read no mail log")
	}
	out := stderr.String()
	for _, want := range []string{
		sampleLog + ": 739 lines, 0 events, 739 unsupported, 0 malformed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}

	notSyslog := filepath.Join(t.TempDir(), "app.log")
	var lines []string
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("level=info msg=\"request %d served\"", i))
	}
	if err := os.WriteFile(notSyslog, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	// Beside a log that is read, it is one input that could not be read.
	err = runCLI(t, []string{"scan", "--db", db, "--config", "../../testdata/exim/dev/config.json",
		"--timezone", "UTC", "--progress", "never", "--input-format", "exim", notSyslog, "../../testdata/exim/dev/mainlog"}, &stdout, &stderr)
	if !errors.Is(err, errInputs) && !errors.Is(err, errRelayFound) {
		t.Fatalf("scan: err = %v, want some inputs unreadable\n%s", err, stderr.String())
	}
	out = stderr.String()
	for _, want := range []string{
		notSyslog + ":1: exim: ",
		notSyslog + ": 20 more malformed lines not shown",
		notSyslog + ": 30 lines, 0 events, 0 unsupported, 30 malformed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, ": exim: "); n != pipeline.MaxShownErrors {
		t.Errorf("%d malformed lines shown, want %d", n, pipeline.MaxShownErrors)
	}
	if s := summaryOf(t, db); s.Malformed != 30 || s.Events == 0 {
		t.Errorf("summary: %d malformed, %d events; want 30, and the mainlog's events", s.Malformed, s.Events)
	}
}

// exchangeDev is the dev set's log folder.
const exchangeDev = "../../testdata/exchange/dev/EXSRV2/TransportRoles/Logs"

// exchangeRecv reads the dev set's receive protocol log as its header block
// and data lines (CRLF kept).
func exchangeRecv(t *testing.T) (header []byte, rows [][]byte) {
	t.Helper()
	lines := bytes.SplitAfter(readFile(t, exchangeDev+"/FrontEnd/ProtocolLog/SmtpReceive/RECV2025020614-1.LOG"), []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the file ends with a line end
	}
	n := 0
	for n < len(lines) && bytes.HasPrefix(bytes.TrimPrefix(lines[n], []byte("\ufeff")), []byte("#")) {
		n++
	}
	return bytes.Join(lines[:n], nil), lines[n:]
}

// exchangeVerdicts scans paths with the dev policy and returns stderr and
// each recipient's "client|recipient" → "verdict auth-user".
func exchangeVerdicts(t *testing.T, paths ...string) (string, map[string]string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rs.db")
	out, err := scanInto(t, db, "../../testdata/exchange/dev/config.json", paths...)
	if err != nil && !errors.Is(err, errInputs) {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	var buf bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "recipients"}, &buf, nil); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	var rs []analysis.Recipient
	if err := json.Unmarshal(buf.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rs {
		got[r.ClientIP+"|"+r.Recipient] = fmt.Sprintf("%s %s", r.Verdict, r.AuthUser)
	}
	return out, got
}

// TestExchangeDamagedLogs feeds scan Exchange logs as they are found on
// real servers and in copies: rows cut short, a file that lost its
// #Fields: header, a file cut mid-session, a session continued in the next
// rotated file. Each is handled and reported (file:line for bad rows), the
// run goes on, and every recipient keeps the verdict of the intact set.
func TestExchangeDamagedLogs(t *testing.T) {
	_, want := exchangeVerdicts(t, exchangeDev)
	if len(want) != 5 {
		t.Fatalf("intact set: %d recipients, want 5: %v", len(want), want)
	}
	header, rows := exchangeRecv(t)
	// rows[i] is on line headerLines+i+1 of the file.
	headerLines := bytes.Count(header, []byte("\n"))
	// row returns the index in rows of the first row containing all of subs.
	row := func(subs ...string) int {
		t.Helper()
	next:
		for i, r := range rows {
			for _, s := range subs {
				if !bytes.Contains(r, []byte(s)) {
					continue next
				}
			}
			return i
		}
		t.Fatalf("no receive log row with %q", subs)
		return -1
	}
	tracking := func(dir string) {
		t.Helper()
		for _, f := range []string{"MSGTRK2025020614-1.LOG", "MSGTRKMD2025020614-1.LOG"} {
			writeFile(t, filepath.Join(dir, f), readFile(t, exchangeDev+"/MessageTracking/"+f))
		}
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	same := func(t *testing.T, got map[string]string) {
		t.Helper()
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: %q, want %q", k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: %q, not in the intact set", k, got[k])
			}
		}
	}

	t.Run("truncated rows", func(t *testing.T) {
		dir := t.TempDir()
		tracking(dir)
		// Two information rows of the authenticated session cut inside a
		// quoted field and after a few columns, and the last row of the
		// file cut without its line end, as a crash leaves it.
		cert, chain := row("192.0.2.60", `," CN=`), row("192.0.2.60", "Client certificate chain")
		last := len(rows) - 1
		cut := make([][]byte, len(rows))
		copy(cut, rows)
		cut[cert] = append(append([]byte(nil), rows[cert][:len(rows[cert])/2]...), '\r', '\n')
		cut[chain] = append(append([]byte(nil), rows[chain][:60]...), '\r', '\n')
		cut[last] = rows[last][:50]
		recv := filepath.Join(dir, "RECV2025020614-1.LOG")
		writeFile(t, recv, join(header, bytes.Join(cut, nil)))
		out, got := exchangeVerdicts(t, dir)
		for _, i := range []int{cert, chain, last} {
			if want := fmt.Sprintf("%s:%d: exchange: ", recv, headerLines+i+1); !strings.Contains(out, want) {
				t.Errorf("stderr lacks %q:\n%s", want, out)
			}
		}
		if want := fmt.Sprintf("%s: %d lines, ", recv, headerLines+len(rows)); !strings.Contains(out, want) || !strings.Contains(out, " 3 malformed\n") {
			t.Errorf("stderr lacks the file's counts (%q..., 3 malformed):\n%s", want, out)
		}
		same(t, got)
	})

	t.Run("missing #Fields header", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "RECV2025020614-1.LOG"), join(header, bytes.Join(rows, nil)))
		// The tracking log lost its header block: Exchange's file name
		// tells the log type, and the documented columns are used.
		trk := bytes.SplitAfter(readFile(t, exchangeDev+"/MessageTracking/MSGTRK2025020614-1.LOG"), []byte("\n"))
		var data [][]byte
		for _, l := range trk {
			if !bytes.HasPrefix(bytes.TrimPrefix(l, []byte("\ufeff")), []byte("#")) {
				data = append(data, l)
			}
		}
		writeFile(t, filepath.Join(dir, "MSGTRK2025020614-1.LOG"), bytes.Join(data, nil))
		writeFile(t, filepath.Join(dir, "MSGTRKMD2025020614-1.LOG"), readFile(t, exchangeDev+"/MessageTracking/MSGTRKMD2025020614-1.LOG"))
		// The same rows under a name Exchange does not write are told by
		// their shape, and being the same rows, are already stored.
		odd := filepath.Join(dir, "export.csv")
		writeFile(t, odd, bytes.Join(data, nil))
		out, got := exchangeVerdicts(t, dir)
		if want := "export.csv: already ingested (as "; !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
		if !strings.Contains(out, "total: 4 files,") || !strings.Contains(out, " 0 malformed, 0 skipped") {
			t.Errorf("want 4 files read, 0 malformed, 0 skipped:\n%s", out)
		}
		same(t, got)
	})

	t.Run("file cut mid-session", func(t *testing.T) {
		dir := t.TempDir()
		tracking(dir)
		// The open relay's session ends after its RCPT was accepted: the
		// 250 2.6.0 that joins it to the tracking log is lost, and the
		// last row has no line end.
		end := row("203.0.113.66", "250 2.1.5 Recipient OK")
		cut := bytes.TrimSuffix(bytes.Join(rows[:end+1], nil), []byte("\r\n"))
		recv := filepath.Join(dir, "RECV2025020614-1.LOG")
		writeFile(t, recv, join(header, cut))
		out, got := exchangeVerdicts(t, dir)
		if want := fmt.Sprintf("%s: %d lines, ", recv, headerLines+end+1); !strings.Contains(out, want) || !strings.Contains(out, " 0 malformed, 0 skipped") {
			t.Errorf("stderr lacks %q... and 0 malformed, 0 skipped:\n%s", want, out)
		}
		same(t, got)
		// The verdict rests on the tracking log alone, and says so.
		db := filepath.Join(t.TempDir(), "rs.db")
		scanInto(t, db, "../../testdata/exchange/dev/config.json", dir)
		var buf bytes.Buffer
		if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "recipients"}, &buf, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "lower confidence: message tracking only") {
			t.Errorf("the cut session's recipient is not marked lower confidence:\n%s", buf.String())
		}
	})

	t.Run("session continued in the next file", func(t *testing.T) {
		// Exchange starts RECV…-2.LOG when -1 reaches its size limit, in
		// the middle of sessions. Cut between the authenticated session's
		// RCPT and its reply (pipelined replies are paired across the
		// files), and between the open relay's RCPT and DATA.
		for _, tc := range []struct {
			name  string
			after int
		}{
			{"authenticated RCPT|reply", row("192.0.2.60", "RCPT TO:")},
			{"open relay RCPT|DATA", row("203.0.113.66", "250 2.1.5 Recipient OK")},
		} {
			for _, withTracking := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s tracking=%v", tc.name, withTracking), func(t *testing.T) {
					dir := t.TempDir()
					if withTracking {
						tracking(dir)
					}
					// The next file has its own header: its #Date differs.
					next := bytes.Replace(header, []byte("#Date: 2025-02-06T14:00:00.061Z"), []byte("#Date: 2025-02-06T14:15:33.300Z"), 1)
					if bytes.Equal(next, header) {
						t.Fatal("header has no #Date to change")
					}
					writeFile(t, filepath.Join(dir, "RECV2025020614-1.LOG"), join(header, bytes.Join(rows[:tc.after+1], nil)))
					writeFile(t, filepath.Join(dir, "RECV2025020614-2.LOG"), join(next, bytes.Join(rows[tc.after+1:], nil)))
					out, got := exchangeVerdicts(t, dir)
					if !strings.Contains(out, " 0 malformed, 0 skipped") {
						t.Errorf("scan reported malformed or skipped inputs:\n%s", out)
					}
					if withTracking {
						same(t, got)
						return
					}
					// Without the tracking log the protocol log alone
					// decides: as for the unrotated file.
					_, whole := exchangeVerdicts(t, exchangeDev+"/FrontEnd/ProtocolLog/SmtpReceive/RECV2025020614-1.LOG")
					for k := range merged(toCounts(got), toCounts(whole)) {
						if got[k] != whole[k] {
							t.Errorf("%s: %q, want %q as in the unrotated log", k, got[k], whole[k])
						}
					}
				})
			}
		}
	})
}

func toCounts(m map[string]string) map[string]int {
	n := map[string]int{}
	for k := range m {
		n[k] = 1
	}
	return n
}
