package pipeline

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// TestAccountsLogReadTwice: a log read again under another name (a copy
// that lost its first line, so not known as the same file) stores its
// failed logins twice; they count once, and no account becomes
// suspicious for it.
func TestAccountsLogReadTwice(t *testing.T) {
	data, err := os.ReadFile("../testdata/postfix/dev/postfix.log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "mail.log"), filepath.Join(dir, "mail.log.copy")
	if err := os.WriteFile(a, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, data[bytes.IndexByte(data, '\n')+1:], 0o644); err != nil {
		t.Fatal(err)
	}
	var policy analysis.Policy
	if err := policy.AddDomains("corp.example", "corp-mail.example", "mail.corp.example", "localhost"); err != nil {
		t.Fatal(err)
	}
	if err := policy.AddNetworks("127.0.0.1/32"); err != nil {
		t.Fatal(err)
	}
	failures := func(paths ...string) (int, []analysis.AccountReport) {
		t.Helper()
		store, err := schema.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		opts := Options{Year: 2026, Location: time.UTC}
		ins, errs := Prepare(t.Context(), paths, opts, nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if _, err := (&Ingest{Store: store, Policy: policy, Options: opts, Log: io.Discard}).Run(t.Context(), ins); err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		n, _, err := schema.AccountFailures{Ctx: t.Context(), Store: store}.FromAddress(netip.MustParseAddr("127.195.142.247"), day, day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		accts, err := store.Accounts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n, accts
	}
	once, _ := failures(a)
	twice, accts := failures(a, b)
	if once != 4 || twice != once {
		t.Errorf("failed logins from 127.195.142.247: %d read once, %d read twice; want 4 and 4", once, twice)
	}
	for _, r := range accts {
		if r.Verdict != analysis.AccountOK {
			t.Errorf("account %s is %s %v after the log was read twice", r.Account, r.Verdict, r.Signals)
		}
	}
}
