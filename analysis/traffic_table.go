package analysis

import (
	"fmt"
	"strconv"
)

// countColumns are the columns of a row of totals, after its name.
var countColumns = []Column{
	{"RECEIVED", "received", 0}, {"DELIVERED", "delivered", 0}, {"FORWARDED", "forwarded", 3}, {"DEFERRED", "deferred", 0},
	{"DEFERRALS", "deferrals", 2}, {"BOUNCED", "bounced", 0}, {"REJECTED", "rejected", 0},
	{"BYTES RECEIVED", "bytes_received", 1}, {"BYTES DELIVERED", "bytes_delivered", 1},
}

func countCells(c Counts) []string {
	return []string{strconv.Itoa(c.Received), strconv.Itoa(c.Delivered), strconv.Itoa(c.Forwarded), strconv.Itoa(c.Deferred),
		strconv.Itoa(c.Deferrals), strconv.Itoa(c.Bounced), strconv.Itoa(c.Rejected),
		strconv.FormatInt(c.BytesReceived, 10), strconv.FormatInt(c.BytesDelivered, 10)}
}

// TrafficHeadline is report traffic's answer at a glance.
func TrafficHeadline(t Traffic, l Layout) string {
	return fmt.Sprintf("Traffic from %s to %s: %d received, %d delivered, %d deferred, %d bounced, %d rejected",
		l.Clock(t.From), l.Clock(t.To), t.Totals.Received, t.Totals.Delivered, t.Totals.Deferred, t.Totals.Bounced, t.Totals.Rejected)
}

// A Section is one titled table of a report.
type Section struct {
	Title string
	Table
}

// TrafficSections are report traffic's tables for people: totals, per
// host, MTA, day and hour, reasons, top senders and recipients, and the
// recipient domains' delays. A section may have no rows.
func TrafficSections(t Traffic, l Layout) []Section {
	named := func(rows []Named) [][]string {
		var out [][]string
		for _, n := range rows {
			out = append(out, append([]string{n.Name}, countCells(n.Counts)...))
		}
		return out
	}
	buckets := func(rows []Bucket, layout string) [][]string {
		var out [][]string
		for _, b := range rows {
			out = append(out, append([]string{b.Start.In(l.Zone).Format(layout)}, countCells(b.Counts)...))
		}
		return out
	}
	withName := func(h string) []Column { return append([]Column{{h, "name", 0}}, countColumns...) }
	return []Section{
		{"Totals", Table{withName("SPAN"), [][]string{append([]string{"all"}, countCells(t.Totals)...)}}},
		{"Per host", Table{withName("HOST"), named(t.ByHost)}},
		{"Per MTA", Table{withName("MTA"), named(t.ByMTA)}},
		{"Per day", Table{withName("DAY"), buckets(t.Daily, "2006-01-02")}},
		{"Per hour", Table{withName("HOUR"), buckets(t.Hourly, "2006-01-02 15:00")}},
		{"Reject reasons", Table{Columns("COUNT", "REASON"), reasonRows(t.Rejects)}},
		{"Deferral reasons", Table{Columns("COUNT", "REASON"), reasonRows(t.Deferrals)}},
		{"Bounce reasons", Table{Columns("COUNT", "REASON"), reasonRows(t.Bounces)}},
		{"Top senders", Table{Columns("MESSAGES", "BYTES", "SENDER"), topRows(t.Senders)}},
		{"Top sender domains", Table{Columns("MESSAGES", "BYTES", "DOMAIN"), topRows(t.SenderDomains)}},
		{"Top recipients", Table{Columns("MESSAGES", "BYTES", "RECIPIENT"), topRows(t.Recipients)}},
		{"Recipient domains: deliveries and delays", Table{Columns("DELIVERED", "BYTES", "DEFERRALS", "AVG DELAY", "MAX DELAY", "DOMAIN"), domainRows(t.RecipientDomains)}},
	}
}

func reasonRows(rs []Reason) [][]string {
	var out [][]string
	for _, r := range rs {
		out = append(out, []string{strconv.Itoa(r.Count), r.Reason})
	}
	return out
}

func topRows(ts []Top) [][]string {
	var out [][]string
	for _, t := range ts {
		out = append(out, []string{strconv.Itoa(t.Messages), strconv.FormatInt(t.Bytes, 10), t.Name})
	}
	return out
}

func domainRows(ds []DomainDelay) [][]string {
	var out [][]string
	for _, d := range ds {
		out = append(out, []string{strconv.Itoa(d.Delivered), strconv.FormatInt(d.Bytes, 10), strconv.Itoa(d.Deferrals),
			Delay(d.AvgDelay), Delay(d.MaxDelay), d.Domain})
	}
	return out
}

// TrafficCSV is every section of t as rows of one table: the section
// ("total", "host", "mta", "day", "hour", "reject", "deferral", "bounce",
// "sender", "sender_domain", "recipient", "recipient_domain"), the row's
// name, then every column any section has, empty where a section has
// none.
func TrafficCSV(t Traffic, l Layout) Table {
	cols := append(Columns("section", "name"), countColumns...)
	cols = append(cols, Columns("count", "messages", "bytes", "avg_delay_s", "max_delay_s")...)
	n := len(cols)
	var rows [][]string
	row := func(section, name string, c *Counts, extra ...string) {
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
		row("day", l.Stamp(b.Start), &b.Counts)
	}
	for _, b := range t.Hourly {
		row("hour", l.Stamp(b.Start), &b.Counts)
	}
	for _, rs := range []struct {
		section string
		rs      []Reason
	}{{"reject", t.Rejects}, {"deferral", t.Deferrals}, {"bounce", t.Bounces}} {
		for _, r := range rs.rs {
			row(rs.section, r.Reason, nil, strconv.Itoa(r.Count))
		}
	}
	for _, ts := range []struct {
		section string
		ts      []Top
	}{{"sender", t.Senders}, {"sender_domain", t.SenderDomains}, {"recipient", t.Recipients}} {
		for _, x := range ts.ts {
			row(ts.section, x.Name, nil, "", strconv.Itoa(x.Messages), strconv.FormatInt(x.Bytes, 10))
		}
	}
	for _, d := range t.RecipientDomains {
		c := Counts{Delivered: d.Delivered, Deferrals: d.Deferrals}
		row("recipient_domain", d.Domain, &c, "", strconv.Itoa(d.Delivered), strconv.FormatInt(d.Bytes, 10),
			strconv.FormatFloat(d.AvgDelay.Seconds(), 'f', 3, 64), strconv.FormatFloat(d.MaxDelay.Seconds(), 'f', 3, 64))
	}
	return Table{cols, rows}
}
