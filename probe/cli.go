package probe

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUsage is wrapped by the errors Command returns for bad arguments. The
// caller exits 2 on it, as on flag.ErrHelp.
var ErrUsage = errors.New("usage error")

const usageText = `Usage: relaysleuth probe [flags] HOST[:PORT]

Tests whether the mail server at HOST relays mail for strangers, the way it
is done by hand with telnet: connect, read the greeting, EHLO (HELO when EHLO
is refused), STARTTLS when offered, then for each test case MAIL FROM and
RCPT TO with a recipient outside the server's domains, then RSET; QUIT at the
end. A 2xx reply to RCPT TO means the server took mail it should only take
from its own users: it is an open relay for that form of address.

No message is sent: the probe never sends DATA, since a 2xx to RCPT TO is
proof enough, unless --send-to is given. Then one full message, with a unique
token in its Subject and Message-ID, goes to that address (use a mailbox you
own outside the server) to prove the relay end to end.

Probe only servers you run, and from outside their trusted networks (Postfix
mynetworks, Exim relay_from_hosts): a server relays for those by design, so a
probe from inside says nothing about strangers. --trusted-networks lets the
probe warn about that.

The conversation is printed as it happens ("C:" sent, "S:" received, control
characters escaped), then a table of the cases and their verdicts: refused
(5xx), temporarily refused (4xx), auth required (530), accepted (2xx), error
(timeout, dropped connection, malformed reply), or not tested: when the
server refuses a case's sender at MAIL (Exim refuses senders at an address
literal), the case is tried again with a local sender, then an outside one;
if none is taken, its recipient was never sent, and the server is not
called closed for it.

Every address carries a marker unique to the run and the case
("relaytest-k3f9a1c2-05a@…", the letter counting the senders tried), so that
--verify-log ties each case to its own log lines by their content.

With --format json the result goes to stdout as JSON and the conversation to
stderr. --source ADDRESS connects from one of this machine's addresses: a
probe from inside the server's relay networks says nothing about strangers.

Checking against the server's log: with --verify-log PATH (repeatable), the
log is read after the probe (into --db, by default a temporary database) and
each case is looked up in it by its marker (a line belongs to one case at
most; Exim's mainlog line and its rejectlog copy are one finding); lines
without one (Postfix's "client=" line of a queue file) by the probe's client
address, its time (widened by --clock-skew) and its addresses. For each case
the log says: refused (with the reply it logged), accepted (no message
followed: the probe sends no DATA), sent, deferred, queued or bounced ("250
at RCPT, then bounced" is not a delivered relay), or "not in the log", itself
a finding: the wrong log, time zone (--timezone) or clock.

Checking the configuration: --from-postconf FILE (the output of postconf -n,
or main.cf) and --from-exim-config FILE warn, with the line, about settings
that make an open relay: trusted networks wider than the host's own
(--host-networks, default this machine's interfaces), restrictions that let
strangers through before reject_unauth_destination, an Exim RCPT ACL that
accepts before its relay check. Without HOST only the configuration is
checked.

Cases (all by default; choose with --case):
%s
Exit status: 0 when no case was accepted; 3 when a case was accepted (an
open relay), or, without HOST, when the configuration has a warning; 1 when
the probe could not run or the log could not be read (the reason is on
stderr); 2 on a usage error.

Flags:
`

// Command runs "relaysleuth probe" with args, the arguments after "probe".
// It writes the transcript and a table of verdicts to stdout (with
// --format json, the JSON Result to stdout and the transcript to stderr),
// and warnings to stderr. open reports whether any case was accepted.
//
// Bad arguments return an error wrapping ErrUsage; -help prints the help to
// stdout and returns flag.ErrHelp. An error is also returned when the server
// could not be reached or no case got a usable reply, so that an unreachable
// server is never reported as closed.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) (open bool, err error) {
	return CommandEnv(ctx, args, stdout, stderr, Env{})
}

