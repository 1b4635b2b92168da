package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/spf13/cobra"
)

const reportLong = `Prints what the database holds. KIND is one of:
  summary     counts per verdict, per host and MTA, time range, lines read,
              unsupported and malformed
  relay       the relay_abuse recipients, grouped by client: who relayed
              through your server (exit status 3 when there are any)
  attempts    refused relay attempts, grouped by client: who is probing you
  auth        failed SASL logins, grouped by client
  recipients  every recipient with its verdict, reason and evidence (a
              table of 10000 rows at most, then the next with its header;
              csv and json stream one long listing)
  timeline    the servers' own events (starts, stops, reloads, warnings,
              errors) and the first and last recipient of each verdict and
              of each relay client, in time order: what changed before the
              relaying began
  traffic     pflogsumm's totals: received, delivered, deferred, bounced,
              rejected, bytes, per host, MTA, hour and day, reject,
              deferral and bounce reasons, top senders, recipients and
              domains, delivery delays per domain
  forensic    the incident report: headline, timeline, relay clients with
              their evidence, refused attempts with HELO names and senders,
              failed logins, accounts, traffic and the policy in force
              (json: all of it; csv: its timeline)
  accounts    every SASL account: compromised, suspicious or ok, the
              signals, the attackers' addresses, the first and last abusive
              message, its account_abuse recipients and its usual use

--format html writes the forensic report as one self-contained HTML page
(styles and charts inline, nothing loaded from the network, prints on A4),
whatever the KIND (which may then be left out); --output FILE writes any
format to FILE instead of standard output.

Counts are incidents: a message re-injected by a content filter or forwarded
by an alias is counted once (add --hops to list every queue id).`

// reportKinds are the KINDs of report.
var reportKinds = []string{"summary", "relay", "attempts", "auth", "recipients", "timeline", "traffic", "forensic", "accounts"}

type reportFlags struct {
	*commonFlags
	verdict string
	client  string
	since   string
	until   string
	hops    bool
	output  string
}

