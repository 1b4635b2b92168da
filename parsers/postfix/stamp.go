package postfix

import (
	"fmt"
	"strings"
	"time"
)

// rfc3339Layouts are the numeric stamps Postfix lines carry: rsyslog's
// RFC 3339 with microseconds (Debian 12 default), journalctl -o short-iso
// ("+0000" without colon) and short-iso-precise.
var rfc3339Layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
}

// stamp parses a syslog stamp and returns it in UTC.
func (p *Parser) stamp(s string) (time.Time, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		for _, layout := range rfc3339Layouts {
			t, err := time.ParseInLocation(layout, s, p.opt.Location)
			if err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%w %q", errBadStamp, s)
	}
	return p.yearless(s)
}

// yearless parses "Jan _2 15:04:05[.frac]" and gives it a year.
func (p *Parser) yearless(s string) (time.Time, error) {
	t, err := time.Parse("Jan _2 15:04:05.999999999", s)
	if err != nil {
		t, err = time.Parse("Jan 2 15:04:05.999999999", strings.Join(strings.Fields(s), " "))
		if err != nil {
			return time.Time{}, fmt.Errorf("%w %q", errBadStamp, s)
		}
	}
	month := t.Month()
	var year int
	if p.opt.Year != 0 {
		// Explicit year: it is the first line's; going back in month means
		// the log crossed New Year.
		if p.lastMonth != 0 && month < p.lastMonth {
			p.year++
		}
		year = p.year
	} else {
		// The file was last written at ModTime, so no line is later: a month
		// after ModTime's month belongs to the year before. This holds for
		// every line on its own, so Dec 31 → Jan 1 inside one file works.
		mod := p.opt.ModTime.In(p.opt.Location)
		year = mod.Year()
		if month > mod.Month() {
			year--
		}
	}
	p.lastMonth = month
	return time.Date(year, month, t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), p.opt.Location).UTC(), nil
}
