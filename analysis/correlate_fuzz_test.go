package analysis

import (
	"bytes"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/exim"
	"github.com/relaysleuth/relaysleuth/parsers/postfix"
)

// FuzzCorrelate feeds the correlator whatever events mangled Postfix and
// Exim logs produce, in whatever order: it must never panic, and every
// recipient it reports must carry a known verdict and a status.
func FuzzCorrelate(f *testing.F) {
	for _, path := range []string{"../testdata/postfix/dev/postfix.log", "../testdata/exim/dev/mainlog"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		lines := bytes.Split(data, []byte("\n"))
		for i := 0; i+40 < len(lines); i += 40 {
			f.Add(bytes.Join(lines[i:i+40], []byte("\n")))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Policy
		p.AddDomains("corp.example", "corp-mail.example")
		p.AddNetworks("127.0.0.1")
		c := NewCorrelator(p)
		pp := postfix.NewParser(postfix.Options{Year: 2026, Location: time.UTC})
		ep := exim.NewParser(exim.Options{Location: time.UTC})
		var evs []parsers.Event
		for i, line := range bytes.Split(data, []byte("\n")) {
			pos := parsers.Pos{File: "fuzz", Line: i + 1}
			evs, _ = pp.Parse(evs[:0], line, pos)
			evs, _ = ep.Parse(evs, line, pos)
			for _, ev := range evs {
				c.Feed(ev)
			}
			if i%7 == 0 {
				check(t, c)
			}
		}
		check(t, c)
	})
}

func check(t *testing.T, c *Correlator) {
	rs, _ := c.Flush()
	for _, r := range rs {
		if !slices.Contains(Verdicts, r.Verdict) || r.Status == "" {
			t.Fatalf("recipient %q: verdict %q, status %q", r.Recipient, r.Verdict, r.Status)
		}
	}
}
