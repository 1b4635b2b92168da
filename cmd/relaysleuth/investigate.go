package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/spf13/cobra"
)

const investigateLong = `Follows an abuse complaint back to the client that sent the mail. FILE is
a complaint as it arrives: an ARF feedback report (RFC 5965, also one
forwarded as an attachment), a SpamCop report, X-ARF, a Microsoft JMRP
report, a user's forward with the spam pasted or quoted, a blocklist notice
(its listed addresses lead to 'report' commands), a saved message (.eml) or
just its headers; or - for standard input. Only Received headers your own
servers wrote give queue id, client and account keys; the report's own
headers are never taken for the message's. Flags add
keys of their own, or replace FILE:

  relaysleuth investigate report.eml
  relaysleuth investigate --client-ip 203.0.113.9 --since 2026-11-27 --until 2026-11-28
  relaysleuth investigate --recipient victim@example.net --sender x@example.org

It prints, for each message found:
  the trail     every stored event of the message, across its queue ids
                (content filter, forwards, bounces, other hosts), with the
                file:line that proves it, and each recipient's verdict;
  the cause     open relay, authenticated account (the account, where it
                logged in from, failed logins before), forwarding, or an
                internal host;
and the blast radius: what else the same client, account and sender sent
in the window around it (recipients, domains, verdicts, first/last seen).

Flags must all match the same message; a complaint's keys are hints, and one
that matches nothing is reported and skipped. When nothing matches, the keys
tried and the nearest messages with the same recipient, sender or client are
printed.

Exit status: 0 the message was found, 1 nothing matched (or an error),
2 usage error.`

type investigateFlags struct {
	*commonFlags
	stderr                                                    io.Writer
	messageID, queueID, recipient, sender, clientIP, authUser string
	since, until                                              string
	window                                                    time.Duration
}

// errNoMatch is returned when no stored message matched: exit status 1.
var errNoMatch = errors.New("investigate: no stored message matched (see the keys tried above)")

func newInvestigateCmd(c *commonFlags) *cobra.Command {
	f := &investigateFlags{commonFlags: c}
	cmd := &cobra.Command{
		Use:   "investigate [flags] [FILE]",
		Short: "Follow an abuse report (ARF, .eml, text) back to the client that sent it",
		Long:  investigateLong,
		Args:  nArgs(0, 1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.stderr = cmd.ErrOrStderr()
			return f.run(cmd.Context(), args, c.stdin, newScreen(cmd.OutOrStdout(), c.wide))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.messageID, "message-id", "", "the message's Message-ID `header` (angle brackets optional)")
	fs.StringVar(&f.queueID, "queue-id", "", "a queue `id` of the message on your server")
	fs.StringVar(&f.recipient, "recipient", "", "a recipient `address`")
	fs.StringVar(&f.sender, "sender", "", "the envelope sender `address`")
	fs.StringVar(&f.clientIP, "client-ip", "", "the client `address` your server took it from")
	fs.StringVar(&f.authUser, "auth-user", "", "the SASL `account` it was sent with")
	fs.StringVar(&f.since, "since", "", "only from this `time` on (RFC 3339, YYYY-MM-DD, or a duration back from now like 24h)")
	fs.StringVar(&f.until, "until", "", "only before this `time`")
	fs.DurationVar(&f.window, "window", analysis.DefaultWindow, "`duration` around the message searched for what else its sender sent (half before, half after)")
	return cmd
}

func (f *investigateFlags) run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if f.outputFormat != "table" && f.outputFormat != "json" {
		return usagef("--format must be table or json, not %q", f.outputFormat)
	}
	if f.window <= 0 {
		return usagef("--window must be positive")
	}
	q := analysis.Query{MessageID: f.messageID, QueueID: f.queueID, Recipient: f.recipient, Sender: f.sender,
		ClientIP: f.clientIP, AuthUser: f.authUser, Window: f.window}
	var err error
	if q.Since, q.Until, err = sinceUntil(f.since, f.until); err != nil {
		return err
	}
	// The policy, when one is given or relaysleuth.json is here, tells
	// which Received headers your servers wrote; investigate needs none.
	if p, err := f.policy(); err == nil {
		q.Policy = &p
	} else if f.config != "" || f.localDomains != "" {
		return err
	}
	if len(args) == 1 {
		c, err := analysis.ReadComplaintFile(args[0], stdin)
		if err != nil {
			return err
		}
		q.Complaint = c
	}
	if q.Empty() {
		return usagef("investigate: give a complaint FILE or at least one of --message-id, --queue-id, --recipient, --sender, --client-ip, --auth-user, --since, --until")
	}
	store, err := pipeline.OpenForReading(ctx, f.db, f.stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	inv, err := analysis.Investigate(ctx, store, q)
	if errors.Is(err, analysis.ErrNoKeys) && q.Complaint != nil {
		// Say why: what of the complaint could not be read.
		if len(q.Complaint.Warnings) > 0 {
			return fmt.Errorf("%s: %w (%s)", args[0], err, strings.Join(q.Complaint.Warnings, "; "))
		}
		return fmt.Errorf("%s: %w", args[0], err)
	}
	if err != nil {
		return err
	}
	if f.outputFormat == "json" {
		err = writeJSON(stdout, inv)
	} else {
		err = printInvestigation(stdout, inv)
	}
	if err != nil {
		return err
	}
	if !inv.Found {
		return errNoMatch
	}
	return nil
}

// heading prints a section title; its values come from strangers, so it is
// cleaned like every table cell.
func heading(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "\n%s\n", clean(fmt.Sprintf(format, args...)))
}

