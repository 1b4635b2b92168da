// Package pipeline is relaysleuth's engine: sources of lines (files, .gz,
// standard input, a file followed across rotation) feed one pipeline that
// parses, correlates, judges and stores them through one committer. The
// commands ingest, scan, tail and rejudge all run it.
package pipeline

import (
	"path/filepath"
	"slices"
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
	// Kind is the kind of log within the format, when detection or the
	// user named it: an Exchange log type ("tracking", "receive", "send",
	// "w3c") for rows without their header.
	Kind string
}

// A Format is one supported log format.
type Format struct {
	Name string
	// Kind is the kind of log --input-format named with the format
	// ("exchange-receive"), "" when it named the format alone.
	Kind string
	// New returns a parser for one file (or one series of rotated files).
	New func(ParserOptions) parsers.Parser
}

var logFormats = []Format{
	{
		Name: "postfix",
		New: func(o ParserOptions) parsers.Parser {
			return postfix.NewParser(postfix.Options{Year: o.Year, ModTime: o.ModTime, Location: o.Location})
		},
	},
	{
		Name: "exim",
		New: func(o ParserOptions) parsers.Parser {
			// Exim writes its rejectlog beside the mainlog; a reject in both is
			// one refusal (see analysis/exim.go). Year and ModTime date the
			// yearless stamps of lines that came through syslog.
			return exim.NewParser(exim.Options{Location: o.Location, Rejectlog: rejectlog(o.Path), Year: o.Year, ModTime: o.ModTime})
		},
	},
	{
		Name: "exchange",
		New: func(o ParserOptions) parsers.Parser {
			// The kind detected (or named) tells the log type of rows
			// without a header; else the file name, as Exchange names them.
			log := exchange.ParseLogType(o.Kind)
			if log == exchange.LogUnknown {
				log = exchange.LogTypeOf(o.Path)
			}
			return exchange.NewParser(exchange.Options{Log: log})
		},
	},
}

// rejectlog reports whether an Exim log file is a rejectlog: its name says
// so, or the folder it is in ("rejectlog/0021").
func rejectlog(path string) bool {
	return strings.Contains(filepath.Base(path), "reject") || filepath.Base(filepath.Dir(path)) == "rejectlog"
}

// exchangeKinds are the Exchange logs --input-format can name, for rows
// without the header that says which they are: "exchange-receive".
var exchangeKinds = []exchange.LogType{exchange.LogTracking, exchange.LogReceive, exchange.LogSend, exchange.LogW3C}

// FormatNames returns the names --input-format takes: the formats, and
// "exchange-KIND" for each Exchange log.
func FormatNames() []string {
	var names []string
	for _, f := range logFormats {
		names = append(names, f.Name)
	}
	for _, k := range exchangeKinds {
		names = append(names, "exchange-"+k.String())
	}
	return names
}

// FormatByName returns the format called name, one of FormatNames.
func FormatByName(name string) (Format, bool) {
	base, kind, _ := strings.Cut(name, "-")
	for _, f := range logFormats {
		if f.Name != base {
			continue
		}
		if kind == "" {
			return f, true
		}
		if k := exchange.ParseLogType(kind); f.Name == "exchange" && slices.Contains(exchangeKinds, k) {
			return f.withKind(k.String()), true
		}
	}
	return Format{}, false
}

// withKind returns f for one kind of its logs: its parsers are made with
// ParserOptions.Kind set to kind, unless the caller sets another.
func (f Format) withKind(kind string) Format {
	f.Kind = kind
	newParser := f.New
	f.New = func(o ParserOptions) parsers.Parser {
		if o.Kind == "" {
			o.Kind = kind
		}
		return newParser(o)
	}
	return f
}

// detectFormat returns the format of lines, as detect, for a caller that
// has no file name (tail's first lines).
func detectFormat(lines [][]byte) (Format, bool) {
	d, ok := detect("", lines)
	return d.format, ok
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
