package analysis

import (
	"fmt"
	"time"
)

// The forensic report's charts as data: the HTML report draws them as
// inline SVG, and these types say where each bar, mark and tick stands.

// Geometry of the timeline chart, in SVG user units (the SVG scales to the
// page's width).
const (
	chartWidth  = 1000
	chartLeft   = 150 // lane labels
	chartRight  = 40
	laneHeight  = 46
	chartTop    = 26 // room for the change marker's label
	axisHeight  = 34
	chartBins   = 60
	serverLaneH = 30
)

// A ChartBar is one bar of a chart.
type ChartBar struct {
	X, Y, W, H float64
	Title      string
}

// A ChartMark is a server event on the time axis.
type ChartMark struct {
	X        float64
	Class    string // start, stop, reload, config, warning, error
	Title    string
	IsChange bool
}

// A ChartTick is a label on the time axis.
type ChartTick struct {
	X     float64
	Label string
}

// A ChartLane is one lane of the timeline chart.
type ChartLane struct {
	Name  string
	Total int
	Y     float64 // top
	Bars  []ChartBar
}

// A TimelineChart is the forensic report's timeline, laid out.
type TimelineChart struct {
	Width, Height      float64
	Left, Right, LaneW float64
	Lanes              []ChartLane
	ServerY, ServerH   float64
	AxisY              float64
	Marks              []ChartMark
	Ticks              []ChartTick
	ChangeX            float64
	ChangeLabel        string
	HasChange          bool
	From, To           string
	BinWidth           string
	ServerCount        int
}

// A TrafficChart is the totals bar chart of the traffic section.
type TrafficChart struct {
	Items []TrafficItem
}

// A TrafficItem is one bar of the traffic chart.
type TrafficItem struct {
	Label string
	Value int
	Y     float64
	W     float64
	Class string
}

// LayoutTimeline lays out r's timeline chart, its labels in loc: per lane,
// the recipients per time bin as bars (each lane scaled to its own busiest
// bin), and the server's events as marks across the lanes. Nil when there
// is nothing to draw.
func LayoutTimeline(r *Forensic, loc *time.Location) *TimelineChart {
	var from, to time.Time
	see := func(t time.Time) {
		if from.IsZero() || t.Before(from) {
			from = t
		}
		if t.After(to) {
			to = t
		}
	}
	for _, ts := range r.Activity {
		for _, t := range ts {
			see(t)
		}
	}
	for _, e := range r.Timeline {
		if e.What == WhatServer {
			see(e.Time)
		}
	}
	if from.IsZero() {
		return nil
	}
	// A little room at both ends, and never less than a minute in all.
	pad := max(to.Sub(from)/40, time.Second)
	from, to = from.Add(-pad), to.Add(pad)
	if to.Sub(from) < time.Minute {
		to = from.Add(time.Minute)
	}
	c := &TimelineChart{Width: chartWidth, Left: chartLeft, Right: chartWidth - chartRight, LaneW: chartWidth - chartRight - chartLeft}
	span := to.Sub(from)
	x := func(t time.Time) float64 {
		return c.Left + (c.Right-c.Left)*float64(t.Sub(from))/float64(span)
	}
	bin := span / chartBins
	c.BinWidth = bin.Round(time.Second).String()
	y := float64(chartTop)
	for _, name := range Lanes {
		ts := r.Activity[name]
		lane := ChartLane{Name: name, Total: len(ts), Y: y}
		var counts [chartBins]int
		for _, t := range ts {
			i := min(int(t.Sub(from)/bin), chartBins-1)
			counts[max(i, 0)]++
		}
		most := 0
		for _, n := range counts {
			most = max(most, n)
		}
		bw := (c.Right - c.Left) / chartBins
		for i, n := range counts {
			if n == 0 {
				continue
			}
			h := (laneHeight - 8) * float64(n) / float64(most)
			h = max(h, 2)
			start := from.Add(time.Duration(i) * bin)
			lane.Bars = append(lane.Bars, ChartBar{X: c.Left + bw*float64(i) + 0.5, Y: y + laneHeight - 2 - h, W: max(bw-1, 1), H: h,
				Title: fmt.Sprintf("%s: %d from %s", name, n, start.In(loc).Format("2006-01-02 15:04:05"))})
		}
		c.Lanes = append(c.Lanes, lane)
		y += laneHeight
	}
	c.ServerY, c.ServerH = y, serverLaneH
	for _, e := range r.Timeline {
		if e.What != WhatServer {
			continue
		}
		c.ServerCount++
		m := ChartMark{X: x(e.Time), Class: e.Kind, Title: e.Kind + " " + e.Time.In(loc).Format("15:04:05") + " " + e.Host + ": " + e.Text}
		if r.Change != nil && e.Time.Equal(r.Change.Time) && e.Text == r.Change.Text {
			m.IsChange = true
			c.ChangeX, c.HasChange = m.X, true
			c.ChangeLabel = e.Kind + " " + e.Time.In(loc).Format("15:04:05")
		}
		c.Marks = append(c.Marks, m)
	}
	y += serverLaneH
	c.AxisY = y
	for i := 0; i <= 5; i++ {
		t := from.Add(span * time.Duration(i) / 5)
		layout := "15:04:05"
		if span > 24*time.Hour {
			layout = "01-02 15:04"
		}
		c.Ticks = append(c.Ticks, ChartTick{X: x(t), Label: t.In(loc).Format(layout)})
	}
	c.Height = y + axisHeight
	c.From, c.To = from.In(loc).Format("2006-01-02 15:04:05 MST"), to.In(loc).Format("2006-01-02 15:04:05 MST")
	return c
}

// LayoutTraffic lays out the totals t as horizontal bars.
func LayoutTraffic(t Counts) TrafficChart {
	items := []TrafficItem{
		{Label: "received", Value: t.Received, Class: "rcv"},
		{Label: "delivered", Value: t.Delivered, Class: "dlv"},
		{Label: "forwarded", Value: t.Forwarded, Class: "dlv"},
		{Label: "deferred", Value: t.Deferred, Class: "dfr"},
		{Label: "bounced", Value: t.Bounced, Class: "bnc"},
		{Label: "rejected", Value: t.Rejected, Class: "rej"},
	}
	most := 1
	for _, it := range items {
		most = max(most, it.Value)
	}
	for i := range items {
		items[i].Y = float64(i*24 + 4)
		items[i].W = 600 * float64(items[i].Value) / float64(most)
		if items[i].Value > 0 {
			items[i].W = max(items[i].W, 2)
		}
	}
	return TrafficChart{Items: items}
}
