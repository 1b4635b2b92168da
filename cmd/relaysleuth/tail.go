package main

import (
	"context"
	"io"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/relaysleuth/relaysleuth/schema"
)

const tailSynopsis = `Usage: relaysleuth tail [flags] PATH...

Follows live mail logs (Postfix, Exim, Exchange; - for standard input, e.g.
journalctl -f -o json | relaysleuth tail -) into the database, and prints an
alert as soon as a recipient is relayed for a stranger (relay_abuse), or a
client makes too many refused relay attempts or failed logins.

Each file is followed across logrotate's rename-and-create, copytruncate and
truncation, and may not exist yet. Its position (the file's identity and the
byte after the last stored line) is committed with the lines' events, so a
restart, even after kill -9, resumes where it stopped: no line lost, none
stored twice. Alerts go to an outbox in the database before their lines are
committed and are marked sent once written: a restart first sends those a
crash left unsent, so none is lost, and only one being written at the
moment of a kill can be written twice. The first start begins at the end of
each file, unless --from-start.

Alerts: one line each on standard output (--format json: one JSON object),
and --exec CMD runs 'sh -c CMD' per alert with the alert as JSON on its
standard input. Alerts about one client within --quiet are summarised in
one line when the quiet period ends.

SIGINT or SIGTERM: commit and exit 0. SIGUSR1: print a summary on standard
error (also printed at exit).

Example:
  relaysleuth tail --config /etc/relaysleuth.json --db /var/lib/relaysleuth/relaysleuth.db \
      --exec '/usr/local/bin/notify-admin' --metrics 127.0.0.1:9787 /var/log/mail.log`

func runTail(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runTailCrashing(ctx, args, stdin, stdout, stderr, nil)
}

// runTailCrashing is runTail with a crash func for the tailer (nil but in
// tests).
func runTailCrashing(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, crash func(pipeline.CrashPoint, []analysis.Alert) error) error {
	var c commonFlags
	fs := newFlagSet("tail", tailSynopsis, stderr)
	c.dbFlag(fs)
	c.policyFlags(fs)
	c.inputFlags(fs)
	format := fs.String("format", "text", "alert `format` on standard output: text or json")
	fromStart := fs.Bool("from-start", false, "on the first start, read files from their beginning, not their end")
	execCmd := fs.String("exec", "", "run 'sh -c `CMD`' for every alert, with the alert as JSON on its standard input")
	execJobs := fs.Int("exec-jobs", 4, "most --exec commands running at once")
	execTimeout := fs.Duration("exec-timeout", 30*time.Second, "kill an --exec command after this `duration`")
	attempts := fs.Int("attempts", 20, "alert when a client makes `N` refused relay attempts within --attempts-window (0: never)")
	attemptsWindow := fs.Duration("attempts-window", 10*time.Minute, "window of --attempts")
	authFailures := fs.Int("auth-failures", 10, "alert when a client fails `N` SASL logins within --auth-window (0: never)")
	authWindow := fs.Duration("auth-window", 10*time.Minute, "window of --auth-failures")
	quiet := fs.Duration("quiet", time.Hour, "after an alert about a client, summarise further alerts of its kind about it for this `duration` (0: alert every time)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on `ADDR` (host:port) at /metrics")
	replay := fs.Duration("replay", 6*time.Hour, "on start, re-read the stored lines of this last `duration` to rebuild the messages in flight")
	// nxadm/tail's inotify watcher adds its watch after reading to the end
	// of a newly opened file: a line written in between waits for the next
	// write. Polling compares sizes, so it misses nothing; 250 ms apart.
	poll := fs.Bool("poll", true, "poll files for changes every 250 ms; --poll=false uses inotify, which can leave a line written just after a file is (re)opened unread until the next one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("tail: no PATH given")
	}
	switch *format {
	case "text", "table", "json":
	default:
		return usagef("tail: --format must be text or json, not %q", *format)
	}
	if *execJobs < 1 || *execTimeout <= 0 || *attempts < 0 || *authFailures < 0 || *quiet < 0 ||
		*attemptsWindow <= 0 || *authWindow <= 0 || *replay < 0 {
		return usagef("tail: --exec-jobs, --exec-timeout and the windows must be positive, the thresholds and --quiet not negative")
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	policy, err := c.policy()
	if err != nil {
		return err
	}
	stdins := 0
	for _, p := range fs.Args() {
		if p == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return usagef("tail: - given more than once")
	}

	store, err := schema.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()

	m := pipeline.NewMetrics()
	if *metricsAddr != "" {
		stop, err := pipeline.ServeMetrics(ctx, *metricsAddr, m, stderr)
		if err != nil {
			return err
		}
		defer stop()
	}
	al := &pipeline.Alerter{Out: stdout, Log: stderr, JSON: *format == "json", Exec: *execCmd,
		Timeout: *execTimeout, Jobs: *execJobs, Metrics: m}
	defer al.Wait()
	window := max(*replay, *quiet, *attemptsWindow, *authWindow, analysis.NewCorrelator(policy).StaleAfter)
	if *replay == 0 {
		window = 0
	}
	tl := &pipeline.Tail{
		Store:     store,
		Policy:    policy,
		Options:   opts,
		Rules:     analysis.NewAlertRules(*attempts, *attemptsWindow, *authFailures, *authWindow, *quiet),
		Alerts:    al,
		Metrics:   m,
		Log:       stderr,
		Stdin:     stdin,
		FromStart: *fromStart,
		Poll:      *poll,
		Replay:    window,
		Crash:     crash,
	}
	return tl.Run(ctx, fs.Args())
}
