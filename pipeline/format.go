// Package pipeline is relaysleuth's engine: sources of lines (files, .gz,
// standard input, a file followed across rotation) feed one pipeline that
// parses, correlates, judges and stores them through one committer. The
// commands ingest, scan, tail and rejudge all run it.
package pipeline

import (
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/exchange"
	"github.com/relaysleuth/relaysleuth/parsers/exim"
	"github.com/relaysleuth/relaysleuth/parsers/postfix"
)

// Options says how to read the inputs of a run.
type Options struct {
	// Format is a name from FormatNames, or "auto" (or "") to tell each
	// input's format from its first lines.
	Format string
	// Year is the year of the first line of logs whose stamps have none;
	// 0: from the file's modification time.
	Year int
	// Location is the time zone of stamps that carry none; nil: Local.
	Location *time.Location
}

func (o Options) location() *time.Location {
	if o.Location == nil {
		return time.Local
	}
	return o.Location
}

func (o Options) auto() bool { return o.Format == "" || o.Format == "auto" }

// ParserOptions is what a format needs to know about the file it parses.
type ParserOptions struct {
	Path     string
	ModTime  time.Time
	Year     int
	Location *time.Location
}

// A Format is one supported log format.
type Format struct {
	Name  string
	sniff func(line []byte) bool
	// New returns a parser for one file (or one series of rotated files).
	New func(ParserOptions) parsers.Parser
}

var logFormats = []Format{
	{
		Name:  "postfix",
		sniff: postfix.Sniff,
		New: func(o ParserOptions) parsers.Parser {
			return postfix.NewParser(postfix.Options{Year: o.Year, ModTime: o.ModTime, Location: o.Location})
		},
	},
	{
		Name:  "exim",
		sniff: exim.Sniff,
		New: func(o ParserOptions) parsers.Parser {
			// Exim writes its rejectlog beside the mainlog; a reject in both is
			// one refusal (see analysis/exim.go).
			return exim.NewParser(exim.Options{Location: o.Location, Rejectlog: strings.Contains(filepath.Base(o.Path), "reject")})
		},
	},
	{
		Name:  "exchange",
		sniff: exchange.Sniff,
		New: func(o ParserOptions) parsers.Parser {
			// The file name tells the log type when a copy lost its header.
			return exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(o.Path)})
		},
	},
}

// FormatNames returns the names of the formats, for --input-format.
func FormatNames() []string {
	var names []string
	for _, f := range logFormats {
		names = append(names, f.Name)
	}
	return names
}

// FormatByName returns the format called name.
func FormatByName(name string) (Format, bool) {
	for _, f := range logFormats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// detectFormat returns the format most of the first lines look like.
func detectFormat(lines [][]byte) (Format, bool) {
	best, bestN := Format{}, 0
	for _, f := range logFormats {
		n := 0
		for _, l := range lines {
			if f.sniff(l) {
				n++
			}
		}
		if n > bestN {
			best, bestN = f, n
		}
	}
	return best, bestN > 0
}

// shareRotated gives the rotated files of one Exchange log in one folder
// (RECV2025020614-1.LOG, RECV2025020614-2.LOG, the next hour's
// RECV2025020615-1.LOG) a single parser, which reads them in the order ins
// has them (oldest first): an SMTP session continued in the next file then
// keeps its sender, its authentication and the commands still waiting for a
// reply. With a parser per file, a session authenticated in one file and
// queued in the next looked anonymous, a false relay_abuse.
func shareRotated(ins []*Input) {
	parsersOf := map[string]parsers.Parser{}
	for _, in := range ins {
		if in.Format.Name != "exchange" || in.stdin != nil {
			continue
		}
		key, ok := exchangeSeries(in.Path)
		if !ok {
			continue
		}
		newParser := in.Format.New
		in.Format.New = func(o ParserOptions) parsers.Parser {
			p, ok := parsersOf[key]
			if !ok {
				p = newParser(o)
				parsersOf[key] = p
			}
			return p
		}
	}
}

// exchangeSeries names the log a file of an Exchange log folder belongs to:
// its folder and the letters before the date in its name ("RECV",
// "MSGTRKMD", "EX"). It reports false for a name Exchange does not write.
func exchangeSeries(path string) (string, bool) {
	if exchange.LogTypeOf(path) == exchange.LogUnknown {
		return "", false
	}
	base := strings.ToUpper(filepath.Base(path))
	i := strings.IndexAny(base, "0123456789")
	if i <= 0 {
		return "", false
	}
	return filepath.Join(filepath.Dir(path), base[:i]), true
}

// detectHeaderless recognises an Exchange log that lost its "#" header
// block (a copy, a file cut at the start) by its name, as Exchange names
// its logs, when its first lines read as rows of that log with the
// documented default columns. Content alone cannot tell such rows from
// other CSV.
func detectHeaderless(path string, lines [][]byte) (Format, bool) {
	log := exchange.LogTypeOf(path)
	if log == exchange.LogUnknown {
		return Format{}, false
	}
	f, _ := FormatByName("exchange")
	p := exchange.NewParser(exchange.Options{Log: log})
	good, bad := 0, 0
	for i, l := range lines {
		_, err := p.Parse(nil, l, parsers.Pos{File: path, Line: i + 1})
		var pe *parsers.ParseError
		switch {
		case errors.As(err, &pe):
			bad++
		default:
			good++
		}
	}
	return f, good > bad
}
