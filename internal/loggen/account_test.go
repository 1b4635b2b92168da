package loggen

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"testing"
	"time"
)

// TestGenerateAccounts: the same seed gives the same log; the truth has the
// two take-overs and the spam's recipients, spread over three weeks.
func TestGenerateAccounts(t *testing.T) {
	gen := func() ([]byte, []byte, Stats, []AccountTruth) {
		var logBuf, truthBuf bytes.Buffer
		st, truth, err := GenerateAccounts(&logBuf, &truthBuf, Options{Format: "postfix", Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		return logBuf.Bytes(), truthBuf.Bytes(), st, truth
	}
	log1, truth1, st, accts := gen()
	log2, truth2, _, _ := gen()
	if !bytes.Equal(log1, log2) || !bytes.Equal(truth1, truth2) {
		t.Error("two runs with one seed differ")
	}
	rows, err := csv.NewReader(bytes.NewReader(truth1)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	spam := 0
	for _, r := range rows[1:] {
		if r[7] == LabelAccountAbuse {
			spam++
			if r[4] != "yes" {
				t.Errorf("spam recipient not authenticated: %v", r)
			}
		}
	}
	if spam < 1000 || st.Labels[LabelAccountAbuse] != spam {
		t.Errorf("%d spam recipients (stats %d), want over 1000", spam, st.Labels[LabelAccountAbuse])
	}
	cases := map[string]int{}
	for _, a := range accts {
		cases[a.Case]++
		if a.Compromised != (len(a.Attackers) > 0) || a.Compromised == a.FirstSpam.IsZero() {
			t.Errorf("account %+v: compromised, attackers and spam disagree", a)
		}
		if a.Compromised && a.LastSpam.Sub(a.FirstSpam) < time.Hour {
			t.Errorf("account %s: spam for %s only", a.Account, a.LastSpam.Sub(a.FirstSpam))
		}
	}
	for _, c := range []string{CaseBruteforced, CasePhished, CaseNewsletter, CaseTraveller, CaseMobile, CaseUnderAttack, CaseMistyper, CaseRegular} {
		if cases[c] == 0 {
			t.Errorf("no account of case %s", c)
		}
	}
	first := bytes.SplitN(log1, []byte("\n"), 2)[0]
	last := bytes.TrimSpace(log1[bytes.LastIndexByte(bytes.TrimSpace(log1), '\n')+1:])
	if !bytes.HasPrefix(first, []byte("Mar  2 ")) || !bytes.HasPrefix(last, []byte("Mar 22 ")) && !bytes.HasPrefix(last, []byte("Mar 23 ")) {
		t.Errorf("the log runs from %q to %q, want three weeks from Mar 2", first[:15], last[:15])
	}
	for _, f := range []string{"exim", "exchange"} {
		opt := Options{Format: f, Seed: 9}
		if f == "exchange" {
			opt.Dir = filepath.Join(t.TempDir(), "logs")
		}
		var logBuf, truthBuf bytes.Buffer
		st, got, err := GenerateAccounts(&logBuf, &truthBuf, opt)
		if err != nil || len(got) != len(accts) || st.Labels[LabelAccountAbuse] < 1000 {
			t.Errorf("%s: %v, %d accounts, %d spam recipients", f, err, len(got), st.Labels[LabelAccountAbuse])
		}
	}
	if _, _, err := GenerateAccounts(&bytes.Buffer{}, &bytes.Buffer{}, Options{Format: "sendmail"}); err == nil {
		t.Error("unknown format: no error")
	}
	if _, _, err := GenerateAccounts(&bytes.Buffer{}, &bytes.Buffer{}, Options{Format: "exchange"}); err == nil {
		t.Error("exchange without a folder: no error")
	}
}
