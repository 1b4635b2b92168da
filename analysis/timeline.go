package analysis

import (
	"sort"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// A TimelineEntry is one line of report timeline: a server event (start,
// stop, reload, configuration, warning, error), or the first or last
// recipient of a verdict or of one relay client.
type TimelineEntry struct {
	Time time.Time `json:"time"`
	// Last is the time of the last event an entry stands for, when it
	// stands for several (repeated warnings, a burst of Exchange LOADs).
	Last time.Time `json:"last,omitzero"`
	// What is "server", "verdict_first", "verdict_last", "client_first"
	// or "client_last".
	What string `json:"what"`
	// Kind is the server event's Status (parsers.ServerStart, ...) or the
	// verdict.
	Kind    string `json:"kind"`
	Host    string `json:"host,omitempty"`
	MTA     string `json:"mta,omitempty"`
	Subject string `json:"subject,omitempty"` // the client address, for a client's entries
	Text    string `json:"text"`
	Count   int    `json:"count"` // events or recipients it stands for
	// Evidence are the lines behind it ("file:line").
	Evidence []string `json:"evidence"`
}

// Timeline kinds of entry (TimelineEntry.What).
const (
	WhatServer       = "server"
	WhatVerdictFirst = "verdict_first"
	WhatVerdictLast  = "verdict_last"
	WhatClientFirst  = "client_first"
	WhatClientLast   = "client_last"
)

// A VerdictSpan is the first and last recipient of one verdict in a span,
// and how many there were.
type VerdictSpan struct {
	Verdict     Verdict
	Count       int
	First, Last Recipient
}

// mergeWindow is how close in time two like Exchange server events are to
// stand as one entry: the burst of LOAD rows when the transport service
// starts with a full queue.
const mergeWindow = time.Minute

// maxEvidence is how many lines an entry lists.
const maxEvidence = 5

// Timeline merges the server's own events, the first and last recipient of
// each verdict and the first and last recipient of each client of clients
// (the relay clients) into one list in time order. Warnings with the same
// text (numbers aside) from one host and daemon are one entry, with their
// count and last time; Exchange's LOAD rows of one service start (one per
// queued message) are one entry. Every Postfix and Exim start, reload and
// error stays an entry of its own.
func Timeline(server []parsers.Event, verdicts []VerdictSpan, clients []ClientReport) []TimelineEntry {
	var out []TimelineEntry
	warnings := map[string]int{} // shape → index in out
	last := map[string]int{}     // host, daemon, status → index of the last entry
	for _, ev := range server {
		e := TimelineEntry{Time: ev.Time, What: WhatServer, Kind: ev.Status, Host: ev.Host, MTA: ev.Format,
			Text: ev.Reason, Count: 1, Evidence: []string{ev.Pos.String()}}
		key := ev.Host + "\x00" + ev.Daemon + "\x00" + ev.Status + "\x00" + shape(ev.Reason)
		if ev.Status == parsers.ServerWarning {
			if i, ok := warnings[key]; ok {
				out[i].merge(ev)
				continue
			}
			warnings[key] = len(out)
		} else if i, ok := last[key]; ok && ev.Format == "exchange" && ev.Time.Sub(out[i].lastTime()) <= mergeWindow {
			out[i].merge(ev)
			continue
		}
		last[key] = len(out)
		out = append(out, e)
	}
	for _, v := range verdicts {
		if v.Count == 0 {
			continue
		}
		out = append(out, recipientEntry(WhatVerdictFirst, string(v.Verdict), "", v.Count, v.First))
		if v.Count > 1 {
			out = append(out, recipientEntry(WhatVerdictLast, string(v.Verdict), "", v.Count, v.Last))
		}
	}
	for _, c := range clients {
		ev := c.Evidence
		if len(ev) > 1 {
			ev = ev[:1]
		}
		out = append(out, TimelineEntry{Time: c.First, What: WhatClientFirst, Kind: string(RelayAbuse), Subject: c.ClientIP,
			Text: "first recipient relayed for " + c.ClientIP + nameOf(c.ClientName), Count: c.Count, Evidence: ev})
		if c.Count > 1 {
			out = append(out, TimelineEntry{Time: c.Last, What: WhatClientLast, Kind: string(RelayAbuse), Subject: c.ClientIP,
				Text: "last recipient relayed for " + c.ClientIP + nameOf(c.ClientName), Count: c.Count, Evidence: []string{}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		// At one instant, the server's events come first: a reload
		// logged in the second of a relayed message comes before it.
		return out[i].What == WhatServer && out[j].What != WhatServer
	})
	for i := range out {
		if out[i].Evidence == nil {
			out[i].Evidence = []string{}
		}
	}
	return out
}

func nameOf(name string) string {
	if name == "" || name == "unknown" {
		return ""
	}
	return " (" + name + ")"
}

func recipientEntry(what, verdict, subject string, n int, r Recipient) TimelineEntry {
	word := "first"
	if what == WhatVerdictLast {
		word = "last"
	}
	text := word + " " + verdict + " recipient: " + r.Recipient
	if r.ClientIP != "" {
		text += " from " + r.ClientIP
	}
	ev := r.Evidence
	if len(ev) > maxEvidence {
		ev = ev[len(ev)-maxEvidence:]
	}
	return TimelineEntry{Time: r.Time, What: what, Kind: verdict, Host: r.Host, MTA: r.MTA, Subject: subject,
		Text: text, Count: n, Evidence: ev}
}

func (e *TimelineEntry) lastTime() time.Time {
	if e.Last.IsZero() {
		return e.Time
	}
	return e.Last
}

func (e *TimelineEntry) merge(ev parsers.Event) {
	e.Count++
	e.Last = ev.Time
	if len(e.Evidence) < maxEvidence {
		e.Evidence = append(e.Evidence, ev.Pos.String())
	}
}

// shape is a server message with its numbers (pids, queue ids of digits,
// counts) left out, so that repeats of one warning are one entry.
func shape(s string) string {
	var b strings.Builder
	digits := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	return b.String()
}

// ChangeBefore returns the last server start, reload or configuration
// entry of entries at or before t on host (any host when host is empty),
// and whether there is one: the "what changed" before a relay began.
func ChangeBefore(entries []TimelineEntry, t time.Time, host string) (TimelineEntry, bool) {
	var found TimelineEntry
	ok := false
	for _, e := range entries {
		if e.What != WhatServer || e.Time.After(t) {
			continue
		}
		if host != "" && e.Host != host {
			continue
		}
		switch e.Kind {
		case parsers.ServerStart, parsers.ServerReload, parsers.ServerConfig:
			found, ok = e, true
		}
	}
	return found, ok
}
