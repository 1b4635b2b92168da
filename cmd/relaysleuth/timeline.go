package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// timelineColumns are report timeline's columns; the text gives way last.
var timelineColumns = []column{
	{"TIME", "time", 0}, {"LAST", "last", 5}, {"WHAT", "what", 3}, {"KIND", "kind", 0}, {"HOST", "host", 4},
	{"MTA", "mta", 6}, {"CLIENT", "subject", 2}, {"COUNT", "count", 2}, {"TEXT", "text", 0}, {"EVIDENCE", "evidence", 1},
}

func printTimeline(w io.Writer, format string, entries []analysis.TimelineEntry) error {
	if format == "json" {
		if entries == nil {
			entries = []analysis.TimelineEntry{}
		}
		return writeJSON(w, entries)
	}
	all := everything(w, format)
	var rows [][]string
	for _, e := range entries {
		evidence := firstOf(e.Evidence)
		if all {
			evidence = strings.Join(e.Evidence, " ")
		}
		rows = append(rows, []string{stamp(e.Time), stamp(e.Last), e.What, e.Kind, e.Host, e.MTA, e.Subject,
			strconv.Itoa(e.Count), e.Text, evidence})
	}
	if format == "csv" {
		return writeCSV(w, timelineColumns, rows)
	}
	if len(rows) == 0 {
		say(w, "Nothing in the timeline: no server event and no recipient in the span.")
		return nil
	}
	if e, ok := relayChange(entries); ok {
		say(w, clean(e))
	}
	return writeColumns(w, timelineColumns, rows)
}

// relayChange is the timeline's headline: when the relaying began and the
// server's last start, reload or configuration event before it.
func relayChange(entries []analysis.TimelineEntry) (string, bool) {
	for _, e := range entries {
		if e.What != analysis.WhatVerdictFirst || e.Kind != string(analysis.RelayAbuse) {
			continue
		}
		change, ok := analysis.ChangeBefore(entries, e.Time, e.Host)
		if !ok {
			change, ok = analysis.ChangeBefore(entries, e.Time, "")
		}
		if !ok {
			return "RELAY ABUSE began at " + clock(e.Time) + "; no server start or reload is logged before it", true
		}
		return "RELAY ABUSE began at " + clock(e.Time) + ", " + since(e.Time.Sub(change.Time)) + " after the server's " +
			change.Kind + " at " + clock(change.Time) + " (" + firstOf(change.Evidence) + ": " + change.Text + ")", true
	}
	return "", false
}

// since says a duration for a person: "2 s", "3 min 5 s", "4 h 10 min".
func since(d time.Duration) string {
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
