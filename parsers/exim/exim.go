// Package exim parses Exim 4 main and reject logs (mainlog, rejectlog).
//
// A typical line:
//
//	2026-11-27 19:36:45 1xX1kT-0007kU-1j <= bob@corp.example H=(localhost) [127.3.180.178] P=esmtpa A=corpus_plain:bob S=796 id=20261127193645.0b39ae31ab.24@corp.example
//
// Every line starts with a local-time stamp, optionally with milliseconds
// (log_selector +millisec) and a UTC offset (log_timezone), then the process
// id in brackets (+pid), then the message id when the line is about a
// message, in the classic 6-6-2 form or the 6-11-4 form of Exim 4.97 and
// later. Lines about a message carry a two-character flag (<= => -> >> *> **
// == and (=) followed by an address and key=value fields whose values may be
// quoted with backslash escapes (see "Log files" in the Exim specification).
// Which fields appear depends on log_selector: the parser needs none of the
// optional ones, and keeps every one it reads: what has no Event field of
// its own goes to Event.Attrs under Exim's tag, in the order logged (see
// attrs.go; log_selector = +all is read as well as the default).
//
// A rejectlog repeats each reject line of the mainlog and, for a message
// refused after its header was read, dumps the envelope and the header
// lines without a stamp. Those lines are recognised, never malformed.
//
// The same entries sent through syslog (log_file_path = syslog) are read
// too, as rsyslog, syslog-ng or journald wrote them, both logs in one
// stream:
//
//	Jun 29 16:04:19 mx1 exim[1234]: 2026-06-29 16:04:19 H=(x) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted
//
// See syslog.go for how the pieces of a long entry are joined and the
// rejectlog's copies told apart.
package exim

import (
	"errors"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

const format = "exim"

var (
	errNoStamp  = errors.New("not an Exim log line (no timestamp)")
	errBadStamp = errors.New("bad timestamp")
	errBadLine  = errors.New("malformed message line")
)

// Options configure a Parser.
type Options struct {
	// Location is the time zone of stamps without a UTC offset: Exim writes
	// the server's local time unless log_timezone is set. Nil means
	// time.Local.
	Location *time.Location
	// Host is the name of the server that wrote the log; Exim does not log
	// it on every line. It is copied to every event.
	Host string
	// Rejectlog says the file is a rejectlog rather than a mainlog; events
	// then carry Daemon "rejectlog" instead of "mainlog", so that a reject
	// logged in both files can be counted once.
	Rejectlog bool
	// Year is the year of the first yearless syslog stamp ("Jun 29
	// 16:04:19"), needed only for lines Exim sent to syslog without its own
	// stamp (syslog_timestamp = false); later stamps that go back in month
	// are in the next year. Zero means: infer the year from ModTime.
	Year int
	// ModTime is the modification time of the file: no line was written
	// after it, so a yearless stamp whose month lies after ModTime's is from
	// the year before. Zero means now.
	ModTime time.Time
}

// Parser parses one Exim log file. It remembers the last reject line so that
// the envelope recipients a rejectlog dumps after it become events. Not safe
// for concurrent use.
type Parser struct {
	opt    Options
	daemon string

	// The zone of the last "+hhmm" offset seen, reused while it stays the
	// same (log_timezone writes the same offset on every line).
	zoneOff int
	zone    *time.Location

	// lastReject is the last reject line read; envelope says that the
	// rejectlog lines that follow it list its recipients.
	lastReject parsers.Event
	haveReject bool
	envelope   bool

	// ab collects the items of the line being read (attrs.go).
	ab attrBuf

	// Address rewrites waiting for their arrival line: see rewrite.go.
	rewrites map[string][]string

	// What lines sent through syslog need: see syslog.go.
	sys syslogState
}

// NewParser returns a Parser for one file.
func NewParser(opt Options) *Parser {
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.ModTime.IsZero() {
		opt.ModTime = time.Now()
	}
	p := &Parser{opt: opt, daemon: "mainlog"}
	if opt.Rejectlog {
		p.daemon = "rejectlog"
	}
	mod := opt.ModTime.In(opt.Location)
	p.sys.year, p.sys.modYear, p.sys.modMonth = opt.Year, mod.Year(), mod.Month()
	return p
}

// Parse appends the events of one line to dst. A well-formed line of no
// interest (queue runs, header dumps) returns ErrUnsupported.
//
// A line Exim sent through syslog (log_file_path = syslog), as a syslog
// daemon or journald wrote it, is read too: see syslog.go.
func (p *Parser) Parse(dst []parsers.Event, line []byte, pos parsers.Pos) ([]parsers.Event, error) {
	raw := string(line)
	if h, msg, ok, err := splitSyslog(raw); ok {
		if err != nil {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
		}
		return p.syslog(dst, h, msg, raw, pos)
	}
	st, ok := splitStamp(raw)
	if !ok {
		if st.badStamp {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: errBadStamp}
		}
		return p.dump(dst, raw, raw, pos)
	}
	ts, err := p.stamp(st)
	if err != nil {
		return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
	}
	ev := parsers.Event{
		Pos: pos, Time: ts, Format: format, Host: p.opt.Host, Daemon: p.daemon,
		QueueID: st.id, Raw: raw,
	}
	return p.body(dst, ev, st.pid, st.body)
}

