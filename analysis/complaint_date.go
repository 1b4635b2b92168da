package analysis

import (
	"errors"
	"net/mail"
	"strings"
	"time"
)

// zoneOffsets are the time zone names complaints write instead of an
// offset, in seconds east of UTC: RFC 5322 section 4.3's obsolete zones
// (which net/mail reads as UTC: Go gives a zone name it does not know an
// offset of zero) and the common ones feedback loops use. Ambiguous names
// (IST, CST in Asia) keep their RFC 5322 or most common meaning.
var zoneOffsets = map[string]int{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
	"CET": 3600, "CEST": 2 * 3600, "MET": 3600, "MEST": 2 * 3600, "WEST": 3600, "BST": 3600,
	"EET": 2 * 3600, "EEST": 3 * 3600, "MSK": 3 * 3600,
	"JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600, "AWST": 8 * 3600,
	"ACST": 9*3600 + 1800, "AEST": 10 * 3600, "AEDT": 11 * 3600, "NZST": 12 * 3600, "NZDT": 13 * 3600,
}

// errUnknownZone reports a date whose zone is a name we have no offset
// for: the time is read as UTC.
var errUnknownZone = errors.New("unknown time zone name, read as UTC")

// asctimeLayouts are dates some reporters write outside RFC 5322: X-ARF's
// "Thu Feb 13 18:28:15 2014 +00:00 GMT", and ISO 8601.
var asctimeLayouts = []string{
	"Mon Jan _2 15:04:05 2006 -07:00",
	"Mon Jan _2 15:04:05 2006 -0700",
	"Mon Jan _2 15:04:05 2006",
	time.RFC3339,
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
}

// parseDate reads a date of a complaint in UTC: RFC 5322 with the zone
// names of zoneOffsets, asctime and ISO 8601. A zone name it does not know
// gives the time read as UTC and errUnknownZone.
func parseDate(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(stripComments(s)), " ")
	f := strings.Fields(s)
	if len(f) == 0 {
		return time.Time{}, errors.New("empty date")
	}
	last := strings.ToUpper(f[len(f)-1])
	var unknown error
	if off, ok := zoneOffsets[last]; ok {
		f = f[:len(f)-1]
		if len(f) > 0 && !isOffset(f[len(f)-1]) {
			f = append(f, offsetString(off))
		}
	} else if isZoneName(last) && len(f) > 1 && !isOffset(f[len(f)-2]) {
		f[len(f)-1] = "+0000"
		unknown = errUnknownZone
	}
	s = strings.Join(f, " ")
	if t, err := mail.ParseDate(s); err == nil {
		return t.UTC(), unknown
	}
	for _, layout := range asctimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), unknown
		}
	}
	return time.Time{}, errors.New("not a date")
}

// stripComments drops parenthesised comments: "-0500 (EST)".
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isOffset reports whether s is a numeric zone: "+0200", "-05:00".
func isOffset(s string) bool {
	if len(s) < 5 || s[0] != '+' && s[0] != '-' {
		return false
	}
	for _, r := range s[1:] {
		if (r < '0' || r > '9') && r != ':' {
			return false
		}
	}
	return true
}

// isZoneName reports whether s looks like a zone abbreviation: two to
// five capital letters.
func isZoneName(s string) bool {
	if len(s) < 2 || len(s) > 5 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func offsetString(sec int) string {
	sign := byte('+')
	if sec < 0 {
		sign, sec = '-', -sec
	}
	h, m := sec/3600, sec%3600/60
	return string([]byte{sign, byte('0' + h/10), byte('0' + h%10), byte('0' + m/10), byte('0' + m%10)})
}
