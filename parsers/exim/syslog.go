package exim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Exim through syslog (log_file_path = syslog). Each log entry is one
// syslog() call with ident syslog_processname ("exim"; journald shows
// Debian's as "exim4"), the mainlog's at priority LOG_INFO, the rejectlog's
// at LOG_NOTICE, the panic log's at LOG_ALERT (Exim specification, "Log
// files"; log.c, write_syslog). What a syslog daemon or journald makes of it:
//
//	Jun 29 16:04:19 mx1 exim[1234]: 2026-06-29 16:04:19 1xX1kN-0007i0-1Z <= a@b.example H=... (syslog_timestamp, the default)
//	Jun 29 16:04:19 mx1 exim[1234]: H=(x) [192.0.2.7] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted
//	2026-06-29T16:04:19.123456+02:00 mx1 exim4[1234]: ...   (rsyslog's RFC 3339, journalctl -o short-iso)
//	2019-10-22 03:39:17 mx1.fqdn.local exim[29786]: ...    (a syslog-ng template)
//	mail.example.com exim[3751842]: 2021-07-17 23:20:49 ...   (a template without the stamp)
//	exim[14700]: 2006-11-21 15:01:33 1Glsgv-0002wv-00 ...     (the tag alone)
//	{"__REALTIME_TIMESTAMP":"...","SYSLOG_IDENTIFIER":"exim4","PRIORITY":"6","MESSAGE":"...",...}   (journalctl -o json)
//
// Three rules of write_syslog shape the stream:
//
//   - With syslog_timestamp false, Exim's own stamp is left out; the time
//     is then the syslog daemon's. Exim's stamp, when there, is preferred:
//     it has the year, the zone (log_timezone) and the milliseconds.
//   - An entry of several lines (a rejectlog entry with its header dump)
//     or longer than 870 characters is sent in numbered pieces, "[1\3] ",
//     "[2\3] ", "[3/3] ": a backslash says the piece ends a line of the
//     entry, a slash that the line goes on in the next piece (it was cut at
//     870 characters) or that the piece is the last. The pieces of one entry
//     come from one process and are joined again here; the entry's events
//     are those of its last piece's line.
//   - With syslog_duplication (the default), a line written to both the
//     mainlog and the rejectlog (refusals, failed logins) is sent twice:
//     at LOG_INFO, then at LOG_NOTICE with the header dump if there is one.
//     The second copy gets Daemon "rejectlog", as if read from the
//     rejectlog file, so that the refusal is counted once (analysis/exim.go):
//     an entry of several lines is the rejectlog's; the priority tells where
//     journald or a "<PRI>" prefix kept it; otherwise a refusal repeated
//     word for word by the same process is the copy of the one before.

var (
	errBadSyslogStamp = errors.New("bad syslog timestamp")
	errBadJSON        = errors.New("bad journald JSON export line")
)

// Syslog severities (RFC 5424) that Exim uses.
const (
	sevNotice  = 5 // the rejectlog
	sevUnknown = -1
)

// syslogHeader is the part of a syslog line around Exim's text.
type syslogHeader struct {
	stamp     string // as written; "" when the line has none
	stampKind stampKind
	journal   time.Time // journald's __REALTIME_TIMESTAMP
	host      string
	tag       string // "exim", "exim4"
	pid       string // the process the syslog daemon names; "" when not logged
	severity  int    // from "<PRI>" or journald's PRIORITY; sevUnknown
}

type stampKind uint8

const (
	noStamp      stampKind = iota
	stampBSD               // "Jun 29 16:04:19" (RFC 3164), optionally with a fraction
	stampRFC3339           // "2026-06-29T16:04:19.123456+02:00", "2026-06-29T16:04:19+0200"
	stampISO               // "2019-10-22 03:39:17": syslog-ng's $DATE-like templates
	stampJournal           // journalctl -o json
)

