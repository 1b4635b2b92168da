package analysis

import (
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestExchangeSweepAsWalk feeds a generated Exchange log set as ingest does
// and, after every sweep, walks what sweepExchange no longer walks: nothing
// a walk of every map would have let go of, pruned or forgotten may be
// left, and every message held must be where a later sweep looks.
func TestExchangeSweepAsWalk(t *testing.T) {
	p, ins := generatedExchange(t, 150000, 7)
	// With StaleAfter shorter than the log, the shared sweep drops messages
	// and waiting rows and sessions are forgotten too.
	for _, stale := range []time.Duration{NewCorrelator(p).StaleAfter, 15 * time.Minute} {
		t.Run(stale.String(), func(t *testing.T) {
			c := NewCorrelator(p)
			c.StaleAfter = stale
			sweepAsWalk(t, c, ins)
		})
	}
}

func sweepAsWalk(t *testing.T, c *Correlator, ins []exchangeInput) {
	sweeps := 0
	var swept, sweptLow time.Time
	feedExchange(t, c, ins, func(ev parsers.Event) bool {
		c.Feed(ev)
		if c.ex.swept == swept && c.ex.sweptLow == sweptLow {
			return true
		}
		// A sweep came before ev was taken: sweep again, to check what a
		// sweep leaves.
		c.sweepExchange()
		swept, sweptLow = c.ex.swept, c.ex.sweptLow
		sweeps++
		checkSweep(t, c)
		return !t.Failed()
	}, func() { c.Flush() })
	st := c.Stats()
	letGo := st.Messages - st.StaleMessages - c.InFlight() // by sweepExchange
	t.Logf("%d sweeps, %d messages let go of, %d held at the end, stats %+v", sweeps, letGo, c.InFlight(), st)
	if sweeps < 40 || letGo < 1000 {
		t.Errorf("%d sweeps let go of %d messages: too few for the test", sweeps, letGo)
	}
}

// checkSweep checks c right after a sweep.
func checkSweep(t *testing.T, c *Correlator) {
	t.Helper()
	x := c.ex
	inDue := map[*Message]time.Time{}
	for _, e := range x.due {
		inDue[e.m] = e.at
	}
	overdue := map[*Message]bool{}
	for _, m := range x.overdue {
		overdue[m] = true
	}
	for k, m := range c.msgs {
		if m.ex == nil {
			continue
		}
		if c.input.low.Sub(m.ex.last) > c.RemovedGrace && exDone(m) {
			t.Errorf("sweep at %s kept %s, done with and last seen %s", c.input.low, k, m.ex.last)
		}
		at, ok := inDue[m]
		switch {
		case m.ex.key != k:
			t.Errorf("%s held under %s", m.ex.key, k)
		case ok && at.After(m.ex.last):
			t.Errorf("%s due at %s, after its last line %s", k, at, m.ex.last)
		case !ok && !overdue[m]:
			t.Errorf("%s neither due nor overdue", k)
		}
	}
	for id, list := range x.byMsgID {
		for _, m := range list {
			if c.msgs[exKey(m.Host, m.QueueID)] != m {
				t.Errorf("byMsgID[%s] holds %s, gone from memory", id, m.Key)
			}
		}
	}
	for id, evs := range x.waiting {
		if c.now.Sub(evs[len(evs)-1].time) > c.StaleAfter {
			t.Errorf("rows for %s waited since %s", id, evs[len(evs)-1].time)
		}
	}
	for k, s := range x.rcpts {
		if c.now.Sub(s.last) > c.StaleAfter {
			t.Errorf("session %s idle since %s (now %s, idleSince %s)", k, s.last, c.now, x.idleSince)
		}
	}
}
