package main

import (
	"fmt"
	"io"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// printTraffic prints report traffic. JSON is the whole Traffic; CSV one
// table of rows named by section (analysis.TrafficCSV); a table one table
// per section.
func printTraffic(w io.Writer, format string, t analysis.Traffic) error {
	if format == "json" {
		return writeJSON(w, t)
	}
	l := layout(w, format)
	if format == "csv" {
		return writeData(w, format, analysis.TrafficCSV(t, l))
	}
	if t.From.IsZero() {
		say(w, "No traffic in the span: no event was stored for it.")
		return nil
	}
	say(w, clean(analysis.TrafficHeadline(t, l)))
	for _, s := range analysis.TrafficSections(t, l) {
		if len(s.Rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", s.Title)
		if err := writeTable(w, s.Table); err != nil {
			return err
		}
	}
	return nil
}
