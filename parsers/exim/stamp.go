package exim

import (
	"time"
)

// stamped is a line split after its prefix:
//
//	2026-11-27 19:36:39.123 +0100 [29631] 1xX1kN-0007i0-1Z <= ...
//	^date      ^clock   ^frac ^zone  ^pid  ^id              ^body
type stamped struct {
	year, month, day, hour, min, sec, nsec int
	zone                                   bool // an offset was logged
	zoneOff                                int  // seconds east of UTC
	pid, id, body                          string
	badStamp                               bool // the shape of a stamp with impossible values
}

// splitStamp splits line into its stamp, pid, message id and body. It
// fails for a line that does not start with a stamp; badStamp then says
// whether the line had a stamp's shape with out-of-range values.
func splitStamp(line string) (st stamped, ok bool) {
	// "2006-01-02 15:04:05"
	if len(line) < 19 || line[4] != '-' || line[7] != '-' || line[10] != ' ' || line[13] != ':' || line[16] != ':' {
		return st, false
	}
	var good bool
	if st.year, good = num(line[0:4]); !good {
		return st, false
	}
	fields := [...]*int{&st.month, &st.day, &st.hour, &st.min, &st.sec}
	for i, at := range [...]int{5, 8, 11, 14, 17} {
		if *fields[i], good = num(line[at : at+2]); !good {
			return st, false
		}
	}
	if st.month < 1 || st.month > 12 || st.day < 1 || st.day > 31 || st.hour > 23 || st.min > 59 || st.sec > 60 {
		st.badStamp = true
		return st, false
	}
	rest := line[19:]
	// ".123" (log_selector +millisec)
	if len(rest) > 1 && rest[0] == '.' {
		i := 1
		for i < len(rest) && i <= 9 && isDigit(rest[i]) {
			i++
		}
		if i == 1 {
			return st, false
		}
		frac, _ := num(rest[1:i])
		for d := i - 1; d < 9; d++ {
			frac *= 10
		}
		st.nsec = frac
		rest = rest[i:]
	}
	// " +0100" (log_timezone)
	if len(rest) >= 6 && rest[0] == ' ' && (rest[1] == '+' || rest[1] == '-') && (len(rest) == 6 || rest[6] == ' ') {
		hh, ok1 := num(rest[2:4])
		mm, ok2 := num(rest[4:6])
		if ok1 && ok2 && hh < 24 && mm < 60 {
			st.zone = true
			st.zoneOff = hh*3600 + mm*60
			if rest[1] == '-' {
				st.zoneOff = -st.zoneOff
			}
			rest = rest[6:]
		}
	}
	if rest == "" {
		return st, true
	}
	if rest[0] != ' ' {
		return st, false
	}
	st.pid, st.id, st.body = splitBody(rest[1:])
	return st, true
}

// splitBody splits what follows the stamp: the process id in brackets
// (log_selector +pid), the message id when the line is about a message, and
// the rest. Exim writes the same without the stamp to syslog when
// syslog_timestamp is false.
func splitBody(rest string) (pid, id, body string) {
	// "[29631] " (log_selector +pid)
	if len(rest) > 2 && rest[0] == '[' {
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i > 1 && i < len(rest) && rest[i] == ']' && (i+1 == len(rest) || rest[i+1] == ' ') {
			pid = rest[1:i]
			rest = rest[min(i+2, len(rest)):]
		}
	}
	if n := idLen(rest); n > 0 && (n == len(rest) || rest[n] == ' ') {
		id = rest[:n]
		rest = rest[min(n+1, len(rest)):]
	}
	return pid, id, rest
}

// idLen returns the length of the Exim message id s starts with, or 0. The
// classic id is 6-6-2 base-62 characters (time, pid, fraction of a second);
// Exim 4.97 widened it to 6-11-4. Other widths in between are accepted.
func idLen(s string) int {
	i := 0
	for _, part := range [...]struct{ lo, hi int }{{6, 6}, {6, 11}, {2, 4}} {
		n := 0
		for i+n < len(s) && isBase62(s[i+n]) {
			n++
		}
		if n < part.lo || n > part.hi {
			return 0
		}
		i += n
		if part.hi == 4 {
			break
		}
		if i >= len(s) || s[i] != '-' {
			return 0
		}
		i++
	}
	return i
}

// isMessageID reports whether s is exactly one Exim message id.
func isMessageID(s string) bool { return s != "" && idLen(s) == len(s) }

// stamp converts st to UTC. A stamp without an offset is in the
// configured location.
func (p *Parser) stamp(st stamped) (time.Time, error) {
	loc := p.opt.Location
	if st.zone {
		if p.zone == nil || p.zoneOff != st.zoneOff {
			p.zone, p.zoneOff = time.FixedZone("", st.zoneOff), st.zoneOff
		}
		loc = p.zone
	}
	t := time.Date(st.year, time.Month(st.month), st.day, st.hour, st.min, st.sec, st.nsec, loc)
	if st.sec < 60 && t.Day() != st.day { // 2026-02-30
		return time.Time{}, errBadStamp
	}
	return t.UTC(), nil
}

func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isBase62(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
