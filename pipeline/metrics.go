package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Metrics are what 'tail --metrics' serves, on a registry of its own
// (never the global one, so that tests and other commands share nothing).
// A nil *Metrics counts nothing.
type Metrics struct {
	reg         *prometheus.Registry
	lines       *prometheus.CounterVec
	events      *prometheus.CounterVec
	parseErrors *prometheus.CounterVec
	verdicts    *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	repeats     prometheus.Counter
	execFails   prometheus.Counter
	commits     prometheus.Counter
	lag         prometheus.Gauge
}

// NewMetrics returns the metrics on a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relaysleuth_tail_lines_read_total", Help: "Log lines read, per followed file (counted as each batch goes to the store).",
		}, []string{"file"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relaysleuth_tail_events_total", Help: "Events parsed from the lines, per MTA (counted as each batch goes to the store).",
		}, []string{"mta"}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relaysleuth_tail_parse_errors_total", Help: "Lines not turned into events: malformed, or unsupported (well-formed, of no interest).",
		}, []string{"file", "reason"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relaysleuth_tail_verdicts_total", Help: "Recipients that got a verdict (or changed to it), per verdict and MTA.",
		}, []string{"verdict", "mta"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relaysleuth_tail_alerts_sent_total", Help: "Alerts sent, per kind (summaries included).",
		}, []string{"kind"}),
		repeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relaysleuth_tail_alerts_redecided_total", Help: "Alerts decided again from lines read again after a crash, found in the outbox and not sent again.",
		}),
		execFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relaysleuth_tail_exec_failures_total", Help: "--exec commands that failed or timed out.",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relaysleuth_tail_commits_total", Help: "Transactions committed to the database.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relaysleuth_tail_lag_seconds", Help: "Time between the newest committed line's stamp and its commit.",
		}),
	}
	m.reg.MustRegister(m.lines, m.events, m.parseErrors, m.verdicts, m.alerts, m.repeats, m.execFails, m.commits, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// read counts the lines and events of a batch read from file in format
// mta: once per batch, since a look-up by labels hashes them under a lock.
func (m *Metrics) read(file, mta string, st parsers.Stats) {
	if m == nil {
		return
	}
	if st.Lines > 0 {
		m.lines.WithLabelValues(file).Add(float64(st.Lines))
	}
	if st.Events > 0 {
		m.events.WithLabelValues(mta).Add(float64(st.Events))
	}
}

func (m *Metrics) parseError(file, reason string) {
	if m != nil {
		m.parseErrors.WithLabelValues(file, reason).Inc()
	}
}

func (m *Metrics) verdict(verdict, mta string) {
	if m != nil {
		m.verdicts.WithLabelValues(verdict, mta).Inc()
	}
}

func (m *Metrics) alert(kind string) {
	if m != nil {
		m.alerts.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) redecided(n int) {
	if m != nil && n > 0 {
		m.repeats.Add(float64(n))
	}
}

func (m *Metrics) execFailed() {
	if m != nil {
		m.execFails.Inc()
	}
}

func (m *Metrics) committed(newest, now time.Time) {
	if m == nil {
		return
	}
	m.commits.Inc()
	if !newest.IsZero() {
		m.lag.Set(now.Sub(newest).Seconds())
	}
}

// ServeMetrics listens on addr and serves m at /metrics until ctx is done.
// The address it listens on (addr may say port 0) is printed on stderr.
func ServeMetrics(ctx context.Context, addr string, m *Metrics, stderr io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "relaysleuth: metrics on http://%s/metrics\n", ln.Addr())
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		// The counters name files and MTAs, never a client, account or
		// address; still, they say how busy the server is and what it
		// found, to anyone who can reach the port.
		fmt.Fprintf(stderr, "relaysleuth: warning: --metrics listens on %s, beyond loopback: anyone who reaches it sees the counters; prefer 127.0.0.1 behind a scraper you trust\n", ln.Addr())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "relaysleuth: --metrics: %v\n", err)
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
}
