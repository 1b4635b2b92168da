package schema

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// FuzzBlocks encodes events built from arbitrary strings into a block and
// decodes them back: every field of every event must survive. The same bytes, taken as a
// stored block (a damaged database), must decode or fail cleanly.
func FuzzBlocks(f *testing.F) {
	f.Add("postfix", "mx1", "4AB1C2D3E4", "m1@example.org", "203.0.113.7", "12:34", "5:x:", "line\x00with NUL \xff", int64(42))
	f.Add("", "", "", "", "", "", "", "", int64(0))
	f.Add("9:", ":", "::", "1:a", "2001:db8::1", "-1:", "99999999999999999999:", "", int64(-7))
	f.Fuzz(func(t *testing.T, format, host, queueID, messageID, ip, session, helo, raw string, size int64) {
		ev := parsers.Event{
			Pos:    parsers.Pos{File: "mail.log", Line: int(size & 0xffff), Offset: size},
			Time:   time.UnixMilli(size).UTC(),
			Format: format, Host: host, Daemon: helo, Kind: parsers.KindDelivery, Session: session,
			QueueID: queueID, NextQueueID: helo, PrevQueueID: session, MessageID: messageID,
			ClientName: host, OrigClientName: raw, Helo: helo, Proto: format, SASLMethod: session,
			SASLUser: queueID, From: messageID, Rcpt: raw, OrigRcpt: host, Relay: ip, Status: format,
			DSN: session, Reason: raw, Size: size, NRcpt: int(size % 1000), Raw: raw,
		}
		if a, err := netip.ParseAddr(ip); err == nil {
			ev.ClientIP, ev.OrigClientIP = a, a
		}
		// Another event between two copies: a decoded field that equals
		// the event before's reuses its string, one that does not must not.
		ev2 := ev
		ev2.Format, ev2.Host, ev2.QueueID, ev2.MessageID = host, format, messageID, queueID
		ev2.Helo, ev2.Status, ev2.Reason, ev2.Relay, ev2.Session = raw, session, helo, "", format
		ev2.Size, ev2.NRcpt, ev2.Pos.Line, ev2.Kind = size/2, 0, ev.Pos.Line+1, parsers.KindReject
		want := []parsers.Event{ev, ev, ev2, ev}
		blocks := encodeBlocks(want)
		if len(blocks) != 1 {
			t.Fatalf("%d blocks for %d events", len(blocks), len(want))
		}
		recs, err := blockRecords(blocks[0].data)
		if err != nil {
			t.Fatal(err)
		}
		var got []parsers.Event
		if err := decodeEvents(recs, "mail.log", func(e parsers.Event) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
		}
		// Garbage as a stored block.
		_ = decodeEvents([]byte(raw+helo+session), "mail.log", func(parsers.Event) error { return nil })
		_, _ = blockRecords([]byte("\x28\xb5\x2f\xfd" + raw))
	})
}
