package analysis

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SummaryTable is report summary: counts per verdict, host and MTA, the
// time range and what was read.
func SummaryTable(s Summary, l Layout) Table {
	rows := [][]string{
		{"files", strconv.Itoa(s.Sources)},
		{"lines read", strconv.FormatInt(s.Lines, 10)},
		{"events", strconv.FormatInt(s.Events, 10)},
		{"lines unsupported", strconv.FormatInt(s.Unsupported, 10)},
		{"lines malformed", strconv.FormatInt(s.Malformed, 10)},
		{"first line", l.Stamp(s.First)},
		{"last line", l.Stamp(s.Last)},
	}
	for _, v := range Verdicts {
		rows = append(rows, []string{"recipients " + string(v), strconv.Itoa(s.Verdicts[v])})
	}
	rows = append(rows,
		[]string{"clients that relayed", strconv.Itoa(s.RelayClients)},
		[]string{"failed SASL logins", strconv.Itoa(s.AuthFailures)},
	)
	for _, h := range sortedKeys(s.Hosts) {
		rows = append(rows, []string{"recipients on host " + h, strconv.Itoa(s.Hosts[h])})
	}
	for _, m := range sortedKeys(s.MTAs) {
		rows = append(rows, []string{"recipients from " + m, strconv.Itoa(s.MTAs[m])})
	}
	return Table{Columns("ITEM", "VALUE"), rows}
}

// FilesTable is what report summary says of each file read.
func FilesTable(s Summary) Table {
	var rows [][]string
	for _, f := range s.Files {
		rows = append(rows, []string{f.Path, f.Format, strconv.FormatInt(f.Lines, 10), strconv.FormatInt(f.Events, 10),
			strconv.FormatInt(f.Unsupported, 10), strconv.FormatInt(f.Malformed, 10), yesNo(f.Complete)})
	}
	return Table{Columns("FILE", "FORMAT", "LINES", "EVENTS", "UNSUPPORTED", "MALFORMED", "COMPLETE"), rows}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Columns of the client reports; what gives way first on a narrow
// terminal.
var (
	clientColumns = []Column{
		{"CLIENT", "client_ip", 0}, {"NAME", "client_name", 5}, {"RECIPIENTS", "count", 0}, {"MESSAGES", "messages", 4},
		{"DOMAINS", "domains", 6}, {"TOP DOMAINS", "top_domains", 1}, {"SENDERS", "senders", 7}, {"FIRST", "first", 2},
		{"LAST", "last", 2}, {"EVIDENCE", "evidence", 3},
	}
	authColumns = []Column{
		{"CLIENT", "client_ip", 0}, {"NAME", "client_name", 3}, {"FAILURES", "count", 0}, {"USERS TRIED", "users", 2},
		{"FIRST", "first", 1}, {"LAST", "last", 1}, {"EVIDENCE", "evidence", 4},
	}
)

// ClientsTable is report relay, attempts or auth (kind): one row per
// client.
func ClientsTable(kind string, clients []ClientReport, l Layout) Table {
	if kind == "auth" {
		t := Table{Columns: authColumns}
		for _, c := range clients {
			t.Rows = append(t.Rows, []string{c.ClientIP, c.ClientName, strconv.Itoa(c.Count), strings.Join(c.Users, " "),
				l.Stamp(c.First), l.Stamp(c.Last), l.some(c.Evidence)})
		}
		return t
	}
	t := Table{Columns: clientColumns}
	for _, c := range clients {
		t.Rows = append(t.Rows, []string{c.ClientIP, c.ClientName, strconv.Itoa(c.Count), strconv.Itoa(c.Messages),
			strconv.Itoa(c.Domains), strings.Join(c.TopDomains, " "), l.some(c.Senders), l.Stamp(c.First), l.Stamp(c.Last),
			l.some(c.Evidence)})
	}
	return t
}

// RelayHeadline is report relay's answer at a glance: how many recipients
// were relayed, for how many clients, since when, and the busiest client.
// clients must not be empty.
func RelayHeadline(clients []ClientReport, l Layout) string {
	n := 0
	var first, last time.Time
	top := clients[0]
	for _, c := range clients {
		n += c.Count
		if first.IsZero() || c.First.Before(first) {
			first = c.First
		}
		if c.Last.After(last) {
			last = c.Last
		}
		if c.Count > top.Count {
			top = c
		}
	}
	return fmt.Sprintf("RELAY ABUSE: %s relayed for %s between %s and %s; most for %s (%d)",
		Plural(n, "recipient"), Plural(len(clients), "outside client"), l.Clock(first), l.Clock(last), top.ClientIP, top.Count)
}

// recipientColumns are the columns of report recipients: every field of
// the JSON in full; the most telling ones (tableRecipientColumns) else.
var recipientColumns = []Column{
	{"TIME", "time", 0}, {"MTA", "mta", 7}, {"HOST", "host", 6}, {"QUEUE ID", "queue_id", 4}, {"MESSAGE-ID", "message_id", 9},
	{"CLIENT", "client_ip", 0}, {"CLIENT NAME", "client_name", 9}, {"HELO", "helo", 9}, {"AUTHENTICATED", "authenticated", 9},
	{"AUTH", "auth_user", 5}, {"SENDER", "sender", 3}, {"RECIPIENT", "recipient", 0}, {"STATUS", "status", 3},
	{"DELIVERIES", "deliveries", 9}, {"VERDICT", "verdict", 0}, {"REASON", "reason", 1}, {"HOP", "hop", 9},
	{"ORIGIN QUEUE ID", "origin_queue_id", 9}, {"EVIDENCE", "evidence", 2},
}

var tableRecipientColumns = []string{"time", "mta", "host", "queue_id", "client_ip", "auth_user", "sender", "recipient", "status", "verdict", "reason", "evidence"}

// RecipientColumns are report recipients' columns, for l: every one when
// l.Full.
func RecipientColumns(l Layout) []Column {
	var cols []Column
	for _, c := range recipientColumns {
		if l.Full || slices.Contains(tableRecipientColumns, c.Name) {
			cols = append(cols, c)
		}
	}
	return cols
}

// RecipientRow is r's row under cols (see RecipientColumns); without
// l.Full, its evidence is its last line.
func RecipientRow(r Recipient, cols []Column, l Layout) ([]string, error) {
	deliveries, err := json.Marshal(r.Deliveries)
	if err != nil {
		return nil, err
	}
	evidence := strings.Join(r.Evidence, " ")
	if !l.Full {
		evidence = lastOf(r.Evidence)
	}
	fields := map[string]string{
		"time": l.Stamp(r.Time), "mta": r.MTA, "host": r.Host, "queue_id": r.QueueID, "message_id": r.MessageID,
		"client_ip": r.ClientIP, "client_name": r.ClientName, "helo": r.Helo, "authenticated": strconv.FormatBool(r.Authenticated),
		"auth_user": r.AuthUser, "sender": r.Sender, "recipient": r.Recipient, "status": r.Status,
		"deliveries": string(deliveries), "verdict": string(r.Verdict), "reason": r.Reason, "hop": strconv.Itoa(r.Hop),
		"origin_queue_id": r.OriginQueueID, "evidence": evidence,
	}
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = fields[c.Name]
	}
	return row, nil
}

