package main

import (
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
