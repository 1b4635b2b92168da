package analysis

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The tables of investigate's output for people, section by section.

// ComplaintTable is what was read of complaint c, field by field.
func ComplaintTable(c *Complaint, l Layout) Table {
	var rows [][]string
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, []string{k, v})
		}
	}
	var listed []string
	for _, p := range c.Listed {
		listed = append(listed, p.String())
	}
	add("Listed", strings.Join(listed, ", "))
	add("Feedback-Type", c.FeedbackType)
	add("Message-ID", c.MessageID)
	add("Subject", c.Subject)
	add("From", strings.Join(c.From, ", "))
	add("To", strings.Join(c.To, ", "))
	add("Return-Path", c.ReturnPath)
	add("Date", l.Stamp(c.Date))
	add("Original-Mail-From", c.OriginalMailFrom)
	add("Original-Rcpt-To", strings.Join(c.OriginalRcptTo, ", "))
	add("Arrival-Date", l.Stamp(c.ArrivalDate))
	if c.SourceIP.IsValid() {
		add("Source-IP", c.SourceIP.String()+" (from "+c.SourceIPFrom+")")
	}
	add("Reported-Domain", c.ReportedDomain)
	for i, r := range c.Received {
		parts := []string{"not yours, not searched:"}
		if r.Own {
			parts = []string{"yours:"}
		}
		if r.By != "" {
			parts = append(parts, "by "+r.By)
		}
		if r.ID != "" {
			parts = append(parts, "id "+r.ID)
		}
		from := r.Helo
		if r.ClientName != "" && r.ClientName != r.Helo {
			from += " (" + r.ClientName + ")"
		}
		if r.ClientIP.IsValid() {
			from += " [" + r.ClientIP.String() + "]"
		}
		if from != "" {
			parts = append(parts, "from "+strings.TrimSpace(from))
		}
		if r.AuthUser != "" {
			parts = append(parts, "authenticated as "+r.AuthUser)
		}
		if !r.Time.IsZero() {
			parts = append(parts, l.Stamp(r.Time))
		}
		if len(r.For) > 0 {
			parts = append(parts, "for "+strings.Join(r.For, " "))
		}
		add("Received "+strconv.Itoa(i+1), strings.Replace(strings.Join(parts, ", "), ":,", ":", 1))
	}
	for _, warn := range c.Warnings {
		add("warning", warn)
	}
	return Table{Columns("FIELD", "VALUE"), rows}
}

// KeysTable is the keys an investigation tried and what each matched.
func KeysTable(keys []KeyResult) Table {
	var rows [][]string
	for _, k := range keys {
		used := ""
		if k.Used {
			used = "yes"
		}
		rows = append(rows, []string{string(k.Key), k.Value, k.Source, strconv.Itoa(k.Matched), used, k.Note})
	}
	return Table{Columns("KEY", "VALUE", "FROM", "MATCHED", "USED", "NOTE"), rows}
}

// TrailTable is every stored event of inc's message, in time order.
func TrailTable(inc Incident, l Layout) Table {
	var rows [][]string
	for _, s := range inc.Trail {
		rows = append(rows, []string{l.Stamp(s.Time), s.Host, s.QueueID, s.Event, s.Detail, s.Evidence})
	}
	return Table{Columns("TIME", "HOST", "QUEUE ID", "EVENT", "DETAIL", "EVIDENCE"), rows}
}

// IncidentRecipientsTable is inc's recipients with their verdicts.
func IncidentRecipientsTable(inc Incident) Table {
	var rows [][]string
	for _, r := range inc.Recipients {
		rows = append(rows, []string{strconv.Itoa(r.Hop), r.Host, r.QueueID, r.Recipient, r.Status,
			string(r.Verdict), r.Reason, lastOf(r.Evidence)})
	}
	return Table{Columns("HOP", "HOST", "QUEUE ID", "RECIPIENT", "STATUS", "VERDICT", "REASON", "EVIDENCE"), rows}
}

