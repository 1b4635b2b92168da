package schema

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestEachEventManyBlocks stores two files of several blocks each and
// reads them back with EachEvent, as report traffic does: every event
// once, the files in the order written, each in line order (the blocks are
// decoded on a goroutine of their own, several ahead of fn); the fields
// traffic counts from kept and the raw line and client left out; and an
// error from fn ends the walk at once and is returned.
func TestEachEventManyBlocks(t *testing.T) { engines(t, testEachEventManyBlocks) }

func testEachEventManyBlocks(t *testing.T, db string) {
	s := openEngine(t, db)
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	const perFile = 3*blockEvents + 100 // four blocks, the last short
	files := []string{"maillog.1", "maillog"}
	for fi, name := range files {
		events := make([]parsers.Event, perFile)
		for i := range events {
			line := i + 1
			events[i] = parsers.Event{Pos: parsers.Pos{File: name, Line: line, Offset: int64(i * 100)},
				Time: t0.Add(time.Duration(fi*perFile+i) * time.Second), Format: "postfix", Host: fmt.Sprintf("mx%d", i%3),
				Daemon: "smtp", Kind: parsers.KindDelivery, QueueID: fmt.Sprintf("Q%d%d", fi, i), Rcpt: fmt.Sprintf("u%d@outside.example", i),
				From: "a@corp.example", Status: parsers.StatusDeferred, Reason: fmt.Sprintf("451 try later %d", i), Size: int64(1000 + i),
				ClientIP: netip.MustParseAddr("192.0.2.7"), ClientName: "client.example", Raw: fmt.Sprintf("line %d of %s", line, name)}
		}
		src, err := s.Source(t.Context(), name, "fp-"+name, "postfix", int64(perFile*100))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.NewWriter(src).Commit(t.Context(), events, nil, nil, Progress{Offset: int64(perFile * 100), Lines: perFile, Complete: true}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	err := s.EachEvent(t.Context(), analysis.TimeRange{}, func(ev parsers.Event) error {
		fi, i := n/perFile, n%perFile
		n++
		want := fmt.Sprintf("%s:%d", files[fi], i+1)
		if got := fmt.Sprintf("%s:%d", ev.Pos.File, ev.Pos.Line); got != want {
			return fmt.Errorf("event %d is %s, want %s", n, got, want)
		}
		if ev.QueueID != fmt.Sprintf("Q%d%d", fi, i) || ev.Rcpt != fmt.Sprintf("u%d@outside.example", i) || ev.From != "a@corp.example" ||
			ev.Status != parsers.StatusDeferred || ev.Reason != fmt.Sprintf("451 try later %d", i) || ev.Size != int64(1000+i) ||
			ev.Host != fmt.Sprintf("mx%d", i%3) || ev.Kind != parsers.KindDelivery || !ev.Time.Equal(t0.Add(time.Duration(n-1)*time.Second)) {
			return fmt.Errorf("event %s read back as %+v", want, ev)
		}
		if ev.Raw != "" || ev.ClientIP.IsValid() || ev.ClientName != "" {
			return fmt.Errorf("event %s: raw line or client decoded for traffic: %+v", want, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*perFile {
		t.Fatalf("EachEvent gave %d events, want %d", n, 2*perFile)
	}

	stop := errors.New("enough")
	n = 0
	err = s.EachEvent(t.Context(), analysis.TimeRange{}, func(parsers.Event) error {
		n++
		if n == blockEvents+5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != blockEvents+5 {
		t.Fatalf("EachEvent with fn failing at event %d: err %v after %d events", blockEvents+5, err, n)
	}

	// A report interrupted (^C) ends with the context's error.
	ctx, cancel := context.WithCancel(t.Context())
	n = 0
	err = s.EachEvent(ctx, analysis.TimeRange{}, func(parsers.Event) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 2*perFile {
		t.Fatalf("EachEvent cancelled at event 10: err %v after %d events", err, n)
	}

	// A damaged block is an error naming its file and block, not a crash.
	if _, err := s.db.ExecContext(t.Context(), `UPDATE event_blocks SET data = ? WHERE id = (SELECT max(id) FROM event_blocks)`,
		[]byte("\x28\xb5\x2f\xfd not zstd")); err != nil {
		t.Fatal(err)
	}
	err = s.EachEvent(t.Context(), analysis.TimeRange{}, func(parsers.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "read events of maillog: block ") {
		t.Fatalf("EachEvent over a damaged block: err %v, want one naming maillog and the block", err)
	}
}
