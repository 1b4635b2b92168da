package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/spf13/cobra"
)

// commonFlags are the flags the commands share: the global ones (on the
// root command, accepted anywhere on the line) and those of commands that
// read logs.
type commonFlags struct {
	db           string
	config       string
	localDomains string
	trustedNets  string
	outputFormat string
	verbose      bool
	wide         bool
	localTime    bool
	group        string
	year         int
	timezone     string
	inputFormat  string
	progress     string
	stdin        io.Reader
	geoip        string
}

// flagSet is what the flag and pflag packages' flag sets have in common:
// the probe parses its own flags with package flag, the rest with cobra.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
	IntVar(p *int, name string, value int, usage string)
}

// persistentFlags registers the global flags on root.
func (c *commonFlags) persistentFlags(root *cobra.Command) {
	fs := root.PersistentFlags()
	fs.StringVar(&c.db, "db", "relaysleuth.db", "SQLite database `file`, or a PostgreSQL database: postgres://... URL or libpq keywords (host=/run/postgresql dbname=relaysleuth)")
	c.policyFlags(fs)
	fs.StringVar(&c.outputFormat, "format", "table", "output `format`: table, json, csv; html for report; text or json for tail")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "say more: the policy in force and where it came from, each input's format")
	fs.StringVar(&c.group, "group", "", "files relaysleuth creates (database, --output) are 0600; with a `group` they are 0640 and belong to it, for a team that shares them (e.g. adm)")
	fs.BoolVar(&c.localTime, "local-time", false, "show times in the local time zone (TZ), not UTC; times given to --since/--until without a zone are then local too")
	fs.BoolVar(&c.wide, "wide", false, "tables: every column, every value in full, whatever the terminal's width")
	fs.StringVar(&c.geoip, "geoip", "", "MaxMind-format `file.mmdb`: SASL accounts' new networks by country and AS too")
}

func (c *commonFlags) policyFlags(fs flagSet) {
	fs.StringVar(&c.config, "config", "", "policy `file`: {\"local_domains\": [...], \"trusted_networks\": [...]} (default relaysleuth.json if present)")
	fs.StringVar(&c.localDomains, "local-domains", "", "comma-separated `domains` your server receives mail for (subdomains count too)")
	fs.StringVar(&c.trustedNets, "trusted-networks", "", "comma-separated `CIDRs` of your own hosts, allowed to relay without authentication")
}

// inputFlags registers the flags of commands that read logs.
func (c *commonFlags) inputFlags(fs flagSet) {
	fs.IntVar(&c.year, "year", 0, "`year` of the first line of logs whose stamps have none (default: from the file's modification time)")
	fs.StringVar(&c.timezone, "timezone", "Local", "time `zone` of log stamps that carry none (IANA name, e.g. Europe/Berlin, or UTC)")
	fs.StringVar(&c.inputFormat, "input-format", "auto", "log `format`: auto, "+strings.Join(pipeline.FormatNames(), ", "))
	fs.StringVar(&c.progress, "progress", "auto", "progress bar on standard error: `when` — auto (when it is a terminal), always, never")
}

// policy builds the user's policy from --config and the flags.
func (c *commonFlags) policy() (analysis.Policy, error) {
	var p analysis.Policy
	if cfg := analysis.FindPolicyFile(c.config); cfg != "" {
		err := analysis.CheckPolicyFile(cfg)
		if err == nil {
			p, err = analysis.LoadPolicy(cfg)
		}
		if errors.Is(err, analysis.ErrBadPolicy) || errors.Is(err, analysis.ErrUnsafePolicy) {
			return p, usagef("config %v", err)
		}
		if err != nil {
			return p, fmt.Errorf("config: %w", err)
		}
	}
	if err := p.AddDomains(splitList(c.localDomains)...); err != nil {
		return p, usagef("--local-domains: %v", err)
	}
	if err := p.AddNetworks(splitList(c.trustedNets)...); err != nil {
		return p, usagef("--trusted-networks: %v", err)
	}
	if c.geoip != "" {
		g, err := pipeline.OpenGeoIP(c.geoip)
		if err != nil {
			return p, usagef("--geoip: %v", err)
		}
		p.Accounts.Places = g // open until the program ends
	}
	if len(p.LocalDomains) == 0 {
		return p, usagef("no local domains: say which domains are yours with --local-domains or --config (relaysleuth never trusts the server's own configuration)")
	}
	return p, nil
}

// policySource says where the policy in force comes from.
func (c *commonFlags) policySource() string {
	return analysis.PolicySource(c.config, c.localDomains, c.trustedNets)
}

func (c *commonFlags) location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.timezone)
	if err != nil {
		return nil, usagef("--timezone: %v", err)
	}
	return loc, nil
}

func (c *commonFlags) checkOutput() error {
	switch c.outputFormat {
	case "table", "json", "csv":
		return nil
	}
	return usagef("--format must be table, json or csv, not %q", c.outputFormat)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// sinceUntil reads --since and --until: RFC 3339, a date, or a duration
// back from now ("24h"); a time without a zone is in the display zone.
func sinceUntil(since, until string) (from, to time.Time, err error) {
	now := time.Now()
	if from, err = analysis.ParseTime(since, now, displayZone); err != nil {
		return from, to, usagef("--since: %v", err)
	}
	if to, err = analysis.ParseTime(until, now, displayZone); err != nil {
		return from, to, usagef("--until: %v", err)
	}
	return from, to, nil
}