// CauseTable is how an incident got through, item by item.
func CauseTable(c Cause, l Layout) Table {
	rows := [][]string{
		{"summary", c.Summary},
		{"verdict", string(c.Verdict)},
		{"reason", c.Reason},
		{"accepted by", strings.TrimSpace(c.Host + " " + c.QueueID)},
		{"client", strings.TrimSpace(c.ClientIP + " " + c.ClientName)},
		{"helo", c.Helo},
	}
	if c.AuthUser != "" {
		rows = append(rows, []string{"account", c.AuthUser})
	}
	for _, lg := range c.Logins {
		rows = append(rows, []string{"logged in from", fmt.Sprintf("%s %s: %d times, %s .. %s, %s",
			lg.ClientIP, lg.ClientName, lg.Count, l.Stamp(lg.First), l.Stamp(lg.Last), lg.Evidence)})
	}
	for _, fl := range c.FailedLogins {
		rows = append(rows, []string{"failed login", fmt.Sprintf("%s %s user %q: %s, %s",
			l.Stamp(fl.Time), fl.ClientIP, fl.User, fl.Reason, fl.Evidence)})
	}
	rows = append(rows, []string{"evidence", strings.Join(c.Evidence, " ")})
	return Table{Columns("ITEM", "VALUE"), rows}
}

// radiusColumns are the blast radius's columns.
var radiusColumns = []Column{{"KEY", "key", 0}, {"VALUE", "value", 0}, {"WINDOW", "window", 4}, {"RECIPIENTS", "recipients", 0},
	{"MESSAGES", "messages", 3}, {"DOMAINS", "domains", 5}, {"EXTERNAL DOMAINS", "external_domains", 1}, {"FIRST", "first", 2},
	{"LAST", "last", 2}, {"TOP DOMAINS", "top_domains", 1}, {"VERDICTS", "verdicts", 0}, {"EVIDENCE", "evidence", 3}}

// RadiusTable is the blast radius: what else each key sent around the
// message, verdicts counted in Verdicts' order, then any this build does
// not know.
func RadiusTable(rad []Radius, l Layout) Table {
	var rows [][]string
	for _, r := range rad {
		var top []string
		for _, d := range r.TopDomains {
			top = append(top, fmt.Sprintf("%s:%d", d.Domain, d.Count))
		}
		var verdicts []string
		for _, v := range Verdicts {
			if n := r.Verdicts[v]; n > 0 {
				verdicts = append(verdicts, fmt.Sprintf("%s:%d", v, n))
			}
		}
		var unknown []string
		for v, n := range r.Verdicts {
			if !slices.Contains(Verdicts, v) {
				unknown = append(unknown, fmt.Sprintf("%s:%d", v, n))
			}
		}
		sort.Strings(unknown)
		verdicts = append(verdicts, unknown...)
		rows = append(rows, []string{string(r.Key), r.Value, r.Window.String(), strconv.Itoa(r.Recipients),
			strconv.Itoa(r.Messages), strconv.Itoa(r.Domains), strconv.Itoa(r.ExternalDomains), l.Stamp(r.First), l.Stamp(r.Last),
			strings.Join(top, " "), strings.Join(verdicts, " "), firstOf(r.Evidence)})
	}
	return Table{radiusColumns, rows}
}

// CandidatesTable is the nearest messages when nothing matched.
func CandidatesTable(cands []Recipient, l Layout) Table {
	var rows [][]string
	for _, r := range cands {
		rows = append(rows, []string{l.Stamp(r.Time), r.Host, r.QueueID, r.MessageID, r.ClientIP, r.Sender,
			r.Recipient, string(r.Verdict), lastOf(r.Evidence)})
	}
	return Table{Columns("TIME", "HOST", "QUEUE ID", "MESSAGE-ID", "CLIENT", "SENDER", "RECIPIENT", "VERDICT", "EVIDENCE"), rows}
}