// timelineColumns are report timeline's columns; the text gives way last.
var timelineColumns = []Column{
	{"TIME", "time", 0}, {"LAST", "last", 5}, {"WHAT", "what", 3}, {"KIND", "kind", 0}, {"HOST", "host", 4},
	{"MTA", "mta", 6}, {"CLIENT", "subject", 2}, {"COUNT", "count", 2}, {"TEXT", "text", 0}, {"EVIDENCE", "evidence", 1},
}

// TimelineTable is report timeline: one row per entry.
func TimelineTable(entries []TimelineEntry, l Layout) Table {
	t := Table{Columns: timelineColumns}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{l.Stamp(e.Time), l.Stamp(e.Last), e.What, e.Kind, e.Host, e.MTA, e.Subject,
			strconv.Itoa(e.Count), e.Text, l.some(e.Evidence)})
	}
	return t
}

// RelayChange is the timeline's headline: when the relaying began and the
// server's last start, reload or configuration event before it; false
// when there was no relaying.
func RelayChange(entries []TimelineEntry, l Layout) (string, bool) {
	for _, e := range entries {
		if e.What != WhatVerdictFirst || e.Kind != string(RelayAbuse) {
			continue
		}
		change, ok := ChangeBefore(entries, e.Time, e.Host)
		if !ok {
			change, ok = ChangeBefore(entries, e.Time, "")
		}
		if !ok {
			return "RELAY ABUSE began at " + l.Clock(e.Time) + "; no server start or reload is logged before it", true
		}
		return "RELAY ABUSE began at " + l.Clock(e.Time) + ", " + Since(e.Time.Sub(change.Time)) + " after the server's " +
			change.Kind + " at " + l.Clock(change.Time) + " (" + firstOf(change.Evidence) + ": " + change.Text + ")", true
	}
	return "", false
}

// ForensicHeadline is the forensic report's answer at a glance, in words
// for people.
func ForensicHeadline(r *Forensic, l Layout) string {
	n := r.Summary.Verdicts[RelayAbuse]
	attempts := r.Summary.Verdicts[RelayAttemptRejected]
	if n == 0 {
		return fmt.Sprintf("No relay abuse found: no recipient was accepted for an external domain from an unauthenticated client outside the trusted networks (%s refused).",
			Plural(attempts, "relay attempt"))
	}
	var first time.Time
	for _, e := range r.Timeline {
		if e.What == WhatVerdictFirst && e.Kind == string(RelayAbuse) {
			first = e.Time
		}
	}
	s := fmt.Sprintf("RELAY ABUSE: %s relayed for %s", Plural(n, "recipient"), Plural(len(r.RelayClients), "outside client"))
	if !first.IsZero() {
		s += " from " + l.Clock(first)
		if c := r.Change; c != nil {
			s += fmt.Sprintf(", %s after the server's %s at %s", Since(first.Sub(c.Time)), c.Kind, l.Clock(c.Time))
		}
	}
	s += fmt.Sprintf("; %s refused", Plural(attempts, "relay attempt"))
	if n := r.Summary.Verdicts[AccountAbuse]; n > 0 {
		s += fmt.Sprintf("; %s sent through %s", Plural(n, "account_abuse recipient"), Plural(len(r.Accounts), "suspect account"))
	}
	return s + "."
}

// SpanText says the time a report of f covers, for a headline.
func SpanText(f Filter, l Layout) string {
	switch {
	case !f.Since.IsZero() && !f.Until.IsZero():
		return fmt.Sprintf("between %s and %s", l.Clock(f.Since), l.Clock(f.Until.Add(-time.Millisecond)))
	case !f.Since.IsZero():
		return fmt.Sprintf("since %s", l.Clock(f.Since))
	case !f.Until.IsZero():
		return fmt.Sprintf("before %s", l.Clock(f.Until))
	}
	return "in the database"
}