// splitSyslog splits a syslog line into its header and message. It reports
// false for a line that is not a syslog line (a mainlog or rejectlog line);
// err is set for a journald line that is not valid JSON. A line without a
// stamp counts as syslog only with Exim's tag: "Envelope-from: <a@b>" is a
// rejectlog line, not a program named Envelope-from.
func splitSyslog(line string) (h syslogHeader, msg string, ok bool, err error) {
	h.severity = sevUnknown
	lo, hi := 0, len(line)
	for lo < hi && line[lo] == 0 {
		lo++
	}
	if strings.HasPrefix(line[lo:], "\ufeff") {
		lo += 3
	} else if lo < hi && line[lo] == 0x1e {
		lo++ // journalctl -o json-seq (RFC 7464)
	}
	if lo < hi && line[lo] == '{' {
		h, msg, err = journalJSON([]byte(line[lo:hi]))
		return h, msg, true, err
	}
	s := line[lo:hi]
	// "<30>": a priority kept by the syslog daemon's template.
	if len(s) > 3 && s[0] == '<' {
		if i := strings.IndexByte(s, '>'); i > 1 && i <= 4 {
			if pri, err := strconv.Atoi(s[1:i]); err == nil && pri >= 0 && pri < 192 {
				h.severity = pri & 7
				s = s[i+1:]
			}
		}
	}
	rest := s
	switch {
	case len(s) >= 16 && s[3] == ' ' && month(s[:3]) != 0:
		n := bsdStampLen(s)
		if n == 0 {
			return h, "", false, nil
		}
		h.stamp, h.stampKind, rest = s[:n], stampBSD, s[n:]
	case len(s) >= 20 && isDigit(s[0]) && s[4] == '-' && s[7] == '-' && s[10] == 'T':
		n := strings.IndexByte(s, ' ')
		if n < 0 {
			return h, "", false, nil
		}
		h.stamp, h.stampKind, rest = s[:n], stampRFC3339, s[n:]
	case len(s) >= 20 && isDigit(s[0]) && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':':
		n := 19
		if s[n] == '.' {
			n++
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		}
		h.stamp, h.stampKind, rest = s[:n], stampISO, s[n:]
	}
	if h.stampKind != noStamp {
		if rest == "" || rest[0] != ' ' {
			return h, "", false, nil
		}
		rest = rest[1:]
	}
	w1, r1, _ := strings.Cut(rest, " ")
	if tag, pid, isTag := tagWord(w1); isTag && (isEximTag(tag) || h.stampKind == stampBSD || h.stampKind == stampRFC3339) {
		// No host: "exim[14700]: ..." or a local file of a syslogd that
		// writes none.
		h.tag, h.pid = tag, pid
		return h, r1, true, nil
	}
	w2, r2, _ := strings.Cut(r1, " ")
	tag, pid, isTag := tagWord(w2)
	if w1 == "" || !isTag {
		return h, "", false, nil
	}
	if !isEximTag(tag) {
		// Another program's line. Without a stamp, or with one that an
		// Exim line starts with too, only the strict "host prog[pid]:"
		// shape is taken for syslog.
		if h.stampKind == noStamp || h.stampKind == stampISO && pid == "" {
			return h, "", false, nil
		}
	}
	h.host, h.tag, h.pid = w1, tag, pid
	return h, r2, true, nil
}

// bsdStampLen returns the length of the "Jun 29 16:04:19" (or "Jun  3
// 16:04:19.123456") stamp s starts with, or 0.
func bsdStampLen(s string) int {
	i := 4
	if s[i] == ' ' {
		i++
	}
	j := i
	for j < len(s) && j < i+2 && isDigit(s[j]) {
		j++
	}
	if j == i || j+9 > len(s) || s[j] != ' ' {
		return 0
	}
	c := s[j+1:]
	if !isDigit(c[0]) || !isDigit(c[1]) || c[2] != ':' || !isDigit(c[3]) || !isDigit(c[4]) || c[5] != ':' || !isDigit(c[6]) || !isDigit(c[7]) {
		return 0
	}
	n := j + 9
	if n < len(s) && s[n] == '.' {
		n++
		for n < len(s) && isDigit(s[n]) {
			n++
		}
	}
	return n
}

// tagWord splits a syslog tag word, "exim[1234]:" or "exim:", into the tag
// and the pid.
func tagWord(w string) (tag, pid string, ok bool) {
	if len(w) < 2 || w[len(w)-1] != ':' {
		return "", "", false
	}
	tag = w[:len(w)-1]
	if strings.HasSuffix(tag, "]") {
		i := strings.IndexByte(tag, '[')
		if i <= 0 {
			return "", "", false
		}
		pid = tag[i+1 : len(tag)-1]
		tag = tag[:i]
		if pid == "" {
			return "", "", false
		}
		for i := 0; i < len(pid); i++ {
			if !isDigit(pid[i]) {
				return "", "", false
			}
		}
	}
	if tag == "" {
		return "", "", false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !isBase62(c) && c != '-' && c != '_' && c != '.' && c != '/' {
			return "", "", false
		}
	}
	return tag, pid, true
}