// LogQuery asks for what the server's logs say about one probe.
type LogQuery struct {
	Paths           []string     // as given to --verify-log
	ClientIPs       []netip.Addr // the probe's own addresses
	Since, Until    time.Time    // the probe's time, widened by the clock skew
	LocalDomain     string       // the server's domain as the probe knew it, for a policy that names none
	TrustedNetworks string       // as given to --trusted-networks
}

// A LogReader returns the records of the logs that q asks about.
type LogReader func(ctx context.Context, q LogQuery) ([]LogRecord, error)

// Env is what the probe command needs from the program around it to check
// the server's log: package probe reads no logs itself.
type Env struct {
	Flags   func(fs *flag.FlagSet) // registers the reader's flags (database, policy, time zone)
	ReadLog LogReader
}

// CommandEnv is Command with env for --verify-log; without env.ReadLog,
// --verify-log is a usage error.
func CommandEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) (open bool, err error) {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, and -help printed, below
	var (
		cfg     Config
		port    = fs.Int("port", 25, "`port` to connect to (HOST:PORT also works)")
		format  = fs.String("format", "table", "output `format`: table or json")
		trusted = fs.String("trusted-networks", "", "the server's trusted networks, as comma-separated `CIDRs`, to warn when the probe runs from inside them")
	)
	fs.StringVar(&cfg.HeloName, "helo", "", "`name` to give in EHLO (default: this machine's FQDN, else its address literal)")
	fs.StringVar(&cfg.LocalDomain, "from-domain", "", "the server's own mail `domain`, for the local-sender case (default: the name in its greeting)")
	fs.StringVar(&cfg.ExternalDomain, "external-domain", DefaultExternalDomain, "an outside `domain` for the test recipients")
	fs.StringVar(&cfg.SendTo, "send-to", "", "send one full test message (DATA) to this `address`; without it DATA is never sent")
	fs.Func("source", "connect from this local `address` (one of this machine's), e.g. one outside the server's relay networks", func(v string) error {
		a, err := netip.ParseAddr(strings.Trim(v, "[]"))
		if err != nil {
			return fmt.Errorf("%q is not an IP address", v)
		}
		cfg.Source = a
		return nil
	})
	fs.BoolVar(&cfg.NoTLS, "no-tls", false, "do not STARTTLS even when the server offers it")
	fs.DurationVar(&cfg.Timeout, "timeout", DefaultTimeout, "limit for connecting and for each reply")
	fs.DurationVar(&cfg.Delay, "delay", time.Second, "pause between cases")
	fs.Func("case", "run only this `case` (repeatable, or a comma-separated list)", func(v string) error {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if !slices.Contains(CaseNames(), name) {
				return fmt.Errorf("unknown case %q", name)
			}
			cfg.Cases = append(cfg.Cases, name)
		}
		return nil
	})

	var verifyLogs []string
	fs.Func("verify-log", "after the probe, look each case up in this server log `PATH` (repeatable)", func(v string) error {
		verifyLogs = append(verifyLogs, v)
		return nil
	})
	skew := fs.Duration("clock-skew", 2*time.Second, "how far the server's clock may be off the probe's, for --verify-log")
	logWait := fs.Duration("log-wait", time.Second, "pause before reading the log, for the server to write it (--verify-log)")
	postconf := fs.String("from-postconf", "", "check this `FILE` (postconf -n output, or main.cf) for open-relay settings")
	eximConf := fs.String("from-exim-config", "", "check this Exim configuration `FILE` for open-relay settings")
	hostNets := fs.String("host-networks", "", "the host's own networks, as comma-separated `CIDRs`, for --from-postconf and --from-exim-config (default: this machine's interfaces)")
	if env.Flags != nil {
		env.Flags(fs)
	}

	targets, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs, stdout)
		return false, err
	}
	if err != nil {
		return false, usageErr("%v", err)
	}
	lint := *postconf != "" || *eximConf != ""
	if len(targets) == 0 && lint && len(verifyLogs) == 0 {
		return lintOnly(stdout, stderr, *format, *postconf, *eximConf, *hostNets)
	}
	if len(targets) != 1 {
		return false, usageErr("want one HOST[:PORT], got %d arguments", len(targets))
	}
	if len(verifyLogs) > 0 && env.ReadLog == nil {
		return false, usageErr("--verify-log is not available here")
	}
	portSet := false
	fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "port" })
	cfg.Host, cfg.Port, err = splitTarget(targets[0], *port, portSet)
	if err != nil {
		return false, usageErr("%v", err)
	}
	if *format != "table" && *format != "json" {
		return false, usageErr("--format %q: want table or json", *format)
	}
	nets, err := parsePrefixes(*trusted)
	if err != nil {
		return false, usageErr("--trusted-networks: %v", err)
	}
	var warnings []Warning
	if lint {
		if warnings, err = lintFiles(*postconf, *eximConf, *hostNets); err != nil {
			return false, err
		}
	}

	transcript := stdout
	if *format == "json" {
		transcript = stderr
	}
	res, err := Run(ctx, cfg, transcript)
	if errors.Is(err, ErrConfig) {
		return false, usageErr("%v", err)
	}
	if err != nil && len(res.Cases) == 0 {
		return false, fmt.Errorf("probe %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), err)
	}
	res.Warnings = warnings
	var logErr error
	if len(verifyLogs) > 0 {
		logErr = verify(ctx, &res, env.ReadLog, LogQuery{Paths: verifyLogs, TrustedNetworks: *trusted, LocalDomain: cfg.LocalDomain}, *skew, *logWait)
		if logErr != nil {
			logErr = fmt.Errorf("--verify-log: %w", logErr)
		}
	}
	warn(stderr, res, nets)
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(res); werr != nil && err == nil {
			err = werr
		}
	} else if werr := writeTable(stdout, res); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		err = logErr
	}
	if err == nil && res.Summary.Errors == res.Summary.Cases {
		err = fmt.Errorf("probe %s: no case got a usable reply", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	}
	if err == nil && res.Summary.Accepted == 0 && res.Summary.Cases > 0 && res.Summary.Errors+res.Summary.NotTested == res.Summary.Cases {
		err = fmt.Errorf("probe %s: no case could be tested (the server refused every sender at MAIL)", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	}
	return res.Open(), err
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: probe: %s (see relaysleuth probe -help)", ErrUsage, fmt.Sprintf(format, args...))
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("probe mx.example.org --port 587"), which the flag
// package alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func printHelp(fs *flag.FlagSet, w io.Writer) {
	var cases strings.Builder
	for _, c := range caseTable {
		fmt.Fprintf(&cases, "  %-19s %s\n", c.name, c.about)
	}
	fmt.Fprintf(w, usageText, cases.String())
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// splitTarget splits HOST[:PORT]; a port in both places must agree.
func splitTarget(arg string, port int, portSet bool) (string, int, error) {
	host, p, err := net.SplitHostPort(arg)
	if err != nil { // no port: "mx.example.org", "2001:db8::25", "[2001:db8::25]"
		host = strings.TrimSuffix(strings.TrimPrefix(arg, "["), "]")
		return host, port, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", arg)
	}
	if portSet && n != port {
		return "", 0, fmt.Errorf("%q and --port %d disagree", arg, port)
	}
	return host, n, nil
}

// parsePrefixes parses a comma-separated list of CIDRs; a bare address is
// a network of one.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			nets = append(nets, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an address", f)
		}
		nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return nets, nil
}

