package pipeline

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/internal/loggen"
	"github.com/relaysleuth/relaysleuth/schema"
)

// accountScenario generates the accounts scenario of issue 15 in format,
// ingests it and returns the store, the truth CSV rows and the truth
// about the accounts.
func accountScenario(t *testing.T, format string) (*schema.Store, [][]string, []loggen.AccountTruth) {
	store, rows, truth, _ := accountScenarioPolicy(t, format)
	return store, rows, truth
}

func accountScenarioPolicy(t *testing.T, format string) (*schema.Store, [][]string, []loggen.AccountTruth, analysis.Policy) {
	t.Helper()
	dir := t.TempDir()
	var logBuf, truthBuf bytes.Buffer
	opt := loggen.Options{Format: format, Seed: 15}
	path := filepath.Join(dir, "mail.log")
	if format == "exchange" {
		opt.Dir = filepath.Join(dir, "Logs")
		path = opt.Dir
	}
	_, truth, err := loggen.GenerateAccounts(&logBuf, &truthBuf, opt)
	if err != nil {
		t.Fatal(err)
	}
	if format != "exchange" {
		if err := os.WriteFile(path, logBuf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := csv.NewReader(&truthBuf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cfg := loggen.Policy()
	var policy analysis.Policy
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
	t.Cleanup(func() { store.Close() })
	opts := Options{Year: 2026, Location: time.UTC}
	paths, errs := Expand([]string{path})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ins, errs := Prepare(t.Context(), paths, opts, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ing := &Ingest{Store: store, Policy: policy, Options: opts, Log: io.Discard}
	if _, err := ing.Run(t.Context(), ins); err != nil {
		t.Fatal(err)
	}
	return store, rows, truth, policy
}

func TestAccountScenarioE2E(t *testing.T) {
	for _, format := range []string{"postfix", "exim", "exchange"} {
		t.Run(format, func(t *testing.T) {
			store, rows, truth := accountScenario(t, format)
			checkAccountScenario(t, store, rows, truth)
		})
	}
}

// TestAccountScenarioAgain: the verdicts stay as they are when the pass
// runs again, after a rejudge, and after a tighter policy is taken back.
func TestAccountScenarioAgain(t *testing.T) {
	store, rows, truth, policy := accountScenarioPolicy(t, "postfix")
	sum, err := store.Summary(t.Context(), analysis.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	abused := sum.Verdicts[analysis.AccountAbuse]
	res, err := Accounts(t.Context(), store, policy, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Restored == 0 || res.Abused != res.Restored {
		t.Errorf("the pass again gave back %d verdicts and took %d, want as many as before, not 0", res.Restored, res.Abused)
	}
	checkAccountScenario(t, store, rows, truth)
	// A policy under which nothing is abusive gives every verdict back.
	strict := policy
	strict.Accounts.VolumeRecipients, strict.Accounts.VolumeDomains, strict.Accounts.BounceRecipients = 1e6, 1e6, 1e6
	strict.Accounts.MinHistoryDays = 1000
	if _, err := Rejudge(t.Context(), store, strict); err != nil {
		t.Fatal(err)
	}
	sum, err = store.Summary(t.Context(), analysis.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Verdicts[analysis.AccountAbuse] != 0 {
		t.Errorf("%d account_abuse under a policy that finds none", sum.Verdicts[analysis.AccountAbuse])
	}
	err = store.Recipients(t.Context(), analysis.Filter{Verdict: analysis.AuthenticatedOutbound}, func(r analysis.Recipient) error {
		if strings.Contains(r.Reason, "compromised account") {
			return fmt.Errorf("reason kept the account note: %q", r.Reason)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if _, err := Rejudge(t.Context(), store, policy); err != nil {
		t.Fatal(err)
	}
	sum, err = store.Summary(t.Context(), analysis.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Verdicts[analysis.AccountAbuse] != abused {
		t.Errorf("rejudge: %d account_abuse, the ingest gave %d", sum.Verdicts[analysis.AccountAbuse], abused)
	}
	checkAccountScenario(t, store, rows, truth)
}

// checkAccountScenario checks the "Done when" of issue 15.
func checkAccountScenario(t *testing.T, store *schema.Store, rows [][]string, truth []loggen.AccountTruth) {
	t.Helper()
	reps, err := store.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]analysis.AccountReport{}
	for _, r := range reps {
		byName[r.Account] = r
		t.Logf("%s %s %v ips=%v first=%s rcpts=%d msgs=%d | %s", r.Account, r.Verdict, r.Signals, r.ClientIPs, r.FirstAbuse.Format(time.RFC3339), r.Recipients, r.Messages, r.Baseline)
		for _, s := range r.Sessions {
			t.Logf("    %s %s-%s %v abusive=%v rcpts=%d", s.ClientIP, s.From.Format(time.RFC3339), s.To.Format("15:04"), s.Signals, s.Abusive, s.Recipients)
		}
	}
	for _, tr := range truth {
		r, ok := byName[tr.Account]
		if !ok {
			t.Errorf("account %s (%s) not reported", tr.Account, tr.Case)
			continue
		}
		if !tr.Compromised {
			if r.Verdict == analysis.AccountCompromised {
				t.Errorf("account %s (%s) is compromised, want not", tr.Account, tr.Case)
			}
			continue
		}
		if r.Verdict != analysis.AccountCompromised {
			t.Errorf("account %s (%s) is %s, want compromised", tr.Account, tr.Case, r.Verdict)
		}
		want := slices.Sorted(slices.Values(tr.Attackers))
		if !slices.Equal(r.ClientIPs, want) {
			t.Errorf("account %s: client_ips %v, want %v", tr.Account, r.ClientIPs, want)
		}
		if d := r.FirstAbuse.Sub(tr.FirstSpam); d < -5*time.Minute || d > 5*time.Minute {
			t.Errorf("account %s: first_abuse %s, first spam %s", tr.Account, r.FirstAbuse, tr.FirstSpam)
		}
	}
	for name := range byName {
		if !slices.ContainsFunc(truth, func(tr loggen.AccountTruth) bool { return tr.Account == name }) {
			if byName[name].Verdict == analysis.AccountCompromised {
				t.Errorf("account %s is compromised, not in the truth", name)
			}
		}
	}
	// Recipients: recall and precision of account_abuse against the truth
	// labels, matched by (message-id or queue id, recipient).
	got := map[[2]string]analysis.Verdict{}
	err = store.Recipients(t.Context(), analysis.Filter{}, func(r analysis.Recipient) error {
		if r.Authenticated {
			got[[2]string{r.QueueID, r.Recipient}] = r.Verdict
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var spam, spamFlagged, flagged, flaggedSpam int
	truthLabel := map[[2]string]string{}
	for _, row := range rows[1:] {
		if row[4] == "yes" && row[7] != loggen.LabelAuthFailure {
			truthLabel[[2]string{row[2], row[6]}] = row[7]
		}
	}
	for k, label := range truthLabel {
		if label == loggen.LabelAccountAbuse {
			spam++
			if got[k] == analysis.AccountAbuse {
				spamFlagged++
			}
		}
	}
	for k, v := range got {
		if v == analysis.AccountAbuse {
			flagged++
			if truthLabel[k] == loggen.LabelAccountAbuse {
				flaggedSpam++
			}
		}
	}
	t.Logf("spam recipients %d, of them account_abuse %d; account_abuse %d, of them spam %d", spam, spamFlagged, flagged, flaggedSpam)
	if spam == 0 || float64(spamFlagged) < 0.95*float64(spam) {
		t.Errorf("account_abuse covers %d of %d spam recipients, want at least 95%%", spamFlagged, spam)
	}
	if flagged == 0 || float64(flaggedSpam) < 0.99*float64(flagged) {
		t.Errorf("%d of %d account_abuse recipients are spam, want at least 99%%", flaggedSpam, flagged)
	}
}