// isEximTag reports whether a syslog tag is Exim's: syslog_processname's
// default "exim", Debian's "exim4", or one of them with a suffix
// ("exim-out"), maybe as a path.
func isEximTag(tag string) bool {
	tag = strings.ToLower(tag[strings.LastIndexByte(tag, '/')+1:])
	rest, ok := strings.CutPrefix(tag, "exim")
	if !ok {
		return false
	}
	return rest == "" || isDigit(rest[0]) || rest[0] == '-' || rest[0] == '_' || rest[0] == '.'
}

// journalEntry is the part of a journalctl -o json line read here. journald
// exports MESSAGE as an array of bytes when it is not valid UTF-8.
type journalEntry struct {
	Message    json.RawMessage `json:"MESSAGE"`
	Identifier string          `json:"SYSLOG_IDENTIFIER"`
	PID        string          `json:"_PID"`
	SyslogPID  string          `json:"SYSLOG_PID"`
	Hostname   string          `json:"_HOSTNAME"`
	Priority   string          `json:"PRIORITY"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"` // µs since the epoch
}

// journalJSON reads one line of journalctl -o json.
func journalJSON(line []byte) (h syslogHeader, msg string, err error) {
	h.severity = sevUnknown
	var e journalEntry
	if err := json.Unmarshal(line, &e); err != nil {
		return h, "", fmt.Errorf("%w: %v", errBadJSON, err)
	}
	switch {
	case len(e.Message) > 0 && e.Message[0] == '"':
		if err := json.Unmarshal(e.Message, &msg); err != nil {
			return h, "", fmt.Errorf("%w: MESSAGE: %v", errBadJSON, err)
		}
	case len(e.Message) > 0 && e.Message[0] == '[':
		var ints []int
		if err := json.Unmarshal(e.Message, &ints); err != nil {
			return h, "", fmt.Errorf("%w: MESSAGE: %v", errBadJSON, err)
		}
		b := make([]byte, 0, len(ints))
		for _, c := range ints {
			if c < 0 || c > 255 {
				return h, "", fmt.Errorf("%w: MESSAGE: byte %d out of range", errBadJSON, c)
			}
			b = append(b, byte(c))
		}
		msg = string(b)
	default:
		return h, "", fmt.Errorf("%w: no MESSAGE", errBadJSON)
	}
	us, err := strconv.ParseInt(e.Realtime, 10, 64)
	if err != nil {
		return h, "", fmt.Errorf("%w: __REALTIME_TIMESTAMP %q", errBadJSON, e.Realtime)
	}
	h.stampKind, h.journal = stampJournal, time.UnixMicro(us).UTC()
	h.tag, h.host, h.pid = e.Identifier, e.Hostname, e.SyslogPID
	if h.pid == "" {
		h.pid = e.PID
	}
	if sev, err := strconv.Atoi(e.Priority); err == nil && sev >= 0 && sev <= 7 {
		h.severity = sev
	}
	return h, msg, nil
}

// syslogState is what a Parser keeps for lines that came through syslog.
type syslogState struct {
	// For yearless stamps: see Options.Year and Options.ModTime.
	year, modYear       int
	modMonth, lastMonth time.Month

	// partial holds the entries whose pieces are still arriving, by host,
	// tag and pid.
	partial map[string]*entry
	// twins counts, by host, pid and text, the refusals read as the
	// mainlog's whose rejectlog copy may follow; old is the generation
	// before (see twin).
	twins, oldTwins map[string]int
	twinsAt         time.Time
}

// entry is one log entry that Exim sent in pieces.
type entry struct {
	total, next int
	lines       []string // the entry's lines so far
	open        bool     // the last line goes on in the next piece
	prefix      string   // the first piece's line up to its text, for Raw
}

// Bounds on what the parser holds for syslog: entries whose end never came
// (a cut log) and refusals whose copy never came (syslog_duplication off).
const (
	maxPartial = 1024
	maxTwins   = 4096
	twinWindow = 5 * time.Second
	maxPieces  = 1000 // LOG_BUFFER_SIZE is 8 KiB: a few dozen pieces at most
)