// verify waits for the server to write its log, reads the records of the
// probe's client addresses around its time, and ties them to the cases.
func verify(ctx context.Context, res *Result, read LogReader, q LogQuery, skew, wait time.Duration) error {
	if !sleep(ctx, wait) {
		return ctx.Err()
	}
	for _, c := range res.Cases {
		if c.ClientIP.IsValid() && !slices.Contains(q.ClientIPs, c.ClientIP) {
			q.ClientIPs = append(q.ClientIPs, c.ClientIP)
		}
	}
	if q.LocalDomain == "" {
		q.LocalDomain = res.ServerName
	}
	q.Since = res.Start.Add(-skew - 2*stampSlack)
	q.Until = res.End.Add(skew + 2*stampSlack)
	recs, err := read(ctx, q)
	if err != nil {
		return err
	}
	Verify(res, recs, skew, q.Paths)
	return nil
}

// lintFiles checks the configuration files given.
func lintFiles(postconf, exim, hostNets string) ([]Warning, error) {
	own := HostNetworks()
	if hostNets != "" {
		nets, err := parsePrefixes(hostNets)
		if err != nil {
			return nil, usageErr("--host-networks: %v", err)
		}
		own = nets
	}
	var all []Warning
	for _, f := range []struct {
		path string
		lint func(io.Reader, string, []netip.Prefix) ([]Warning, error)
	}{{postconf, LintPostconf}, {exim, LintExim}} {
		if f.path == "" {
			continue
		}
		file, err := os.Open(f.path)
		if err != nil {
			return nil, err
		}
		ws, err := f.lint(file, f.path, own)
		file.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, ws...)
	}
	return all, nil
}

