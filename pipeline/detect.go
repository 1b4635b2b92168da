package pipeline

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/exchange"
	"github.com/relaysleuth/relaysleuth/parsers/exim"
	"github.com/relaysleuth/relaysleuth/parsers/postfix"
)

// A detection is the format chosen for a file, and why.
type detection struct {
	format Format
	kind   string // the kind of log within the format, when known ("receive")
	why    string
}

// detect chooses a file's format from its name and first lines. In order:
//
//  1. An Exchange or IIS "#" header line names the format outright: no
//     other log starts so, and the rows after it may look like other
//     formats' lines (an IIS W3C row begins with an Exim-like stamp).
//  2. Otherwise each line votes for the format whose shape it has: an
//     Exchange row without its header (exchange.RowLog, checked first as
//     the most specific), a Postfix syslog line, an Exim line (mainlog,
//     rejectlog, or through syslog). The most votes win.
//  3. A file named as Exchange names its logs (MSGTRK…, RECV…, SEND…,
//     exYYMMDD.LOG) whose rows no shape matched is read as that log when
//     most of them parse with its default columns.
func detect(path string, lines [][]byte) (detection, bool) {
	for i, l := range lines {
		t := bytes.TrimPrefix(l, []byte("\ufeff"))
		if len(t) > 0 && (t[0] == '#' || i == 0) && exchange.Sniff(l) {
			f, _ := FormatByName("exchange")
			return detection{format: f, why: fmt.Sprintf("line %d is an Exchange or IIS log header: %s", i+1, clip(t))}, true
		}
	}
	votes := map[string]int{}
	kinds := map[exchange.LogType]int{}
	for _, l := range lines {
		switch {
		case exchange.RowLog(l) != exchange.LogUnknown:
			votes["exchange"]++
			kinds[exchange.RowLog(l)]++
		case exchange.Sniff(l):
			votes["exchange"]++ // a message trace export's record, say
		case postfix.Sniff(l):
			votes["postfix"]++
		case exim.Sniff(l):
			votes["exim"]++
		}
	}
	best := ""
	for _, name := range []string{"postfix", "exim", "exchange"} {
		if votes[name] > votes[best] {
			best = name
		}
	}
	if best == "" {
		if log := exchange.LogTypeOf(path); log != exchange.LogUnknown && headerless(path, log, lines) {
			f, _ := FormatByName("exchange")
			return detection{format: f.withKind(log.String()), kind: log.String(),
				why: fmt.Sprintf("the file name says Exchange %s log and most of its first %d rows read as one", log, len(lines))}, true
		}
		return detection{}, false
	}
	f, _ := FormatByName(best)
	d := detection{format: f}
	what := map[string]string{"postfix": "Postfix syslog lines", "exim": "Exim log lines (mainlog, rejectlog or syslog)",
		"exchange": "Exchange log lines"}[best]
	if best == "exchange" && len(kinds) > 0 {
		var top exchange.LogType
		for k, n := range kinds {
			if n > kinds[top] || n == kinds[top] && k < top {
				top = k
			}
		}
		d.kind = top.String()
		d.format = f.withKind(d.kind)
		what = fmt.Sprintf("Exchange %s log rows without their #Fields header", top)
	}
	d.why = fmt.Sprintf("%d of the first %d lines are %s", votes[best], len(lines), what)
	var others []string
	for _, name := range []string{"postfix", "exim", "exchange"} {
		if name != best && votes[name] > 0 {
			others = append(others, fmt.Sprintf("%s %d", name, votes[name]))
		}
	}
	if len(others) > 0 {
		d.why += " (" + strings.Join(others, ", ") + ")"
	}
	return d, true
}

// headerless reports whether most of lines parse as rows of an Exchange
// log of type log with its default columns. Content alone cannot tell rows
// of other CSV from them: this is asked only of files Exchange's way of
// naming its logs points at.
func headerless(path string, log exchange.LogType, lines [][]byte) bool {
	p := exchange.NewParser(exchange.Options{Log: log})
	good, bad := 0, 0
	for i, l := range lines {
		_, err := p.Parse(nil, l, parsers.Pos{File: path, Line: i + 1})
		if isMalformed(err) {
			bad++
		} else {
			good++
		}
	}
	return good > bad
}

// otherPrograms returns the programs of lines that are syslog lines of
// programs other than a mail server's (opendkim, dovecot, amavis), most
// frequent first, when most lines are such lines.
func otherPrograms(lines [][]byte) []string {
	n := map[string]int{}
	total := 0
	for _, l := range lines {
		if tag, ok := syslogTag(string(l)); ok {
			n[tag]++
			total++
		}
	}
	if total*2 <= len(lines) {
		return nil
	}
	tags := make([]string, 0, len(n))
	for t := range n {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool {
		if n[tags[i]] != n[tags[j]] {
			return n[tags[i]] > n[tags[j]]
		}
		return tags[i] < tags[j]
	})
	return tags
}

