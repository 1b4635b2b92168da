package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The forensic report opened in headless Chromium (Debian's chromium,
// which .ci/run installs): Chromium's own log says what the page wrote to
// the console, its NetLog what the page asked the network for, --dump-dom
// what the page became, --screenshot what it looks like and --print-to-pdf
// how it prints. A control page that does make a request and log an error
// shows that each check can see what it looks for.

// chromiumFlags are those that work here: no sandbox (root in a
// container), no GPU, and none of the browser's own background traffic
// that can be turned off.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

// chromiumRun is what one run of Chromium on a page left behind.
type chromiumRun struct {
	out      []byte   // standard output: the DOM with --dump-dom
	console  []string // the page's console messages
	requests []string // the URLs the page asked the network for
}

// consoleLine is a console message in Chromium's log (--enable-logging
// --v=0): `[...:INFO:CONSOLE:1] "message", source: file:///... (1)`.
var consoleLine = regexp.MustCompile(`:CONSOLE(?::|\()\d+\)?\] (.*)`)

// runChromium opens page (a file) with extra flags and returns what it did.
func runChromium(t *testing.T, chromium, page string, extra ...string) chromiumRun {
	t.Helper()
	dir := t.TempDir()
	netlog := filepath.Join(dir, "netlog.json")
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--log-net-log="+netlog)
	args = append(append(args, extra...), "file://"+page)
	ctx := t.Context()
	cmd := exec.CommandContext(ctx, chromium, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("chromium %v: no answer in 90 s\n%s", extra, stderr.String())
	}
	run := chromiumRun{out: stdout.Bytes()}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if m := consoleLine.FindStringSubmatch(l); m != nil {
			run.console = append(run.console, m[1])
		}
	}
	run.requests = pageRequests(t, netlog)
	return run
}

// pageRequests reads a NetLog and returns the URLs of the requests a page
// made: those started with the page's origin as initiator or network
// isolation key. The browser's own requests (Chromium asks Google for the
// time and for accounts whatever the flags) name no page.
func pageRequests(t *testing.T, netlog string) []string {
	t.Helper()
	data, err := os.ReadFile(netlog)
	if err != nil {
		t.Fatalf("chromium wrote no NetLog: %v", err)
	}
	var log struct {
		Constants struct {
			EventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL       string `json:"url"`
				Initiator string `json:"initiator"`
				NIK       string `json:"network_isolation_key"`
			} `json:"params"`
		} `json:"events"`
	}
	// Chromium may be killed before it closes the JSON: the events are
	// one per line, so a cut log is closed by hand.
	if err := json.Unmarshal(data, &log); err != nil {
		fixed := bytes.TrimRight(data, ",\n ")
		fixed = append(fixed, []byte("]}")...)
		if err := json.Unmarshal(fixed, &log); err != nil {
			t.Fatalf("NetLog: %v", err)
		}
	}
	start, ok := log.Constants.EventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("NetLog without URL_REQUEST_START_JOB")
	}
	var out []string
	for _, e := range log.Events {
		p := e.Params
		if e.Type != start || p.URL == "" {
			continue
		}
		if p.Initiator != "not an origin" || strings.Contains(p.NIK, "file://") {
			if !strings.HasPrefix(p.URL, "file:") && !strings.HasPrefix(p.URL, "data:") {
				out = append(out, p.URL)
			}
		}
	}
	return out
}

// reportScreenshot is where the test leaves the screenshot (a CI
// artifact: the test log names it); -update also copies it to docs/.
var reportScreenshot = filepath.Join(os.TempDir(), "relaysleuth-forensic-report.png")

func TestForensicHTMLInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
	}

	// The control: a page that makes a request and logs an error.
	control := filepath.Join(t.TempDir(), "control.html")
	if err := os.WriteFile(control, []byte(`<!DOCTYPE html><html><head><title>control</title></head><body>`+
		`<img alt="" src="http://127.0.0.1:9/relaysleuth-control.png"><script>console.error("control error")</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := runChromium(t, chromium, control, "--dump-dom")
	if len(c.requests) == 0 || !strings.Contains(strings.Join(c.requests, " "), "relaysleuth-control.png") {
		t.Fatalf("the control page's request is not seen: %q", c.requests)
	}
	if len(c.console) == 0 || !strings.Contains(strings.Join(c.console, " "), "control error") {
		t.Fatalf("the control page's console error is not seen: %q", c.console)
	}

	db := forensicDB(t)
	page, _ := writeHTMLReport(t, db)
	r := runChromium(t, chromium, page, "--dump-dom")
	if len(r.requests) > 0 {
		t.Errorf("the report asked the network for %q", r.requests)
	}
	if len(r.console) > 0 {
		t.Errorf("the report wrote to the console: %q", r.console)
	}
	dom := string(r.out)
	for _, want := range []string{
		"RELAY ABUSE: 47 recipients relayed for 4 outside clients",
		"127.198.128.166", "127.86.168.29", "127.57.158.214", "198.51.100.77",
		"reload -- version 3.7.11, configuration /etc/postfix", ">reload 19:28:45</text>",
		// the strangers' markup as text: the DOM serializer escapes "<"
		// in text, so a real element would show as "<script"
		"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "&lt;b&gt;bold&lt;/b&gt;",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page Chromium built has no %q", want)
		}
	}
	for _, bad := range []string{"<script", "<img", "<b>bold", "<svg onload", "<iframe"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the page Chromium built has an element %q from the logs", bad)
		}
	}
	if n := strings.Count(dom, `class="bar-relay"`); n == 0 {
		t.Error("no relay bar in the timeline chart")
	}

	// What it looks like: the chart's bars are drawn in their colours.
	s := runChromium(t, chromium, page, "--screenshot="+reportScreenshot, "--window-size=1200,1500", "--hide-scrollbars")
	if len(s.console) > 0 || len(s.requests) > 0 {
		t.Errorf("screenshot run: console %q, requests %q", s.console, s.requests)
	}
	img := readPNG(t, reportScreenshot)
	relayRed := countColour(img, 0xcc, 0x00, 0x33)      // .bar-relay, used nowhere else
	attemptOrange := countColour(img, 0xe0, 0x8a, 0x00) // .bar-attempts
	if relayRed < 50 || attemptOrange < 50 {
		t.Errorf("screenshot: %d pixels of the relay bars' red, %d of the attempts' orange: the chart is not drawn", relayRed, attemptOrange)
	}
	t.Logf("screenshot of the report: %s (%d red, %d orange pixels of chart bars)", reportScreenshot, relayRed, attemptOrange)
	if *update {
		data, err := os.ReadFile(reportScreenshot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../../docs/forensic-report.png", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// How it prints: A4 pages (595 x 842 points).
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	p := runChromium(t, chromium, page, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
	if len(p.console) > 0 || len(p.requests) > 0 {
		t.Errorf("print run: console %q, requests %q", p.console, p.requests)
	}
	data, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	boxes := regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`).FindAllSubmatch(data, -1)
	if len(boxes) == 0 {
		t.Fatal("the PDF has no pages")
	}
	for _, b := range boxes {
		if w, h := string(b[1]), string(b[2]); !strings.HasPrefix(w, "59") || !strings.HasPrefix(h, "84") {
			t.Errorf("a printed page is %s x %s points, want A4 (595 x 842)", w, h)
		}
	}
	t.Logf("printed on %d A4 pages", len(boxes))
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", path, err))
	}
	return img
}

// countColour counts the pixels of img within a little of colour r, g, b.
func countColour(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	near := func(a uint32, b uint8) bool { d := int(a>>8) - int(b); return d > -12 && d < 12 }
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, r) && near(pg, g) && near(pb, b) {
				n++
			}
		}
	}
	return n
}
