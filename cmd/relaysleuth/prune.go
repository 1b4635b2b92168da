package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/spf13/cobra"
)

const pruneLong = `Deletes what the database holds from before a date — recipients, messages,
the stored log lines (in blocks of up to 2048 lines: a block that straddles
the date stays whole), failed logins, server events, alerts and accounts not
seen since — and gives the space back to the file system, as data-protection
rules on retention ask. What remains reads as if only the kept period had
been ingested: reports and investigations on it are unchanged. Reading a
pruned log file again does not bring its lines back (the database remembers
how far each file was read).`

func newPruneCmd(c *commonFlags) *cobra.Command {
	var before, keep string
	cmd := &cobra.Command{
		Use:     "prune (--before DATE | --keep DURATION)",
		Short:   "Delete what is older than a date and give the space back (retention)",
		Long:    pruneLong,
		Example: "  relaysleuth prune --db /var/lib/relaysleuth/relaysleuth.db --keep 90d\n  relaysleuth prune --before 2026-01-01",
		Args:    nArgs(0, 0, "arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cutoff, err := pruneCutoff(before, keep, time.Now())
			if err != nil {
				return err
			}
			ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
			store, err := pipeline.OpenExisting(ctx, c.db, c.group, stderr)
			if err != nil {
				return err
			}
			defer store.Close()
			p, err := store.Prune(ctx, cutoff)
			if err != nil {
				return fmt.Errorf("prune %s: %w (nothing was deleted)", schema.DisplayName(c.db), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pruned what is older than %s: %d recipients, %d messages, %d blocks of log lines, %d other events, %d alerts, %d accounts; database %s -> %s\n",
				clock(cutoff), p.Recipients, p.Messages, p.Blocks, p.Events, p.Alerts, p.Accounts, mib(p.BytesBefore), mib(p.BytesAfter))
			return nil
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "delete what is older than this `date` (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&keep, "keep", "", "keep this `duration` back from now, delete the rest (90d, 12w, 2160h)")
	return cmd
}

// pruneCutoff reads --before or --keep (one of them) into the time before
// which everything goes.
func pruneCutoff(before, keep string, now time.Time) (time.Time, error) {
	switch {
	case (before == "") == (keep == ""):
		return time.Time{}, usagef("prune: give one of --before DATE or --keep DURATION")
	case before != "":
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, before, displayZone); err == nil {
				return t, nil
			}
		}
		return time.Time{}, usagef("--before: bad date %q (want RFC 3339 or YYYY-MM-DD)", before)
	}
	d, err := retention(keep)
	if err != nil || d <= 0 {
		return time.Time{}, usagef("--keep: bad duration %q (want 90d, 12w or a Go duration like 2160h)", keep)
	}
	return now.Add(-d), nil
}

// retention reads a duration that may be in days (d) or weeks (w).
func retention(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			return time.Duration(v) * unit, err
		}
	}
	return time.ParseDuration(s)
}

// mib shows a size in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
