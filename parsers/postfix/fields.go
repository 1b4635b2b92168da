package postfix

import (
	"iter"
	"net/netip"
	"strings"
)

// queueID splits "4B49DBC34B: rest" into the queue id and the rest. NOQUEUE
// stands for "no queue file yet". Other words before a colon ("warning:",
// "statistics:") are not queue ids.
func queueID(msg string) (qid, rest string, ok bool) {
	i := strings.IndexByte(msg, ':')
	if i < 0 || len(msg) < i+2 || msg[i+1] != ' ' || !isQueueID(msg[:i]) {
		return "", msg, false
	}
	return msg[:i], msg[i+2:], true
}

// isQueueID reports whether s is NOQUEUE or a Postfix queue id: upper-case
// hex, at least 5 digits of microseconds and one of inode number (the short
// form), or with enable_long_queue_ids at least 12 characters of digits and
// consonants, the inode number after a 'z' (mail_queue.c): the alphabet has
// no vowels, so no English word is a queue id.
func isQueueID(s string) bool {
	if s == "NOQUEUE" {
		return true
	}
	if len(s) < 6 || len(s) > 24 {
		return false
	}
	hex, long, z := true, true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'B' && c <= 'F' && c != 'E':
		case c == 'A' || c == 'E':
			long = false
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			hex = false
			switch c {
			case 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u':
				long = false
			case 'z':
				z = true
			}
		default:
			return false
		}
	}
	return hex || long && z && len(s) >= 12
}

// client splits "name[1.2.3.4]" (optionally followed by ":port") into the
// name and the address. The address is invalid when the brackets hold
// something else (Postfix writes "unknown[unknown]" in some errors).
func client(s string) (name string, ip netip.Addr) {
	open := strings.LastIndexByte(s, '[')
	if open < 0 {
		return s, ip
	}
	end := strings.IndexByte(s[open:], ']')
	if end < 0 {
		return s[:open], ip
	}
	addr := s[open+1 : open+end]
	addr = strings.TrimPrefix(addr, "IPv6:")
	addr = strings.TrimPrefix(addr, "ipv6:")
	ip, _ = netip.ParseAddr(addr)
	return s[:open], ip.Unmap()
}

// fields iterates over "key=value" pairs separated by ", " (qmgr, smtp,
// client=) or by spaces (reject lines: "from=<a> to=<b> proto=ESMTP").
// A value in angle brackets runs to the matching close bracket, so an
// address may hold spaces and commas. The iteration stops at the first
// word that is not key=value.
func fields(s string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for {
			key, val, rest, ok := nextField(s)
			if !ok || !yield(key, val) {
				return
			}
			s = rest
		}
	}
}

// nextField splits the first key=value pair off s (see fields). It returns
// ok == false at the first word that is not key=value.
func nextField(s string) (key, val, rest string, ok bool) {
	s = strings.TrimLeft(s, ", ")
	eq := strings.IndexByte(s, '=')
	if eq <= 0 || !isKey(s[:eq]) {
		return "", "", s, false
	}
	key, s = s[:eq], s[eq+1:]
	end := 0
	if strings.HasPrefix(s, "<") {
		end = angleEnd(s)
	} else if end = strings.IndexAny(s, ", "); end < 0 {
		end = len(s)
	}
	return key, s[:end], s[end:], true
}

// angleEnd returns the index just past the '>' that closes the '<' at s[0]:
// the last '>' before the next ", key=" or " key=" boundary, or end of line.
func angleEnd(s string) int {
	i := 1
	for {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return len(s)
		}
		i += j + 1
		if i == len(s) || s[i] == ',' || s[i] == ' ' || s[i] == ';' ||
			s[i] == ':' && i+1 < len(s) && s[i+1] == ' ' { // "helo=<h>: text" (cleanup)
			return i
		}
	}
}

func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// addr strips the angle brackets of "<a@b>". "<>" is the null sender, "".
func addr(s string) string {
	s = strings.TrimPrefix(s, "<")
	return strings.TrimSuffix(s, ">")
}
