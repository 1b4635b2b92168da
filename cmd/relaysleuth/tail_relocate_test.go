package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fileLines reads a log file as the admin would open it, gunzipped when
// its name says so.
func fileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// compressRotated compresses path to dst and removes path, as logrotate's compress.
func compressRotated(t *testing.T, path, dst string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

var refRE = regexp.MustCompile(`(/[^\s"<>,]*mail\.log[^\s"<>,:]*):(\d+)`)

// TestTailEvidenceAfterRotation follows a file through two of logrotate's
// rotations — rename and create (with lines written to the old file after
// the rename), then compression of the older one (mail.log.1 to
// mail.log.2.gz) — and checks that every stored file:line opens the line
// it names afterwards: in the store, in report recipients, in investigate
// and in the HTML report (issue 20, item 5).
func TestTailEvidenceAfterRotation(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	log1, log2 := log+".1", log+".2.gz"
	stored := func() int {
		return countRows(t, openDB(t, db), `SELECT coalesce(sum(lines), 0) FROM sources`)
	}
	appendLines(t, log, lines[:250])
	r := startTail(t, "--db", db, "--from-start", "--quiet", "0", "--format", "json", log)
	waitFor(t, "the first lines", func() bool { return stored() == 250 })

	// Rotation 1: rename and create; the daemon writes a few more lines to
	// the old file before it reopens.
	if err := os.Rename(log, log1); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log1, lines[250:260])
	appendLines(t, log, lines[260:500])
	waitFor(t, "the lines after the first rotation", func() bool { return stored() == 500 })

	// Rotation 2: the older file is compressed, the current one renamed.
	compressRotated(t, log1, log2)
	if err := os.Rename(log, log1); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log, lines[500:])
	waitFor(t, "the lines after the second rotation", func() bool { return stored() == len(lines) })
	r.stop(t)

	checkEvidenceOpens(t, db, log, len(lines))
}

// TestTailEvidenceAfterRotationWhileStopped is the same with tail stopped
// during each rotation: at its start it finds where the files went.
func TestTailEvidenceAfterRotationWhileStopped(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	log1, log2 := log+".1", log+".2.gz"
	stored := func() int {
		return countRows(t, openDB(t, db), `SELECT coalesce(sum(lines), 0) FROM sources`)
	}
	run := func(want int, args ...string) {
		r := startTail(t, append([]string{"--db", db, "--quiet", "0", "--format", "json"}, append(args, log)...)...)
		waitFor(t, "the lines", func() bool { return stored() == want })
		r.stop(t)
	}
	appendLines(t, log, lines[:250])
	run(250, "--from-start")
	if err := os.Rename(log, log1); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log1, lines[250:260])
	appendLines(t, log, lines[260:500])
	run(500)
	compressRotated(t, log1, log2)
	if err := os.Rename(log, log1); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log, lines[500:])
	run(len(lines))
	checkEvidenceOpens(t, db, log, len(lines))
}

// checkEvidenceOpens checks that every file:line that report recipients,
// investigate and the HTML report give leads to its line in log, log.1 and
// log.2.gz, which hold n lines.
func checkEvidenceOpens(t *testing.T, db, log string, n int) {
	t.Helper()
	log1, log2 := log+".1", log+".2.gz"
	files := map[string][]string{}
	for _, p := range []string{log, log1, log2} {
		files[p] = fileLines(t, p)
	}
	if len(files[log2]) != 260 || len(files[log1]) != 240 || len(files[log]) != n-500 {
		t.Fatalf("files hold %d, %d, %d lines", len(files[log2]), len(files[log1]), len(files[log]))
	}
	line := func(ref string) (string, bool) {
		m := refRE.FindStringSubmatch(ref)
		if m == nil {
			return "", false
		}
		n, _ := strconv.Atoi(m[2])
		fl, ok := files[m[1]]
		if !ok || n < 1 || n > len(fl) {
			return "", false
		}
		return fl[n-1], true
	}
	checked := map[string]bool{}

	// report recipients: each reference opens a line of its own message.
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "recipients", "--db", db, "--format", "json"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	var rcpts []relocatedRecipient
	if err := json.Unmarshal(out.Bytes(), &rcpts); err != nil {
		t.Fatal(err)
	}
	bad, total, inGz := 0, 0, 0
	for _, rc := range rcpts {
		for _, ref := range rc.Evidence {
			total++
			l, ok := line(ref)
			own := ok && (rc.QueueID != "" && strings.Contains(l, rc.QueueID) || strings.Contains(l, rc.Recipient) ||
				rc.ClientIP != "" && strings.Contains(l, "["+rc.ClientIP+"]"))
			if !own {
				bad++
				if bad <= 5 {
					t.Errorf("recipient %s (queue %s): %s opens %q", rc.Recipient, rc.QueueID, ref, l)
				}
				continue
			}
			checked[ref] = true
			if strings.HasPrefix(ref, log2+":") {
				inGz++
			}
		}
	}
	if bad > 0 || total < 500 || inGz == 0 {
		t.Errorf("report recipients: %d of %d references lead elsewhere (%d into %s)", bad, total, inGz, filepath.Base(log2))
	}

	// The stored lines (investigate's trail reads them back): each names
	// the line it was read from, the same text.
	mids := map[string]bool{}
	for _, rc := range rcpts {
		if rc.MessageID != "" && (rc.Verdict == "relay_abuse" || len(mids) < 15) {
			mids[rc.MessageID] = true
		}
	}
	trail := 0
	for mid := range mids {
		out.Reset()
		if err := runCLI(t, []string{"investigate", "--db", db, "--message-id", mid, "--format", "json"}, &out, nil); err != nil {
			t.Fatalf("investigate %s: %v", mid, err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				ev, _ := v["evidence"].(string)
				raw, hasRaw := v["raw"].(string)
				if ev != "" && hasRaw {
					trail++
					if l, _ := line(ev); l != raw {
						t.Errorf("investigate %s: %s opens %q, want %q", mid, ev, l, raw)
					} else {
						checked[ev] = true
					}
				}
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			case string:
				for _, m := range refRE.FindAllString(v, -1) {
					if _, ok := line(m); !ok {
						t.Errorf("investigate %s: %s names no line", mid, m)
					}
				}
			}
		}
		var doc any
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc)
	}
	if trail < 50 {
		t.Errorf("investigate showed %d lines with their evidence, want the trails of %d messages", trail, len(mids))
	}

	// The HTML report, when this build has one: every reference names a
	// line, and every line it quotes is the one its reference opens.
	out.Reset()
	err := runCLI(t, []string{"report", "forensic", "--db", db, "--format", "html"}, &out, nil)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		t.Logf("no HTML report in this build: %v", err)
	case err != nil && !errors.Is(err, errRelayFound):
		t.Fatalf("report forensic --format html: %v", err)
	default:
		checkHTMLEvidence(t, out.String(), line, checked)
	}
}

