package exim

import (
	"net/netip"
	"strings"
)

// A field is one item of the key=value run that follows the address of a
// message line: "S=796", `T="a \"quoted\" subject"`, or a bare word such as
// "K", "for" or "defer". Val is unquoted.
type field struct {
	key, val string
	bare     bool
	// last says that the item ended with the ": " that starts the free
	// text of a "**" or "==" line ("T=remote_smtp: SMTP error ...").
	last bool
}

// nextField reads one field from s (leading spaces skipped) and returns the
// rest. The host field H= spans several words and is read by host; its key
// is returned with an empty value and rest positioned after "H=".
func nextField(s string) (f field, rest string) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return f, ""
	}
	eq := keyLen(s)
	if eq > 0 {
		f.key = s[:eq]
		s = s[eq+1:]
		if f.key == "H" {
			return f, s
		}
	} else {
		f.bare = true
	}
	if strings.HasPrefix(s, `"`) {
		f.val, rest = quoted(s)
		// DN="O=x,CN=y": ends the fields of a "**" line: the colon
		// follows the closing quote.
		if strings.HasPrefix(rest, ":") && (len(rest) == 1 || rest[1] == ' ') {
			f.last, rest = true, rest[1:]
		}
		return f, rest
	}
	f.val, rest = word(s)
	if strings.HasSuffix(f.val, ":") && (rest == "" || rest[0] == ' ') {
		f.val, f.last = f.val[:len(f.val)-1], true
	}
	return f, rest
}

// keyLen returns the length of the "KEY" of a "KEY=value" item at the start
// of s, or 0. Exim's field names are short: A, C, CV, DKIM, DN, DT, id,
// M8S, PRX, QT, RT, SNI ..., and "id*" (log_selector +msg_id_created: a
// Message-ID Exim made for a message that had none).
func keyLen(s string) int {
	for i := 0; i < len(s) && i <= 8; i++ {
		c := s[i]
		switch {
		case c == '=':
			return i
		case c == '*' && i > 0 && i+1 < len(s) && s[i+1] == '=':
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', i > 0 && isDigit(c), c == '_':
		default:
			return 0
		}
	}
	return 0
}

// word returns s up to the next space.
func word(s string) (w, rest string) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// quoted reads a double-quoted string at the start of s, as Exim writes
// values that may hold spaces (string_printing: \" \\ \n \t and octal \ooo
// escapes), and returns it unquoted. Text glued to the closing quote (a
// quoted local part: "john doe"@example.com) stays part of the value. An
// unterminated quote runs to the end of s.
func quoted(s string) (v, rest string) {
	i := 1
	for i < len(s) && s[i] != '"' {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(s) {
		return unescape(s[1:]), ""
	}
	v = unescape(s[1:i])
	tail, rest := word(s[i+1:])
	if tail == ":" { // a quoted field that ends a "**" line's fields
		return v, s[i+1:]
	}
	if tail != "" {
		v = s[:i+1] + tail // keep an address's quotes: they are part of it
	}
	return v, rest
}

// unescape undoes Exim's string_printing escapes.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		default:
			if isOctal(c) && i+2 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) {
				b.WriteByte((c-'0')<<6 | (s[i+1]-'0')<<3 | (s[i+2] - '0'))
				i += 2
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// A host is Exim's rendering of a peer:
//
//	mx1.partner.example [127.12.41.199]
//	(helo.example) [127.57.127.110]:53437
//	name (helo) [2001:db8::1]:25*
//
// A name alone was verified by a reverse lookup (and the HELO, if any, said
// the same); a parenthesised name is the unverified HELO. The star marks a
// second message down one outgoing connection.
type host struct {
	name, helo, port string
	ip               netip.Addr
}

// parseHost reads a host at the start of s and returns what follows it.
func parseHost(s string) (h host, rest string, ok bool) {
	if s == "" {
		return h, s, false
	}
	if s[0] != '(' && s[0] != '[' {
		h.name, s = word(s)
		s = strings.TrimPrefix(s, " ")
	}
	if strings.HasPrefix(s, "(") {
		// The HELO name may hold anything; the address follows ") [".
		end := strings.Index(s, ") [")
		if end < 0 {
			if strings.HasSuffix(s, ")") { // "H=(helo)" with no address
				return host{name: h.name, helo: s[1 : len(s)-1]}, "", h.name != "" || len(s) > 2
			}
			return h, s, h.name != ""
		}
		h.helo, s = s[1:end], s[end+2:]
	}
	if !strings.HasPrefix(s, "[") {
		return h, s, h.name != ""
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return h, s, false
	}
	ip, err := netip.ParseAddr(s[1:end])
	if err != nil {
		return h, s, false
	}
	h.ip = ip.Unmap()
	s = s[end+1:]
	if len(s) > 1 && s[0] == ':' && isDigit(s[1]) {
		i := 1
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		h.port, s = s[1:i], s[i:]
	}
	s = strings.TrimPrefix(s, "*")
	return h, s, true
}

// relay renders h the way Postfix writes relay=: "name[ip]:port".
func (h host) relay() string {
	name := h.name
	if name == "" {
		name = h.ip.String()
	}
	r := name + "[" + h.ip.String() + "]"
	if h.port != "" {
		r += ":" + h.port
	}
	return r
}

// readAddr reads the address at the start of a message line's body: a
// bare word, a quoted local part ("john doe"@example.com), a pipe with its
// arguments ("|/usr/bin/procmail -d joe") or <> for the null sender.
func readAddr(s string) (a, rest string) {
	if strings.HasPrefix(s, `"`) {
		return quoted(s)
	}
	a, rest = word(s)
	if strings.HasPrefix(a, "|") {
		// A pipe command runs to the first item that is not one of its
		// arguments: "(parent)", "<original>" or a field.
		for rest != "" {
			w, r := word(strings.TrimPrefix(rest, " "))
			if strings.HasPrefix(w, "(") || strings.HasPrefix(w, "<") || keyLen(w) > 0 {
				break
			}
			a += " " + w
			rest = r
		}
	}
	return a, rest
}

// angle strips the angle brackets around an address.
func angle(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// dsn splits an SMTP reply "550 5.1.1 <x>: User unknown" into its enhanced
// status code "5.1.1" and the reply. It looks for the code anywhere in s,
// since Exim puts its own words first ("SMTP error from remote mail server
// after RCPT TO:<x>: 550 5.1.1 ...").
func dsn(s string) string {
	for rest := s; rest != ""; {
		var w string
		w, rest = word(strings.TrimLeft(rest, " "))
		if len(w) == 3 && (w[0] == '2' || w[0] == '4' || w[0] == '5') && isDigit(w[1]) && isDigit(w[2]) {
			code, _ := word(strings.TrimLeft(rest, " "))
			code = strings.TrimSuffix(code, ",")
			if isDSN(code) && code[0] == w[0] {
				return code
			}
		}
	}
	return ""
}

func isDSN(s string) bool {
	parts := 0
	for _, p := range strings.Split(s, ".") {
		if p == "" || len(p) > 3 {
			return false
		}
		if _, ok := num(p); !ok {
			return false
		}
		parts++
	}
	return parts == 3
}
