package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/pipeline"
)

const devLog = "../../testdata/postfix/dev/postfix.log"
const devConfig = "../../testdata/postfix/dev/config.json"

// syncBuffer is a bytes.Buffer safe for the command's goroutines and the
// test's polling.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func devLines(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(devLog)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(data)) {
		if !strings.HasSuffix(l, "\n") {
			l += "\n" // a followed file's line counts once its newline is written
		}
		lines = append(lines, l)
	}
	return lines
}

func appendLines(t testing.TB, path string, lines []string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// tailRun is one run of the tail command in a goroutine.
type tailRun struct {
	stdout, stderr syncBuffer
	cancel         context.CancelFunc
	done           chan error
	once           sync.Once
}

func startTail(t *testing.T, args ...string) *tailRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &tailRun{cancel: cancel, done: make(chan error, 1)}
	full := append([]string{"tail", "--config", devConfig, "--timezone", "UTC", "--year", "2026"}, args...)
	go func() { r.done <- run(ctx, full, &r.stdout, &r.stderr) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the run as SIGINT would and checks that it exited cleanly.
func (r *tailRun) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("tail: %v\nstderr:\n%s", err, r.stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("tail did not stop\nstderr:\n%s", r.stderr.String())
		}
	})
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t testing.TB, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return 0
		}
		t.Fatal(err)
	}
	return n
}

