package schema

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestServerEventsAndEachEvent stores server events among others and reads
// them back: ServerEvents finds only them, in a span, every field kept;
// EachEvent gives every event of a span in file order.
func TestServerEventsAndEachEvent(t *testing.T) { engines(t, testServerEventsAndEachEvent) }

func testServerEventsAndEachEvent(t *testing.T, db string) {
	s, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 27, 19, 28, 45, 0, time.UTC)
	ev := func(line int, sec int, k parsers.Kind, status, reason string) parsers.Event {
		return parsers.Event{Pos: parsers.Pos{File: "mail.log", Line: line, Offset: int64(line * 100)}, Time: t0.Add(time.Duration(sec) * time.Second),
			Format: "postfix", Host: "mail", Daemon: "master", Kind: k, Status: status, Reason: reason, Raw: "line " + reason}
	}
	events := []parsers.Event{
		ev(1, -60, parsers.KindServer, parsers.ServerStart, "daemon started -- version 3.7.11, configuration /etc/postfix"),
		ev(2, -30, parsers.KindRemoved, "", ""),
		ev(3, 0, parsers.KindServer, parsers.ServerReload, "reload -- version 3.7.11, configuration /etc/postfix"),
		ev(4, 2, parsers.KindDelivery, parsers.StatusSent, "250 ok"),
		ev(5, 60, parsers.KindServer, parsers.ServerError, "fatal: <b>x</b>\x00\xff"),
	}
	events[1].QueueID, events[3].QueueID, events[3].Rcpt = "A1", "A1", "x@outside.example"
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NewWriter(src).Commit(t.Context(), events, nil, nil, Progress{Offset: 600, Lines: 5, Complete: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServerEvents(t.Context(), analysis.TimeRange{})
	if err != nil {
		t.Fatal(err)
	}
	want := []parsers.Event{events[0], events[2], events[4]}
	if s.pg {
		// No PostgreSQL text value holds a NUL: the raw line kept in the
		// events table has U+FFFD for it (the parsed fields keep it).
		want[2].Raw = strings.ReplaceAll(want[2].Raw, "\x00", "\uFFFD")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ServerEvents =\n%+v\nwant\n%+v", got, want)
	}
	got, err = s.ServerEvents(t.Context(), analysis.TimeRange{From: t0, To: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Pos.Line != 3 {
		t.Errorf("ServerEvents in [t0, t0+1m) = %+v, want the reload", got)
	}
	var lines []int
	err = s.EachEvent(t.Context(), analysis.TimeRange{From: t0.Add(-30 * time.Second), To: t0.Add(time.Minute)}, func(ev parsers.Event) error {
		lines = append(lines, ev.Pos.Line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lines, []int{2, 3, 4}) {
		t.Errorf("EachEvent in [t0-30s, t0+1m) gave lines %v, want 2 3 4", lines)
	}
}
