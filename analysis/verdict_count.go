package analysis

// A VerdictCount is how many recipients have a verdict.
type VerdictCount struct {
	Verdict Verdict
	Count   int
}

// VerdictCounts are the verdicts of m that any recipient has, in the
// order of Verdicts.
func VerdictCounts(m map[Verdict]int) []VerdictCount {
	var out []VerdictCount
	for _, v := range Verdicts {
		if n := m[v]; n > 0 {
			out = append(out, VerdictCount{v, n})
		}
	}
	return out
}

// A VerdictChange is a verdict given to Before recipients, then to After.
type VerdictChange struct {
	Verdict       Verdict
	Before, After int
}

// VerdictChanges are the verdicts whose counts differ between before and
// after, in the order of Verdicts.
func VerdictChanges(before, after map[Verdict]int) []VerdictChange {
	var out []VerdictChange
	for _, v := range Verdicts {
		if b, a := before[v], after[v]; a != b {
			out = append(out, VerdictChange{v, b, a})
		}
	}
	return out
}

// ClientsTotal is the recipients of clients in all.
func ClientsTotal(clients []ClientReport) int {
	n := 0
	for _, c := range clients {
		n += c.Count
	}
	return n
}
