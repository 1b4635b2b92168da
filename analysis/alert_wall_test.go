package analysis

import (
	"testing"
	"time"
)

// TestQuietGateWallClock: a quiet period also ends on the wall clock the
// caller reports, while the log's clock stands still; Release gives what
// is still held back at exit and closes the periods (issue 20, item 6).
func TestQuietGateWallClock(t *testing.T) {
	logT := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	wall := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	r := NewAlertRules(0, time.Minute, 0, time.Minute, time.Hour)
	relay := func(rcpt string) []Alert {
		return r.Recipient(&Recipient{Key: rcpt, Recipient: rcpt, ClientIP: "192.0.2.9", Time: logT, Verdict: RelayAbuse}, "")
	}
	r.Clock(wall)
	if got := relay("a@victim.example"); len(got) != 1 {
		t.Fatalf("first relay: %+v, want an alert", got)
	}
	for _, rc := range []string{"b@victim.example", "c@victim.example"} {
		if got := relay(rc); len(got) != 0 {
			t.Fatalf("%s within the quiet period: %+v", rc, got)
		}
	}
	r.Clock(wall.Add(59 * time.Minute))
	if r.SummaryDue() || len(r.Due()) != 0 {
		t.Fatalf("summary before the hour is over")
	}
	r.Clock(wall.Add(time.Hour))
	if !r.SummaryDue() {
		t.Fatalf("SummaryDue false after an hour of wall clock")
	}
	got := r.Due()
	if len(got) != 1 || !got[0].Summary || got[0].Count != 2 || len(got[0].Recipients) != 2 {
		t.Fatalf("after an hour of wall clock, no line: %+v, want a summary of 2", got)
	}
	if r.SummaryDue() || len(r.Due()) != 0 {
		t.Errorf("the summary came twice")
	}
	// The next period opened then: a relay now is held back again, and
	// released at exit.
	if got := relay("d@victim.example"); len(got) != 0 {
		t.Fatalf("relay in the next period: %+v", got)
	}
	rel := r.Release()
	if len(rel) != 1 || rel[0].Count != 1 || rel[0].Recipients[0] != "d@victim.example" {
		t.Fatalf("Release = %+v, want the held relay", rel)
	}
	if len(r.Pending()) != 0 || len(r.Release()) != 0 {
		t.Errorf("Release left something held back")
	}

	// Without the wall clock (replay, tests), log time alone decides.
	r2 := NewAlertRules(0, time.Minute, 0, time.Minute, time.Hour)
	r2.Recipient(&Recipient{Key: "a", Recipient: "a@v.example", ClientIP: "192.0.2.9", Time: logT, Verdict: RelayAbuse}, "")
	r2.Recipient(&Recipient{Key: "b", Recipient: "b@v.example", ClientIP: "192.0.2.9", Time: logT, Verdict: RelayAbuse}, "")
	if r2.SummaryDue() || len(r2.Due()) != 0 {
		t.Errorf("summary without either clock moving")
	}
}