// recipientSet returns "key verdict status" of every stored recipient.
func recipientSet(t testing.TB, dbPath string) map[string]string {
	t.Helper()
	rows, err := openDB(t, dbPath).Query(`SELECT key, verdict, status FROM recipients`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := make(map[string]string)
	for rows.Next() {
		var k, v, s string
		if err := rows.Scan(&k, &v, &s); err != nil {
			t.Fatal(err)
		}
		out[k] = v + " " + s
	}
	return out
}

// batch ingests lines as one file and returns the database's path.
func batch(t *testing.T, lines []string) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "all.log")
	appendLines(t, log, lines)
	db := filepath.Join(dir, "batch.db")
	err := runCLI(t, []string{"ingest", "--db", db, "--config", devConfig, "--timezone", "UTC", "--year", "2026", "--progress", "never", log}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// alertKeys returns how often each relay_abuse recipient was alerted
// about in JSON lines out.
func alertKeys(t *testing.T, out string) map[string]int {
	t.Helper()
	keys := make(map[string]int)
	for line := range strings.Lines(out) {
		var a analysis.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		if a.Kind == analysis.AlertRelayAbuse && !a.Summary {
			keys[a.Key]++
		}
	}
	return keys
}

// sameAsBatch checks that the tailed database holds exactly the events and
// recipients of a batch ingest of lines, and that every relay_abuse
// recipient was alerted about exactly once in alerts.
func sameAsBatch(t *testing.T, tailDB string, lines []string, alerts string) {
	t.Helper()
	sameAsBatchRepeated(t, tailDB, lines, alerts, nil)
}

// sameAsBatchRepeated is sameAsBatch where the alerts about the recipients
// in mayRepeat may have been written twice (never lost).
func sameAsBatchRepeated(t *testing.T, tailDB string, lines []string, alerts string, mayRepeat map[string]bool) {
	t.Helper()
	ref := batch(t, lines)
	wantEvents := countRows(t, openDB(t, ref), `SELECT coalesce(sum(n), 0) FROM event_blocks`)
	if got := countRows(t, openDB(t, tailDB), `SELECT coalesce(sum(n), 0) FROM event_blocks`); got != wantEvents {
		t.Errorf("tail stored %d events, batch ingest %d", got, wantEvents)
	}
	want, got := recipientSet(t, ref), recipientSet(t, tailDB)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("recipient %s: tail %q, batch %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("recipient %s (%s) stored by tail only", k, v)
		}
	}
	keys := alertKeys(t, alerts)
	// Alerts count a recipient once, at its first hop, as reports do.
	firstHop := make(map[string]bool)
	rows, err := openDB(t, ref).Query(`SELECT key FROM recipients WHERE hop = 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		firstHop[k] = true
	}
	rows.Close()
	for k, v := range want {
		if strings.HasPrefix(v, "relay_abuse ") && firstHop[k] && keys[k] != 1 {
			if keys[k] == 2 && mayRepeat[k] {
				t.Logf("relay_abuse recipient %s: alerted again, the crash came between its write and its mark", k)
				continue
			}
			t.Errorf("relay_abuse recipient %s alerted %d times, want 1", k, keys[k])
		}
	}
	for k := range keys {
		if !strings.HasPrefix(want[k], "relay_abuse ") || !firstHop[k] {
			t.Errorf("alert for %s, which batch ingest judges %q (first hop: %v)", k, want[k], firstHop[k])
		}
	}
}

func eventsIn(t *testing.T, db string) func() int {
	return func() int { return countRows(t, openDB(t, db), `SELECT coalesce(sum(n), 0) FROM event_blocks`) }
}

// TestTailAlertLatency appends an open-relay message's lines to a followed
// file and measures the time from the deciding line's write to its alert.
func TestTailAlertLatency(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:365]) // before the first open-relay message
	r := startTail(t, "--db", db, "--quiet", "0", log)
	waitFor(t, "the start", func() bool { return strings.Contains(r.stderr.String(), "following from line 366") })

	var latencies []time.Duration
	next := 365
	for _, n := range []int{369, 376, 377} { // smtp deliveries of AB439BC341 and BE9DFBC341
		appendLines(t, log, lines[next:n]) // client=, cleanup, qmgr, ...
		before := strings.Count(r.stdout.String(), "RELAY_ABUSE")
		written := time.Now()
		appendLines(t, log, lines[n:n+1])
		waitFor(t, "the alert", func() bool { return strings.Count(r.stdout.String(), "RELAY_ABUSE") > before })
		latencies = append(latencies, time.Since(written))
		next = n + 1
	}
	t.Logf("alert latency (line written → alert read): %v", latencies)
	out := r.stdout.String()
	if !strings.Contains(out, "fatima2366@victim.example") || !strings.Contains(out, "client 127.57.158.214") {
		t.Errorf("alert does not name the recipient and client:\n%s", out)
	}
}

// TestTailRotationMatchesIngest follows a file across logrotate's rename
// and create (with lines written to the old file after the rename) and
// copytruncate, and compares the result with a batch ingest.
func TestTailRotationMatchesIngest(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:100])
	r := startTail(t, "--db", db, "--from-start", "--quiet", "0", "--format", "json", log)
	events := eventsIn(t, db)
	appendLines(t, log, lines[100:250])
	waitFor(t, "the first lines", func() bool { return events() > 200 })

	// rename and create; the writer goes on with the old file for a while
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log+".1", lines[250:300])
	appendLines(t, log, lines[300:450])
	waitFor(t, "the new file", func() bool { return strings.Contains(r.stderr.String(), "following the new file") })

	// copytruncate
	upTo450 := eventsIn(t, batch(t, lines[:450]))()
	waitFor(t, "the new file's lines", func() bool { return events() >= upTo450 })
	if err := os.Rename(log+".1", log+".2"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	// The truncation is seen by the file's size: let the first line of the
	// new content (shorter than the old) be read before the rest.
	appendLines(t, log, lines[450:451])
	waitFor(t, "the truncation", func() bool { return strings.Count(r.stderr.String(), "following the new file") == 2 })
	appendLines(t, log, lines[451:600])
	r.stop(t)
	// a restart reads what the stop left
	appendLines(t, log, lines[600:])
	r2 := startTail(t, "--db", db, "--quiet", "0", "--format", "json", log)
	ref := eventsIn(t, batch(t, lines))()
	waitFor(t, "every event", func() bool { return events() >= ref })
	r2.stop(t)
	sameAsBatch(t, db, lines, r.stdout.String()+r2.stdout.String())
}

// TestTailDrainsInBatches writes many lines to a followed file after
// logrotate renamed it: they are read from the renamed file, committed a
// batch at a time, and the result is that of a batch ingest.
func TestTailDrainsInBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("reads some 15,000 lines")
	}
	dev := devLines(t)
	var lines []string
	for range 20 { // more than batchEvents events after the rotation
		lines = append(lines, dev...)
	}
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:100])
	r := startTail(t, "--db", db, "--from-start", "--quiet", "0", "--format", "json", log)
	events := eventsIn(t, db)
	waitFor(t, "the first lines", func() bool { return events() > 0 })
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log+".1", lines[100:len(lines)-100])
	appendLines(t, log, lines[len(lines)-100:])
	ref := eventsIn(t, batch(t, lines))()
	waitFor(t, "every event", func() bool { return events() >= ref })
	r.stop(t)
	if !strings.Contains(r.stderr.String(), "lines written after") {
		t.Errorf("the renamed file was not drained:\n%s", r.stderr.String())
	}
	sameAsBatch(t, db, lines, r.stdout.String())
}

// TestTailRestart stops the command mid-stream (as SIGINT does), appends
// while it is down, and restarts it: nothing lost, nothing twice.
func TestTailRestart(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:50])
	r1 := startTail(t, "--db", db, "--from-start", "--quiet", "0", "--format", "json", log)
	events := eventsIn(t, db)
	for i := 50; i < 368; i += 7 { // stop between an open-relay message's client= and its delivery
		appendLines(t, log, lines[i:min(i+7, 368)])
	}
	waitFor(t, "some lines", func() bool { return events() > 300 })
	r1.stop(t)
	appendLines(t, log, lines[368:500])
	r2 := startTail(t, "--db", db, "--quiet", "0", "--format", "json", log)
	waitFor(t, "the restart", func() bool { return strings.Contains(r2.stderr.String(), "following from") })
	appendLines(t, log, lines[500:])
	ref := eventsIn(t, batch(t, lines))()
	waitFor(t, "every event", func() bool { return events() >= ref })
	r2.stop(t)
	if !strings.Contains(r2.stderr.String(), "replayed") {
		t.Errorf("restart did not replay the stored lines:\n%s", r2.stderr.String())
	}
	sameAsBatch(t, db, lines, r1.stdout.String()+r2.stdout.String())
}

// TestTailHelperProcess is the tail command in a process of its own, for
// TestTailKill9. It runs only when that test starts it.
func TestTailHelperProcess(t *testing.T) {
	args := os.Getenv("RELAYSLEUTH_TAIL_HELPER_ARGS")
	if args == "" {
		t.Skip("started by TestTailKill9 only")
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, argv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// TestTailKill9 kills the command with SIGKILL while lines are being
// written, starts it again, and checks the result against a batch ingest.
func TestTailKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:10])
	args, _ := json.Marshal([]string{"tail", "--config", devConfig, "--timezone", "UTC", "--year", "2026",
		"--db", db, "--from-start", "--quiet", "0", "--format", "json", log})
	start := func(out io.Writer) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTailHelperProcess$")
		cmd.Env = append(os.Environ(), "RELAYSLEUTH_TAIL_HELPER_ARGS="+string(args))
		cmd.Stdout = out
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var out1 syncBuffer
	p1 := start(&out1)
	events := eventsIn(t, db)
	i := 10
	for ; i < 600 && events() < 250; i += 3 {
		appendLines(t, log, lines[i:i+3])
		time.Sleep(2 * time.Millisecond)
	}
	appendLines(t, log, lines[i:i+5]) // some lines read, some not yet
	i += 5
	if err := p1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p1.Wait()
	// An alert goes to the outbox before the commit of its lines and is
	// marked sent just after its write: the restart sends the unsent ones.
	// Only one written and not marked (the kill came in between) may be
	// written again.
	repeat := make(map[string]bool)
	printed := alertKeys(t, out1.String())
	for _, k := range unsentAlerts(t, db) {
		if printed[k] > 0 {
			repeat[k] = true
		}
	}
	if len(repeat) > 1 {
		t.Errorf("%d alerts written and not marked sent, want at most the one being sent: %v", len(repeat), repeat)
	}
	appendLines(t, log, lines[i:])
	var out2 syncBuffer
	p2 := start(&out2)
	ref := eventsIn(t, batch(t, lines))()
	waitFor(t, "every event", func() bool { return events() >= ref })
	time.Sleep(100 * time.Millisecond) // the alerts follow the commit
	p2.Process.Signal(syscall.SIGTERM)
	if err := p2.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
	sameAsBatchRepeated(t, db, lines, out1.String()+out2.String(), repeat)
	if n := len(unsentAlerts(t, db)); n > 0 {
		t.Errorf("%d alerts left unsent after the restart", n)
	}
}

// unsentAlerts returns the keys of the outbox's alerts not marked sent.
func unsentAlerts(t *testing.T, dbPath string) []string {
	t.Helper()
	rows, err := openDB(t, dbPath).Query(`SELECT key FROM alerts WHERE sent_ms IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

var errCrash = errors.New("crash")

// TestTailCrashPoints stops the tailer, in process, at each point of a
// commit where a crash leaves a state of its own (as kill -9 would: nothing
// more is written), at the first commit that decides a relay_abuse alert,
// then restarts it on the rest of the lines: every relay_abuse recipient
// is alerted about exactly once, but the one written just before a crash
// that came before its mark, which is written again.
func TestTailCrashPoints(t *testing.T) {
	lines := devLines(t)
	for _, tt := range []struct {
		name  string
		point pipeline.CrashPoint
	}{
		{"queued, lines not committed", pipeline.AfterQueue},
		{"committed, not sent", pipeline.AfterCommit},
		{"sent, not marked", pipeline.AfterSend},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
			appendLines(t, log, lines[:10])
			args := []string{"tail", "--config", devConfig, "--timezone", "UTC", "--year", "2026",
				"--db", db, "--from-start", "--quiet", "0", "--format", "json", log}
			var (
				mu      sync.Mutex
				crashed bool
				at      []string // relay_abuse recipients the crash point saw
			)
			crash := func(p pipeline.CrashPoint, as []analysis.Alert) error {
				mu.Lock()
				defer mu.Unlock()
				if crashed {
					return errCrash // dead: nothing more is written
				}
				if p != tt.point {
					return nil
				}
				for _, a := range as {
					if a.Kind == analysis.AlertRelayAbuse && !a.Summary {
						at = append(at, a.Key)
					}
				}
				crashed = len(at) > 0
				if crashed {
					return errCrash
				}
				return nil
			}
			var out1, err1 syncBuffer
			done := make(chan error, 1)
			go func() { done <- runTailCrashing(t.Context(), args[1:], nil, &out1, &err1, crash) }()
			var runErr error
			stopped := false
			next := 10
			for ; next < len(lines) && !stopped; next += 5 {
				appendLines(t, log, lines[next:min(next+5, len(lines))])
				select {
				case runErr = <-done:
					stopped = true
				case <-time.After(5 * time.Millisecond):
				}
			}
			if !stopped {
				select {
				case runErr = <-done:
				case <-time.After(20 * time.Second):
					t.Fatalf("no crash at %s\nstderr:\n%s", tt.name, err1.String())
				}
			}
			if !errors.Is(runErr, errCrash) {
				t.Fatalf("tail = %v, want the crash\nstderr:\n%s", runErr, err1.String())
			}
			before := alertKeys(t, out1.String())
			for _, k := range at {
				if before[k] != 0 && tt.point != pipeline.AfterSend {
					t.Errorf("%s alerted before the crash", k)
				}
			}
			appendLines(t, log, lines[min(next, len(lines)):])

			r2 := startTail(t, "--db", db, "--quiet", "0", "--format", "json", log)
			waitFor(t, "the outbox sent", func() bool {
				return strings.Contains(r2.stderr.String(), "alerts decided before the restart")
			})
			events := eventsIn(t, db)
			ref := eventsIn(t, batch(t, lines))()
			waitFor(t, "every event", func() bool { return events() >= ref })
			r2.stop(t)
			repeat := make(map[string]bool)
			if tt.point == pipeline.AfterSend {
				repeat[at[0]] = true
				if n := alertKeys(t, out1.String()+r2.stdout.String())[at[0]]; n != 2 {
					t.Errorf("%s, sent and not marked at the crash: alerted %d times, want 2", at[0], n)
				}
			}
			sameAsBatchRepeated(t, db, lines, out1.String()+r2.stdout.String(), repeat)
			if n := len(unsentAlerts(t, db)); n > 0 {
				t.Errorf("%d alerts left unsent after the restart", n)
			}
		})
	}
}