// body appends the events of one line whose stamp has been read into ev:
// pid is the process id (+pid), ev.QueueID the message id if any.
func (p *Parser) body(dst []parsers.Event, ev parsers.Event, pid, body string) ([]parsers.Event, error) {
	p.envelope = false
	p.ab = p.ab[:0]
	n := len(dst)
	var err error
	if ev.QueueID != "" {
		dst, err = p.message(dst, ev, pid, body)
	} else {
		dst, err = p.session(dst, ev, pid, body)
		if err == nil && len(dst) == n {
			dst = server(dst, ev, body)
		}
	}
	if err != nil {
		return dst[:n], &parsers.ParseError{Pos: ev.Pos, Format: format, Err: err}
	}
	if len(dst) == n {
		return dst, parsers.ErrUnsupported
	}
	return dst, nil
}

// Sniff reports whether line looks like a line of an Exim mainlog or
// rejectlog: an Exim stamp ("2026-11-27 19:36:39", not RFC 3339) that is not
// followed by a syslog host and tag, which would make it a Postfix or other
// syslog line written with a custom template.
//
// A line Exim sent through syslog is an Exim line when its syslog tag is
// Exim's ("exim", Debian's "exim4"); another program's syslog line is not.
func Sniff(line []byte) bool {
	if h, _, ok, err := splitSyslog(string(line)); ok {
		return err == nil && isEximTag(h.tag)
	}
	st, ok := splitStamp(string(line))
	if !ok {
		return false
	}
	if st.pid != "" || st.id != "" {
		return true
	}
	// "host postfix/smtpd[123]: ..." or "host postfix/qmgr: ...".
	_, rest, found := strings.Cut(st.body, " ")
	if !found {
		return true
	}
	tag, _, _ := strings.Cut(rest, " ")
	if strings.HasSuffix(tag, ":") && (strings.Contains(tag, "/") || strings.Contains(tag, "[")) &&
		!strings.ContainsAny(tag, "=<>()") {
		return false
	}
	return true
}

// message dispatches a line that carries a message id.
func (p *Parser) message(dst []parsers.Event, ev parsers.Event, pid, body string) ([]parsers.Event, error) {
	if len(body) >= 3 && body[2] == ' ' {
		switch body[:2] {
		case "<=", "(=":
			ev.Session = pid
			p.takeRewrites(&ev, pid)
			return arrival(dst, ev, body[:2], body[3:], &p.ab)
		case "=>", "->", ">>", "*>", "**", "==":
			return delivery(dst, ev, body[:2], body[3:], &p.ab)
		}
	}
	switch {
	case body == "Completed" || strings.HasPrefix(body, "Completed "):
		// "Completed QT=1s" with log_selector +queue_time_overall.
		ev.Kind = parsers.KindRemoved
		p.ab.keepFields(strings.TrimPrefix(body, "Completed"))
		ev.Attrs = p.ab.attrs(ev.Attrs)
		return append(dst, ev), nil
	case p.rewrite(ev.QueueID, body):
		return dst, nil
	case hasFieldPrefix(body):
		// "H=... F=<a@b> rejected after DATA: ...", logged once the
		// message has an id.
		ev.Session = pid
		dst = p.reject(dst, ev, body)
		return dst, nil
	}
	// "SMTP data timeout (message abandoned) on connection from ..." may
	// carry the id of the message being received.
	return p.session(dst, ev, pid, body)
}

// hasFieldPrefix reports whether s starts like the host-and-ident prefix of
// a reject line: "H=", "U=" (a local SMTP session) or "F=".
func hasFieldPrefix(s string) bool {
	return strings.HasPrefix(s, "H=") || strings.HasPrefix(s, "U=") || strings.HasPrefix(s, "F=")
}
