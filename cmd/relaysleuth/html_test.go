package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// forensicDB is the dev Postfix corpus and testdata/html/hostile.log (a
// HELO, senders and a warning holding HTML) in one database.
func forensicDB(t *testing.T) string {
	t.Helper()
	return ingestInto(t, "../../testdata/postfix/dev/config.json", "../../testdata/postfix/dev/postfix.log", "../../testdata/html/hostile.log")
}

// writeHTMLReport writes the forensic report of db to a file and returns
// its path and contents.
func writeHTMLReport(t *testing.T, db string, args ...string) (string, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr bytes.Buffer
	err := runCLI(t, append([]string{"report", "--db", db, "--format", "html", "--output", out, "--config", "../../testdata/postfix/dev/config.json"}, args...), &stdout, &stderr)
	if err != nil && !errors.Is(err, errRelayFound) {
		t.Fatalf("report --format html: %v\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("with --output, standard output got %q", stdout.String())
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, page
}

// tags are the page's elements (text from the logs is escaped: "&lt;img"
// is no tag) and its style sheet; loads the ways one can make the browser
// fetch something.
var (
	tags  = regexp.MustCompile(`<[a-zA-Z][^>]*>|<style>[^<]*</style>`)
	loads = regexp.MustCompile(`(?i)^<(script|link|img|iframe|object|embed|image|use|frame|audio|video|source)\b|\b(src|href|xlink:href|srcset|action|background)\s*=|url\(|@import|https?:`)
)

// fetches returns the first tag of page that would load something.
func fetches(page []byte) string {
	for _, tag := range tags.FindAll(page, -1) {
		if loads.Match(tag) {
			return string(tag)
		}
	}
	return ""
}

func TestForensicHTML(t *testing.T) {
	db := forensicDB(t)
	_, page := writeHTMLReport(t, db, "relay")
	s := string(page)
	if tag := fetches(page); tag != "" {
		t.Errorf("the page loads something: %s", tag)
	}
	if tag := fetches([]byte(`<p>x</p><img alt="" src="http://192.0.2.1/x.png">`)); tag == "" {
		t.Error("fetches misses an <img src>")
	}
	for _, want := range []string{
		// the headline, the reload before the relay and its line
		"RELAY ABUSE: 47 recipients relayed for 4 outside clients from 2026-11-27 19:28:47 UTC, 2 s after the server&#39;s reload at 2026-11-27 19:28:45 UTC",
		"reload -- version 3.7.11, configuration /etc/postfix", "postfix.log:361",
		// the relay clients, with the lines of their first message
		"127.198.128.166", "127.86.168.29", "127.57.158.214", "198.51.100.77",
		"1A2B3C4D5E: client=unknown[198.51.100.77]",
		// the charts
		`<svg id="timeline-svg"`, `class="bar-relay"`, `class="bar-attempts"`, `class="change"`, `<svg id="traffic-svg"`,
		// strangers' HTML, as text
		"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "&lt;b&gt;bold&lt;/b&gt;&lt;style&gt;",
		"warning: &lt;svg onload=alert(3)&gt;: bad queue file name",
		// traffic and policy
		"Relay access denied", "corp.example", "127.0.0.1/32", "@page { size: A4",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	if n := strings.Count(s, "<style"); n != 1 {
		t.Errorf("%d <style elements, want the page's own only", n)
	}

	// The same data as JSON, with the lines of each relay client's first
	// message.
	var stdout bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "forensic"}, &stdout, nil); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Headline     string `json:"headline"`
		RelayClients []struct {
			ClientIP string                  `json:"client_ip"`
			Lines    []analysis.EvidenceLine `json:"lines"`
		} `json:"relay_clients"`
		Attempts []analysis.AttemptClient `json:"attempts"`
		Change   *struct {
			Kind     string   `json:"kind"`
			Evidence []string `json:"evidence"`
		} `json:"change_before_relay"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.RelayClients) != 4 || r.Change == nil || r.Change.Kind != "reload" || !strings.HasSuffix(r.Change.Evidence[0], "postfix.log:361") {
		t.Fatalf("forensic JSON: %+v", r)
	}
	for _, c := range r.RelayClients {
		if len(c.Lines) < 3 {
			t.Errorf("relay client %s: lines %+v, want the lines of its first message", c.ClientIP, c.Lines)
		}
		for _, l := range c.Lines {
			if !strings.Contains(l.Raw, "postfix/") {
				t.Errorf("relay client %s: line %+v", c.ClientIP, l)
			}
		}
	}
	found := false
	for _, a := range r.Attempts {
		if a.ClientIP == "198.51.100.66" {
			found = len(a.Helos) == 1 && a.Helos[0] == "<script>alert(1)</script>" && a.Senders[0] == `"<img src=x onerror=alert(2)>"@evil.example`
		}
	}
	if !found {
		t.Errorf("attempts %+v: no 198.51.100.66 with its HELO and sender", r.Attempts)
	}
}

// TestForensicHTMLOtherMTAs renders the report of the Exim and Exchange
// corpora: their relay clients and server events are on it.
func TestForensicHTMLOtherMTAs(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		logs         []string
		want         []string
	}{
		{"exim", "../../testdata/exim/dev/config.json", []string{"../../testdata/exim/dev/mainlog", "../../testdata/exim/dev/rejectlog"},
			[]string{"exim 4.96 daemon started", "SIGHUP received: re-exec daemon", `class="bar-relay"`, "MTA exim"}},
		{"exchange", "../../testdata/exchange/dev/config.json", []string{"../../testdata/exchange/dev/EXSRV2"},
			[]string{"RELAY ABUSE", `class="bar-relay"`, "MTA exchange"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := ingestInto(t, tc.config, tc.logs...)
			_, page := writeHTMLReport(t, db)
			for _, w := range tc.want {
				if !bytes.Contains(page, []byte(w)) {
					t.Errorf("no %q on the page", w)
				}
			}
			if tag := fetches(page); tag != "" {
				t.Errorf("the page loads something: %s", tag)
			}
		})
	}
}

// TestForensicOutputErrors: an --output that cannot be written is an error
// (exit 1), and no file is left.
func TestForensicOutputErrors(t *testing.T) {
	db := forensicDB(t)
	out := filepath.Join(t.TempDir(), "no", "such", "dir", "r.html")
	var stderr bytes.Buffer
	err := runCLI(t, []string{"report", "--db", db, "--format", "html", "--output", out, "summary"}, &bytes.Buffer{}, &stderr)
	if code := exitCode(err, &stderr); code != exitError {
		t.Errorf("unwritable --output: exit %d (%v), want %d", code, err, exitError)
	}
	// --format html on standard output, any KIND.
	var stdout bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "html", "summary"}, &stdout, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(stdout.Bytes(), []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(stdout.Bytes(), []byte("</html>\n")) {
		t.Errorf("report --format html summary: not a page: %.200s", stdout.String())
	}
}