// TestTailExecAndMetrics runs --exec with a real shell command per alert
// and scrapes --metrics over HTTP.
func TestTailExecAndMetrics(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	alerts := filepath.Join(dir, "alerts")
	if err := os.Mkdir(alerts, 0o755); err != nil {
		t.Fatal(err)
	}
	appendLines(t, log, lines[:300])
	r := startTail(t, "--db", db, "--metrics", "127.0.0.1:0", "--quiet", "0", "--attempts", "3",
		"--exec", `cat > "$(mktemp -p '`+alerts+`' alert.XXXXXX)"; [ "$(cat /dev/null)" = "" ] && exit 3`, log)
	addr := regexp.MustCompile(`metrics on (http://\S+/metrics)`)
	waitFor(t, "the metrics address", func() bool { return addr.MatchString(r.stderr.String()) })
	url := addr.FindStringSubmatch(r.stderr.String())[1]
	waitFor(t, "the start", func() bool { return strings.Contains(r.stderr.String(), "following from") })
	appendLines(t, log, lines[300:])
	// 46: the relay report's count; a content filter's second hop is not alerted again.
	waitFor(t, "46 relay alerts", func() bool { return strings.Count(r.stdout.String(), "RELAY_ABUSE") == 46 })
	waitFor(t, "a relay_attempts alert (--attempts 3)", func() bool { return strings.Contains(r.stdout.String(), "RELAY_ATTEMPTS") })
	var nAlerts int
	waitFor(t, "the commands' failures reported", func() bool {
		nAlerts = strings.Count(r.stdout.String(), "\n")
		return strings.Count(r.stderr.String(), "--exec for") == nAlerts
	})
	es, _ := os.ReadDir(alerts)
	if len(es) != nAlerts {
		t.Errorf("--exec ran %d times for %d alerts", len(es), nAlerts)
	}
	for _, e := range es {
		data, err := os.ReadFile(filepath.Join(alerts, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var a analysis.Alert
		if err := json.Unmarshal(data, &a); err != nil || a.Kind == "" {
			t.Errorf("--exec got %q: %v", data, err)
		}
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`relaysleuth_tail_alerts_sent_total{kind="relay_abuse"} 46`,
		`relaysleuth_tail_verdicts_total{mta="postfix",verdict="relay_abuse"} 50`,
		`relaysleuth_tail_lines_read_total{file="` + log + `"} 439`,
		`relaysleuth_tail_events_total{mta="postfix"}`,
		`relaysleuth_tail_lag_seconds`,
		fmt.Sprintf(`relaysleuth_tail_exec_failures_total %d`, len(es)),
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(body), "relaysleuth_"))
		}
	}
}

