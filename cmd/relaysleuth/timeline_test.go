package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

func timelineJSON(t *testing.T, db string, args ...string) []analysis.TimelineEntry {
	t.Helper()
	var stdout bytes.Buffer
	if err := runCLI(t, append([]string{"report", "--db", db, "--format", "json", "timeline"}, args...), &stdout, nil); err != nil {
		t.Fatal(err)
	}
	var entries []analysis.TimelineEntry
	if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	return entries
}

// TestTimelinePostfixReload: in the dev corpus the server is reloaded at
// 19:28:45 (postfix.log:360-361, the open-relay configuration) and the
// first relayed recipient comes at 19:28:47; the timeline shows both, in
// that order, and its headline says so.
func TestTimelinePostfixReload(t *testing.T) {
	db := ingestInto(t, "../../testdata/postfix/dev/config.json", "../../testdata/postfix/dev/postfix.log")
	entries := timelineJSON(t, db)
	reload, relay := -1, -1
	kinds := map[string]int{}
	for i, e := range entries {
		if e.What == analysis.WhatServer {
			kinds[e.Kind]++
		}
		if reload < 0 && e.What == analysis.WhatServer && e.Kind == parsers.ServerReload && strings.HasPrefix(e.Text, "reload -- version 3.7.11") {
			reload = i
		}
		if e.What == analysis.WhatVerdictFirst && e.Kind == string(analysis.RelayAbuse) {
			relay = i
		}
	}
	if reload < 0 || relay < 0 || reload > relay {
		t.Fatalf("reload at %d, first relay at %d in %+v", reload, relay, entries)
	}
	if r := entries[reload]; !r.Time.Equal(time.Date(2026, 11, 27, 19, 28, 45, 0, time.UTC)) || !strings.HasSuffix(r.Evidence[0], "postfix.log:361") {
		t.Errorf("reload entry %+v, want 19:28:45 at postfix.log:361", r)
	}
	if r := entries[relay]; !r.Time.Equal(time.Date(2026, 11, 27, 19, 28, 47, 0, time.UTC)) || r.Count != 46 {
		t.Errorf("first relay entry %+v, want 19:28:47, 46 recipients", r)
	}
	// postfix-script and master: 2 starts, 4 reloads of each, 1 stop.
	if kinds[parsers.ServerStart] != 2 || kinds[parsers.ServerReload] != 8 || kinds[parsers.ServerStop] != 1 {
		t.Errorf("server events per kind %v, want 2 starts, 8 reloads, 1 stop", kinds)
	}
	clients := 0
	for _, e := range entries {
		if e.What == analysis.WhatClientFirst {
			clients++
		}
	}
	if clients != 3 {
		t.Errorf("%d relay clients in the timeline, want 3", clients)
	}

	var stdout bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "timeline"}, &stdout, nil); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(stdout.String(), "\n")
	if !strings.Contains(head, "RELAY ABUSE began at 2026-11-27 19:28:47 UTC, 2 s after the server's reload at 2026-11-27 19:28:45 UTC") {
		t.Errorf("headline %q", head)
	}
	stdout.Reset()
	if err := runCLI(t, []string{"report", "--db", db, "--format", "csv", "timeline"}, &stdout, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "time,last,what,kind,host,mta,subject,count,text,evidence\n") ||
		strings.Count(stdout.String(), "\n") != len(entries)+1 {
		t.Errorf("CSV:\n%s", stdout.String())
	}

	// --until before the reload: the relay is not in the span.
	for _, e := range timelineJSON(t, db, "--until", "2026-11-27T19:28:46Z") {
		if e.Time.After(time.Date(2026, 11, 27, 19, 28, 46, 0, time.UTC)) || e.Kind == string(analysis.RelayAbuse) {
			t.Errorf("--until 19:28:46: %+v", e)
		}
	}
}

// TestTimelineExim: the Exim dev run starts the daemon and sends it two
// SIGHUPs (each followed by the re-executed daemon's start line).
func TestTimelineExim(t *testing.T) {
	db := ingestInto(t, "../../testdata/exim/dev/config.json", "../../testdata/exim/dev/mainlog", "../../testdata/exim/dev/rejectlog")
	kinds := map[string]int{}
	for _, e := range timelineJSON(t, db) {
		if e.What == analysis.WhatServer {
			kinds[e.Kind]++
			if e.MTA != "exim" || len(e.Evidence) != 1 || !strings.Contains(e.Evidence[0], "mainlog:") {
				t.Errorf("server entry %+v", e)
			}
		}
	}
	if kinds[parsers.ServerStart] != 3 || kinds[parsers.ServerReload] != 2 {
		t.Errorf("server events per kind %v, want 3 starts, 2 reloads", kinds)
	}
}
