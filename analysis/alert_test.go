package analysis

import (
	"strings"
	"testing"
	"time"
)

func TestBurstRuleAndQuietGate(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	r := NewAlertRules(3, time.Minute, 0, time.Minute, time.Hour)
	var got []Alert
	hitAt := func(d time.Duration) {
		a := Alert{Kind: AlertRelayAttempts, Client: "192.0.2.9"}
		if hs := r.attempts.add(a.Client, t0.Add(d), "mail.log:1"); hs != nil {
			got = append(got, r.gated(burstAlert(AlertRelayAttempts, a.Client, hs, time.Minute, "burst"))...)
		}
		r.now = t0.Add(d)
		got = append(got, r.Due()...)
	}
	hitAt(0)
	hitAt(30 * time.Second)
	hitAt(2 * time.Minute) // the first two fell out of the window
	if len(got) != 0 {
		t.Fatalf("alerts before a burst: %+v", got)
	}
	hitAt(2*time.Minute + 10*time.Second)
	hitAt(2*time.Minute + 20*time.Second)
	if len(got) != 1 || got[0].Count != 3 || got[0].Summary {
		t.Fatalf("after a burst of 3 = %+v, want one alert of 3", got)
	}
	for i := range 6 { // two more bursts within the quiet hour
		hitAt(10*time.Minute + time.Duration(i)*time.Second)
	}
	if len(got) != 1 {
		t.Fatalf("repeats within --quiet alerted: %+v", got[1:])
	}
	hitAt(2*time.Minute + 20*time.Second + time.Hour)
	if len(got) != 2 || !got[1].Summary || got[1].Count != 6 {
		t.Fatalf("after the quiet hour = %+v, want a summary of 6", got)
	}
	if !strings.Contains(got[1].Text, "6 more refused relay attempts from 192.0.2.9") {
		t.Errorf("summary reads %q", got[1].Text)
	}
}