// TestTailBurstCommits appends a burst of lines to a followed file at
// once: they are stored in one or two transactions (the batch is committed
// once the file is read to its end, or after commitInterval), not one per
// line or per handoff from the reader.
func TestTailBurstCommits(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:10])
	var (
		mu      sync.Mutex
		commits int
	)
	count := func(p pipeline.CrashPoint, _ []analysis.Alert) error {
		if p == pipeline.AfterCommit {
			mu.Lock()
			commits++
			mu.Unlock()
		}
		return nil
	}
	committed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return commits
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runTailCrashing(ctx, []string{"--config", devConfig, "--timezone", "UTC", "--year", "2026",
			"--db", db, "--quiet", "0", log}, nil, &stdout, &stderr, count)
	}()
	waitFor(t, "the start", func() bool { return strings.Contains(stderr.String(), "following from") })
	waitFor(t, "the first commit", func() bool { return committed() > 0 })
	before := committed()
	appendLines(t, log, lines[10:])
	ref := eventsIn(t, batch(t, lines[10:]))()
	events := eventsIn(t, db)
	waitFor(t, "every event", func() bool { return events() >= ref })
	if n := committed() - before; n > 2 {
		t.Errorf("%d lines written at once were stored in %d transactions, want 1 or 2", len(lines)-10, n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail: %v\n%s", err, stderr.String())
	}
}

