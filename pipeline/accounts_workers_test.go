package pipeline

import (
	"reflect"
	"testing"
	"time"
)

// TestAccountsSideBySide: a pass that judges the accounts four at a time
// gives the reports, in the accounts' order, and the changes a pass judging
// them one by one gives, and leaves the scenario's verdicts right (under
// -race, it also shows the judges share nothing unguarded).
func TestAccountsSideBySide(t *testing.T) {
	store, rows, truth, policy := accountScenarioPolicy(t, "postfix")
	defer func(f func() int) { accountWorkers = f }(accountWorkers)
	accountWorkers = func() int { return 1 }
	one, err := Accounts(t.Context(), store, policy, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	accountWorkers = func() int { return 4 }
	four, err := Accounts(t.Context(), store, policy, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Accounts) < 4 {
		t.Fatalf("the scenario has %d accounts: too few to judge side by side", len(one.Accounts))
	}
	for i := 1; i < len(four.Accounts); i++ {
		if a, b := four.Accounts[i-1].Account, four.Accounts[i].Account; a >= b {
			t.Errorf("reports out of the accounts' order: %q before %q", a, b)
		}
	}
	if !reflect.DeepEqual(one.Accounts, four.Accounts) {
		t.Errorf("four at a time judged\n%+v\none at a time\n%+v", four.Accounts, one.Accounts)
	}
	if one.AccountsApplied != four.AccountsApplied {
		t.Errorf("four at a time changed %+v, one at a time %+v", four.AccountsApplied, one.AccountsApplied)
	}
	checkAccountScenario(t, store, rows, truth)
}