// lintOnly checks the configuration without probing; a warning counts as
// open.
func lintOnly(stdout, stderr io.Writer, format, postconf, exim, hostNets string) (bool, error) {
	if format != "table" && format != "json" {
		return false, usageErr("--format %q: want table or json", format)
	}
	ws, err := lintFiles(postconf, exim, hostNets)
	if err != nil {
		return false, err
	}
	if ws == nil {
		ws = []Warning{}
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return len(ws) > 0, enc.Encode(struct {
			Warnings []Warning `json:"config_warnings"`
		}{ws})
	}
	return len(ws) > 0, writeWarnings(stdout, ws)
}

func writeWarnings(w io.Writer, ws []Warning) error {
	if len(ws) == 0 {
		_, err := fmt.Fprintln(w, "configuration: no open-relay setting found")
		return err
	}
	fmt.Fprintf(w, "configuration: %d open-relay settings:\n", len(ws))
	for _, x := range ws {
		fmt.Fprintf(w, "  %s\n", escape(x.String()))
	}
	return nil
}

// warn tells the user when the result is weaker than it looks.
func warn(w io.Writer, res Result, trusted []netip.Prefix) {
	switch {
	case InTrusted(res.ClientIP, trusted):
		fmt.Fprintf(w, "warning: the probe ran from %s, inside the server's trusted networks: the server relays for it by design, so the result says nothing about strangers; run the probe from outside\n", res.ClientIP)
	case res.ClientIP.IsLoopback() || res.ClientIP == res.ServerIP:
		fmt.Fprintf(w, "warning: the probe ran on the server itself (%s), which most servers trust: run it from outside\n", res.ClientIP)
	}
	if n := res.Summary.Errors; n > 0 && n < res.Summary.Cases {
		fmt.Fprintf(w, "warning: %d of %d cases got no usable reply; the result is incomplete\n", n, res.Summary.Cases)
	}
	if n := res.Summary.NotTested; n > 0 {
		fmt.Fprintf(w, "warning: %d of %d cases not tested: the server refused every sender tried at MAIL, so their recipients were never sent; the server is not called closed for them\n", n, res.Summary.Cases)
	}
	if res.NotRun > 0 {
		fmt.Fprintf(w, "warning: interrupted: %d of %d cases never ran (the server said goodbye with QUIT); a server is not called closed on cases not tried\n",
			res.NotRun, res.NotRun+len(res.Cases))
	}
	if ls := res.LogSummary; ls != nil {
		switch {
		case ls.Found == 0 && len(res.Cases) > 0:
			fmt.Fprintf(w, "warning: no case of the probe from %s is in the log: is it this server's log, in its time zone (--timezone), with its clock (--clock-skew)?\n", res.ClientIP)
		case ls.Missing > 0:
			fmt.Fprintf(w, "warning: %d of %d cases are not in the server's log\n", ls.Missing, len(res.Cases))
		}
		if ls.Disagree > 0 {
			fmt.Fprintf(w, "warning: for %d cases the log tells another story than the server's reply\n", ls.Disagree)
		}
		if ls.Relayed > 0 {
			fmt.Fprintf(w, "warning: the log shows %d probe recipients delivered, deferred or queued for the outside\n", ls.Relayed)
		}
	}
}

