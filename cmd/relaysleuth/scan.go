package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/schema"
)

const scanLong = `Ingests the logs (as 'relaysleuth ingest'), then prints the relay report:
every client that relayed mail through your server, with the recipients'
domains and the log lines that prove it.

Exit status: 0 no relay abuse in the database, 3 relay abuse found,
1 an error (an input that could not be read: the others were still read,
and relay abuse found still exits 3), 2 usage error.`

func newScanCmd(c *commonFlags) *cobra.Command {
	var report, since, until string
	cmd := &cobra.Command{
		Use:     "scan [flags] PATH...",
		Short:   "Ingest logs, then print the relay report for the time they span",
		Long:    scanLong,
		Example: "  relaysleuth scan --local-domains corp.example --trusted-networks 192.0.2.0/24 /var/log/mail.log*",
		Args:    nArgs(1, -1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			if !slices.Contains(reportKinds, report) {
				return usagef("--report: unknown KIND %q (want %s)", report, strings.Join(reportKinds, ", "))
			}
			from, to, err := sinceUntil(since, until)
			if err != nil {
				return err
			}
			ctx, stdout, stderr := cmd.Context(), newScreen(cmd.OutOrStdout(), c.wide), cmd.ErrOrStderr()
			res, ingestErr := ingest(ctx, c, args, c.stdin, stderr)
			if ingestErr != nil && !errors.Is(ingestErr, errInputs) {
				return ingestErr
			}
			// The report is on what was read: the time the inputs span,
			// not everything the database ever held.
			filter := analysis.ReadSpan(res.First, res.Last, from, to)
			store, err := pipeline.OpenStore(ctx, c.db, c.group, io.Discard)
			if err != nil {
				return err
			}
			defer store.Close()
			span := analysis.SpanText(filter, analysis.Layout{Zone: displayZone})
			// When the span holds everything the database holds (a fresh
			// database, the usual case), no filter is needed.
			all, err := store.Summary(ctx, analysis.Filter{})
			if err != nil {
				return err
			}
			if filter.Holds(all) {
				filter = analysis.Filter{}
			}
			if _, err := printReport(ctx, store, report, c.outputFormat, filter, stdout); err != nil {
				return err
			}
			sum := all
			if filter != (analysis.Filter{}) {
				if sum, err = store.Summary(ctx, filter); err != nil {
					return err
				}
			}
			if n := sum.Verdicts[analysis.RelayAbuse]; n > 0 {
				fmt.Fprintf(stderr, "relaysleuth: RELAY ABUSE %s: %s accepted for external domains from %s (relaysleuth report relay --db %s)\n",
					span, analysis.Plural(n, "recipient"), analysis.Plural(sum.RelayClients, "unauthenticated outside client"), clean(schema.DisplayName(c.db)))
				return errRelayFound
			}
			if ingestErr != nil {
				return ingestErr
			}
			fmt.Fprintf(stderr, "relaysleuth: no relay abuse %s\n", span)
			return nil
		},
	}
	c.inputFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&report, "report", "relay", "report `KIND` to print after ingesting: "+strings.Join(reportKinds, ", "))
	fs.StringVar(&since, "since", "", "report from this `time` on instead of the time the logs read span (RFC 3339, YYYY-MM-DD, or a duration back from now like 24h)")
	fs.StringVar(&until, "until", "", "report up to this `time` instead")
	return cmd
}