// TestTailOutOfOrder feeds a message's lines with the queue manager's
// lines logged before the smtpd line that introduces the client.
func TestTailOutOfOrder(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines[:10])
	r := startTail(t, "--db", db, "--quiet", "0", log)
	waitFor(t, "the start", func() bool { return strings.Contains(r.stderr.String(), "following from") })
	client := strings.Replace(lines[365], "19:28:47", "19:28:49", 1) // its stamp a little later
	appendLines(t, log, []string{lines[366], lines[367], client, lines[369], lines[370]})
	waitFor(t, "the alert", func() bool { return strings.Contains(r.stdout.String(), "fatima2366@victim.example") })
}

// TestTailFileAppearsAndStdin follows a file that does not exist yet, and
// reads a stream on standard input to its end.
func TestTailFileAppearsAndStdin(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "later.log"), filepath.Join(dir, "t.db")
	r := startTail(t, "--db", db, "--quiet", "0", log)
	waitFor(t, "the start", func() bool { return strings.Contains(r.stderr.String(), "following from the start") })
	appendLines(t, log, lines[360:372])
	waitFor(t, "the alert", func() bool { return strings.Contains(r.stdout.String(), "fatima2366@victim.example") })

	var stdout, stderr syncBuffer
	db2 := filepath.Join(dir, "stdin.db")
	err := runWithStdin(t.Context(), []string{"tail", "--db", db2, "--config", devConfig, "--timezone", "UTC", "--year", "2026",
		"--quiet", "0", "--format", "json", "-"}, strings.NewReader(strings.Join(lines, "")), &stdout, &stderr)
	if err != nil {
		t.Fatalf("tail -: %v\n%s", err, stderr.String())
	}
	sameAsBatch(t, db2, lines, stdout.String())
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// BenchmarkTailFollow reports the lines per second the command stores
// while following a file that grows, on the generated log BenchmarkIngest
// reads (benchLines lines), so that the two rates compare. Each iteration
// starts a tail with a fresh database on an empty file (not timed), then
// appends the log in 64 KiB writes as fast as they go, as a busy syslog
// daemon would; the clock runs from the first write until the source's
// committed position counts the last line, so it includes the wait for
// the tail's next poll (up to 50 ms) and every commit.
func BenchmarkTailFollow(b *testing.B) {
	run := writeGenerated(b, "postfix", benchLines, 1)
	data, err := os.ReadFile(filepath.Join(run.dir, run.logs[0]))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		log, db := filepath.Join(dir, fmt.Sprintf("%d.log", i)), filepath.Join(dir, fmt.Sprintf("%d.db", i))
		i++
		appendLines(b, log, nil)
		ctx, cancel := context.WithCancel(b.Context())
		var stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run1Tail(ctx, []string{"tail", "--config", filepath.Join(run.dir, "config.json"),
				"--timezone", "UTC", "--db", db, log}, &stderr)
		}()
		for !strings.Contains(stderr.String(), "following from") {
			time.Sleep(time.Millisecond)
		}
		sqlDB := openDB(b, db)
		b.StartTimer()

		w, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			if _, err := w.Write(rest[:n]); err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		for {
			var n int
			err := sqlDB.QueryRow(`SELECT coalesce(max(lines), 0) FROM sources`).Scan(&n)
			if err != nil {
				b.Fatal(err)
			}
			if n >= benchLines {
				break
			}
			time.Sleep(5 * time.Millisecond) // the query competes with the tail for the CPU
		}

		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatalf("tail: %v\n%s", err, stderr.String())
		}
		sqlDB.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(db + suffix)
		}
		os.Remove(log)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*benchLines)/b.Elapsed().Seconds(), "lines/s")
}

