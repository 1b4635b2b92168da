// Package postfix parses the logs Postfix writes through syslog, postlogd
// (maillog_file) and journald.
//
// A typical line:
//
//	Nov 27 19:27:54 mail postfix/smtpd[18120]: 4B49DBC34B: client=unknown[127.249.101.59]
//
// The stamp may also be RFC 3339 (rsyslog's default on Debian 12, and
// journalctl -o short-iso), and a whole line may be a journalctl -o json
// object. The daemon is the last element of the syslog tag, so
// postfix/submission/smtpd and postfix-out/smtp (custom syslog_name values)
// are smtpd and smtp.
//
// The optional lines are read too (testdata/postfix/verbose has them all):
// permit logging and the access-map, header/body-check and milter actions
// (action.go: a hold or discard is the recipient's disposition), TLS at any
// log level (tls.go), postscreen (postscreen.go), postsuper, long queue
// ids. What a line says that has no Event field of its own is kept in
// Event.Attrs.
package postfix

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

const format = "postfix"

var utf8BOM = []byte("\ufeff")

var (
	errNoHeader = errors.New("not a syslog line (no timestamp, host and tag)")
	errBadStamp = errors.New("bad timestamp")
	errBadJSON  = errors.New("bad journald JSON export line")
)

// Options configure a Parser.
type Options struct {
	// Year is the year of the first yearless (traditional syslog) stamp;
	// later stamps that go back in month (Dec → Jan) are in the next year.
	// Zero means: infer the year from ModTime.
	Year int
	// ModTime is the modification time of the file being read: the last line
	// was written at or before it, so a stamp whose month lies after
	// ModTime's month is from the year before. Zero means now.
	ModTime time.Time
	// Location is the time zone of yearless stamps and of RFC 3339 stamps
	// without an offset. Nil means time.Local.
	Location *time.Location
}

// Parser parses one Postfix log file. It remembers the last month seen so
// that yearless syslog stamps cross New Year. Not safe for concurrent use.
type Parser struct {
	opt       Options
	year      int
	lastMonth time.Month
	modYear   int // ModTime's year and month in Location
	modMonth  time.Month
	pending   map[string][]parsers.Event // see bindActions
}

// NewParser returns a Parser for one file.
func NewParser(opt Options) *Parser {
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.ModTime.IsZero() {
		opt.ModTime = time.Now()
	}
	mod := opt.ModTime.In(opt.Location)
	return &Parser{opt: opt, year: opt.Year, modYear: mod.Year(), modMonth: mod.Month()}
}

// header is the syslog part of a line.
type header struct {
	stamp  string
	host   string
	tag    string // "postfix/submission/smtpd"
	daemon string // "smtpd"
	pid    string
}

// Parse parses one line. See parsers.Parser.
func (p *Parser) Parse(dst []parsers.Event, line []byte, pos parsers.Pos) ([]parsers.Event, error) {
	var (
		h   header
		msg string
		ts  time.Time
		err error
	)
	raw := string(line)
	// Scan has dropped the line end and the NULs a crashed syslogd leaves,
	// but a caller reading lines its own way may not have: parse without
	// them (and without a byte-order mark or a json-seq record separator),
	// and keep Raw as given.
	lo, hi := 0, len(line)
	for hi > 0 && (line[hi-1] == '\n' || line[hi-1] == '\r') {
		hi--
	}
	for lo < hi && line[lo] == 0 {
		lo++
	}
	if bytes.HasPrefix(line[lo:hi], utf8BOM) {
		lo += len(utf8BOM)
	} else if lo < hi && line[lo] == 0x1e {
		lo++ // journalctl -o json-seq (RFC 7464)
	}
	if lo < hi && line[lo] == '{' {
		h, msg, ts, err = p.journalJSON(line[lo:hi])
		if err != nil {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
		}
	} else {
		var ok bool
		h, msg, ok = splitHeader(raw[lo:hi])
		if !ok {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: errNoHeader}
		}
		if !isPostfixTag(h.tag) {
			return dst, parsers.ErrUnsupported
		}
		ts, err = p.stamp(h.stamp)
		if err != nil {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
		}
	}
	if !isPostfixTag(h.tag) {
		return dst, parsers.ErrUnsupported
	}
	ev := parsers.Event{Pos: pos, Time: ts, Format: format, Host: h.host, Daemon: h.daemon, Raw: raw}
	n := len(dst)
	switch h.daemon {
	case "smtpd":
		dst = smtpd(dst, ev, h.pid, msg)
		dst = p.bindActions(dst, n, h.host+"|"+h.tag+"|"+h.pid)
	case "postscreen":
		dst = postscreen(dst, ev, msg)
	case "cleanup":
		dst = cleanup(dst, ev, msg)
	case "qmgr", "nqmgr":
		dst = qmgr(dst, ev, msg)
	case "pickup":
		dst = pickup(dst, ev, msg)
	case "smtp", "lmtp":
		var ok bool
		if dst, ok = tls(dst, ev, msg); !ok {
			dst = delivery(dst, ev, msg)
		}
	case "tlsproxy":
		dst, _ = tls(dst, ev, msg)
	case "local", "virtual", "pipe", "error", "discard", "retry":
		dst = delivery(dst, ev, msg)
	case "bounce":
		dst = bounce(dst, ev, msg)
	case "postsuper":
		dst = postsuper(dst, ev, msg)
	}
	if len(dst) == n {
		dst = server(dst, ev, h.daemon, msg)
	}
	if len(dst) == n {
		return dst, parsers.ErrUnsupported
	}
	return dst, nil
}

