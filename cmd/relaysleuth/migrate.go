package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/spf13/cobra"
)

const migrateLong = `Copies everything a SQLite database holds — the stored log lines, messages,
recipients with their verdicts, accounts, alerts, followed files and how far
each file was read — into an empty PostgreSQL database (--db), in one
transaction, so that a fleet's hosts can write into it and reports read the
same as from the file. The SQLite file is only read. Logs read into the file
are not read again into PostgreSQL: it knows how far each one was read.`

func newMigrateCmd(c *commonFlags) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:     "migrate --from FILE --db postgres://...",
		Short:   "Copy a SQLite database into an empty PostgreSQL database",
		Long:    migrateLong,
		Example: "  relaysleuth migrate --from /var/lib/relaysleuth/relaysleuth.db --db 'host=/run/postgresql dbname=relaysleuth'",
		Args:    nArgs(0, 0, "arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
			if from == "" {
				return usageError{"migrate needs --from, the SQLite database to copy"}
			}
			if !schema.IsPostgres(c.db) {
				return usageError{fmt.Sprintf("migrate copies into PostgreSQL: --db must be a postgres:// URL or libpq keywords (host=... dbname=...), not %s", clean(c.db))}
			}
			if _, err := os.Stat(from); err != nil {
				return fmt.Errorf("--from %s: %w", clean(from), err)
			}
			src, err := schema.OpenReadOnly(ctx, from)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := schema.Open(ctx, c.db)
			if err != nil {
				return err
			}
			defer dst.Close()
			n, err := src.CopyTo(ctx, dst, func(table string) {
				if c.verbose {
					fmt.Fprintf(stderr, "relaysleuth: copying %s\n", table)
				}
			})
			if err != nil {
				return fmt.Errorf("migrate %s into %s: %w (nothing was copied)", clean(from), clean(schema.DisplayName(c.db)), err)
			}
			var parts []string
			for _, t := range []string{"sources", "event_blocks", "events", "messages", "recipients", "accounts", "alerts"} {
				parts = append(parts, fmt.Sprintf("%d %s", n[t], t))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %s into %s: %s\n", clean(from), clean(schema.DisplayName(c.db)), strings.Join(parts, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the SQLite database `file` to copy")
	return cmd
}
