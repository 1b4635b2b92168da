package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/internal/loggen"
)

// accountsDB ingests the Exim accounts scenario and returns the database,
// the truth CSV's rows, the truth about the accounts and what ingest said.
func accountsDB(t *testing.T) (string, [][]string, []loggen.AccountTruth, string) {
	t.Helper()
	dir := t.TempDir()
	logPath, cfg, db := filepath.Join(dir, "mainlog"), filepath.Join(dir, "config.json"), filepath.Join(dir, "rs.db")
	var logBuf, truthBuf bytes.Buffer
	_, truth, err := loggen.GenerateAccounts(&logBuf, &truthBuf, loggen.Options{Format: "exim", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&truthBuf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, logPath, logBuf.Bytes())
	var cfgBuf bytes.Buffer
	if err := loggen.WriteConfig(&cfgBuf); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, cfgBuf.Bytes())
	var stderr bytes.Buffer
	if err := runCLI(t, []string{"ingest", "--db", db, "--config", cfg, logPath}, io.Discard, &stderr); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr.String())
	}
	return db, rows, truth, stderr.String()
}

// TestReportAccounts ingests the accounts scenario of issue 15 (Exim: the
// formats are compared end to end in pipeline) and reads 'report
// accounts' in its three formats, with the fields the issue lists.
func TestReportAccounts(t *testing.T) {
	db, _, truth, stderr := accountsDB(t)
	for _, want := range []string{"account bob is compromised (", "account carol is compromised (", "report accounts"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("ingest does not say %q:\n%s", want, stderr)
		}
	}

	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "accounts", "--db", db, "--format", "json"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	var accts []map[string]any
	if err := json.Unmarshal(out.Bytes(), &accts); err != nil {
		t.Fatalf("report accounts --format json: %v\n%s", err, out.String())
	}
	if len(accts) != len(truth) {
		t.Fatalf("report accounts has %d accounts, want %d", len(accts), len(truth))
	}
	for _, field := range []string{"account", "verdict", "signals", "first_abuse", "last_abuse", "client_ips", "recipients", "messages", "baseline", "evidence"} {
		if _, ok := accts[0][field]; !ok {
			t.Errorf("report accounts JSON lacks %q: %v", field, accts[0])
		}
	}
	for _, a := range accts {
		name := a["account"].(string)
		i := slices.IndexFunc(truth, func(tr loggen.AccountTruth) bool { return tr.Account == name })
		if i < 0 {
			t.Errorf("account %q is not in the scenario", name)
			continue
		}
		tr := truth[i]
		if got := a["verdict"] == "compromised"; got != tr.Compromised {
			t.Errorf("%s (%s): verdict %v", name, tr.Case, a["verdict"])
		}
		if !tr.Compromised {
			if a["first_abuse"] != nil || len(a["client_ips"].([]any)) != 0 {
				t.Errorf("%s: first_abuse %v, client_ips %v; want null and []", name, a["first_abuse"], a["client_ips"])
			}
			continue
		}
		first, err := time.Parse(time.RFC3339, a["first_abuse"].(string))
		if err != nil || first.Sub(tr.FirstSpam).Abs() > 5*time.Minute {
			t.Errorf("%s: first_abuse %v, first spam %s", name, a["first_abuse"], tr.FirstSpam)
		}
		var ips []string
		for _, ip := range a["client_ips"].([]any) {
			ips = append(ips, ip.(string))
		}
		if !slices.Equal(ips, slices.Sorted(slices.Values(tr.Attackers))) {
			t.Errorf("%s: client_ips %v, want %v", name, ips, tr.Attackers)
		}
		if a["recipients"].(float64) < 100 || len(a["evidence"].([]any)) == 0 || len(a["signals"].([]any)) < 3 {
			t.Errorf("%s: recipients %v, evidence %v, signals %v", name, a["recipients"], a["evidence"], a["signals"])
		}
	}

	out.Reset()
	if err := runCLI(t, []string{"report", "accounts", "--db", db, "--format", "csv"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := "account,verdict,signals,first_abuse,last_abuse,client_ips,recipients,messages,baseline,evidence"; strings.Join(recs[0], ",") != want || len(recs) != len(truth)+1 {
		t.Errorf("CSV header %q and %d rows, want %q and %d", strings.Join(recs[0], ","), len(recs)-1, want, len(truth))
	}

	out.Reset()
	if err := runCLI(t, []string{"report", "accounts", "--db", db}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "10 accounts judged: 2 compromised: bob since ") || !strings.Contains(out.String(), "ACCOUNT") {
		t.Errorf("report accounts table:\n%s", out.String())
	}

	// The spam is account_abuse in the other reports too.
	out.Reset()
	if err := runCLI(t, []string{"report", "recipients", "--db", db, "--verdict", "account_abuse", "--format", "csv"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n") - 1; n < 1000 || !strings.Contains(out.String(), "compromised account bob (") {
		t.Errorf("report recipients --verdict account_abuse: %d rows", n)
	}
}

// TestInvestigateCompromisedAccount: a spam message of a taken-over
// account is investigated to "compromised account", with the login that
// started the take-over; the account's own mail that day to
// "authenticated".
func TestInvestigateCompromisedAccount(t *testing.T) {
	db, rows, truth, _ := accountsDB(t)
	var bob loggen.AccountTruth
	for _, tr := range truth {
		if tr.Case == loggen.CaseBruteforced {
			bob = tr
		}
	}
	var spam, own []string // message-id, client
	for _, r := range rows[1:] {
		// mta, message_id, queue_id, client_ip, authenticated, sender, recipient, label, notes
		if r[4] != "yes" || !strings.HasPrefix(r[5], "bob@") {
			continue
		}
		switch {
		case spam == nil && r[7] == loggen.LabelAccountAbuse && r[3] == bob.Attackers[0]:
			spam = []string{r[1], r[3]}
		case r[7] == loggen.LabelAuthenticated && strings.HasPrefix(r[1], "<"+bob.FirstSpam.Format("20060102")):
			own = []string{r[1], r[3]}
		}
	}
	if spam == nil || own == nil {
		t.Fatalf("no spam (%v) or own mail (%v) of bob on the day in the truth", spam, own)
	}
	inv, err := investigateJSON(t, db, "--message-id", spam[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Incidents) != 1 {
		t.Fatalf("%d incidents for %s", len(inv.Incidents), spam[0])
	}
	c := inv.Incidents[0].Cause
	if c.Kind != analysis.CauseCompromised || c.ClientIP != spam[1] || c.AuthUser != "bob" || c.Verdict != analysis.AccountAbuse {
		t.Errorf("spam: cause %s from %s as %s (%s), want compromised_account from %s as bob", c.Kind, c.ClientIP, c.AuthUser, c.Verdict, spam[1])
	}
	if !strings.Contains(c.Summary, "compromised account bob") || !strings.Contains(c.Summary, "it started with the login from "+spam[1]) ||
		!strings.Contains(c.Summary, "failed login(s) from there") {
		t.Errorf("spam: summary %q does not name the login that started it", c.Summary)
	}
	inv, err = investigateJSON(t, db, "--message-id", own[0])
	if err != nil {
		t.Fatal(err)
	}
	if c := inv.Incidents[0].Cause; c.Kind != analysis.CauseAuthenticated {
		t.Errorf("bob's own mail: cause %s, want authenticated", c.Kind)
	}
}

// TestReportAccountsSample: the accounts of the real sample log (a few
// days' use at most) are judged, none compromised.
func TestReportAccountsSample(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "rs.db")
	if err := runCLI(t, []string{"ingest", "--db", db, "--local-domains", "corp.example", sampleLogAbs(t)}, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "accounts", "--db", db, "--format", "json"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	var accts []map[string]any
	if err := json.Unmarshal(out.Bytes(), &accts); err != nil {
		t.Fatal(err)
	}
	if len(accts) == 0 {
		t.Fatal("the sample log's SASL accounts are not in report accounts")
	}
	for _, a := range accts {
		if a["verdict"] == "compromised" {
			t.Errorf("the sample log's account %v is compromised", a["account"])
		}
	}
}

// TestReportAccountsNone: a database without SASL accounts says so in a
// table, and gives an empty list in JSON.
func TestReportAccountsNone(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rs.db")
	log := filepath.Join(t.TempDir(), "mail.log")
	writeFile(t, log, []byte("Mar  2 06:00:01 mail postfix/smtpd[4021]: connect from unknown[203.0.113.9]\n"+
		"Mar  2 06:00:02 mail postfix/smtpd[4021]: 4B49DBC34B: client=unknown[203.0.113.9]\n"+
		"Mar  2 06:00:02 mail postfix/qmgr[4016]: 4B49DBC34B: from=<a@outside.example>, size=615, nrcpt=1 (queue active)\n"+
		"Mar  2 06:00:03 mail postfix/local[4031]: 4B49DBC34B: to=<dave@corp.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)\n"))
	if err := runCLI(t, []string{"ingest", "--db", db, "--local-domains", "corp.example", "--year", "2026", log}, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "accounts", "--db", db}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "No SASL account judged") {
		t.Errorf("report accounts without accounts: %q", out.String())
	}
	out.Reset()
	if err := runCLI(t, []string{"report", "accounts", "--db", db, "--format", "json"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("report accounts --format json without accounts: %q", out.String())
	}
}
