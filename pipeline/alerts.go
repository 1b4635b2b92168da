package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// An Alerter delivers alerts: a line on Out each (JSON when JSON is set),
// and the Exec command, run with 'sh -c' and the alert as JSON on its
// standard input.
type Alerter struct {
	Out     io.Writer
	Log     io.Writer // why a command failed
	JSON    bool
	Exec    string
	Timeout time.Duration
	Jobs    int // most commands running at once
	Metrics *Metrics

	once  sync.Once
	slots chan struct{} // bounds the commands running at once
	wg    sync.WaitGroup
	mu    sync.Mutex // guards Log from the commands' goroutines
}

// send writes a and starts the command for it. It blocks while every
// command slot is taken: a slow command slows the reader, no queue grows.
func (al *Alerter) send(ctx context.Context, a analysis.Alert) error {
	al.once.Do(func() { al.slots = make(chan struct{}, max(al.Jobs, 1)) })
	al.Metrics.alert(a.Kind)
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if al.JSON {
		_, err = fmt.Fprintf(al.Out, "%s\n", body)
	} else {
		_, err = fmt.Fprintln(al.Out, HumanAlert(a))
	}
	if err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	if al.Exec == "" {
		return nil
	}
	select {
	case al.slots <- struct{}{}:
	case <-ctx.Done():
		// Shutting down: run it anyway, the alert is already committed.
		al.slots <- struct{}{}
	}
	al.wg.Add(1)
	go func() {
		defer al.wg.Done()
		defer func() { <-al.slots }()
		if err := al.run(body); err != nil {
			al.Metrics.execFailed()
			al.mu.Lock()
			fmt.Fprintf(al.Log, "relaysleuth: --exec for %s alert about %s: %v\n", a.Kind, parsers.Clean(a.Client), err)
			al.mu.Unlock()
		}
	}()
	return nil
}

// ExecEnv is the whole environment of an --exec command: the alert is on
// its standard input, and nothing of relaysleuth's own environment (a
// database password, a token) is passed on.
var ExecEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "RELAYSLEUTH_ALERT=stdin"}

// run runs the command with body on its stdin. It is not tied to the
// command's context: an alert read before a shutdown is still delivered.
func (al *Alerter) run(body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), al.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", al.Exec)
	cmd.Stdin = bytes.NewReader(append(body, '\n'))
	cmd.Env = ExecEnv
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("timed out after %s", al.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg != "" {
			return fmt.Errorf("%w: %s", err, parsers.Clean(msg))
		}
	}
	return err
}

// Wait waits for the commands still running.
func (al *Alerter) Wait() { al.wg.Wait() }

// HumanAlert renders a for a terminal; every log field goes through clean.
func HumanAlert(a analysis.Alert) string {
	kind := strings.ToUpper(a.Kind)
	if a.Summary {
		kind += " (summary)"
	}
	s := fmt.Sprintf("%s %s client %s: %s", a.Time.UTC().Format(time.RFC3339), kind, parsers.Clean(a.Client), parsers.Clean(a.Text))
	if len(a.Evidence) > 0 {
		s += " [" + parsers.Clean(a.Evidence[0])
		if len(a.Evidence) > 1 {
			s += fmt.Sprintf(" +%d", len(a.Evidence)-1)
		}
		s += "]"
	}
	return s
}