// writeTable prints the verdicts, one case a line, and a conclusion.
// Every cell is escaped: the replies are the server's words.
func writeTable(w io.Writer, res Result) error {
	fmt.Fprintln(w)
	var rows [][]string
	var accepted, untested []string
	for _, c := range res.Cases {
		if c.Verdict == NotTested {
			untested = append(untested, c.Name)
		}
		reply := c.Error
		if c.Code != 0 {
			first, _, _ := strings.Cut(c.Text, "\n")
			reply = strconv.Itoa(c.Code) + " " + first
		}
		rows = append(rows, []string{c.Name, "<" + escape(c.Sender) + ">", "<" + escape(c.Recipient) + ">",
			c.Stage, escape(clip(reply, 60)), string(c.Verdict)})
		if c.Verdict == Accepted {
			accepted = append(accepted, c.Name)
		}
	}
	if err := renderTable(w, []string{"CASE", "SENDER", "RECIPIENT", "STAGE", "REPLY", "VERDICT"}, rows); err != nil {
		return err
	}
	if res.LogSummary != nil {
		fmt.Fprintf(w, "\nServer log (%s):\n", escape(strings.Join(res.LogSummary.Files, ", ")))
		rows = rows[:0]
		for _, c := range res.Cases {
			l := c.Log
			if l == nil {
				continue
			}
			ev := ""
			if len(l.Evidence) > 0 {
				ev = l.Evidence[len(l.Evidence)-1]
			}
			rows = append(rows, []string{c.Name, string(l.Status), escape(clip(l.Reply, 60)), escape(ev), l.Finding})
		}
		if err := renderTable(w, []string{"CASE", "LOG", "LOGGED REPLY", "EVIDENCE", "FINDING"}, rows); err != nil {
			return err
		}
		ls := res.LogSummary
		fmt.Fprintf(w, "%d cases found in the log, %d not in the log, %d where the log disagrees, %d relayed\n", ls.Found, ls.Missing, ls.Disagree, ls.Relayed)
	}
	if len(res.Warnings) > 0 {
		fmt.Fprintln(w)
		if err := writeWarnings(w, res.Warnings); err != nil {
			return err
		}
	}
	server := net.JoinHostPort(res.ServerIP.String(), strconv.Itoa(res.Port))
	if res.ServerName != "" {
		server = escape(res.ServerName) + " " + server
	}
	s := res.Summary
	var err error
	if len(accepted) > 0 {
		_, err = fmt.Fprintf(w, "\nOPEN RELAY: %s accepted %d of %d cases: %s\n", server, s.Accepted, s.Cases, strings.Join(accepted, ", "))
	} else {
		_, err = fmt.Fprintf(w, "\n%s: no case accepted (%d refused, %d temporarily refused, %d auth required, %d errors)\n",
			server, s.Refused, s.TempRefused, s.AuthRequired, s.Errors)
	}
	if err == nil && len(untested) > 0 {
		first := ""
		for _, c := range res.Cases {
			if c.Verdict == NotTested {
				first = c.Untested
				break
			}
		}
		_, err = fmt.Fprintf(w, "NOT TESTED: %d of %d cases (%s): the server refused every sender tried at MAIL, so it is not called closed for them; first reason: %s\n",
			len(untested), s.Cases, strings.Join(untested, ", "), escape(clip(first, 200)))
	}
	return err
}

// renderTable draws one table with tablewriter (the project's table library).
func renderTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	h := make([]any, len(header))
	for i, c := range header {
		h[i] = c
	}
	t.Header(h...)
	for _, r := range rows {
		cells := make([]any, len(r))
		for i, c := range r {
			cells[i] = c
		}
		if err := t.Append(cells...); err != nil {
			return err
		}
	}
	return t.Render()
}
