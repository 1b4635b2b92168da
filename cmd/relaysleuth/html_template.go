package main

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// The forensic report as one HTML page: no script, styles inline, charts
// as inline SVG, nothing loaded from anywhere (the Content-Security-Policy
// forbids it, should a log field ever get past the escaping), so that it
// opens from a USB stick in a room without a network. Every value from
// the logs goes through html/template, which escapes it for where it
// stands: a HELO name of "<script>" shows as text.

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

// svgBar is one bar of a chart.
type svgBar struct {
	X, Y, W, H float64
	Title      string
}

// svgMark is a server event on the time axis.
type svgMark struct {
	X        float64
	Class    string // start, stop, reload, config, warning, error
	Title    string
	IsChange bool
}

// svgTick is a label on the time axis.
type svgTick struct {
	X     float64
	Label string
}

// svgLane is one lane of the timeline chart.
type svgLane struct {
	Name  string
	Total int
	Y     float64 // top
	Bars  []svgBar
}

// timelineChart is the timeline chart, laid out.
type timelineChart struct {
	Width, Height        float64
	Left, Right, LaneW   float64
	Lanes                []svgLane
	ServerY, ServerH     float64
	AxisY                float64
	Marks                []svgMark
	Ticks                []svgTick
	ChangeX              float64
	ChangeLabel          string
	HasChange            bool
	From, To             string
	BinWidth             string
	ServerCount, Dropped int
}

// trafficChart is the totals bar chart of the traffic section.
type trafficChart struct {
	Bars  []svgBar
	Items []trafficItem
}

type trafficItem struct {
	Label string
	Value int
	Y     float64
	W     float64
	Class string
}

// htmlView is what the template renders.
type htmlView struct {
	*analysis.Forensic
	Relay        bool
	Chart        *timelineChart
	TrafficChart trafficChart
	Verdicts     []verdictCount
	ServerEvs    int
}

type verdictCount struct {
	Verdict analysis.Verdict
	Count   int
}

var htmlFuncs = template.FuncMap{
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(displayZone).Format("2006-01-02 15:04:05 MST")
	},
	"join":  joinOr,
	"delay": delay,
	"bytes": func(n int64) string {
		switch {
		case n >= 10<<20:
			return strconv.FormatInt(n>>20, 10) + " MiB"
		case n >= 10<<10:
			return strconv.FormatInt(n>>10, 10) + " KiB"
		}
		return strconv.FormatInt(n, 10) + " B"
	},
	"f":   func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) },
	"add": func(a, b float64) float64 { return a + b },
}

// renderHTML writes r as one self-contained HTML page.
func renderHTML(w io.Writer, r *analysis.Forensic) error {
	v := htmlView{Forensic: r, Relay: r.Summary.Verdicts[analysis.RelayAbuse] > 0}
	for _, vd := range analysis.Verdicts {
		if n := r.Summary.Verdicts[vd]; n > 0 {
			v.Verdicts = append(v.Verdicts, verdictCount{vd, n})
		}
	}
	for _, e := range r.Timeline {
		if e.What == analysis.WhatServer {
			v.ServerEvs++
		}
	}
	v.Chart = layoutTimeline(r)
	v.TrafficChart = layoutTraffic(r.Traffic.Totals)
	return htmlPage.Execute(w, v)
}

