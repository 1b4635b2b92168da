package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/internal/loggen"
	"github.com/relaysleuth/relaysleuth/schema"
)

// lockedBuffer is written by the committer's goroutine and read by the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTailAccountAlerts follows the Postfix accounts scenario from its
// start: one account_takeover alert per attacker address, one
// bruteforce_success for the address that guessed bob's password, nothing
// about the other accounts, nothing twice.
func TestTailAccountAlerts(t *testing.T) {
	dir := t.TempDir()
	var logBuf bytes.Buffer
	_, truth, err := loggen.GenerateAccounts(&logBuf, io.Discard, loggen.Options{Format: "postfix", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mail.log")
	if err := os.WriteFile(path, logBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var policy analysis.Policy
	cfg := loggen.Policy()
	if err := policy.AddDomains(cfg.LocalDomains...); err != nil {
		t.Fatal(err)
	}
	if err := policy.AddNetworks(cfg.TrustedNetworks...); err != nil {
		t.Fatal(err)
	}
	store, err := schema.Open(t.Context(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out lockedBuffer
	tl := &Tail{
		Store: store, Policy: policy, Options: Options{Year: 2026, Location: time.UTC},
		Rules:  analysis.NewAlertRules(0, time.Minute, 0, time.Minute, 0),
		Alerts: &Alerter{Out: &out, Log: io.Discard, JSON: true, Timeout: time.Second},
		Log:    io.Discard, FromStart: true, Poll: true, AccountsEvery: time.Nanosecond,
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx, []string{path}) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "193.32.162.58") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the last commits
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	type key struct{ kind, account, client string }
	got := map[key]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var a analysis.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		if a.Account == "" {
			continue // relay or brute-force bursts: not ours
		}
		got[key{a.Kind, a.Account, a.Client}]++
		if len(a.Evidence) == 0 || a.Text == "" {
			t.Errorf("alert without evidence or text: %s", line)
		}
	}
	want := map[key]int{}
	for _, tr := range truth {
		for i, ip := range tr.Attackers {
			want[key{analysis.AlertAccountTakeover, tr.Account, ip}] = 1
			if tr.Case == loggen.CaseBruteforced && i == 0 {
				want[key{analysis.AlertBruteforceSuccess, tr.Account, ip}] = 1
			}
		}
	}
	for k, n := range got {
		if want[k] != n {
			t.Errorf("%d alerts %+v, want %d", n, k, want[k])
		}
	}
	for k := range want {
		if got[k] == 0 {
			t.Errorf("no alert %+v", k)
		}
	}
	accts, err := store.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var compromised []string
	for _, a := range accts {
		if a.Verdict == analysis.AccountCompromised {
			compromised = append(compromised, a.Account)
		}
	}
	if slices.Sort(compromised); !slices.Equal(compromised, []string{"bob", "carol"}) {
		t.Errorf("compromised after tail: %v, want bob and carol", compromised)
	}
}
