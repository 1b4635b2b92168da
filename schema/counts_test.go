package schema

import (
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestSummaryCountsFollowVerdicts writes a recipient, then writes it again
// with another verdict and hop (a later batch changed its judgement), then
// rejudges: the summary, read from the counts the triggers keep, always
// counts the recipient once, under its current verdict.
func TestSummaryCountsFollowVerdicts(t *testing.T) {
	engines(t, testSummaryCountsFollowVerdicts)
}

func testSummaryCountsFollowVerdicts(t *testing.T, db string) {
	s := openEngine(t, db)
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(src)
	r := analysis.Recipient{Key: "r1", MessageKey: "m1", MTA: "postfix", Host: "mx1", Recipient: "a@example.net",
		Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Verdict: analysis.Inbound, Hop: 1}
	other := r
	other.Key, other.Recipient = "r2", "b@example.net"
	check := func(when string, want map[analysis.Verdict]int) {
		t.Helper()
		sum, err := s.Summary(t.Context(), analysis.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range analysis.Verdicts {
			if sum.Verdicts[v] != want[v] {
				t.Errorf("%s: summary counts %d %s, want %d", when, sum.Verdicts[v], v, want[v])
			}
		}
	}
	if err := w.Commit(t.Context(), nil, []analysis.Recipient{r, other}, nil, Progress{}); err != nil {
		t.Fatal(err)
	}
	check("first write", map[analysis.Verdict]int{analysis.Inbound: 2})
	r.Verdict = analysis.RelayAbuse
	if err := w.Commit(t.Context(), nil, []analysis.Recipient{r}, nil, Progress{}); err != nil {
		t.Fatal(err)
	}
	check("verdict changed", map[analysis.Verdict]int{analysis.Inbound: 1, analysis.RelayAbuse: 1})
	r.Hop = 2 // no longer a first hop: the summary leaves it out
	if err := w.Commit(t.Context(), nil, []analysis.Recipient{r}, nil, Progress{}); err != nil {
		t.Fatal(err)
	}
	check("hop changed", map[analysis.Verdict]int{analysis.Inbound: 1})
	if _, err := s.Rejudge(t.Context(), emptyJudge{}); err != nil {
		t.Fatal(err)
	}
	check("rejudged to nothing", nil)
}

// emptyJudge judges nothing: Rejudge with it deletes every recipient.
type emptyJudge struct{}

func (emptyJudge) Feed(parsers.Event)                                {}
func (emptyJudge) Flush() ([]analysis.Recipient, []analysis.Message) { return nil, nil }
