package main

import (
	_ "embed"
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

//go:embed report.html.tmpl
var htmlTemplate string

// htmlView is what the template renders.
type htmlView struct {
	*analysis.Forensic
	Relay        bool
	Chart        *analysis.TimelineChart
	TrafficChart analysis.TrafficChart
	Verdicts     []analysis.VerdictCount
}

var htmlFuncs = template.FuncMap{
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(displayZone).Format("2006-01-02 15:04:05 MST")
	},
	"join":  joinOr,
	"delay": analysis.Delay,
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

var htmlPage = template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlTemplate))

// renderHTML writes r as one self-contained HTML page.
func renderHTML(w io.Writer, r *analysis.Forensic) error {
	return htmlPage.Execute(w, htmlView{Forensic: r, Relay: r.Summary.Verdicts[analysis.RelayAbuse] > 0,
		Verdicts: analysis.VerdictCounts(r.Summary.Verdicts), Chart: analysis.LayoutTimeline(r, displayZone),
		TrafficChart: analysis.LayoutTraffic(r.Traffic.Totals)})
}
