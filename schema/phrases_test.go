package schema

import (
	"reflect"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestPhrasesRoundTrip: every text reads back as written, the marks
// themselves included, and the common reasons are stored shorter.
func TestPhrasesRoundTrip(t *testing.T) {
	for _, s := range []string{
		"",
		"short",
		"local recipient domain corp.example; received from unauthenticated client 203.0.113.7 outside the trusted networks",
		"refused (5.7.1 RCPT: <x@victim.example>: Relay access denied) for external domain victim.example from unauthenticated client 198.51.100.2 outside the trusted networks",
		"accepted for external domain victim.example from client 192.0.2.1 authenticated as gina (PLAIN)",
		"\x01 a mark \x01\x7f and accepted for \x02",
		"\x02starts raw; received from unauthenticated client ",
		"ends with a mark \x01",
		"hostile \x00\xff bytes outside the trusted networks",
	} {
		stored := encodePhrases(s)
		if got := decodePhrases(stored); got != s {
			t.Errorf("%q stored as %q reads %q", s, stored, got)
		}
	}
	long := "local recipient domain corp.example; received from unauthenticated client 203.0.113.7 outside the trusted networks"
	if stored := encodePhrases(long); len(stored) > len(long)/3 {
		t.Errorf("%q stored in %d bytes: %q", long, len(stored), stored)
	}
	// A stored number beyond the table (a newer writer) drops, no panic.
	if got := decodePhrases("a\x01\x7fb"); got != "ab" {
		t.Errorf("unknown phrase reads %q", got)
	}
}

// TestDeliveriesRoundTrip: deliveries read back field for field, hostile
// bytes included; none reads as an empty list (JSON []); values written
// before this encoding (JSON) read the same.
func TestDeliveriesRoundTrip(t *testing.T) {
	ds := []analysis.Delivery{
		{To: "henry@corp.example", Relay: "local", DSN: "2.0.0", Status: "sent", Reason: "delivered to mailbox"},
		{To: "x:3:@evil\x00", Relay: "mx.example.net[198.51.100.2]:25", DSN: "4.4.1", Status: "deferred",
			Reason: "connect to mx: Connection timed out \x01\x02", NextQueueID: "4AB:1"},
	}
	stored := encodeDeliveries(ds)
	if got := decodeDeliveries(stored); !reflect.DeepEqual(got, ds) {
		t.Errorf("stored as %q reads %+v", stored, got)
	}
	if got := decodeDeliveries(encodeDeliveries(nil)); got == nil || len(got) != 0 {
		t.Errorf("none reads %#v", got)
	}
	old := `[{"to":"henry@corp.example","relay":"local","dsn":"2.0.0","status":"sent","reason":"delivered to mailbox"}]`
	if got := decodeDeliveries(old); !reflect.DeepEqual(got, ds[:1]) {
		t.Errorf("JSON value reads %+v", got)
	}
	if len(encodeDeliveries(ds[:1])) >= len(old)/2 {
		t.Errorf("stored %q, no shorter than JSON", encodeDeliveries(ds[:1]))
	}
	if got := decodeDeliveries("5:abc"); len(got) != 0 || strings.Contains(stored, "reason") {
		t.Errorf("garbage reads %+v", got)
	}
}