func printInvestigation(w io.Writer, inv *analysis.Investigation) error {
	l := analysis.Layout{Zone: displayZone}
	if c := inv.Complaint; c != nil {
		heading(w, "Complaint (%s)", c.Kind)
		if err := writeTable(w, analysis.ComplaintTable(c, l)); err != nil {
			return err
		}
		for _, n := range c.Notes {
			heading(w, "Note: %s.", n)
		}
	}
	heading(w, "Keys tried")
	if err := writeTable(w, analysis.KeysTable(inv.Keys)); err != nil {
		return err
	}
	if !inv.Found && len(inv.Keys) == 0 {
		heading(w, "Nothing to search for: this complaint holds no message (see the notes above).")
		return nil
	}
	if !inv.Found {
		heading(w, "Nothing matched: no stored message fits the keys above (searched %s).", inv.Window)
		if len(inv.Candidates) == 0 {
			heading(w, "No candidates either: no stored message shares its recipient, sender or client address. Were these logs ingested?")
			return nil
		}
		heading(w, "Nearest candidates (same recipient, sender or client address):")
		return writeTable(w, analysis.CandidatesTable(inv.Candidates, l))
	}
	for i, inc := range inv.Incidents {
		heading(w, "Message %d of %d: <%s>, queue ids %s", i+1, len(inv.Incidents), inc.MessageID, strings.Join(inc.QueueIDs, " → "))
		heading(w, "Trail")
		if err := writeTable(w, analysis.TrailTable(inc, l)); err != nil {
			return err
		}
		if inc.Truncated {
			heading(w, "(trail cut at %d queue ids)", analysis.MaxTrailQueues)
		}
		heading(w, "Recipients")
		if err := writeTable(w, analysis.IncidentRecipientsTable(inc)); err != nil {
			return err
		}
		heading(w, "Cause: %s", inc.Cause.Kind)
		if err := writeTable(w, analysis.CauseTable(inc.Cause, l)); err != nil {
			return err
		}
	}
	if inv.More > 0 {
		heading(w, "%d more matching messages not shown: narrow with --since/--until or more keys.", inv.More)
	}
	if len(inv.Radius) == 0 {
		return nil
	}
	heading(w, "Blast radius (first hops only: a re-injected or forwarded message counts once)")
	return writeTable(w, analysis.RadiusTable(inv.Radius, l))
}
