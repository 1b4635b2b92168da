package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

const scanLong = `Ingests the logs (as 'relaysleuth ingest'), then prints the relay report:
every client that relayed mail through your server, with the recipients'
domains and the log lines that prove it.

Exit status: 0 no relay abuse in the database, 3 relay abuse found,
1 an error (an input that could not be read: the others were still read,
and relay abuse found still exits 3), 2 usage error.`

func newScanCmd(c *commonFlags) *cobra.Command {
	var report string
	cmd := &cobra.Command{
		Use:     "scan [flags] PATH...",
		Short:   "Ingest logs, then print the relay report",
		Long:    scanLong,
		Example: "  relaysleuth scan --local-domains corp.example --trusted-networks 192.0.2.0/24 /var/log/mail.log*",
		Args:    nArgs(1, -1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			_, ingestErr := ingest(ctx, c, args, c.stdin, stderr)
			if ingestErr != nil && !errors.Is(ingestErr, errInputs) {
				return ingestErr
			}
			store, err := schema.Open(ctx, c.db)
			if err != nil {
				return err
			}
			defer store.Close()
			if _, err := printReport(ctx, store, report, c.outputFormat, analysis.Filter{}, stdout); err != nil {
				return err
			}
			sum, err := store.Summary(ctx, analysis.Filter{})
			if err != nil {
				return err
			}
			if n := sum.Verdicts[analysis.RelayAbuse]; n > 0 {
				fmt.Fprintf(stderr, "relaysleuth: RELAY ABUSE: %d recipients accepted for external domains from %d unauthenticated outside clients\n", n, sum.RelayClients)
				return errRelayFound
			}
			if ingestErr != nil {
				return ingestErr
			}
			fmt.Fprintln(stderr, "relaysleuth: no relay abuse found")
			return nil
		},
	}
	c.inputFlags(cmd.Flags())
	cmd.Flags().StringVar(&report, "report", "relay", "report `KIND` to print after ingesting: relay, summary, attempts, auth, recipients")
	return cmd
}