type relocatedRecipient struct {
	QueueID   string `json:"queue_id"`
	Recipient string
	ClientIP  string `json:"client_ip"`
	MessageID string `json:"message_id"`
	Verdict   string
	Evidence  []string
}

var (
	htmlRowRE  = regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
	htmlCellRE = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	htmlPreRE  = regexp.MustCompile(`(?s)<pre class="log">(.*?)</pre>`)
	ipRE       = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
)

// checkHTMLEvidence checks the references of the HTML report: a quoted
// line ("ref" then the line, in a pre block) must be the one its reference
// opens; a reference in a table row must open a line checked already (a
// recipient's or a stored line's), or one holding the row's text (a server
// event) or the row's client address (failed logins).
func checkHTMLEvidence(t *testing.T, page string, line func(string) (string, bool), checked map[string]bool) {
	t.Helper()
	n := 0
	for _, pre := range htmlPreRE.FindAllStringSubmatch(page, -1) {
		ls := strings.Split(html.UnescapeString(pre[1]), "\n")
		for i := 0; i+1 < len(ls); i++ {
			if !refRE.MatchString(ls[i]) || strings.HasPrefix(ls[i], " ") {
				continue
			}
			n++
			if l, _ := line(strings.TrimSpace(ls[i])); l != strings.TrimPrefix(ls[i+1], "  ") {
				t.Errorf("HTML report quotes %q for %s, which opens %q", ls[i+1], ls[i], l)
			}
		}
	}
	for _, row := range htmlRowRE.FindAllStringSubmatch(page, -1) {
		var texts []string
		for _, c := range htmlCellRE.FindAllStringSubmatch(row[1], -1) {
			if txt := html.UnescapeString(c[1]); !refRE.MatchString(txt) && len(txt) > 12 {
				texts = append(texts, txt)
			}
		}
		ips := ipRE.FindAllString(row[1], -1)
		for _, ref := range refRE.FindAllString(html.UnescapeString(row[1]), -1) {
			n++
			l, ok := line(ref)
			if !ok {
				t.Errorf("HTML report: %s names no line", ref)
				continue
			}
			if checked[ref] || slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(l, s) }) ||
				slices.ContainsFunc(ips, func(ip string) bool { return strings.Contains(l, "["+ip+"]") }) {
				continue
			}
			t.Errorf("HTML report: %s opens %q, which is not about its row %q", ref, l, html.UnescapeString(row[1]))
		}
	}
	if n == 0 {
		t.Errorf("the HTML report names no line")
	}
}

// TestIngestEvidenceAfterRotation: ingest run from cron on mail.log, across
// the same two rotations: each run finds where the files read before went.
func TestIngestEvidenceAfterRotation(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	log1, log2 := log+".1", log+".2.gz"
	ingest := func(paths ...string) {
		t.Helper()
		args := append([]string{"ingest", "--db", db, "--config", devConfig, "--timezone", "UTC", "--year", "2026"}, paths...)
		if err := runCLI(t, args, &bytes.Buffer{}, nil); err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	appendLines(t, log, lines[:250])
	ingest(log)
	if err := os.Rename(log, log1); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log1, lines[250:260])
	appendLines(t, log, lines[260:500])
	ingest(log1, log) // the rest of the old file, then the new one
	compressRotated(t, log1, log2)
	if err := os.Rename(log, log1); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log, lines[500:])
	ingest(log)
	checkEvidenceOpens(t, db, log, len(lines))
}