// Sniff reports whether line looks like a Postfix log line, for telling a
// file's format from its first lines.
func Sniff(line []byte) bool {
	line = bytes.TrimLeft(line, "\x00\ufeff")
	if len(line) > 0 && line[0] == '{' {
		return bytes.Contains(line, []byte(`"SYSLOG_IDENTIFIER"`)) && bytes.Contains(line, []byte("postfix"))
	}
	h, _, ok := splitHeader(string(line))
	return ok && isPostfixTag(h.tag)
}

// isPostfixTag reports whether a syslog tag is one Postfix writes: "postfix"
// followed by an optional suffix (postfix-out, postfix-10.20.30.40) and a
// path ending in the daemon name. Custom syslog_name values that do not start
// with "postfix" cannot be told from other programs and are not recognised.
func isPostfixTag(tag string) bool {
	first, _, found := strings.Cut(tag, "/")
	return found && strings.HasPrefix(first, "postfix")
}

// splitHeader splits "STAMP HOST TAG[PID]: MSG". STAMP is either
// "Mmm dd hh:mm:ss" (with optional fraction) or one RFC 3339 word.
// An optional "<PRI>" prefix is skipped.
func splitHeader(s string) (h header, msg string, ok bool) {
	if strings.HasPrefix(s, "<") {
		if i := strings.IndexByte(s, '>'); i > 0 && i < 5 {
			s = s[i+1:]
		}
	}
	if len(s) < 16 {
		return h, "", false
	}
	var rest string
	if s[0] >= '0' && s[0] <= '9' {
		stamp, r, found := strings.Cut(s, " ")
		if !found {
			return h, "", false
		}
		h.stamp, rest = stamp, r
	} else {
		// "Nov 27 19:27:54" or "Nov  3 19:27:54" (day padded with a space),
		// maybe followed by ".123456".
		if s[3] != ' ' {
			return h, "", false
		}
		i := 4
		if s[i] == ' ' {
			i++
		}
		sp := strings.IndexByte(s[i:], ' ')
		if sp < 0 {
			return h, "", false
		}
		i += sp + 1
		sp = strings.IndexByte(s[i:], ' ')
		if sp < 0 {
			return h, "", false
		}
		h.stamp, rest = s[:i+sp], s[i+sp+1:]
	}
	host, rest, found := strings.Cut(rest, " ")
	if !found || host == "" {
		return h, "", false
	}
	h.host = host
	tagPid, msg, found := strings.Cut(rest, ": ")
	if !found {
		// "postfix/qmgr[1]:" with nothing after it.
		if !strings.HasSuffix(rest, ":") {
			return h, "", false
		}
		tagPid, msg = rest[:len(rest)-1], ""
	}
	tag := tagPid
	if i := strings.IndexByte(tagPid, '['); i >= 0 && strings.HasSuffix(tagPid, "]") {
		tag, h.pid = tagPid[:i], tagPid[i+1:len(tagPid)-1]
	}
	if tag == "" || strings.ContainsAny(tag, " \t") {
		return h, "", false
	}
	h.tag = tag
	h.daemon = tag[strings.LastIndexByte(tag, '/')+1:]
	return h, msg, true
}
