package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

const rejudgeSynopsis = `Usage: relaysleuth rejudge [flags]

Gives every stored recipient its verdict again, with the policy given now
(--config, --local-domains, --trusted-networks), from the events already in
the database: no log file is read. Use it after correcting your local domains
or trusted networks. All verdicts are replaced in one transaction: if it
fails, the old ones stay. Then it prints the summary.`

func runRejudge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("rejudge", rejudgeSynopsis, stderr)
	c.dbFlag(fs)
	c.policyFlags(fs)
	c.outputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("rejudge takes no arguments (it reads the database, not log files)")
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	policy, err := c.policy()
	if err != nil {
		return err
	}
	if _, err := os.Stat(c.db); err != nil {
		return fmt.Errorf("database %s: %w", c.db, err)
	}
	store, err := schema.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	corr := analysis.NewCorrelator(policy)
	n, err := store.Rejudge(ctx, corr)
	if err != nil {
		return fmt.Errorf("rejudge %s: %w (the old verdicts are kept)", c.db, err)
	}
	fmt.Fprintf(stderr, "rejudged %d stored events\n", n)
	_, err = report(ctx, store, "summary", c.outputFormat, analysis.Filter{}, stdout)
	return err
}
