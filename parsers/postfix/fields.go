package postfix

import (
	"iter"
	"net/netip"
	"strings"
)

// queueID splits "4B49DBC34B: rest" into the queue id and the rest. Postfix
// queue ids are upper-case hex (short form) or 12+ characters of [0-9A-Za-z]
// (enable_long_queue_ids); NOQUEUE stands for "no queue file yet".
func queueID(msg string) (qid, rest string, ok bool) {
	i := strings.IndexByte(msg, ':')
	if i < 5 || i > 20 || len(msg) < i+2 || msg[i+1] != ' ' {
		return "", msg, false
	}
	id := msg[:i]
	for j := 0; j < len(id); j++ {
		c := id[j]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", msg, false
		}
	}
	return id, msg[i+2:], true
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
		for s != "" {
			s = strings.TrimLeft(s, ", ")
			eq := strings.IndexByte(s, '=')
			if eq <= 0 || !isKey(s[:eq]) {
				return
			}
			key := s[:eq]
			s = s[eq+1:]
			var val string
			if strings.HasPrefix(s, "<") {
				end := angleEnd(s)
				val, s = s[:end], s[end:]
			} else {
				end := strings.IndexAny(s, ", ")
				if end < 0 {
					end = len(s)
				}
				val, s = s[:end], s[end:]
			}
			if !yield(key, val) {
				return
			}
		}
	}
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
		if i == len(s) || s[i] == ',' || s[i] == ' ' || s[i] == ';' {
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
