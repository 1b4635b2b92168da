package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// countColumns are the columns of a row of totals, after its name.
var countColumns = []column{
	{"RECEIVED", "received", 0}, {"DELIVERED", "delivered", 0}, {"FORWARDED", "forwarded", 3}, {"DEFERRED", "deferred", 0},
	{"DEFERRALS", "deferrals", 2}, {"BOUNCED", "bounced", 0}, {"REJECTED", "rejected", 0},
	{"BYTES RECEIVED", "bytes_received", 1}, {"BYTES DELIVERED", "bytes_delivered", 1},
}

func countCells(c analysis.Counts) []string {
	return []string{strconv.Itoa(c.Received), strconv.Itoa(c.Delivered), strconv.Itoa(c.Forwarded), strconv.Itoa(c.Deferred),
		strconv.Itoa(c.Deferrals), strconv.Itoa(c.Bounced), strconv.Itoa(c.Rejected),
		strconv.FormatInt(c.BytesReceived, 10), strconv.FormatInt(c.BytesDelivered, 10)}
}

// printTraffic prints report traffic. JSON is the whole Traffic; CSV one
// table of rows named by section ("total", "host", "mta", "hour", "day",
// "reject", "deferral", "bounce", "sender", "recipient", "sender_domain",
// "recipient_domain"), every section's columns side by side; a table one
// table per section.
func printTraffic(w io.Writer, format string, t analysis.Traffic) error {
	if format == "json" {
		return writeJSON(w, t)
	}
	if format == "csv" {
		return writeTrafficCSV(w, t)
	}
	if t.From.IsZero() {
		say(w, "No traffic in the span: no event was stored for it.")
		return nil
	}
	say(w, clean(fmt.Sprintf("Traffic from %s to %s: %d received, %d delivered, %d deferred, %d bounced, %d rejected",
		clock(t.From), clock(t.To), t.Totals.Received, t.Totals.Delivered, t.Totals.Deferred, t.Totals.Bounced, t.Totals.Rejected)))
	section := func(title string, cols []column, rows [][]string) error {
		if len(rows) == 0 {
			return nil
		}
		fmt.Fprintf(w, "\n%s\n", title)
		return writeColumns(w, cols, rows)
	}
	named := func(rows []analysis.Named) [][]string {
		var out [][]string
		for _, n := range rows {
			out = append(out, append([]string{n.Name}, countCells(n.Counts)...))
		}
		return out
	}
	buckets := func(rows []analysis.Bucket, layout string) [][]string {
		var out [][]string
		for _, b := range rows {
			out = append(out, append([]string{b.Start.In(displayZone).Format(layout)}, countCells(b.Counts)...))
		}
		return out
	}
	withName := func(h string) []column { return append([]column{{h, "name", 0}}, countColumns...) }
	steps := []struct {
		title string
		cols  []column
		rows  [][]string
	}{
		{"Totals", withName("SPAN"), [][]string{append([]string{"all"}, countCells(t.Totals)...)}},
		{"Per host", withName("HOST"), named(t.ByHost)},
		{"Per MTA", withName("MTA"), named(t.ByMTA)},
		{"Per day", withName("DAY"), buckets(t.Daily, "2006-01-02")},
		{"Per hour", withName("HOUR"), buckets(t.Hourly, "2006-01-02 15:00")},
		{"Reject reasons", columns("COUNT", "REASON"), reasonRows(t.Rejects)},
		{"Deferral reasons", columns("COUNT", "REASON"), reasonRows(t.Deferrals)},
		{"Bounce reasons", columns("COUNT", "REASON"), reasonRows(t.Bounces)},
		{"Top senders", columns("MESSAGES", "BYTES", "SENDER"), topRows(t.Senders)},
		{"Top sender domains", columns("MESSAGES", "BYTES", "DOMAIN"), topRows(t.SenderDomains)},
		{"Top recipients", columns("MESSAGES", "BYTES", "RECIPIENT"), topRows(t.Recipients)},
		{"Recipient domains: deliveries and delays", columns("DELIVERED", "BYTES", "DEFERRALS", "AVG DELAY", "MAX DELAY", "DOMAIN"), domainRows(t.RecipientDomains)},
	}
	for _, s := range steps {
		if err := section(s.title, s.cols, s.rows); err != nil {
			return err
		}
	}
	return nil
}

