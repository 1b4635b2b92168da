package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
	"github.com/spf13/cobra"
)

const tailLong = `Follows live mail logs (Postfix, Exim, Exchange; - for standard input, e.g.
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
error (also printed at exit).`

const tailExample = `  relaysleuth tail --config /etc/relaysleuth.json --db /var/lib/relaysleuth/relaysleuth.db \
      --exec '/usr/local/bin/notify-admin' --metrics 127.0.0.1:9787 /var/log/mail.log`

// tailFlags are tail's own flags.
type tailFlags struct {
	fromStart      bool
	execCmd        string
	execJobs       int
	execTimeout    time.Duration
	attempts       int
	attemptsWindow time.Duration
	authFailures   int
	authWindow     time.Duration
	quiet          time.Duration
	metricsAddr    string
	replay         time.Duration
	poll           bool
	// crash, when not nil, is the tailer's crash func (tests only).
	crash func(pipeline.CrashPoint, []analysis.Alert) error
}

func newTailCmd(c *commonFlags, crash func(pipeline.CrashPoint, []analysis.Alert) error) *cobra.Command {
	tf := &tailFlags{crash: crash}
	cmd := &cobra.Command{
		Use:     "tail [flags] PATH...",
		Short:   "Follow live logs, alert on relaying as it happens",
		Long:    tailLong,
		Example: tailExample,
		Args:    nArgs(1, -1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return tf.run(cmd.Context(), c, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.inputFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.BoolVar(&tf.fromStart, "from-start", false, "on the first start, read files from their beginning, not their end")
	fs.StringVar(&tf.execCmd, "exec", "", "run 'sh -c `CMD`' for every alert, with the alert as JSON on its standard input")
	fs.IntVar(&tf.execJobs, "exec-jobs", 4, "most --exec commands running at once")
	fs.DurationVar(&tf.execTimeout, "exec-timeout", 30*time.Second, "kill an --exec command after this `duration`")
	fs.IntVar(&tf.attempts, "attempts", 20, "alert when a client makes `N` refused relay attempts within --attempts-window (0: never)")
	fs.DurationVar(&tf.attemptsWindow, "attempts-window", 10*time.Minute, "window of --attempts")
	fs.IntVar(&tf.authFailures, "auth-failures", 10, "alert when a client fails `N` SASL logins within --auth-window (0: never)")
	fs.DurationVar(&tf.authWindow, "auth-window", 10*time.Minute, "window of --auth-failures")
	fs.DurationVar(&tf.quiet, "quiet", time.Hour, "after an alert about a client, summarise further alerts of its kind about it for this `duration` (0: alert every time)")
	fs.StringVar(&tf.metricsAddr, "metrics", "", "serve Prometheus metrics on `ADDR` (host:port) at /metrics")
	fs.DurationVar(&tf.replay, "replay", 6*time.Hour, "on start, re-read the stored lines of this last `duration` to rebuild the messages in flight")
	// nxadm/tail's inotify watcher adds its watch after reading to the end
	// of a newly opened file: a line written in between waits for the next
	// write. Polling compares sizes, so it misses nothing; 50 ms apart (pipeline.pollInterval).
	fs.BoolVar(&tf.poll, "poll", true, "poll files for changes every 50 ms; --poll=false uses inotify, which can leave a line written just after a file is (re)opened unread until the next one")
	return cmd
}

func (tf *tailFlags) run(ctx context.Context, c *commonFlags, paths []string, stdout, stderr io.Writer) error {
	format := c.outputFormat
	switch format {
	case "text", "table", "json":
	default:
		return usagef("tail: --format must be text or json, not %q", format)
	}
	if tf.execJobs < 1 || tf.execTimeout <= 0 || tf.attempts < 0 || tf.authFailures < 0 || tf.quiet < 0 ||
		tf.attemptsWindow <= 0 || tf.authWindow <= 0 || tf.replay < 0 {
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
	if err := pipeline.CheckFollowPaths(paths); errors.Is(err, pipeline.ErrStdinTwice) {
		return usagef("tail: %v", err)
	} else if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	store, err := pipeline.OpenStore(ctx, c.db, c.group, stderr)
	if err != nil {
		return err
	}
	defer store.Close()

	m := pipeline.NewMetrics()
	if tf.metricsAddr != "" {
		stop, err := pipeline.ServeMetrics(ctx, tf.metricsAddr, m, stderr)
		if err != nil {
			return err
		}
		defer stop()
	}
	al := &pipeline.Alerter{Out: stdout, Log: stderr, JSON: format == "json", Exec: tf.execCmd,
		Timeout: tf.execTimeout, Jobs: tf.execJobs, Metrics: m}
	defer al.Wait()
	window := max(tf.replay, tf.quiet, tf.attemptsWindow, tf.authWindow, analysis.NewCorrelator(policy).StaleAfter)
	if tf.replay == 0 {
		window = 0
	}
	tl := &pipeline.Tail{
		Store:     store,
		Policy:    policy,
		Options:   opts,
		Rules:     analysis.NewAlertRules(tf.attempts, tf.attemptsWindow, tf.authFailures, tf.authWindow, tf.quiet),
		Alerts:    al,
		Metrics:   m,
		Log:       stderr,
		Stdin:     c.stdin,
		FromStart: tf.fromStart,
		Poll:      tf.poll,
		Replay:    window,
		Crash:     tf.crash,
	}
	return tl.Run(ctx, paths)
}