// splitPiece splits Exim's "[2\3] " or "[3/3] " off a syslog message.
func splitPiece(msg string) (n, m int, endsLine bool, text string, ok bool) {
	if len(msg) < 5 || msg[0] != '[' {
		return 0, 0, false, msg, false
	}
	i := 1
	for i < len(msg) && i < 6 && isDigit(msg[i]) {
		i++
	}
	if i == 1 || i >= len(msg) || msg[i] != '\\' && msg[i] != '/' {
		return 0, 0, false, msg, false
	}
	j := i + 1
	for j < len(msg) && j < i+6 && isDigit(msg[j]) {
		j++
	}
	if j == i+1 || j >= len(msg) || msg[j] != ']' || j+1 < len(msg) && msg[j+1] != ' ' {
		return 0, 0, false, msg, false
	}
	n, _ = num(msg[1:i])
	m, _ = num(msg[i+1 : j])
	if n < 1 || m < 2 || n > m || m > maxPieces {
		return 0, 0, false, msg, false
	}
	return n, m, msg[i] == '\\', msg[min(j+2, len(msg)):], true
}

// syslog parses the message of one syslog line.
func (p *Parser) syslog(dst []parsers.Event, h syslogHeader, msg, raw string, pos parsers.Pos) ([]parsers.Event, error) {
	if !isEximTag(h.tag) {
		return dst, parsers.ErrUnsupported // another program's line
	}
	n, m, endsLine, text, isPiece := splitPiece(msg)
	if !isPiece {
		return p.entry(dst, h, []string{msg}, "", raw, pos)
	}
	s := &p.sys
	key := h.host + "\x00" + h.tag + "\x00" + h.pid
	e := s.partial[key]
	switch {
	case n == 1:
		// A new entry. One still open from this process lost its end.
		if s.partial == nil || len(s.partial) >= maxPartial {
			s.partial = make(map[string]*entry)
		}
		e = &entry{total: m, next: 1}
		if h.stampKind != stampJournal { // the JSON around MESSAGE is no prefix of it
			e.prefix = raw[:len(raw)-len(text)]
		}
		s.partial[key] = e
	case e == nil || e.next != n || e.total != m:
		// The start of this entry is not in the log, or a piece is lost.
		delete(s.partial, key)
		return dst, parsers.ErrUnsupported
	}
	if e.open {
		e.lines[len(e.lines)-1] += text
	} else {
		e.lines = append(e.lines, text)
	}
	e.open = !endsLine
	e.next++
	if n < m {
		return dst, nil // its events come with the last piece
	}
	delete(s.partial, key)
	return p.entry(dst, h, e.lines, e.prefix, "", pos)
}

// entry appends the events of one whole log entry: its first line, then
// the rejectlog's dump lines, if any. The events of an entry sent in one
// piece keep the line as read, whole, as their Raw; those of an entry sent
// in pieces have the first piece's line up to its text (the syslog header
// and "[1\3] "), followed by the text of their own line of the entry.
func (p *Parser) entry(dst []parsers.Event, h syslogHeader, lines []string, prefix, whole string, pos parsers.Pos) ([]parsers.Event, error) {
	first := lines[0]
	raw := whole
	if raw == "" {
		raw = prefix + first
	}
	daemon := p.daemon
	if len(lines) > 1 || h.severity == sevNotice {
		daemon = "rejectlog" // only the rejectlog writes entries of several lines
	}
	host := h.host
	if host == "" {
		host = p.opt.Host
	}
	ev := parsers.Event{Pos: pos, Format: format, Host: host, Daemon: daemon, Raw: raw}
	var pid, body string
	st, ok := splitStamp(first)
	switch {
	case ok:
		ts, err := p.stamp(st)
		if err != nil {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
		}
		ev.Time, ev.QueueID, pid, body = ts, st.id, st.pid, st.body
	case st.badStamp:
		return dst, &parsers.ParseError{Pos: pos, Format: format, Err: errBadStamp}
	default:
		// syslog_timestamp = false: the syslog daemon's stamp it is.
		ts, err := p.syslogTime(h)
		if err != nil {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
		}
		ev.Time = ts
		pid, ev.QueueID, body = splitBody(first)
	}
	n := len(dst)
	dst, err := p.body(dst, ev, pid, body)
	if err != nil && !errors.Is(err, parsers.ErrUnsupported) {
		return dst, err
	}
	if h.severity == sevUnknown && !p.opt.Rejectlog && refusals(dst[n:]) {
		key := h.host + "\x00" + h.pid + "\x00" + first
		if p.sys.twin(key, ev.Time, len(lines) == 1) && len(lines) == 1 {
			for i := n; i < len(dst); i++ {
				dst[i].Daemon = "rejectlog"
			}
		}
	}
	for _, l := range lines[1:] {
		// A dump line that is not understood is not the entry's fault.
		dst, _ = p.dump(dst, l, prefix+l, pos)
	}
	p.envelope = false
	if len(dst) == n {
		return dst, parsers.ErrUnsupported
	}
	return dst, nil
}

