package postfix

import (
	"fmt"
	"time"
)

// stamp parses a syslog stamp and returns it in UTC. It takes the
// traditional "Jan _2 15:04:05" (with an optional fraction), rsyslog's RFC 3339
// with microseconds and offset (Debian 12's default), and journalctl -o
// short-iso / short-iso-precise ("+0000", no colon).
func (p *Parser) stamp(s string) (time.Time, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		if t, ok := p.numericStamp(s); ok {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%w %q", errBadStamp, s)
	}
	return p.yearless(s)
}

// numericStamp parses "2006-01-02T15:04:05[.frac][Z|±07:00|±0700]" by hand:
// time.Parse was a fifth of the time spent per line. A stamp without an
// offset is in the parser's Location.
func (p *Parser) numericStamp(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	hour, min, sec, nsec, rest, ok := clock(s[11:])
	if !ok {
		return time.Time{}, false
	}
	loc := p.opt.Location
	switch {
	case rest == "":
	case rest == "Z":
		loc = time.UTC
	case rest[0] == '+' || rest[0] == '-':
		// ±hh:mm (RFC 3339) or ±hhmm (journalctl -o short-iso).
		z := rest[1:]
		var zm string
		switch {
		case len(z) == 5 && z[2] == ':':
			zm = z[3:]
		case len(z) == 4:
			zm = z[2:]
		default:
			return time.Time{}, false
		}
		zh, ok1 := num(z[:2])
		zmin, ok2 := num(zm)
		if !ok1 || !ok2 || zh > 23 || zmin > 59 {
			return time.Time{}, false
		}
		off := zh*3600 + zmin*60
		if rest[0] == '-' {
			off = -off
		}
		// The offset says it all: compute in UTC and shift back.
		t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
		return t.Add(-time.Duration(off) * time.Second), true
	default:
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc).UTC(), true
}

// monthNames are the three-letter month names syslog writes.
const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

// month returns the month named by a three-letter name, or 0.
func month(s string) time.Month {
	for i := 0; i+3 <= len(monthNames); i += 3 {
		if monthNames[i:i+3] == s {
			return time.Month(i/3 + 1)
		}
	}
	return 0
}

// yearless parses "Jan _2 15:04:05[.frac]" (the day padded with a space or
// not) and gives it a year.
func (p *Parser) yearless(s string) (time.Time, error) {
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("%w %q", errBadStamp, s) }
	if len(s) < 14 || s[3] != ' ' {
		return bad()
	}
	month := month(s[:3])
	if month == 0 {
		return bad()
	}
	d := s[4:]
	if d[0] == ' ' {
		d = d[1:]
	}
	i := 0
	for i < len(d) && i < 3 && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	if i == 0 || i > 2 || i >= len(d) || d[i] != ' ' {
		return bad()
	}
	day, _ := num(d[:i])
	hour, min, sec, nsec, rest, ok := clock(d[i+1:])
	if !ok || rest != "" || day < 1 || day > 31 {
		return bad()
	}
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
		year = p.modYear
		if month > p.modMonth {
			year--
		}
	}
	if day > daysIn(month, year) {
		// Feb 29 in a year that has none: the year guess is wrong or the
		// line is damaged; time.Date would quietly make it Mar 1.
		return bad()
	}
	p.lastMonth = month
	return time.Date(year, month, day, hour, min, sec, nsec, p.opt.Location).UTC(), nil
}

// clock parses "15:04:05" with an optional ".fraction" (up to nanoseconds)
// and returns what follows.
func clock(s string) (hour, min, sec, nsec int, rest string, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, 0, "", false
	}
	var ok1, ok2, ok3 bool
	hour, ok1 = num(s[0:2])
	min, ok2 = num(s[3:5])
	sec, ok3 = num(s[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || min > 59 || sec > 59 {
		return 0, 0, 0, 0, "", false
	}
	rest = s[8:]
	if rest != "" && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := 100000000
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			if i > 9 {
				return 0, 0, 0, 0, "", false
			}
			nsec += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return 0, 0, 0, 0, "", false
		}
		rest = rest[i:]
	}
	return hour, min, sec, nsec, rest, true
}

// num parses a short run of ASCII digits.
func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

var monthDays = [...]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysIn returns the number of days of month m (1-12) in year.
func daysIn(m time.Month, year int) int {
	if m == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return monthDays[m]
}
