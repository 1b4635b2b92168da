package pipeline

import (
	"context"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Overlapping syslog files. Debian's rsyslog writes each mail line to
// mail.log and again, by priority, to mail.info, mail.warn or mail.err
// ("mail.* -/var/log/mail.log", "mail.warn -/var/log/mail.warn", ...), so
// that "scan /var/log/mail.*" reads a failed login or a refusal twice. The
// first-line fingerprint cannot tell (the files differ), so the lines
// themselves are compared: an identical line (same stamp, host, program,
// pid and text) read from two files of one such set in one run is read
// once. A line repeated within one file (a client refused twice in a
// second) is each time a line of its own, and is kept as often as the file
// that has it most often has it.
//
// Only the lines of the priority files (mail.warn, mail.err, ...) are
// remembered, and only when the run also reads another file of their set:
// they are a few percent of mail.log, and the lines of mail.log that
// another file repeats are among them. They are hashed before the run.

// priorityLog matches a syslog file of one priority: the set's name, the
// priority, and a rotation suffix (mail.warn, mail.err.1, mail.info.2.gz,
// mail.warn-20240107).
var priorityLog = regexp.MustCompile(`^(.+)\.(debug|info|notice|warn|warning|err|error|crit|alert|emerg)((\.\d+)?(\.(gz|bz2|xz|zst))?|-\d{8}(\.(gz|bz2|xz|zst))?)$`)

// streamLog matches the set's file of every priority (mail.log,
// mail.log.1, mail.log.2.gz, mail.log-20240107).
var streamLog = regexp.MustCompile(`^(.+)\.log((\.\d+)?(\.(gz|bz2|xz|zst))?|-\d{8}(\.(gz|bz2|xz|zst))?)$`)

// maxOverlapLines bounds the lines remembered: the priority files of a
// busy server's week; past it, later lines are not compared (and a warning
// says so).
const maxOverlapLines = 1 << 18

// errOverlap marks a line skipped as one read from another file before; it
// counts as unsupported.
var errOverlap = fmt.Errorf("%w: the same line was read from another file", parsers.ErrUnsupported)

// overlap is the lines of a run's priority files, and how often each was
// read.
type overlap struct {
	seed    maphash.Seed
	lines   map[uint64]*overlapLine
	skipped map[string]int64 // lines skipped, by input path
	full    bool             // maxOverlapLines was reached
}

type overlapLine struct {
	kept int    // times it was read as a line (in the file that had it most)
	file string // the input reading it now
	n    int    // times that input has had it so far
}

// overlapSet returns the set a file belongs to ("/var/log/mail") and
// whether it is a priority file, or "" when it is of no set.
func overlapSet(path string) (set string, priority bool) {
	base := filepath.Base(path)
	if m := priorityLog.FindStringSubmatch(base); m != nil {
		return filepath.Join(filepath.Dir(path), m[1]), true
	}
	if m := streamLog.FindStringSubmatch(base); m != nil {
		return filepath.Join(filepath.Dir(path), m[1]), false
	}
	return "", false
}

// newOverlap hashes the lines of the priority files in ins whose set the
// run reads more than one file kind of (mail.log and mail.warn, or
// mail.warn and mail.err). It returns nil when there are none. A file that
// cannot be read here is left to Run to report.
func newOverlap(ctx context.Context, ins []*Input) *overlap {
	kinds := map[string]map[string]bool{} // set → kinds of file read ("log", "warn")
	for _, in := range ins {
		if in.stdin != nil {
			continue
		}
		set, _ := overlapSet(in.Path)
		if set == "" {
			continue
		}
		if kinds[set] == nil {
			kinds[set] = map[string]bool{}
		}
		kinds[set][fileKind(in.Path)] = true
	}
	o := &overlap{seed: maphash.MakeSeed(), lines: map[uint64]*overlapLine{}, skipped: map[string]int64{}}
	for _, in := range ins {
		set, priority := overlapSet(in.Path)
		if !priority || in.stdin != nil || len(kinds[set]) < 2 || o.full {
			continue
		}
		o.hashFile(ctx, in)
	}
	if len(o.lines) == 0 {
		return nil
	}
	return o
}

// fileKind is the part of a file's name that says which file of its set
// it is: "log", "warn", "err"...
func fileKind(path string) string {
	base := filepath.Base(path)
	if m := priorityLog.FindStringSubmatch(base); m != nil {
		return m[2]
	}
	return "log"
}

// hashFile remembers the lines of one priority file, each once however
// often it has it (how often decides only while reading).
func (o *overlap) hashFile(ctx context.Context, in *Input) {
	rc, err := OpenInput(in)
	if err != nil {
		return
	}
	defer rc.Close()
	defer in.readSoFar.Store(0)
	h := hasher{o}
	_, _ = parsers.Scan(ctx, rc, in.Path, parsers.Start{}, h, func(parsers.Event) error { return nil }, nil)
}

// hasher is a parsers.Parser that remembers every line it is given, as
// parsers.Scan cuts and trims them.
type hasher struct{ o *overlap }

func (h hasher) Parse(dst []parsers.Event, line []byte, _ parsers.Pos) ([]parsers.Event, error) {
	o := h.o
	if len(o.lines) >= maxOverlapLines {
		o.full = true
		return dst, parsers.ErrUnsupported
	}
	k := maphash.Bytes(o.seed, line)
	if o.lines[k] == nil {
		o.lines[k] = &overlapLine{}
	}
	return dst, parsers.ErrUnsupported
}

// wrap returns p for reading in: a line of the priority files that another
// file of the run already gave as often as in has it so far is skipped.
func (o *overlap) wrap(p parsers.Parser, in *Input) parsers.Parser {
	if o == nil {
		return p
	}
	if set, _ := overlapSet(in.Path); set == "" {
		return p
	}
	return &overlapParser{Parser: p, o: o, path: in.Path}
}

// skippedIn returns how many lines of in were skipped as read before.
func (o *overlap) skippedIn(in *Input) int64 {
	if o == nil {
		return 0
	}
	return o.skipped[in.Path]
}

type overlapParser struct {
	parsers.Parser
	o    *overlap
	path string
}

func (p *overlapParser) Parse(dst []parsers.Event, line []byte, pos parsers.Pos) ([]parsers.Event, error) {
	if l := p.o.lines[maphash.Bytes(p.o.seed, line)]; l != nil {
		if l.file != p.path {
			l.file, l.n = p.path, 0
		}
		l.n++
		if l.n <= l.kept {
			p.o.skipped[p.path]++
			return dst, errOverlap
		}
		l.kept++
	}
	return p.Parser.Parse(dst, line, pos)
}

// overlapNote says what was skipped of in, or "".
func (o *overlap) note(in *Input) string {
	n := o.skippedIn(in)
	if n == 0 {
		return ""
	}
	what := "lines"
	if n == 1 {
		what = "line"
	}
	return fmt.Sprintf("%s: %d %s also in another file read (rsyslog writes a line to mail.log and by priority to mail.warn, mail.err...), counted once",
		parsers.Clean(in.Path), n, what)
}

// fullNote warns that the priority files had more lines than remembered.
func (o *overlap) fullNote() string {
	if o == nil || !o.full {
		return ""
	}
	return fmt.Sprintf("warning: the priority files (%s) have more than %d lines: lines past those are not compared with the other files read, and may be counted twice",
		strings.Join(priorityNames, ", "), maxOverlapLines)
}

var priorityNames = []string{"mail.info", "mail.warn", "mail.err"}
