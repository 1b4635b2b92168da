package analysis

import (
	"reflect"
	"testing"
)

func TestVerdictCounts(t *testing.T) {
	m := map[Verdict]int{RelayAbuse: 2, RelayAttemptRejected: 0, "unknown_to_this_build": 5}
	if got, want := VerdictCounts(m), []VerdictCount{{RelayAbuse, 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("VerdictCounts = %v, want %v", got, want)
	}
	before := map[Verdict]int{RelayAbuse: 2, RelayAttemptRejected: 4}
	after := map[Verdict]int{RelayAbuse: 0, RelayAttemptRejected: 4, AccountAbuse: 2}
	got := VerdictChanges(before, after)
	if len(got) != 2 || got[0] != (VerdictChange{RelayAbuse, 2, 0}) {
		t.Errorf("VerdictChanges = %v, want relay_abuse 2 -> 0 first, then account_abuse 0 -> 2", got)
	}
	if len(VerdictChanges(before, before)) != 0 {
		t.Error("VerdictChanges of the same counts is not empty")
	}
	if n := ClientsTotal([]ClientReport{{Count: 2}, {Count: 3}}); n != 5 {
		t.Errorf("ClientsTotal = %d, want 5", n)
	}
}
