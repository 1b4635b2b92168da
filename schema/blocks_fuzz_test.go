package schema

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// FuzzBlocks encodes an event built from arbitrary strings into a block and
// decodes it back: every field must survive. The same bytes, taken as a
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
		blocks := encodeBlocks([]parsers.Event{ev, ev})
		if len(blocks) != 1 {
			t.Fatalf("%d blocks for 2 events", len(blocks))
		}
		recs, err := blockRecords(blocks[0].data)
		if err != nil {
			t.Fatal(err)
		}
		var got []parsers.Event
		if err := decodeEvents(recs, "mail.log", func(e parsers.Event) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !reflect.DeepEqual(got[0], ev) || !reflect.DeepEqual(got[1], ev) {
			t.Fatalf("decoded\n%+v\nwant twice\n%+v", got, ev)
		}
		// Garbage as a stored block.
		_ = decodeEvents([]byte(raw+helo+session), "mail.log", func(parsers.Event) error { return nil })
		_, _ = blockRecords([]byte("\x28\xb5\x2f\xfd" + raw))
	})
}
