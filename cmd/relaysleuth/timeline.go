package main

import (
	"io"

	"github.com/relaysleuth/relaysleuth/analysis"
)

func printTimeline(w io.Writer, format string, entries []analysis.TimelineEntry) error {
	if format == "json" {
		if entries == nil {
			entries = []analysis.TimelineEntry{}
		}
		return writeJSON(w, entries)
	}
	l := layout(w, format)
	t := analysis.TimelineTable(entries, l)
	if format == "csv" {
		return writeCSV(w, t.Columns, t.Rows)
	}
	if len(t.Rows) == 0 {
		say(w, "Nothing in the timeline: no server event and no recipient in the span.")
		return nil
	}
	if e, ok := analysis.RelayChange(entries, l); ok {
		say(w, clean(e))
	}
	return writeTable(w, t)
}