// run1Tail runs the tail command line args until ctx is done, its alerts
// discarded.
func run1Tail(ctx context.Context, args []string, stderr io.Writer) error {
	return runWithStdin(ctx, args, bytes.NewReader(nil), io.Discard, stderr)
}

// runTailCrashing runs 'relaysleuth tail args...' with a crash func for
// the tailer.
func runTailCrashing(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, crash func(pipeline.CrashPoint, []analysis.Alert) error) error {
	root := buildRoot(stdin, crash)
	root.SetArgs(append([]string{"tail"}, args...))
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// tail and report count a client's relayed recipients alike: once each, at
// the first hop (a content filter's second hop is not another relay).
func TestTailCountsLikeReport(t *testing.T) {
	lines := devLines(t)
	dir := t.TempDir()
	log, db := filepath.Join(dir, "mail.log"), filepath.Join(dir, "t.db")
	appendLines(t, log, lines)
	r := startTail(t, "--db", db, "--quiet", "0", "--format", "json", "--from-start", log)
	events := eventsIn(t, db)
	ref := eventsIn(t, batch(t, lines))()
	waitFor(t, "every event", func() bool { return events() >= ref })
	time.Sleep(300 * time.Millisecond) // the alerts of the last commit
	r.stop(t)
	perClient := map[string]int{}
	var last time.Time
	for line := range strings.Lines(r.stdout.String()) {
		var a analysis.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		if a.Time.Before(last) {
			t.Errorf("alert of %s printed after one of %s: not in time order", a.Time, last)
		}
		last = a.Time
		if a.Kind == analysis.AlertRelayAbuse && !a.Summary {
			perClient[a.Client]++
		}
	}
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "relay"}, &out, nil); !errors.Is(err, errRelayFound) {
		t.Fatalf("report relay: %v", err)
	}
	var clients []analysis.ClientReport
	if err := json.Unmarshal(out.Bytes(), &clients); err != nil {
		t.Fatal(err)
	}
	if len(clients) == 0 {
		t.Fatal("no relay clients reported")
	}
	for _, c := range clients {
		if perClient[c.ClientIP] != c.Count {
			t.Errorf("client %s: tail alerted %d relayed recipients, report relay counts %d", c.ClientIP, perClient[c.ClientIP], c.Count)
		}
	}
}

// tail on a path whose directory does not exist says so at once.
func TestTailMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nosuchdir", "mail.log")
	var stderr bytes.Buffer
	err := runCLI(t, []string{"tail", "--config", devConfig, "--db", filepath.Join(t.TempDir(), "t.db"), path}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "nosuchdir does not exist") {
		t.Errorf("tail %s: %v, want the missing directory named", path, err)
	}
}
