package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
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
  recipients  every recipient with its verdict, reason and evidence
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
			if f.outputFormat != "html" {
				if err := f.checkOutput(); err != nil {
					return err
				}
			}
			filter, err := f.filter()
			if err != nil {
				return err
			}
			store, err := openForReading(ctx, f.db, cmd.ErrOrStderr())
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
	return cmd
}

func (f *reportFlags) filter() (analysis.Filter, error) {
	now := time.Now()
	since, err := parseTime(f.since, now)
	if err != nil {
		return analysis.Filter{}, usagef("--since: %v", err)
	}
	until, err := parseTime(f.until, now)
	if err != nil {
		return analysis.Filter{}, usagef("--until: %v", err)
	}
	filter := analysis.Filter{ClientIP: f.client, Since: since, Until: until, IncludeHops: f.hops}
	if f.verdict != "" {
		ok := false
		for _, v := range analysis.Verdicts {
			ok = ok || string(v) == f.verdict
		}
		if !ok {
			return filter, usagef("--verdict: unknown verdict %q", f.verdict)
		}
		filter.Verdict = analysis.Verdict(f.verdict)
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
		n := 0
		for _, c := range clients {
			n += c.Count
		}
		if kind == "attempts" {
			n = 0
		}
		return n, printClients(w, format, kind, clients)
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

// stamp shows t in RFC 3339, in the display zone (with its offset).
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(displayZone).Format(time.RFC3339)
}

// clock shows t for a headline: date, time and the zone's name.
func clock(t time.Time) string {
	return t.In(displayZone).Format("2006-01-02 15:04:05 MST")
}

func printSummary(w io.Writer, format string, s analysis.Summary) error {
	if format == "json" {
		return writeJSON(w, s)
	}
	rows := [][]string{
		{"files", strconv.Itoa(s.Sources)},
		{"lines read", strconv.FormatInt(s.Lines, 10)},
		{"events", strconv.FormatInt(s.Events, 10)},
		{"lines unsupported", strconv.FormatInt(s.Unsupported, 10)},
		{"lines malformed", strconv.FormatInt(s.Malformed, 10)},
		{"first line", stamp(s.First)},
		{"last line", stamp(s.Last)},
	}
	for _, v := range analysis.Verdicts {
		rows = append(rows, []string{"recipients " + string(v), strconv.Itoa(s.Verdicts[v])})
	}
	rows = append(rows,
		[]string{"clients that relayed", strconv.Itoa(s.RelayClients)},
		[]string{"failed SASL logins", strconv.Itoa(s.AuthFailures)},
	)
	for _, h := range sortedKeys(s.Hosts) {
		rows = append(rows, []string{"recipients on host " + h, strconv.Itoa(s.Hosts[h])})
	}
	for _, m := range sortedKeys(s.MTAs) {
		rows = append(rows, []string{"recipients from " + m, strconv.Itoa(s.MTAs[m])})
	}
	if format == "csv" {
		return writeCSV(w, columns("item", "value"), rows)
	}
	if err := writeTable(w, []string{"ITEM", "VALUE"}, rows); err != nil {
		return err
	}
	var files [][]string
	for _, f := range s.Files {
		files = append(files, []string{f.Path, f.Format, strconv.FormatInt(f.Lines, 10), strconv.FormatInt(f.Events, 10),
			strconv.FormatInt(f.Unsupported, 10), strconv.FormatInt(f.Malformed, 10), yesNo(f.Complete)})
	}
	if len(files) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return writeTable(w, []string{"FILE", "FORMAT", "LINES", "EVENTS", "UNSUPPORTED", "MALFORMED", "COMPLETE"}, files)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Columns of the client reports: the table's headers, the JSON names, and
// what gives way first on a narrow terminal.
var (
	clientColumns = []column{
		{"CLIENT", "client_ip", 0}, {"NAME", "client_name", 5}, {"RECIPIENTS", "count", 0}, {"MESSAGES", "messages", 4},
		{"DOMAINS", "domains", 6}, {"TOP DOMAINS", "top_domains", 1}, {"SENDERS", "senders", 7}, {"FIRST", "first", 2},
		{"LAST", "last", 2}, {"EVIDENCE", "evidence", 3},
	}
	authColumns = []column{
		{"CLIENT", "client_ip", 0}, {"NAME", "client_name", 3}, {"FAILURES", "count", 0}, {"USERS TRIED", "users", 2},
		{"FIRST", "first", 1}, {"LAST", "last", 1}, {"EVIDENCE", "evidence", 4},
	}
)

// everything reports whether rows for w carry every value: CSV, and a
// table with --wide; otherwise a table shows the first of a list.
func everything(w io.Writer, format string) bool {
	s, ok := w.(*screen)
	return format == "csv" || ok && s.wide
}

func printClients(w io.Writer, format, kind string, clients []analysis.ClientReport) error {
	if format == "json" {
		if clients == nil {
			clients = []analysis.ClientReport{}
		}
		return writeJSON(w, clients)
	}
	all := everything(w, format)
	some := func(ss []string) string {
		if all {
			return strings.Join(ss, " ")
		}
		return firstOf(ss)
	}
	cols := clientColumns
	var rows [][]string
	switch kind {
	case "auth":
		cols = authColumns
		for _, c := range clients {
			rows = append(rows, []string{c.ClientIP, c.ClientName, strconv.Itoa(c.Count), strings.Join(c.Users, " "),
				stamp(c.First), stamp(c.Last), some(c.Evidence)})
		}
	default:
		for _, c := range clients {
			rows = append(rows, []string{c.ClientIP, c.ClientName, strconv.Itoa(c.Count), strconv.Itoa(c.Messages),
				strconv.Itoa(c.Domains), strings.Join(c.TopDomains, " "), some(c.Senders), stamp(c.First), stamp(c.Last),
				some(c.Evidence)})
		}
	}
	if format == "csv" {
		return writeCSV(w, cols, rows)
	}
	if len(rows) == 0 {
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
		say(w, relayHeadline(clients))
	}
	return writeColumns(w, cols, rows)
}

// relayHeadline is the answer at a glance: how many recipients were
// relayed, for how many clients, since when, and the busiest client.
func relayHeadline(clients []analysis.ClientReport) string {
	n := 0
	var first, last time.Time
	top := clients[0]
	for _, c := range clients {
		n += c.Count
		if first.IsZero() || c.First.Before(first) {
			first = c.First
		}
		if c.Last.After(last) {
			last = c.Last
		}
		if c.Count > top.Count {
			top = c
		}
	}
	return clean(fmt.Sprintf("RELAY ABUSE: %s relayed for %s between %s and %s; most for %s (%d)",
		plural(n, "recipient"), plural(len(clients), "outside client"), clock(first), clock(last), top.ClientIP, top.Count))
}

// plural says n things: "1 recipient", "2 recipients".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// recipientColumns are the columns of the recipients report: every field
// of the JSON, in CSV; in a table the most telling ones (see
// tableRecipientColumns), the rest with --wide.
var recipientColumns = []column{
	{"TIME", "time", 0}, {"MTA", "mta", 7}, {"HOST", "host", 6}, {"QUEUE ID", "queue_id", 4}, {"MESSAGE-ID", "message_id", 9},
	{"CLIENT", "client_ip", 0}, {"CLIENT NAME", "client_name", 9}, {"HELO", "helo", 9}, {"AUTHENTICATED", "authenticated", 9},
	{"AUTH", "auth_user", 5}, {"SENDER", "sender", 3}, {"RECIPIENT", "recipient", 0}, {"STATUS", "status", 3},
	{"DELIVERIES", "deliveries", 9}, {"VERDICT", "verdict", 0}, {"REASON", "reason", 1}, {"HOP", "hop", 9},
	{"ORIGIN QUEUE ID", "origin_queue_id", 9}, {"EVIDENCE", "evidence", 2},
}

// tableRecipientColumns are those a table shows without --wide.
var tableRecipientColumns = []string{"time", "mta", "host", "queue_id", "client_ip", "auth_user", "sender", "recipient", "status", "verdict", "reason", "evidence"}

func printRecipients(ctx context.Context, store *schema.Store, w io.Writer, format string, filter analysis.Filter) (int, error) {
	relay := 0
	if format == "json" {
		// One JSON array, written as it streams: a year of logs does not
		// have to fit in memory.
		if _, err := io.WriteString(w, "["); err != nil {
			return 0, err
		}
		first := true
		err := store.Recipients(ctx, filter, func(r analysis.Recipient) error {
			if r.Verdict == analysis.RelayAbuse {
				relay++
			}
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			sep := ",\n"
			if first {
				sep, first = "\n", false
			}
			_, err = fmt.Fprintf(w, "%s%s", sep, b)
			return err
		})
		if err != nil {
			return relay, err
		}
		_, err = io.WriteString(w, "\n]\n")
		return relay, err
	}
	all := everything(w, format)
	var cols []column
	for _, c := range recipientColumns {
		if all || slices.Contains(tableRecipientColumns, c.name) {
			cols = append(cols, c)
		}
	}
	var rows [][]string
	err := store.Recipients(ctx, filter, func(r analysis.Recipient) error {
		if r.Verdict == analysis.RelayAbuse {
			relay++
		}
		deliveries, err := json.Marshal(r.Deliveries)
		if err != nil {
			return err
		}
		evidence := strings.Join(r.Evidence, " ")
		if !all {
			evidence = lastEvidenceOf(r.Evidence)
		}
		fields := map[string]string{
			"time": stamp(r.Time), "mta": r.MTA, "host": r.Host, "queue_id": r.QueueID, "message_id": r.MessageID,
			"client_ip": r.ClientIP, "client_name": r.ClientName, "helo": r.Helo, "authenticated": strconv.FormatBool(r.Authenticated),
			"auth_user": r.AuthUser, "sender": r.Sender, "recipient": r.Recipient, "status": r.Status,
			"deliveries": string(deliveries), "verdict": string(r.Verdict), "reason": r.Reason, "hop": strconv.Itoa(r.Hop),
			"origin_queue_id": r.OriginQueueID, "evidence": evidence,
		}
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = fields[c.name]
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return relay, err
	}
	if format == "csv" {
		return relay, writeCSV(w, cols, rows)
	}
	return relay, writeColumns(w, cols, rows)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