// syslogTag returns the program of a traditional or RFC 3339 syslog line
// ("Jan 28 07:52:03 mail opendkim[289]: ..."), without its pid.
func syslogTag(s string) (string, bool) {
	var rest string
	switch {
	case len(s) > 16 && s[3] == ' ' && strings.Contains("JanFebMarAprMayJunJulAugSepOctNovDec", s[:3]):
		// "Jan 28 07:52:03 " or "Jan  8 07:52:03 "
		i := strings.IndexByte(s[4:], ':')
		if i < 0 {
			return "", false
		}
		sp := strings.IndexByte(s[4+i:], ' ')
		if sp < 0 {
			return "", false
		}
		rest = s[4+i+sp+1:]
	case len(s) > 20 && s[4] == '-' && s[10] == 'T':
		_, r, ok := strings.Cut(s, " ")
		if !ok {
			return "", false
		}
		rest = r
	default:
		return "", false
	}
	_, rest, ok := strings.Cut(rest, " ") // the host
	if !ok {
		return "", false
	}
	tag, _, ok := strings.Cut(rest, ": ")
	if !ok || tag == "" || strings.ContainsAny(tag, " =") {
		return "", false
	}
	if i := strings.IndexByte(tag, '['); i > 0 && strings.HasSuffix(tag, "]") {
		tag = tag[:i]
	}
	return tag, true
}

// clip shortens a line for a message.
func clip(b []byte) string {
	s := parsers.Clean(string(b))
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// isMalformed reports whether a Parse error says the line is not of the
// format (not merely of no interest).
func isMalformed(err error) bool {
	var pe *parsers.ParseError
	return errors.As(err, &pe)
}

// ErrNoMailLines is the reason of a SkipError for a syslog file that holds
// other programs' lines only (Debian's mail.err with opendkim's): it is
// reported and skipped, and is by itself no error when other inputs were
// read.
var ErrNoMailLines = fmt.Errorf("%w: no mail server's lines", ErrNotMailLog)

var errUnknownFormat = errors.New("unknown format")

// chooseFormat sets in's Format and Why: the one --input-format names, or
// the one detected from its name and first lines. A file that is no mail
// log comes back as a SkipError.
func chooseFormat(in *Input, lines [][]byte, o Options) error {
	p := in.Path
	d, detected := detect(p, lines)
	if !o.auto() {
		f, ok := FormatByName(o.Format)
		if !ok {
			return fmt.Errorf("%w %q", errUnknownFormat, o.Format)
		}
		in.Format, in.Why = f, "--input-format "+o.Format
		switch {
		case detected && d.format.Name != f.Name:
			in.Warning = fmt.Sprintf("looks like %s (%s); read as %s, as --input-format says", d.format.Name, d.why, f.Name)
		case detected && f.Kind == "" && d.kind != "":
			// "--input-format exchange" on rows without their header: the
			// kind of log their shape tells.
			in.Format, in.Why = d.format, in.Why+"; "+d.why
		}
		return nil
	}
	if !detected {
		if progs := otherPrograms(lines); progs != nil && in.stdin == nil {
			// A syslog file whose first lines are other programs': a mail
			// server's lines may come further on, or none at all.
			if d, detected = detectFurther(in, len(lines)); !detected {
				return &SkipError{p, fmt.Sprintf("%s: holds no mail server's lines (%s only), skipped", p, strings.Join(progs, ", ")), ErrNoMailLines}
			}
		}
	}
	if !detected {
		what := "not a Postfix, Exim or Exchange log"
		if binary(lines) {
			what = "binary file, not a mail log"
		}
		return &SkipError{p, fmt.Sprintf("%s:1: %s (first lines not recognised), skipped", p, what), ErrNotMailLog}
	}
	in.Format, in.Why = d.format, d.why
	return nil
}

// checkFormat parses in's first lines as its format: the time of the first
// one that has one (for reading inputs oldest first), and a Warning when
// most of them do not read as that format, so that no file is read
// silently as the wrong one.
func checkFormat(in *Input, lines [][]byte, o Options, loc *time.Location) {
	parser := in.Format.New(ParserOptions{Path: in.Path, ModTime: in.ModTime, Year: o.Year, Location: loc})
	bad := 0
	for i, l := range lines {
		evs, err := parser.Parse(nil, l, parsers.Pos{File: in.Path, Line: i + 1})
		if isMalformed(err) {
			bad++
		}
		if len(evs) > 0 && in.First.IsZero() {
			in.First = evs[0].Time
		}
	}
	if bad*2 > len(lines) {
		w := fmt.Sprintf("%d of its first %d lines do not read as %s", bad, len(lines), in.Format.Name)
		in.Warning = strings.TrimPrefix(in.Warning+"; "+w, "; ")
	}
}

// maxDetectBytes bounds how far into a file detectFurther looks for a mail
// server's first line.
const maxDetectBytes = 64 << 20

// detectFurther reads on through a file whose first skip lines are other
// programs' syslog lines, to its first lines of a mail server, and detects
// the format from those.
func detectFurther(in *Input, skip int) (detection, bool) {
	rc, err := OpenInput(in)
	if err != nil {
		return detection{}, false
	}
	defer rc.Close()
	defer in.readSoFar.Store(0)
	br := bufio.NewReaderSize(io.LimitReader(rc, maxDetectBytes), 64<<10)
	var mail [][]byte
	first := 0
	for n := 1; len(mail) < sniffLines; n++ {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) { // longer than any mail line: not one
			line = nil
			_, err = br.ReadSlice('\n')
		}
		if l := bytes.TrimRight(line, "\r\n"); n > skip && len(l) > 0 {
			if _, ok := detect(in.Path, [][]byte{l}); ok {
				if first == 0 {
					first = n
				}
				mail = append(mail, bytes.Clone(l))
			}
		}
		if err != nil {
			break
		}
	}
	if len(mail) == 0 {
		return detection{}, false
	}
	d, ok := detect(in.Path, mail)
	d.why = fmt.Sprintf("its first mail server's line is line %d, after other programs' lines; %s", first, d.why)
	return d, ok
}