// refusals reports whether evs hold a line that Exim writes to both the
// mainlog and the rejectlog: a refusal or a failed login.
func refusals(evs []parsers.Event) bool {
	for _, ev := range evs {
		if ev.Kind == parsers.KindReject || ev.Kind == parsers.KindAuthFailed {
			return true
		}
	}
	return false
}

// twin reports whether the refusal with this key is the rejectlog's copy of
// one read just before as the mainlog's, and counts it. single says the
// entry is the line alone: an entry of several lines is a rejectlog copy
// already, which only takes its twin out of the count. Copies follow their
// twin within milliseconds; a twin older than twinWindow is forgotten.
func (s *syslogState) twin(key string, t time.Time, single bool) bool {
	if s.twins == nil || t.Sub(s.twinsAt) > twinWindow || len(s.twins) >= maxTwins {
		s.oldTwins, s.twins, s.twinsAt = s.twins, make(map[string]int), t
	}
	for _, m := range [...]map[string]int{s.oldTwins, s.twins} {
		if m[key] > 0 {
			if m[key]--; m[key] == 0 {
				delete(m, key)
			}
			return true
		}
	}
	if single {
		s.twins[key]++
	}
	return false
}

// syslogTime returns the time of the syslog stamp, in UTC.
func (p *Parser) syslogTime(h syslogHeader) (time.Time, error) {
	switch h.stampKind {
	case stampJournal:
		return h.journal, nil
	case stampISO:
		st, ok := splitStamp(h.stamp)
		if !ok {
			break
		}
		return p.stamp(st)
	case stampRFC3339:
		for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
			if t, err := time.Parse(layout, h.stamp); err == nil {
				return t.UTC(), nil
			}
		}
		if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", h.stamp, p.opt.Location); err == nil {
			return t.UTC(), nil
		}
	case stampBSD:
		return p.yearless(h.stamp)
	default:
		return time.Time{}, errNoStamp
	}
	return time.Time{}, fmt.Errorf("%w %q", errBadSyslogStamp, h.stamp)
}

// yearless reads "Jun 29 16:04:19" and gives it a year: Options.Year for
// the first line, one more whenever the month goes back; without it, the
// year of Options.ModTime, one less for a month after ModTime's (so that
// every line of a file that crosses New Year gets its own right).
func (p *Parser) yearless(stamp string) (time.Time, error) {
	t, err := time.Parse("Jan _2 15:04:05", stamp) // a fraction is accepted too
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q", errBadSyslogStamp, stamp)
	}
	s := &p.sys
	var year int
	if p.opt.Year != 0 {
		if s.lastMonth != 0 && t.Month() < s.lastMonth {
			s.year++
		}
		year = s.year
	} else {
		year = s.modYear
		if t.Month() > s.modMonth {
			year--
		}
	}
	d := time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), p.opt.Location)
	if d.Day() != t.Day() {
		return time.Time{}, fmt.Errorf("%w %q: no such day in %d", errBadSyslogStamp, stamp, year)
	}
	s.lastMonth = t.Month()
	return d.UTC(), nil
}

// month returns the month named by a three-letter English name, or 0.
func month(s string) time.Month {
	const names = "JanFebMarAprMayJunJulAugSepOctNovDec"
	for i := 0; i+3 <= len(names); i += 3 {
		if names[i:i+3] == s {
			return time.Month(i/3 + 1)
		}
	}
	return 0
}
