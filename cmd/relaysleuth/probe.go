package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/probe"
	"github.com/relaysleuth/relaysleuth/schema"
	"github.com/spf13/cobra"
)

func newProbeCmd(c *commonFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "probe [flags] HOST[:PORT]",
		Short: "Test a server you run for open relaying, over SMTP",
		// The probe parses its own flags (package probe), anywhere on
		// the line; 'relaysleuth probe -h' lists them.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProbe(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// runProbe runs the active open-relay test (package probe). An accepted
// case exits 3, like relay abuse found by scan. With --verify-log the
// server's log is ingested like 'relaysleuth ingest' does and each case is
// looked up in it.
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	lr := &probeLogReader{stderr: stderr}
	env := probe.Env{Flags: lr.flags, ReadLog: lr.read}
	open, err := probe.CommandEnv(ctx, args, stdout, stderr, env)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case errors.Is(err, probe.ErrUsage):
		return usageError{err.Error()}
	case err != nil:
		var ue usageError
		if errors.As(err, &ue) {
			return usageError{"probe: " + err.Error()}
		}
		return err
	case open:
		return errRelayFound
	}
	return nil
}

// probeLogReader reads the server's log for --verify-log.
type probeLogReader struct {
	c      commonFlags
	stderr io.Writer
}

// flags registers the flags of ingest that matter here. --trusted-networks
// is the probe's own flag, passed on in the query.
func (lr *probeLogReader) flags(fs *flag.FlagSet) {
	c := &lr.c
	fs.StringVar(&c.db, "db", "", "SQLite database `file` for --verify-log (default: a temporary one, removed afterwards)")
	fs.StringVar(&c.config, "config", "", "policy `file` for --verify-log: {\"local_domains\": [...], \"trusted_networks\": [...]} (default relaysleuth.json if present)")
	fs.StringVar(&c.localDomains, "local-domains", "", "comma-separated `domains` the server receives mail for, for --verify-log (default: the probe's local domain)")
	c.inputFlags(fs)
}

// read ingests q.Paths and returns what they say about the probe's client
// addresses in its time: every recipient (refused, or accepted and what
// became of it), and every queue file opened with no recipient logged, as
// Postfix logs "QUEUEID: client=..." for a client that never sends DATA.
func (lr *probeLogReader) read(ctx context.Context, q probe.LogQuery) ([]probe.LogRecord, error) {
	c := lr.c
	c.trustedNets = q.TrustedNetworks
	c.progress = "never"
	if c.localDomains == "" && c.config == "" {
		if _, err := os.Stat("relaysleuth.json"); err != nil {
			c.localDomains = q.LocalDomain
			if c.localDomains == "" {
				c.localDomains = "localhost"
			}
		}
	}
	if c.db == "" {
		dir, err := os.MkdirTemp("", "relaysleuth-probe-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		c.db = filepath.Join(dir, "probe.db")
	}
	if _, err := ingest(ctx, &c, q.Paths, strings.NewReader(""), lr.stderr); err != nil && !errors.Is(err, errInputs) {
		return nil, err
	}
	store, err := schema.Open(ctx, c.db)
	if err != nil {
		return nil, err
	}
	defer store.Close()

	var recs []probe.LogRecord
	queues := map[string]bool{}
	for _, ip := range q.ClientIPs {
		f := analysis.Filter{ClientIP: ip.String(), Since: q.Since, Until: q.Until}
		err := store.Recipients(ctx, f, func(r analysis.Recipient) error {
			addr, _ := netip.ParseAddr(r.ClientIP)
			rec := probe.LogRecord{
				Time: r.Time.UTC(), ClientIP: addr, Sender: r.Sender, Recipient: r.Recipient,
				QueueID: r.QueueID, Status: r.Status, Verdict: string(r.Verdict), Evidence: r.Evidence,
			}
			if r.Status == analysis.StatusRejected {
				return nil // taken line by line below: the store keeps one of identical refusals
			}
			queues[r.QueueID] = true
			recs = append(recs, rec)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	lines, err := lr.lines(ctx, &c, q)
	if err != nil {
		return nil, err
	}
	for _, r := range lines {
		if r.Status != "" || !queues[r.QueueID] {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// lines scans the logs for the refusals and the queue files opened for the
// probe's addresses in its time. The store cannot give either: it keeps one
// of identical refusals (the probe makes several that the server logs
// alike once canonicalised), and no queue file without a recipient, as for
// a client that never sent DATA.
func (lr *probeLogReader) lines(ctx context.Context, c *commonFlags, q probe.LogQuery) ([]probe.LogRecord, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	var recs []probe.LogRecord
	err = pipeline.Events(ctx, q.Paths, opts, lr.stderr, func(ev parsers.Event) error {
		opened := ev.Kind == parsers.KindClient && ev.QueueID != ""
		// A refused recipient, or a refused sender (Exim's "SMTP syntax
		// error in \"MAIL FROM:<…>\" … domain literals not allowed"): the
		// probe tries the case again with another sender, and the line
		// is evidence of the attempt.
		refused := ev.Kind == parsers.KindReject && (ev.Rcpt != "" || strings.HasPrefix(ev.Reason, "MAIL"))
		if !opened && !refused || ev.Time.Before(q.Since) || !ev.Time.Before(q.Until) || !slices.Contains(q.ClientIPs, ev.ClientIP.Unmap()) {
			return nil
		}
		r := probe.LogRecord{Time: ev.Time.UTC(), ClientIP: ev.ClientIP.Unmap(), QueueID: ev.QueueID, Evidence: []string{ev.Pos.String()}, Raw: ev.Raw}
		if refused {
			r.Sender, r.Recipient, r.Status = ev.From, ev.Rcpt, analysis.StatusRejected
			r.Reply = strings.TrimSpace(ev.DSN + " " + ev.Reason)
			r.Verdict = string(analysis.RelayAttemptRejected)
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}
