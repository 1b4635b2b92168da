package postfix

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/relaysleuth/relaysleuth/parsers"
)

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.line) // the table is the seed corpus
	}
	f.Fuzz(func(t *testing.T, line string) {
		pos := parsers.Pos{File: "fuzz", Line: 7, Offset: 99}
		p := NewParser(Options{Year: 2026, Location: time.UTC})
		evs, err := p.Parse(nil, []byte(line), pos)
		var pe *parsers.ParseError
		if err != nil && !errors.Is(err, parsers.ErrUnsupported) && !errors.As(err, &pe) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if pe != nil && (pe.Pos != pos || pe.Format != "postfix") {
			t.Fatalf("ParseError lost its position: %+v", pe)
		}
		if err != nil && len(evs) != 0 {
			t.Fatalf("error %v with %d events", err, len(evs))
		}
		for _, ev := range evs {
			if ev.Pos != pos || ev.Raw != line || ev.Format != "postfix" || ev.Time.Location() != time.UTC {
				t.Fatalf("event lost its evidence: %+v", ev)
			}
			if ev.Kind == parsers.KindUnknown || ev.Time.IsZero() {
				t.Fatalf("event without kind or time: %+v", ev)
			}
			if ev.QueueID != "" && !isQueueID(ev.QueueID) || ev.QueueID == "NOQUEUE" {
				t.Fatalf("bad queue id %q", ev.QueueID)
			}
			// Fields are cut from the line at ASCII bytes, so they stay valid
			// UTF-8 when it is (journald's MESSAGE byte arrays aside).
			if utf8.ValidString(line) && !strings.Contains(line, "{") && !utf8.ValidString(ev.Rcpt+ev.From+ev.Reason+ev.Host) {
				t.Fatalf("invalid UTF-8 made up from a valid line: %+v", ev)
			}
		}
		// Appending keeps what dst held.
		dst := []parsers.Event{{Kind: parsers.KindConnect}}
		dst, _ = NewParser(Options{Year: 2026, Location: time.UTC}).Parse(dst, []byte(line), pos)
		if len(dst) != 1+len(evs) || dst[0].Kind != parsers.KindConnect {
			t.Fatalf("Parse(dst) = %d events, want %d after the one given", len(dst), 1+len(evs))
		}
	})
}