func newReportCmd(c *commonFlags) *cobra.Command {
	f := &reportFlags{commonFlags: c}
	cmd := &cobra.Command{
		Use:       "report [flags] KIND",
		Short:     "Print what the database holds: summary, relay, attempts, auth, recipients, timeline, traffic, forensic, accounts",
		Long:      reportLong,
		ValidArgs: reportKinds,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && f.outputFormat == "html" {
				return nil // the forensic report, which holds every KIND
			}
			if len(args) != 1 {
				return usagef("report: want one KIND (%s)", strings.Join(reportKinds, ", "))
			}
			if !slices.Contains(reportKinds, args[0]) {
				return usagef("report: unknown KIND %q (want %s)", args[0], strings.Join(reportKinds, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			noMemoryLimit()
			if f.outputFormat != "html" {
				if err := f.checkOutput(); err != nil {
					return err
				}
			}
			filter, err := f.filter()
			if err != nil {
				return err
			}
			store, err := pipeline.OpenForReading(ctx, f.db, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer store.Close()
			out, done, err := f.openOutput(cmd.OutOrStdout())
			if err != nil {
				return err
			}
			var n int
			if len(args) == 0 {
				args = []string{"forensic"}
			}
			if f.outputFormat == "html" || args[0] == "forensic" || args[0] == "traffic" {
				// These read every stored line of the span: seconds to
				// minutes on a big database.
				if showProgress(f.progress, cmd.ErrOrStderr()) {
					var finish func()
					ctx, finish = readProgressBar(ctx, cmd.ErrOrStderr())
					defer finish()
				}
			}
			if f.outputFormat == "html" || args[0] == "forensic" {
				n, err = writeForensic(ctx, store, f, filter, newScreen(out, f.wide))
			} else {
				n, err = printReport(ctx, store, args[0], f.outputFormat, filter, newScreen(out, f.wide))
			}
			if err = done(err); err != nil {
				return err
			}
			if args[0] == "relay" && n > 0 {
				return errRelayFound
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.verdict, "verdict", "", "recipients: only this `verdict`")
	fs.StringVar(&f.client, "client-ip", "", "only recipients from this client `address`")
	fs.StringVar(&f.since, "since", "", "only from this `time` on (RFC 3339, YYYY-MM-DD, or a duration back from now like 24h)")
	fs.StringVar(&f.until, "until", "", "only before this `time`")
	fs.BoolVar(&f.hops, "hops", false, "also list the later queue ids of a message (content filter, forward)")
	fs.StringVarP(&f.output, "output", "o", "", "write the report to this `file` instead of standard output")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on standard error while traffic, forensic and html read the stored lines: `when` — auto (when it is a terminal), always, never")
	return cmd
}

// readProgressBar returns ctx carrying a progress bar on stderr over the
// stored blocks a report reads (analysis.WithReadProgress), and the
// function that ends it. The bar shows from the first call, once the
// number of blocks is known.
func readProgressBar(ctx context.Context, stderr io.Writer) (context.Context, func()) {
	var bar *progressbar.ProgressBar // the store calls on this goroutine (analysis.ReadProgress)
	ctx = analysis.WithReadProgress(ctx, func(done, total int64) {
		if bar == nil {
			bar = newBar(stderr, max(total, 1), "reading stored lines", progressbar.OptionSetRenderBlankState(true))
		}
		_ = bar.Set64(done)
	})
	return ctx, func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
}

func (f *reportFlags) filter() (analysis.Filter, error) {
	since, until, err := sinceUntil(f.since, f.until)
	if err != nil {
		return analysis.Filter{}, err
	}
	filter := analysis.Filter{ClientIP: f.client, Since: since, Until: until, IncludeHops: f.hops}
	if f.verdict != "" {
		v, ok := analysis.ParseVerdict(f.verdict)
		if !ok {
			return filter, usagef("--verdict: unknown verdict %q", f.verdict)
		}
		filter.Verdict = v
	}
	return filter, nil
}

// printReport prints one report and returns how many relay_abuse recipients
// matched the filter.
func printReport(ctx context.Context, store *schema.Store, kind, format string, filter analysis.Filter, w io.Writer) (int, error) {
	switch kind {
	case "summary":
		sum, err := store.Summary(ctx, filter)
		if err != nil {
			return 0, err
		}
		return sum.Verdicts[analysis.RelayAbuse], printSummary(w, format, sum)
	case "relay", "attempts":
		filter.Verdict = analysis.RelayAbuse
		if kind == "attempts" {
			filter.Verdict = analysis.RelayAttemptRejected
		}
		clients, err := store.ByClient(ctx, filter)
		if err != nil {
			return 0, err
		}
		if kind == "attempts" {
			return 0, printClients(w, format, kind, clients)
		}
		return analysis.ClientsTotal(clients), printClients(w, format, kind, clients)
	case "auth":
		clients, err := store.AuthFailures(ctx)
		if err != nil {
			return 0, err
		}
		return 0, printClients(w, format, kind, clients)
	case "recipients":
		n, err := printRecipients(ctx, store, w, format, filter)
		return n, err
	case "accounts":
		return printAccounts(ctx, store, w, format)
	case "timeline":
		entries, err := analysis.TimelineOf(ctx, store, filter)
		if err != nil {
			return 0, err
		}
		return 0, printTimeline(w, format, entries)
	case "traffic":
		t, err := analysis.TrafficOf(ctx, store, filter)
		if err != nil {
			return 0, err
		}
		return 0, printTraffic(w, format, t)
	}
	return 0, usagef("report: unknown KIND %q (want %s)", kind, strings.Join(reportKinds, ", "))
}

// displayZone is the time zone times are shown in: UTC, or the local one
// with --local-time (set by the root command for each run).
var displayZone = time.UTC

// clock shows t for a headline: date, time and the zone's name.
func clock(t time.Time) string { return analysis.Layout{Zone: displayZone}.Clock(t) }

func printSummary(w io.Writer, format string, s analysis.Summary) error {
	if format == "json" {
		return writeJSON(w, s)
	}
	if err := writeData(w, format, analysis.SummaryTable(s, layout(w, format))); err != nil || format == "csv" {
		return err
	}
	files := analysis.FilesTable(s)
	if len(files.Rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return writeTable(w, files)
}

func printClients(w io.Writer, format, kind string, clients []analysis.ClientReport) error {
	if format == "json" {
		if clients == nil {
			clients = []analysis.ClientReport{}
		}
		return writeJSON(w, clients)
	}
	l := layout(w, format)
	t := analysis.ClientsTable(kind, clients, l)
	if format == "csv" {
		return writeCSV(w, t.Columns, t.Rows)
	}
	if len(t.Rows) == 0 {
		switch kind {
		case "relay":
			fmt.Fprintln(w, "No relay abuse found: no recipient was accepted for an external domain from an unauthenticated client outside the trusted networks.")
		case "attempts":
			fmt.Fprintln(w, "No refused relay attempts found.")
		case "auth":
			fmt.Fprintln(w, "No failed SASL logins found.")
		}
		return nil
	}
	if kind == "relay" {
		say(w, clean(analysis.RelayHeadline(clients, l)))
	}
	return writeTable(w, t)
}

func printRecipients(ctx context.Context, store *schema.Store, w io.Writer, format string, filter analysis.Filter) (int, error) {
	emit, end, err := recipientWriter(w, format)
	if err != nil {
		return 0, err
	}
	relay := 0
	err = store.Recipients(ctx, filter, func(r analysis.Recipient) error {
		if r.Verdict == analysis.RelayAbuse {
			relay++
		}
		return emit(r)
	})
	if err != nil {
		return relay, err
	}
	return relay, end()
}

// recipientWriter writes report recipients as it streams: emit writes one
// recipient, end what closes the listing. A year of logs need not fit in
// memory: json and csv go row by row, and a table, which is aligned on
// all its rows, in tables of recipientsPage rows, each with its header.
func recipientWriter(w io.Writer, format string) (emit func(analysis.Recipient) error, end func() error, err error) {
	if format == "json" {
		sep := "["
		emit = func(r analysis.Recipient) error {
			b, err := json.Marshal(r)
			if err == nil {
				_, err = fmt.Fprintf(w, "%s\n%s", sep, b)
			}
			sep = ","
			return err
		}
		end = func() error {
			_, err := io.WriteString(w, strings.TrimPrefix(sep, ",")+"\n]\n") // "[" still: no recipient
			return err
		}
		return emit, end, nil
	}
	l := layout(w, format)
	t := analysis.Table{Columns: analysis.RecipientColumns(l)}
	if format == "csv" {
		cw, err := newCSVWriter(w, t.Columns)
		if err != nil {
			return nil, nil, err
		}
		emit = func(r analysis.Recipient) error {
			row, err := analysis.RecipientRow(r, t.Columns, l)
			if err != nil {
				return err
			}
			return cw.Write(row)
		}
		return emit, cw.Flush, nil
	}
	pages := 0
	page := func() error {
		if pages > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		pages++
		err := writeData(w, format, t)
		t.Rows = t.Rows[:0]
		return err
	}
	emit = func(r analysis.Recipient) error {
		row, err := analysis.RecipientRow(r, t.Columns, l)
		if err != nil {
			return err
		}
		if t.Rows = append(t.Rows, row); len(t.Rows) == recipientsPage {
			return page()
		}
		return nil
	}
	end = func() error {
		if len(t.Rows) > 0 || pages == 0 {
			return page()
		}
		return nil
	}
	return emit, end, nil
}

// recipientsPage is how many rows each table of report recipients holds
// (csv and json stream row by row): the listing of a year of logs is
// millions of rows, and held whole it took 1.6 KB of memory a row.
var recipientsPage = 10000

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
