package analysis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reports as tables: each report's rows of text, in the columns that a
// table for people and CSV for scripts share. The CLI renders them (fits
// them to a terminal, escapes them for CSV); what is shown, in what order
// and in what words is decided here.

// A Column is one field of a tabular report: its Header in a table for
// people, and its Name in CSV, which is the field's name in JSON. Drop
// ranks what gives way on a narrow terminal: 0 is always shown, higher
// numbers are left out first.
type Column struct {
	Header string
	Name   string
	Drop   int
}

// Columns makes columns that are always shown, named after their headers.
func Columns(headers ...string) []Column {
	cols := make([]Column, len(headers))
	for i, h := range headers {
		cols[i] = Column{Header: h, Name: strings.ReplaceAll(strings.ToLower(h), " ", "_")}
	}
	return cols
}

// A Table is a report as rows of text under its columns.
type Table struct {
	Columns []Column
	Rows    [][]string
}

// A Layout says how a report's values become text: times in Zone, and
// lists (evidence, senders) in full when Full (CSV, a table with --wide),
// otherwise their first (or, for a recipient's evidence, last) value.
type Layout struct {
	Zone *time.Location
	Full bool
}

// Stamp shows t in RFC 3339 in l's zone (with its offset); "" for none.
func (l Layout) Stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(l.Zone).Format(time.RFC3339)
}

// Clock shows t for a headline: date, time and the zone's name.
func (l Layout) Clock(t time.Time) string {
	return t.In(l.Zone).Format("2006-01-02 15:04:05 MST")
}

// some is a list as a cell: all of it, space-separated, or its first.
func (l Layout) some(ss []string) string {
	if l.Full {
		return strings.Join(ss, " ")
	}
	return firstOf(ss)
}

// Plural says n things: "1 recipient", "2 recipients".
func Plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// Since says a duration for a person: "2 s", "3 min 5 s", "4 h 10 min".
func Since(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// Delay shows a delivery delay as pflogsumm does: seconds, or minutes and
// hours when long.
func Delay(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return strconv.FormatFloat(d.Minutes(), 'f', 1, 64) + " m"
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func lastOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[len(ss)-1]
}
