package exim

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestCorpus parses every line of the real Exim 4.96 logs in
// testdata/exim (Debian's default log_selector in dev, a rich one in
// dev-alt) and checks the events per kind. The counts were taken by hand
// with grep: "<=" lines are KindClient + KindPickup; each bounce Exim made
// ("<= <> R=") is one more KindClient and a KindBounce; "rejected RCPT"
// lines plus the malformed RCPT TO are KindReject; recipients after "for"
// (dev-alt: +received_recipients) are KindRcpt; the daemon's three starts
// and two SIGHUPs in each run are KindServer.
func TestCorpus(t *testing.T) {
	for _, tt := range []struct {
		file string
		want map[parsers.Kind]int
	}{
		{"dev/mainlog", map[parsers.Kind]int{
			parsers.KindClient: 61, parsers.KindPickup: 2, parsers.KindBounce: 6, parsers.KindDelivery: 125,
			parsers.KindRemoved: 60, parsers.KindReject: 24, parsers.KindAuthFailed: 5, parsers.KindServer: 5,
		}},
		{"dev/rejectlog", map[parsers.Kind]int{parsers.KindReject: 23, parsers.KindAuthFailed: 5}},
		{"dev-alt/mainlog", map[parsers.Kind]int{
			parsers.KindClient: 35, parsers.KindPickup: 1, parsers.KindBounce: 5, parsers.KindDelivery: 86,
			parsers.KindRemoved: 34, parsers.KindReject: 17, parsers.KindAuthFailed: 3, parsers.KindRcpt: 81,
			parsers.KindConnect: 44, parsers.KindDisconnect: 44, parsers.KindServer: 5,
		}},
		{"dev-alt/rejectlog", map[parsers.Kind]int{parsers.KindReject: 16, parsers.KindAuthFailed: 3}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("../../testdata/exim", tt.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rejectlog := strings.HasSuffix(tt.file, "rejectlog")
			p := NewParser(Options{Location: time.UTC, Rejectlog: rejectlog})
			got := map[parsers.Kind]int{}
			var evs []parsers.Event
			emit := func(ev parsers.Event) error {
				got[ev.Kind]++
				evs = append(evs, ev)
				return nil
			}
			bad := func(err error) { t.Errorf("malformed: %v", err) }
			st, err := parsers.Scan(t.Context(), f, path, parsers.Start{}, p, emit, bad)
			if err != nil {
				t.Fatal(err)
			}
			if st.Malformed != 0 {
				t.Errorf("%d malformed lines", st.Malformed)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events per kind = %v, want %v", got, tt.want)
			}
			checkArrivals(t, path, evs)
			daemon := "mainlog"
			if rejectlog {
				daemon = "rejectlog"
			}
			for _, ev := range evs {
				if ev.Daemon != daemon || ev.Format != "exim" || ev.Time.IsZero() {
					t.Errorf("%s: %+v", ev.Pos, ev)
				}
				switch ev.Kind {
				case parsers.KindClient:
					if !ev.ClientIP.IsValid() && ev.From != "" {
						t.Errorf("%s: client without address: %+v", ev.Pos, ev)
					}
				case parsers.KindReject:
					if !ev.ClientIP.IsValid() || ev.Rcpt == "" || ev.Reason == "" {
						t.Errorf("%s: incomplete reject: %+v", ev.Pos, ev)
					}
				case parsers.KindDelivery:
					if ev.Rcpt == "" || ev.Relay == "" || ev.Status == "" {
						t.Errorf("%s: incomplete delivery: %+v", ev.Pos, ev)
					}
				case parsers.KindAuthFailed:
					if !ev.ClientIP.IsValid() || ev.SASLUser == "" {
						t.Errorf("%s: incomplete auth failure: %+v", ev.Pos, ev)
					}
				}
			}
		})
	}
}

var arrivalRE = regexp.MustCompile(` (?:<=|\(=) `)

// checkArrivals checks that every "<=" line gave one KindClient or
// KindPickup event.
func checkArrivals(t *testing.T, path string, evs []parsers.Event) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arrivals := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if arrivalRE.MatchString(sc.Text()) {
			arrivals++
		}
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == parsers.KindClient || ev.Kind == parsers.KindPickup {
			n++
		}
	}
	if n != arrivals {
		t.Errorf("%d client and pickup events, want one per arrival line: %d", n, arrivals)
	}
}

// TestAllSelectorCorpus parses the log of a real Exim 4.96 run with
// log_selector = +all (testdata/exim/allsel) and checks that no line is
// malformed, that every arrival carries the Message-ID it logged, as id=
// or as id*=, and that the items of the selectors the run exercised are
// kept.
func TestAllSelectorCorpus(t *testing.T) {
	path := "../../testdata/exim/allsel/mainlog"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []parsers.Event
	emit := func(ev parsers.Event) error { evs = append(evs, ev); return nil }
	bad := func(err error) { t.Errorf("malformed: %v", err) }
	if _, err := parsers.Scan(t.Context(), f, path, parsers.Start{}, NewParser(Options{Location: time.UTC}), emit, bad); err != nil {
		t.Fatal(err)
	}
	checkArrivals(t, path, evs)
	idRE := regexp.MustCompile(` id\*?=(\S+)`)
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.Kind == parsers.KindClient || ev.Kind == parsers.KindPickup {
			if m := idRE.FindStringSubmatch(ev.Raw); m != nil && ev.MessageID != strings.Trim(m[1], "<>") {
				t.Errorf("%s: MessageID %q, want %q", ev.Pos, ev.MessageID, m[1])
			}
		}
		ev.EachAttr(func(k, v string) bool {
			seen[k] = true
			return true
		})
	}
	for _, k := range []string{"X", "CV", "DN", "SNI", "I", "port", "id*", "mailauth", "parent", "rewrite", "from", "T", "R", "U",
		"P", "QT", "DT", "RT", "M8S", "L.-", "D", "C", "count", "defer"} {
		if !seen[k] {
			t.Errorf("no event kept the item %q", k)
		}
	}
}
