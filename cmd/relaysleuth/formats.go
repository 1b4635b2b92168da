package main

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

// parserOptions is what a format needs to know about the file it parses.
type parserOptions struct {
	path     string
	modTime  time.Time
	year     int
	location *time.Location
}

// logFormat is one supported log format.
type logFormat struct {
	name  string
	sniff func(line []byte) bool
	new   func(parserOptions) parsers.Parser
}

var logFormats = []logFormat{
	{
		name:  "postfix",
		sniff: postfix.Sniff,
		new: func(o parserOptions) parsers.Parser {
			return postfix.NewParser(postfix.Options{Year: o.year, ModTime: o.modTime, Location: o.location})
		},
	},
	{
		name:  "exim",
		sniff: exim.Sniff,
		new: func(o parserOptions) parsers.Parser {
			// Exim writes its rejectlog beside the mainlog; a reject in both is
			// one refusal (see analysis/exim.go).
			return exim.NewParser(exim.Options{Location: o.location, Rejectlog: strings.Contains(filepath.Base(o.path), "reject")})
		},
	},
	{
		name:  "exchange",
		sniff: exchange.Sniff,
		new: func(o parserOptions) parsers.Parser {
			// The file name tells the log type when a copy lost its header.
			return exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(o.path)})
		},
	},
}

func formatNames() []string {
	var names []string
	for _, f := range logFormats {
		names = append(names, f.name)
	}
	return names
}

func formatByName(name string) (logFormat, bool) {
	for _, f := range logFormats {
		if f.name == name {
			return f, true
		}
	}
	return logFormat{}, false
}

// detectFormat returns the format most of the first lines look like.
func detectFormat(lines [][]byte) (logFormat, bool) {
	best, bestN := logFormat{}, 0
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
func shareRotated(ins []*input) {
	parsersOf := map[string]parsers.Parser{}
	for _, in := range ins {
		if in.format.name != "exchange" || in.stdin != nil {
			continue
		}
		key, ok := exchangeSeries(in.path)
		if !ok {
			continue
		}
		newParser := in.format.new
		in.format.new = func(o parserOptions) parsers.Parser {
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
func detectHeaderless(path string, lines [][]byte) (logFormat, bool) {
	log := exchange.LogTypeOf(path)
	if log == exchange.LogUnknown {
		return logFormat{}, false
	}
	f, _ := formatByName("exchange")
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
