package postfix

import (
	"errors"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// stampLines parses one removed line per stamp with one parser, as lines of
// one file, and returns the times.
func stampTimes(t *testing.T, p *Parser, stamps ...string) []time.Time {
	t.Helper()
	var ts []time.Time
	for i, s := range stamps {
		line := s + " mail postfix/qmgr[18116]: 4B49DBC34B: removed"
		evs, err := p.Parse(nil, []byte(line), parsers.Pos{File: "mail.log", Line: i + 1})
		if err != nil || len(evs) != 1 {
			t.Fatalf("Parse(%q) = %v, %v", line, evs, err)
		}
		if evs[0].Time.Location() != time.UTC {
			t.Errorf("Parse(%q): time %v not in UTC", line, evs[0].Time)
		}
		ts = append(ts, evs[0].Time)
	}
	return ts
}

func TestYearFromModTime(t *testing.T) {
	tests := []struct {
		name    string
		modTime time.Time
		stamps  []string
		want    []string
	}{
		{"same month", at("2026-11-28T06:25:01Z"), []string{"Nov 27 19:07:11"}, []string{"2026-11-27T19:07:11Z"}},
		{"a month after ModTime is last year", at("2026-03-01T00:10:00Z"),
			[]string{"Apr 30 23:59:59", "Feb 28 12:00:00"}, []string{"2025-04-30T23:59:59Z", "2026-02-28T12:00:00Z"}},
		{"New Year inside the file", at("2027-01-01T00:00:03Z"),
			[]string{"Dec 31 23:59:58", "Dec 31 23:59:59", "Jan  1 00:00:00", "Jan  1 00:00:02"},
			[]string{"2026-12-31T23:59:58Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", "2027-01-01T00:00:02Z"}},
		{"rotated a week later", at("2027-01-07T06:25:00Z"),
			[]string{"Dec 30 10:00:00", "Jan  6 10:00:00"}, []string{"2026-12-30T10:00:00Z", "2027-01-06T10:00:00Z"}},
		{"Feb 29 of a leap year", at("2028-03-05T00:00:00Z"), []string{"Feb 29 12:00:00"}, []string{"2028-02-29T12:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(Options{ModTime: tt.modTime, Location: time.UTC})
			got := stampTimes(t, p, tt.stamps...)
			for i := range got {
				if want := at(tt.want[i]); !got[i].Equal(want) {
					t.Errorf("%s = %v, want %v", tt.stamps[i], got[i], want)
				}
			}
		})
	}
}

func TestExplicitYearCrossesNewYear(t *testing.T) {
	p := NewParser(Options{Year: 2026, Location: time.UTC, ModTime: at("2030-06-01T00:00:00Z")})
	got := stampTimes(t, p, "Dec 31 23:59:59", "Jan  1 00:00:00", "Jan  1 00:00:00", "Mar  3 03:03:03")
	want := []string{"2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-03-03T03:03:03Z"}
	for i := range got {
		if !got[i].Equal(at(want[i])) {
			t.Errorf("line %d = %v, want %s", i+1, got[i], want[i])
		}
	}
}

func TestStampLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	p := NewParser(Options{Year: 2026, Location: berlin})
	got := stampTimes(t, p,
		"Jul  1 12:00:00",                  // yearless: in Location, summer time (+02:00)
		"Nov 27 20:07:11",                  // winter time (+01:00)
		"2026-11-27T20:07:11.5",            // RFC 3339 without offset: in Location
		"2026-11-27T19:07:11.367985+00:00", // an offset wins over Location
	)
	want := []string{"2026-07-01T10:00:00Z", "2026-11-27T19:07:11Z", "2026-11-27T19:07:11.5Z", "2026-11-27T19:07:11.367985Z"}
	for i := range got {
		if !got[i].Equal(at(want[i])) {
			t.Errorf("line %d = %v, want %s", i+1, got[i], want[i])
		}
	}
}

// TestNumericStampMatchesTimeParse checks the hand-written RFC 3339 parser
// against the standard library on the shapes rsyslog and journalctl write.
func TestNumericStampMatchesTimeParse(t *testing.T) {
	stamps := []string{
		"2026-11-27T19:07:11.367985+00:00",
		"2026-11-27T19:07:11.367985+01:00",
		"2026-11-27T19:07:11-07:30",
		"2026-11-27T19:07:11Z",
		"2026-11-27T19:07:11.1Z",
		"2026-11-27T19:07:11.123456789Z",
		"2026-11-27T19:07:11+0000",
		"2026-11-27T19:07:11.367985-0500",
		"2024-02-29T00:00:00Z",
		"2026-12-31T23:59:59.999999+14:00",
	}
	p := NewParser(Options{Location: time.UTC})
	for _, s := range stamps {
		got, err := p.stamp(s)
		if err != nil {
			t.Errorf("stamp(%q): %v", s, err)
			continue
		}
		var want time.Time
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"} {
			if want, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("time.Parse(%q): %v", s, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("stamp(%q) = %v, want %v", s, got, want.UTC())
		}
	}
	for _, s := range []string{
		"2026-11-27", "2026-11-27T19:07", "2026-02-29T00:00:00Z", "2026-11-27T24:00:00Z",
		"2026-11-27T19:07:11.Z", "2026-11-27T19:07:11+1", "2026-11-27T19:07:11+01:0x",
		"2026-11-27T19:07:11.1234567890Z", "2026-11-27T19:07:11 ", "2026-11-27X19:07:11Z",
	} {
		if got, err := p.stamp(s); !errors.Is(err, errBadStamp) {
			t.Errorf("stamp(%q) = %v, %v; want errBadStamp", s, got, err)
		}
	}
}
