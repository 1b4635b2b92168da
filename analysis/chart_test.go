package analysis

import (
	"testing"
	"time"
)

func TestLayoutTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	reload := TimelineEntry{Time: t0, What: WhatServer, Kind: "reload", Host: "mx1", Text: "reload -- version 3.8"}
	r := &Forensic{
		Activity: map[string][]time.Time{
			LaneRelay:    {t0.Add(time.Minute), t0.Add(time.Minute), t0.Add(50 * time.Minute)},
			LaneAttempts: {t0.Add(30 * time.Minute)},
		},
		Timeline: []TimelineEntry{reload},
		Change:   &reload,
	}
	c := LayoutTimeline(r, time.UTC)
	if c == nil {
		t.Fatal("LayoutTimeline = nil, want a chart")
	}
	if len(c.Lanes) != len(Lanes) {
		t.Fatalf("%d lanes, want %d", len(c.Lanes), len(Lanes))
	}
	relay := c.Lanes[0]
	if relay.Name != LaneRelay || relay.Total != 3 || len(relay.Bars) != 2 {
		t.Errorf("relay lane = %s, %d recipients in %d bars; want %s, 3 in 2", relay.Name, relay.Total, len(relay.Bars), LaneRelay)
	}
	// The busiest bin is drawn full height; the other in proportion.
	if full, half := relay.Bars[0].H, relay.Bars[1].H; full != 2*half {
		t.Errorf("bar heights %v and %v, want 2:1", full, half)
	}
	for _, b := range relay.Bars {
		if b.X < c.Left || b.X+b.W > c.Right {
			t.Errorf("bar at %v..%v outside the chart %v..%v", b.X, b.X+b.W, c.Left, c.Right)
		}
	}
	if len(c.Marks) != 1 || !c.Marks[0].IsChange || !c.HasChange || c.ChangeLabel != "reload 10:00:00" {
		t.Errorf("marks %+v, change %v %q; want the reload marked as the change", c.Marks, c.HasChange, c.ChangeLabel)
	}
	if len(c.Ticks) != 6 || c.ServerCount != 1 {
		t.Errorf("%d ticks, %d server events; want 6 and 1", len(c.Ticks), c.ServerCount)
	}
	if c.From >= c.To || c.From > "2026-11-27 10:00:00 UTC" {
		t.Errorf("span %s .. %s does not hold the first event", c.From, c.To)
	}
	if LayoutTimeline(&Forensic{}, time.UTC) != nil {
		t.Error("LayoutTimeline of nothing is a chart, want nil")
	}
}

func TestLayoutTraffic(t *testing.T) {
	c := LayoutTraffic(Counts{Received: 100, Delivered: 50, Rejected: 1})
	w := map[string]float64{}
	for _, it := range c.Items {
		w[it.Label] = it.W
	}
	if w["received"] != 600 || w["delivered"] != 300 || w["rejected"] != 6 || w["bounced"] != 0 {
		t.Errorf("bar widths %v, want received 600, delivered 300, rejected 6, bounced 0", w)
	}
	// A bar of one in a million still shows.
	if c := LayoutTraffic(Counts{Received: 1e6, Bounced: 1}); c.Items[4].W != 2 {
		t.Errorf("smallest bar %v wide, want 2", c.Items[4].W)
	}
}
