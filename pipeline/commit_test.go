package pipeline

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestSyncWaitsForAfter: once sync returns, the work a commit does after
// it is stored (the tail's sending of alerts and its accounts pass) has
// finished, so the tail can go on to decide the next batch's alerts
// without racing it (found by the race detector in TestTailCrashPoints:
// sync used to return while after still ran).
func TestSyncWaitsForAfter(t *testing.T) {
	c := startCommitter(t.Context())
	var done atomic.Bool
	after := func() error {
		time.Sleep(50 * time.Millisecond)
		done.Store(true)
		return nil
	}
	if err := c.send(t.Context(), commit{durable: true, after: after}); err != nil {
		t.Fatal(err)
	}
	if err := c.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !done.Load() {
		t.Error("sync returned while the commit's after still ran")
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
}
