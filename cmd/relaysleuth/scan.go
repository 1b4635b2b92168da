package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

const scanSynopsis = `Usage: relaysleuth scan [flags] PATH...

Ingests the logs (as 'relaysleuth ingest'), then prints the relay report:
every client that relayed mail through your server, with the recipients'
domains and the log lines that prove it.

Exit status: 0 no relay abuse in the database, 3 relay abuse found,
1 an error (an input that could not be read: the others were still read,
and relay abuse found still exits 3), 2 usage error.

Example:
  relaysleuth scan --local-domains corp.example --trusted-networks 192.0.2.0/24 /var/log/mail.log*`

func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("scan", scanSynopsis, stderr)
	c.dbFlag(fs)
	c.policyFlags(fs)
	c.inputFlags(fs)
	c.outputFlag(fs)
	report := fs.String("report", "relay", "report `KIND` to print after ingesting: relay, summary, attempts, auth, recipients")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("scan: no PATH given")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	_, ingestErr := ingest(ctx, &c, fs.Args(), stdin, stderr)
	if ingestErr != nil && !errors.Is(ingestErr, errInputs) {
		return ingestErr
	}
	store, err := schema.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := reportFor(ctx, store, *report, c.outputFormat, stdout); err != nil {
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
}

func reportFor(ctx context.Context, store *schema.Store, kind, format string, w io.Writer) (int, error) {
	return report(ctx, store, kind, format, analysis.Filter{}, w)
}
