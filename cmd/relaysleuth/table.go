package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/term"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// A screen is where a command's output goes, and what it knows of it: a
// terminal's width (0 when the output is not a terminal: a pipe or a
// file), and whether the user asked for every column in full (--wide).
type screen struct {
	io.Writer
	width int
	wide  bool
}

// newScreen wraps w, finding its width when it is a terminal.
func newScreen(w io.Writer, wide bool) *screen {
	s := &screen{Writer: w, wide: wide}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			s.width = width
		}
	}
	return s
}

// layout is how report values become text for w in format: times in the
// display zone; lists in full in CSV and with --wide, otherwise a table
// shows the first of a list.
func layout(w io.Writer, format string) analysis.Layout {
	s, ok := w.(*screen)
	return analysis.Layout{Zone: displayZone, Full: format == "csv" || ok && s.wide}
}

// writeData writes t as CSV, or as a table for a person.
func writeData(w io.Writer, format string, t analysis.Table) error {
	if format == "csv" {
		return writeCSV(w, t.Columns, t.Rows)
	}
	return writeColumns(w, t.Columns, t.Rows)
}

// writeTable renders t for a person (see writeColumns).
func writeTable(w io.Writer, t analysis.Table) error { return writeColumns(w, t.Columns, t.Rows) }

// writeColumns renders rows for a person. On a terminal the table fits its
// width: the least important columns are left out, then the widest cells
// are wrapped (never cut); --wide shows everything as it is. Piped or
// written to a file, the layout is plain aligned columns, every column in
// full. Every cell is passed through clean first: log fields are chosen by
// strangers.
func writeColumns(w io.Writer, cols []analysis.Column, rows [][]string) error {
	clean := make([][]string, len(rows))
	for i, r := range rows {
		clean[i] = cleanAll(r)
	}
	s, _ := w.(*screen)
	if s == nil || s.width == 0 {
		return writePlain(w, cols, clean)
	}
	if !s.wide {
		var left int
		var t analysis.Table
		t, left = analysis.Table{Columns: cols, Rows: clean}.Fit(s.width)
		cols, clean = t.Columns, t.Rows
		if left > 0 {
			defer fmt.Fprintf(w, "(%d columns left out to fit the terminal; --wide shows them, --format csv or json has everything)\n", left)
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.Header
	}
	t.Header(anySlice(header)...)
	for _, r := range clean {
		if err := t.Append(anySlice(r)...); err != nil {
			return err
		}
	}
	return t.Render()
}

// writePlain writes aligned columns without borders, for a pipe or a file.
func writePlain(w io.Writer, cols []analysis.Column, rows [][]string) error {
	// tabwriter writes a table cell by cell, padding by padding: a write
	// to the file each, thousands for a long report.
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.Header
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			if c == "" {
				c = "-"
			}
			cells[i] = strings.ReplaceAll(c, "\t", " ")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// say writes a line of text to w, wrapped to the terminal's width.
func say(w io.Writer, text string) {
	if s, ok := w.(*screen); ok && s.width > 0 && !s.wide {
		text = analysis.Wrap(text, s.width)
	}
	fmt.Fprintln(w, text)
}

// writeCSV writes header and rows as CSV, control characters escaped.
func writeCSV(w io.Writer, cols []analysis.Column, rows [][]string) error {
	cw, err := newCSVWriter(w, cols)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// A csvWriter writes a table's rows as CSV one by one, each cell passed
// through clean.
type csvWriter struct{ *csv.Writer }

// newCSVWriter writes the header of cols (their names) to w.
func newCSVWriter(w io.Writer, cols []analysis.Column) (csvWriter, error) {
	c := csvWriter{csv.NewWriter(w)}
	header := make([]string, len(cols))
	for i, col := range cols {
		header[i] = col.Name
	}
	return c, c.Writer.Write(header)
}

func (c csvWriter) Write(row []string) error { return c.Writer.Write(cleanAll(row)) }

func (c csvWriter) Flush() error {
	c.Writer.Flush()
	return c.Error()
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
