package main

import (
	"encoding/csv"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// writeTable renders rows under header for a terminal. Every cell is passed
// through clean first: log fields are chosen by strangers.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	t.Header(anySlice(header)...)
	for _, r := range rows {
		if err := t.Append(anySlice(cleanAll(r))...); err != nil {
			return err
		}
	}
	return t.Render()
}

// writeCSV writes header and rows as CSV, control characters escaped.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(cleanAll(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}

// clean makes s safe to print on a terminal (see parsers.Clean).
func clean(s string) string { return parsers.Clean(s) }
