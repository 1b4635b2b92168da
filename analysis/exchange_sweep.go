package analysis

import (
	"container/heap"
	"time"
)

// What a sweep of the Exchange state looks at is kept so that it need not
// walk every map: a sweep comes every minute of the log (about 370 for a
// million lines), and walking msgs, byMsgID and waiting each time (maps
// that keep the size of their peak) took a sixth of the correlator's time.
// A sweep still lets go of exactly what a walk would (see sweepExchange).

// exDueEntry is a message in exchangeState.due: at never later than the
// message's last line (exInfo.last, which only grows).
type exDueEntry struct {
	at time.Time
	m  *Message
}

// exDueHeap orders messages by exDueEntry.at, oldest first.
type exDueHeap []exDueEntry

func (h exDueHeap) Len() int           { return len(h) }
func (h exDueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h exDueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *exDueHeap) Push(x any)        { *h = append(*h, x.(exDueEntry)) }
func (h *exDueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = exDueEntry{}
	*h = old[:len(old)-1]
	return e
}

// exHeld notes that m, just put in msgs under key, is held: a sweep will
// look at it once RemovedGrace has passed its last line.
func (c *Correlator) exHeld(m *Message, key string) {
	x := c.ex
	m.ex.key = key
	if x.dueOn {
		heap.Push(&x.due, exDueEntry{at: m.ex.last, m: m})
	}
}

// exGone notes that m is no longer in msgs: the lists of byMsgID that hold
// it are pruned at the next sweep.
func (c *Correlator) exGone(m *Message) {
	if m.ex == nil || c.ex == nil {
		return
	}
	for _, id := range m.ex.listed {
		c.ex.stale[id] = struct{}{}
	}
}

// exListed notes that m was added to byMsgID's list for id.
func (m *Message) exListed(id string) { m.ex.listed = append(m.ex.listed, id) }

// inMsgs reports whether m is still the message msgs holds under its key.
func (c *Correlator) inMsgs(m *Message) bool { return c.msgs[m.ex.key] == m }

// sweepExchange lets go of the messages done with (exDone) and forgets what
// the shared sweep dropped and rows that waited too long.
//
// A message is let go of when the bound of what may still come
// (inputOrder.low) is RemovedGrace past its last line and it is done with.
// Every Exchange message in msgs is either in due, at a time no later than
// its last line, or in overdue (past RemovedGrace, not yet done with, so
// looked at again by every sweep): the messages due has past RemovedGrace
// are at its top, and the others need no look.
func (c *Correlator) sweepExchange() {
	x := c.ex
	x.swept, x.sweptLow = c.now, c.input.low
	if c.input.known {
		if !x.dueOn {
			// The first sweep since ReadingInput: every message held.
			x.dueOn = true
			for _, m := range c.msgs {
				if m.ex != nil && c.inMsgs(m) {
					heap.Push(&x.due, exDueEntry{at: m.ex.last, m: m})
				}
			}
		}
		low := c.input.low
		kept := x.overdue[:0]
		for _, m := range x.overdue {
			switch {
			case !c.inMsgs(m):
			case low.Sub(m.ex.last) <= c.RemovedGrace: // a line came after all
				heap.Push(&x.due, exDueEntry{at: m.ex.last, m: m})
			case exDone(m):
				c.exLetGo(m)
			default:
				kept = append(kept, m)
			}
		}
		clear(x.overdue[len(kept):])
		x.overdue = kept
		for len(x.due) > 0 && low.Sub(x.due[0].at) > c.RemovedGrace {
			m := heap.Pop(&x.due).(exDueEntry).m
			switch {
			case !c.inMsgs(m):
			case low.Sub(m.ex.last) <= c.RemovedGrace:
				heap.Push(&x.due, exDueEntry{at: m.ex.last, m: m})
			case exDone(m):
				c.exLetGo(m)
			default:
				x.overdue = append(x.overdue, m)
			}
		}
	}
	for id := range x.stale {
		list := x.byMsgID[id]
		kept := list[:0]
		for _, m := range list {
			if c.inMsgs(m) {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			delete(x.byMsgID, id)
		} else if len(kept) < len(list) {
			x.byMsgID[id] = kept
		}
	}
	clear(x.stale)
	// waitedSince and idleSince are no later than the oldest of what they
	// bound: most sweeps need not walk the maps.
	if len(x.waiting) > 0 && c.now.Sub(x.waitedSince) > c.StaleAfter {
		x.waitedSince = c.now
		for id, evs := range x.waiting {
			t := evs[len(evs)-1].time
			if c.now.Sub(t) > c.StaleAfter {
				delete(x.waiting, id)
				x.nwaiting -= len(evs)
				c.stats.Orphans += len(evs)
			} else if t.Before(x.waitedSince) {
				x.waitedSince = t
			}
		}
	}
	if len(x.rcpts) > 0 && c.now.Sub(x.idleSince) > c.StaleAfter {
		x.idleSince = c.now
		for k, s := range x.rcpts {
			if c.now.Sub(s.last) > c.StaleAfter {
				delete(x.rcpts, k)
			} else if s.last.Before(x.idleSince) {
				x.idleSince = s.last
			}
		}
	}
}

// exLetGo drops m, done with, from memory.
func (c *Correlator) exLetGo(m *Message) {
	delete(c.msgs, m.ex.key)
	m.children = nil // as the shared sweep does
	c.exGone(m)
}
