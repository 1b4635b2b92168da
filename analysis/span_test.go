package analysis

import (
	"testing"
	"time"
)

func TestReadSpan(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f := ReadSpan(t0, t0.Add(time.Hour), time.Time{}, time.Time{})
	if f.Since != t0 || f.Until != t0.Add(time.Hour+time.Millisecond) {
		t.Errorf("ReadSpan = %v..%v, want the lines read, the last included", f.Since, f.Until)
	}
	if f := ReadSpan(t0, t0.Add(time.Hour), time.Time{}, t0); f.Since != (time.Time{}) || f.Until != t0 {
		t.Errorf("ReadSpan with --until = %v..%v, want ..%v", f.Since, f.Until, t0)
	}
	// A fresh database holds only what was read: no filter is needed.
	if !f.Holds(Summary{First: t0, Last: t0.Add(time.Hour)}) {
		t.Error("the span read does not hold the database of only those lines")
	}
	if f.Holds(Summary{First: t0.Add(-time.Hour), Last: t0.Add(time.Hour)}) {
		t.Error("the span read holds a database with older lines")
	}
	if f.Holds(Summary{}) {
		t.Error("the span read holds an empty database")
	}
}
