package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/schema"
)

const rejudgeLong = `Gives every stored recipient its verdict again, with the policy given now
(--config, --local-domains, --trusted-networks), from the events already in
the database: no log file is read. Use it after correcting your local domains
or trusted networks. All verdicts are replaced in one transaction: if it
fails, the old ones stay. It prints what changed (recipients per verdict
before and after) on standard error, then the summary.`

func newRejudgeCmd(c *commonFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rejudge [flags]",
		Short: "Give every stored recipient its verdict again, with a corrected policy",
		Long:  rejudgeLong,
		Args:  nArgs(0, 0, "arguments (it reads the database, not log files)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stdout, stderr := cmd.Context(), newScreen(cmd.OutOrStdout(), c.wide), cmd.ErrOrStderr()
			if err := c.checkOutput(); err != nil {
				return err
			}
			policy, err := c.policy()
			if err != nil {
				return err
			}
			store, err := pipeline.OpenExisting(ctx, c.db, c.group, stderr)
			if err != nil {
				return err
			}
			defer store.Close()
			r, err := pipeline.Rejudge(ctx, store, policy)
			if err != nil {
				return fmt.Errorf("rejudge %s: %w (the old verdicts are kept)", schema.DisplayName(c.db), err)
			}
			fmt.Fprintf(stderr, "rejudged %d stored events\n", r.Events)
			changes := analysis.VerdictChanges(r.Before, r.After)
			for _, ch := range changes {
				fmt.Fprintf(stderr, "  %-24s %6d -> %d\n", ch.Verdict, ch.Before, ch.After)
			}
			if len(changes) == 0 {
				fmt.Fprintln(stderr, "  no verdict changed")
			}
			_, err = printReport(ctx, store, "summary", c.outputFormat, analysis.Filter{}, stdout)
			return err
		},
	}
}