func reasonRows(rs []analysis.Reason) [][]string {
	var out [][]string
	for _, r := range rs {
		out = append(out, []string{strconv.Itoa(r.Count), r.Reason})
	}
	return out
}

func topRows(ts []analysis.Top) [][]string {
	var out [][]string
	for _, t := range ts {
		out = append(out, []string{strconv.Itoa(t.Messages), strconv.FormatInt(t.Bytes, 10), t.Name})
	}
	return out
}

func domainRows(ds []analysis.DomainDelay) [][]string {
	var out [][]string
	for _, d := range ds {
		out = append(out, []string{strconv.Itoa(d.Delivered), strconv.FormatInt(d.Bytes, 10), strconv.Itoa(d.Deferrals),
			delay(d.AvgDelay), delay(d.MaxDelay), d.Domain})
	}
	return out
}

// delay shows a delivery delay as pflogsumm does: seconds, or minutes and
// hours when long.
func delay(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return strconv.FormatFloat(d.Minutes(), 'f', 1, 64) + " m"
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
}

// writeTrafficCSV writes every section of t as rows of one CSV table: the
// section, the row's name, then every column any section has, empty where
// a section has none.
func writeTrafficCSV(w io.Writer, t analysis.Traffic) error {
	cols := append(columns("section", "name"), countColumns...)
	cols = append(cols, columns("count", "messages", "bytes", "avg_delay_s", "max_delay_s")...)
	n := len(cols)
	var rows [][]string
	row := func(section, name string, c *analysis.Counts, extra ...string) {
		r := make([]string, n)
		r[0], r[1] = section, name
		if c != nil {
			copy(r[2:], countCells(*c))
		}
		copy(r[2+len(countColumns):], extra)
		rows = append(rows, r)
	}
	row("total", "all", &t.Totals)
	for _, h := range t.ByHost {
		row("host", h.Name, &h.Counts)
	}
	for _, m := range t.ByMTA {
		row("mta", m.Name, &m.Counts)
	}
	for _, b := range t.Daily {
		row("day", stamp(b.Start), &b.Counts)
	}
	for _, b := range t.Hourly {
		row("hour", stamp(b.Start), &b.Counts)
	}
	for _, rs := range []struct {
		section string
		rs      []analysis.Reason
	}{{"reject", t.Rejects}, {"deferral", t.Deferrals}, {"bounce", t.Bounces}} {
		for _, r := range rs.rs {
			row(rs.section, r.Reason, nil, strconv.Itoa(r.Count))
		}
	}
	for _, ts := range []struct {
		section string
		ts      []analysis.Top
	}{{"sender", t.Senders}, {"sender_domain", t.SenderDomains}, {"recipient", t.Recipients}} {
		for _, x := range ts.ts {
			row(ts.section, x.Name, nil, "", strconv.Itoa(x.Messages), strconv.FormatInt(x.Bytes, 10))
		}
	}
	for _, d := range t.RecipientDomains {
		c := analysis.Counts{Delivered: d.Delivered, Deferrals: d.Deferrals}
		row("recipient_domain", d.Domain, &c, "", strconv.Itoa(d.Delivered), strconv.FormatInt(d.Bytes, 10),
			strconv.FormatFloat(d.AvgDelay.Seconds(), 'f', 3, 64), strconv.FormatFloat(d.MaxDelay.Seconds(), 'f', 3, 64))
	}
	return writeCSV(w, cols, rows)
}