// layoutTimeline lays out the timeline chart: per lane, the recipients
// per time bin as bars (each lane scaled to its own busiest bin), and the
// server's events as marks across the lanes. Nil when there is nothing to
// draw.
func layoutTimeline(r *analysis.Forensic) *timelineChart {
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
		if e.What == analysis.WhatServer {
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
	c := &timelineChart{Width: chartWidth, Left: chartLeft, Right: chartWidth - chartRight, LaneW: chartWidth - chartRight - chartLeft}
	span := to.Sub(from)
	x := func(t time.Time) float64 {
		return c.Left + (c.Right-c.Left)*float64(t.Sub(from))/float64(span)
	}
	bin := span / chartBins
	c.BinWidth = bin.Round(time.Second).String()
	y := float64(chartTop)
	for _, name := range analysis.Lanes {
		ts := r.Activity[name]
		lane := svgLane{Name: name, Total: len(ts), Y: y}
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
			lane.Bars = append(lane.Bars, svgBar{X: c.Left + bw*float64(i) + 0.5, Y: y + laneHeight - 2 - h, W: max(bw-1, 1), H: h,
				Title: fmt.Sprintf("%s: %d from %s", name, n, start.In(displayZone).Format("2006-01-02 15:04:05"))})
		}
		c.Lanes = append(c.Lanes, lane)
		y += laneHeight
	}
	c.ServerY, c.ServerH = y, serverLaneH
	for _, e := range r.Timeline {
		if e.What != analysis.WhatServer {
			continue
		}
		c.ServerCount++
		m := svgMark{X: x(e.Time), Class: e.Kind, Title: e.Kind + " " + e.Time.In(displayZone).Format("15:04:05") + " " + e.Host + ": " + e.Text}
		if r.Change != nil && e.Time.Equal(r.Change.Time) && e.Text == r.Change.Text {
			m.IsChange = true
			c.ChangeX, c.HasChange = m.X, true
			c.ChangeLabel = e.Kind + " " + e.Time.In(displayZone).Format("15:04:05")
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
		c.Ticks = append(c.Ticks, svgTick{X: x(t), Label: t.In(displayZone).Format(layout)})
	}
	c.Height = y + axisHeight
	c.From, c.To = from.In(displayZone).Format("2006-01-02 15:04:05 MST"), to.In(displayZone).Format("2006-01-02 15:04:05 MST")
	return c
}

// layoutTraffic lays out the totals as horizontal bars.
func layoutTraffic(t analysis.Counts) trafficChart {
	items := []trafficItem{
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
	return trafficChart{Items: items}
}

var htmlPage = template.Must(template.New("report").Funcs(htmlFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="relaysleuth">
<title>relaysleuth forensic report</title>
<style>
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 1100px; padding: 16px; }
h1 { font-size: 18pt; margin: 0 0 4px; }
h2 { font-size: 13pt; margin: 22px 0 6px; border-bottom: 1px solid #999; padding-bottom: 2px; break-after: avoid; page-break-after: avoid; }
p.meta { color: #444; font-size: 9pt; margin: 0 0 10px; }
.headline { font-size: 12.5pt; font-weight: bold; padding: 10px 12px; border: 2px solid #1a7f37; background: #eef8f0; }
.headline.bad { border-color: #b00020; background: #fdecee; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4px 0 8px; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.t { white-space: nowrap; }
code, pre, .log { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 8pt; }
pre.log { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; border: 1px solid #ddd; padding: 4px 6px; margin: 2px 0 8px; }
.server { background: #fff8e1; }
.warn { color: #8a5a00; }
svg { width: 100%; height: auto; display: block; }
svg text { font: 11px "DejaVu Sans", Arial, sans-serif; fill: #222; }
.lane-bg { fill: #f7f7f7; stroke: #ddd; }
.bar-relay { fill: #cc0033; } .bar-attempts { fill: #e08a00; } .bar-account { fill: #6a1b9a; }
.mk-reload, .mk-start, .mk-config { stroke: #1f5fbf; stroke-width: 1.5; }
.mk-stop { stroke: #555; stroke-width: 1.5; }
.mk-error { stroke: #b00020; stroke-width: 1.5; }
.mk-warning { stroke: #c9a000; stroke-width: 1; }
.change { stroke: #1f5fbf; stroke-width: 2; stroke-dasharray: 5 3; }
.rcv { fill: #1f5fbf; } .dlv { fill: #1a7f37; } .dfr { fill: #c9a000; } .bnc { fill: #8a5a00; } .rej { fill: #b00020; }
section { break-inside: auto; }
.chart { break-inside: avoid; page-break-inside: avoid; }
.small { font-size: 8.5pt; color: #444; }
@media print { body { padding: 0; max-width: none; } h2 { margin-top: 14px; } }
</style>
</head>
<body>
<h1>Mail relay forensic report</h1>
<p class="meta">Made by relaysleuth on {{stamp .Generated}} from <code>{{.Database}}</code>.
Logs from {{stamp .Summary.First}} to {{stamp .Summary.Last}}{{if not .Since.IsZero}}; report from {{stamp .Since}}{{end}}{{if not .Until.IsZero}}; until {{stamp .Until}}{{end}}.
{{.Summary.Sources}} files, {{.Summary.Lines}} lines, {{.Summary.Events}} events.</p>

<p class="headline{{if .Relay}} bad{{end}}" id="headline">{{.Headline}}</p>
{{with .Change}}<p>The server event before the first relayed recipient: <b>{{.Kind}}</b> at {{stamp .Time}} on <b>{{.Host}}</b>: <code>{{.Text}}</code> ({{join .Evidence}}).</p>{{end}}

<section id="timeline-chart">
<h2>Timeline</h2>
{{with .Chart}}
<div class="chart">
<svg id="timeline-svg" viewBox="0 0 {{f .Width}} {{f .Height}}" role="img" aria-label="Timeline of relayed recipients, refused attempts, account abuse and server events">
{{range .Lanes}}
<rect class="lane-bg" x="{{f $.Chart.Left}}" y="{{f .Y}}" width="{{f $.Chart.LaneW}}" height="44"></rect>
<text x="4" y="{{f (add .Y 26)}}">{{.Name}} ({{.Total}})</text>
{{$cls := "bar-relay"}}{{if eq .Name "refused attempts"}}{{$cls = "bar-attempts"}}{{end}}{{if eq .Name "account abuse"}}{{$cls = "bar-account"}}{{end}}
{{range .Bars}}<rect class="{{$cls}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}"><title>{{.Title}}</title></rect>{{end}}
{{end}}
<rect class="lane-bg" x="{{f .Left}}" y="{{f .ServerY}}" width="{{f .LaneW}}" height="{{f .ServerH}}"></rect>
<text x="4" y="{{f (add .ServerY 19)}}">server events ({{.ServerCount}})</text>
{{range .Marks}}<line class="mk-{{.Class}}" x1="{{f .X}}" x2="{{f .X}}" y1="{{f $.Chart.ServerY}}" y2="{{f (add $.Chart.ServerY $.Chart.ServerH)}}"><title>{{.Title}}</title></line>{{end}}
{{if .HasChange}}<line class="change" x1="{{f .ChangeX}}" x2="{{f .ChangeX}}" y1="14" y2="{{f (add .ServerY .ServerH)}}"></line>
<text x="{{f (add .ChangeX 4)}}" y="12">{{.ChangeLabel}}</text>{{end}}
<line stroke="#333" x1="{{f .Left}}" x2="{{f .Right}}" y1="{{f .AxisY}}" y2="{{f .AxisY}}"></line>
{{range .Ticks}}<line stroke="#333" x1="{{f .X}}" x2="{{f .X}}" y1="{{f $.Chart.AxisY}}" y2="{{f (add $.Chart.AxisY 5)}}"></line><text text-anchor="middle" x="{{f .X}}" y="{{f (add $.Chart.AxisY 18)}}">{{.Label}}</text>{{end}}
</svg>
<p class="small">From {{.From}} to {{.To}}; each bar is {{.BinWidth}}, each lane scaled to its busiest bar. Server events: blue starts, reloads and configuration, grey stops, red errors, yellow warnings{{if .HasChange}}; the dashed line is the server event last before the relaying began{{end}}.</p>
</div>
{{else}}<p>Nothing to chart: no relayed recipient, refused attempt or server event in the span.</p>{{end}}

<table id="timeline">
<thead><tr><th>time</th><th>what</th><th>host</th><th class="n">count</th><th>text</th><th>evidence</th></tr></thead>
<tbody>
{{range .Timeline}}<tr{{if eq .What "server"}} class="server"{{end}}><td class="t">{{stamp .Time}}{{if not .Last.IsZero}}<br><span class="small">to {{stamp .Last}}</span>{{end}}</td><td>{{.What}}: {{.Kind}}</td><td class="t">{{.Host}}</td><td class="n">{{.Count}}</td><td>{{.Text}}</td><td class="log">{{join .Evidence}}</td></tr>
{{else}}<tr><td colspan="6">No event in the span.</td></tr>{{end}}
</tbody>
</table>
</section>

<section id="relay">
<h2>Clients that relayed ({{len .RelayClients}})</h2>
{{if .RelayClients}}
<table id="relay-clients">
<thead><tr><th>client</th><th>name</th><th class="n">recipients</th><th class="n">messages</th><th>top domains</th><th>senders</th><th>HELO</th><th>first</th><th>last</th></tr></thead>
<tbody>
{{range .RelayClients}}<tr><td><b>{{.ClientIP}}</b></td><td>{{.ClientName}}</td><td class="n">{{.Count}}</td><td class="n">{{.Messages}}</td><td>{{join .TopDomains}}</td><td>{{join .Senders}}</td><td>{{join .Helos}}</td><td>{{stamp .First}}</td><td>{{stamp .Last}}</td></tr>
{{end}}
</tbody>
</table>
{{range .RelayClients}}
<p><b>{{.ClientIP}}</b>: the lines of its first relayed message{{if not .Lines}} (not found: {{join .Evidence}}){{end}}</p>
{{if .Lines}}<pre class="log">{{range .Lines}}{{.Pos}}
  {{.Raw}}
{{end}}</pre>{{end}}
{{end}}
{{else}}<p>No client relayed: no recipient was accepted for an external domain from an unauthenticated client outside the trusted networks.</p>{{end}}
</section>

<section id="attempts">
<h2>Refused relay attempts ({{.AttemptClients}} clients)</h2>
{{if .Attempts}}
<table id="attempt-clients">
<thead><tr><th>client</th><th>name</th><th class="n">recipients</th><th>HELO</th><th>senders</th><th>top domains</th><th>first</th><th>last</th><th>evidence</th></tr></thead>
<tbody>
{{range .Attempts}}<tr><td>{{.ClientIP}}</td><td>{{.ClientName}}</td><td class="n">{{.Count}}</td><td>{{join .Helos}}</td><td>{{join .Senders}}</td><td>{{join .TopDomains}}</td><td>{{stamp .First}}</td><td>{{stamp .Last}}</td><td class="log">{{join .Evidence}}</td></tr>
{{end}}
</tbody>
</table>
{{if gt .AttemptClients (len .Attempts)}}<p class="small">The {{len .Attempts}} busiest clients of {{.AttemptClients}}; report attempts lists them all.</p>{{end}}
{{else}}<p>No refused relay attempt.</p>{{end}}
</section>

<section id="auth">
<h2>Failed logins ({{len .AuthFailures}} clients)</h2>
{{if .AuthFailures}}
<table>
<thead><tr><th>client</th><th>name</th><th class="n">failures</th><th>users tried</th><th>first</th><th>last</th><th>evidence</th></tr></thead>
<tbody>
{{range .AuthFailures}}<tr><td>{{.ClientIP}}</td><td>{{.ClientName}}</td><td class="n">{{.Count}}</td><td>{{join .Users}}</td><td>{{stamp .First}}</td><td>{{stamp .Last}}</td><td class="log">{{join .Evidence}}</td></tr>
{{end}}
</tbody>
</table>
{{else}}<p>No failed SASL login.</p>{{end}}
</section>

<section id="accounts">
<h2>Accounts judged compromised or suspicious ({{len .Accounts}})</h2>
{{if .Accounts}}
<table>
<thead><tr><th>account</th><th>verdict</th><th>signals</th><th class="n">recipients</th><th>clients</th><th>first abuse</th><th>last abuse</th><th>usual use</th><th>evidence</th></tr></thead>
<tbody>
{{range .Accounts}}<tr><td><b>{{.Account}}</b></td><td>{{.Verdict}}</td><td>{{join .Signals}}</td><td class="n">{{.Recipients}}</td><td>{{join .ClientIPs}}</td><td>{{stamp .FirstAbuse}}</td><td>{{stamp .LastAbuse}}</td><td>{{.Baseline}}</td><td class="log">{{join .Evidence}}</td></tr>
{{end}}
</tbody>
</table>
{{else}}<p>No SASL account judged compromised or suspicious (report accounts lists them all).</p>{{end}}
</section>

<section id="verdicts">
<h2>Recipients by verdict</h2>
<table style="width:auto">
<thead><tr><th>verdict</th><th class="n">recipients</th></tr></thead>
<tbody>
{{range .Verdicts}}<tr><td>{{.Verdict}}</td><td class="n">{{.Count}}</td></tr>
{{else}}<tr><td colspan="2">No recipient.</td></tr>{{end}}
</tbody>
</table>
</section>

<section id="traffic">
<h2>Traffic</h2>
{{with .TrafficChart}}
<div class="chart">
<svg id="traffic-svg" viewBox="0 0 760 150" role="img" aria-label="Traffic totals">
{{range .Items}}<text x="4" y="{{f (add .Y 14)}}">{{.Label}}</text><rect class="{{.Class}}" x="100" y="{{f .Y}}" width="{{f .W}}" height="18"><title>{{.Label}}: {{.Value}}</title></rect><text x="{{f (add .W 106)}}" y="{{f (add .Y 14)}}">{{.Value}}</text>
{{end}}
</svg>
</div>
{{end}}
{{$t := .Traffic}}
<table id="traffic-totals">
<thead><tr><th></th><th class="n">received</th><th class="n">delivered</th><th class="n">forwarded</th><th class="n">deferred</th><th class="n">deferrals</th><th class="n">bounced</th><th class="n">rejected</th><th class="n">bytes received</th><th class="n">bytes delivered</th></tr></thead>
<tbody>
<tr><th>all</th><td class="n">{{$t.Totals.Received}}</td><td class="n">{{$t.Totals.Delivered}}</td><td class="n">{{$t.Totals.Forwarded}}</td><td class="n">{{$t.Totals.Deferred}}</td><td class="n">{{$t.Totals.Deferrals}}</td><td class="n">{{$t.Totals.Bounced}}</td><td class="n">{{$t.Totals.Rejected}}</td><td class="n">{{bytes $t.Totals.BytesReceived}}</td><td class="n">{{bytes $t.Totals.BytesDelivered}}</td></tr>
{{range $t.ByHost}}<tr><th>host {{.Name}}</th><td class="n">{{.Received}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Forwarded}}</td><td class="n">{{.Deferred}}</td><td class="n">{{.Deferrals}}</td><td class="n">{{.Bounced}}</td><td class="n">{{.Rejected}}</td><td class="n">{{bytes .BytesReceived}}</td><td class="n">{{bytes .BytesDelivered}}</td></tr>
{{end}}{{range $t.ByMTA}}<tr><th>MTA {{.Name}}</th><td class="n">{{.Received}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Forwarded}}</td><td class="n">{{.Deferred}}</td><td class="n">{{.Deferrals}}</td><td class="n">{{.Bounced}}</td><td class="n">{{.Rejected}}</td><td class="n">{{bytes .BytesReceived}}</td><td class="n">{{bytes .BytesDelivered}}</td></tr>
{{end}}{{range $t.Daily}}<tr><th>day {{stamp .Start}}</th><td class="n">{{.Received}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Forwarded}}</td><td class="n">{{.Deferred}}</td><td class="n">{{.Deferrals}}</td><td class="n">{{.Bounced}}</td><td class="n">{{.Rejected}}</td><td class="n">{{bytes .BytesReceived}}</td><td class="n">{{bytes .BytesDelivered}}</td></tr>
{{end}}{{range $t.Hourly}}<tr><th>hour {{stamp .Start}}</th><td class="n">{{.Received}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Forwarded}}</td><td class="n">{{.Deferred}}</td><td class="n">{{.Deferrals}}</td><td class="n">{{.Bounced}}</td><td class="n">{{.Rejected}}</td><td class="n">{{bytes .BytesReceived}}</td><td class="n">{{bytes .BytesDelivered}}</td></tr>
{{end}}
</tbody>
</table>
<table id="reject-reasons">
<thead><tr><th class="n">count</th><th>reject reason</th></tr></thead>
<tbody>{{range $t.Rejects}}<tr><td class="n">{{.Count}}</td><td>{{.Reason}}</td></tr>
{{else}}<tr><td colspan="2">No refusal.</td></tr>{{end}}</tbody>
</table>
{{if $t.Deferrals}}<table><thead><tr><th class="n">count</th><th>deferral reason</th></tr></thead>
<tbody>{{range $t.Deferrals}}<tr><td class="n">{{.Count}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table>{{end}}
{{if $t.Bounces}}<table><thead><tr><th class="n">count</th><th>bounce reason</th></tr></thead>
<tbody>{{range $t.Bounces}}<tr><td class="n">{{.Count}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table>{{end}}
<table>
<thead><tr><th>top senders</th><th class="n">messages</th><th class="n">bytes</th></tr></thead>
<tbody>{{range $t.Senders}}<tr><td>{{.Name}}</td><td class="n">{{.Messages}}</td><td class="n">{{bytes .Bytes}}</td></tr>
{{end}}</tbody>
</table>
<table>
<thead><tr><th>top sender domains</th><th class="n">messages</th><th class="n">bytes</th></tr></thead>
<tbody>{{range $t.SenderDomains}}<tr><td>{{.Name}}</td><td class="n">{{.Messages}}</td><td class="n">{{bytes .Bytes}}</td></tr>
{{end}}</tbody>
</table>
<table>
<thead><tr><th>top recipients</th><th class="n">messages</th><th class="n">bytes</th></tr></thead>
<tbody>{{range $t.Recipients}}<tr><td>{{.Name}}</td><td class="n">{{.Messages}}</td><td class="n">{{bytes .Bytes}}</td></tr>
{{end}}</tbody>
</table>
<table>
<thead><tr><th>recipient domain</th><th class="n">delivered</th><th class="n">bytes</th><th class="n">deferrals</th><th class="n">average delay</th><th class="n">longest delay</th></tr></thead>
<tbody>{{range $t.RecipientDomains}}<tr><td>{{.Domain}}</td><td class="n">{{.Delivered}}</td><td class="n">{{bytes .Bytes}}</td><td class="n">{{.Deferrals}}</td><td class="n">{{delay .AvgDelay}}</td><td class="n">{{delay .MaxDelay}}</td></tr>
{{end}}</tbody>
</table>
</section>

<section id="policy">
<h2>Policy in force</h2>
<table style="width:auto">
<tbody>
<tr><th>local domains</th><td>{{join .Policy.LocalDomains}}</td></tr>
<tr><th>trusted networks</th><td>{{join .Policy.TrustedNetworks}}</td></tr>
<tr><th>from</th><td>{{.Policy.Source}}</td></tr>
</tbody>
</table>
{{with .Policy.Note}}<p class="small">{{.}}</p>{{end}}
<p class="small"><b>relay_abuse</b>: a recipient accepted for an external domain from an unauthenticated client outside the trusted networks. The server's own mynetworks or relay_from_hosts is never trusted: misconfiguring it is how open relays happen. Evidence is <code>file:line</code> of the logs read.</p>
</section>
</body>
</html>
`))
