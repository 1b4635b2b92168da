package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/relaysleuth/relaysleuth/analysis"
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

// read ingests q.Paths as 'relaysleuth ingest' does and returns what they
// say about the probe's client addresses in its time (pipeline.ProbeLog).
func (lr *probeLogReader) read(ctx context.Context, q probe.LogQuery) ([]probe.LogRecord, error) {
	c := lr.c
	c.trustedNets = q.TrustedNetworks
	c.progress = "never"
	if c.localDomains == "" && c.config == "" {
		if analysis.FindPolicyFile("") == "" {
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
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	found, err := pipeline.ProbeLog(ctx, store, pipeline.ProbeQuery{Paths: q.Paths, ClientIPs: q.ClientIPs, Since: q.Since, Until: q.Until}, opts, lr.stderr)
	var recs []probe.LogRecord
	for _, r := range found {
		recs = append(recs, probe.LogRecord(r))
	}
	return recs, err
}
