package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// ingestInto reads logs into a new database with the corpus policy and
// returns its path.
func ingestInto(t *testing.T, config string, logs ...string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rs.db")
	var stderr bytes.Buffer
	args := append([]string{"ingest", "--db", db, "--config", config, "--timezone", "UTC", "--year", "2026", "--progress", "never"}, logs...)
	if err := runCLI(t, args, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr.String())
	}
	return db
}

// pflogsummTotal is one line of pflogsumm's "Grand Totals":
// "    132   delivered".
var pflogsummTotal = regexp.MustCompile(`(?m)^\s*(\d+)([kmg]?)\s+(received|delivered|forwarded|deferred|bounced|rejected|bytes received|bytes delivered)\b(?:\s+\((\d+)\s+deferrals\))?`)

// TestTrafficMatchesPflogsumm runs pflogsumm (Debian's package, where
// installed) on the corpus Postfix logs and compares its Grand Totals with
// report traffic's.
func TestTrafficMatchesPflogsumm(t *testing.T) {
	pflogsumm, err := exec.LookPath("pflogsumm")
	if err != nil {
		t.Skip("pflogsumm is not installed (Debian: apt-get install pflogsumm); .ci/run installs it")
	}
	for _, run := range []struct{ dir, log string }{{"dev", "postfix.log"}, {"dev-alt", "mail.log"}} {
		t.Run(run.dir, func(t *testing.T) {
			log := filepath.Join("../../testdata/postfix", run.dir, run.log)
			out, err := exec.CommandContext(t.Context(), pflogsumm, log).Output()
			if err != nil {
				t.Fatalf("pflogsumm: %v", err)
			}
			want := map[string]int64{}
			for _, m := range pflogsummTotal.FindAllStringSubmatch(string(out), -1) {
				if _, seen := want[m[3]]; seen {
					continue // the first table is the Grand Totals
				}
				if m[2] != "" {
					t.Fatalf("pflogsumm rounded %s to %s%s: the corpus is too big for this comparison", m[3], m[1], m[2])
				}
				want[m[3]], _ = strconv.ParseInt(m[1], 10, 64)
				if m[4] != "" {
					want["deferrals"], _ = strconv.ParseInt(m[4], 10, 64)
				}
			}
			if len(want) < 8 {
				t.Fatalf("pflogsumm's Grand Totals not understood (%v):\n%s", want, out)
			}
			db := ingestInto(t, filepath.Join("../../testdata/postfix", run.dir, "config.json"), log)
			var stdout bytes.Buffer
			if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "traffic"}, &stdout, nil); err != nil {
				t.Fatal(err)
			}
			var tr analysis.Traffic
			if err := json.Unmarshal(stdout.Bytes(), &tr); err != nil {
				t.Fatal(err)
			}
			c := tr.Totals
			got := map[string]int64{"received": int64(c.Received), "delivered": int64(c.Delivered), "forwarded": int64(c.Forwarded),
				"deferred": int64(c.Deferred), "deferrals": int64(c.Deferrals), "bounced": int64(c.Bounced), "rejected": int64(c.Rejected),
				"bytes received": c.BytesReceived, "bytes delivered": c.BytesDelivered}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: report traffic %d, pflogsumm %d", k, got[k], w)
				}
			}
			t.Logf("pflogsumm and report traffic agree on %s: %v", log, want)
		})
	}
}

// TestTrafficReport checks report traffic on the Exim corpus (eximstats
// is not pflogsumm: the numbers are those of the log, counted by hand from
// mainlog: 61 "<=" arrivals from SMTP and 2 local, every "=>"/"->"
// delivery, "**" bounce and "==" deferral) and its table and CSV forms.
func TestTrafficReport(t *testing.T) {
	db := ingestInto(t, "../../testdata/exim/dev/config.json", "../../testdata/exim/dev/mainlog", "../../testdata/exim/dev/rejectlog")
	var stdout bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "traffic"}, &stdout, nil); err != nil {
		t.Fatal(err)
	}
	var tr analysis.Traffic
	if err := json.Unmarshal(stdout.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	mainlog := readLines(t, "../../testdata/exim/dev/mainlog")
	count := func(re string) int {
		n := 0
		r := regexp.MustCompile(re)
		for _, l := range mainlog {
			if r.MatchString(l) {
				n++
			}
		}
		return n
	}
	want := analysis.Counts{
		Received:  count(` <= `),
		Delivered: count(` (=>|->) `),
		Bounced:   count(` \*\* `),
		Deferrals: count(` == `),
	}
	c := tr.Totals
	if c.Received != want.Received || c.Delivered != want.Delivered || c.Bounced != want.Bounced || c.Deferrals != want.Deferrals {
		t.Errorf("totals %+v, want (from the mainlog's lines) %+v", c, want)
	}
	if c.Rejected == 0 || len(tr.Rejects) == 0 || len(tr.ByMTA) != 1 || tr.ByMTA[0].Name != "exim" {
		t.Errorf("rejected %d, reasons %v, MTAs %v", c.Rejected, tr.Rejects, tr.ByMTA)
	}
	if c.BytesReceived == 0 || c.BytesDelivered == 0 || len(tr.Senders) == 0 || len(tr.RecipientDomains) == 0 {
		t.Errorf("bytes, senders or domains missing: %+v", tr)
	}

	// --since/--until: a span without events has none.
	stdout.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--since", "2030-01-01", "traffic"}, &stdout, nil); err != nil {
		t.Fatal(err)
	}
	var empty analysis.Traffic
	if err := json.Unmarshal(stdout.Bytes(), &empty); err != nil || empty.Totals != (analysis.Counts{}) {
		t.Errorf("traffic since 2030 = %+v, %v; want nothing", empty.Totals, err)
	}

	for _, format := range []string{"table", "csv"} {
		stdout.Reset()
		if err := runCLI(t, []string{"report", "--db", db, "--format", format, "traffic"}, &stdout, nil); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"received", "delivered", strconv.Itoa(c.Received), strconv.Itoa(c.Delivered)} {
			if !bytes.Contains(stdout.Bytes(), []byte(s)) {
				t.Errorf("--format %s: no %q in\n%s", format, s, stdout.String())
			}
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}
