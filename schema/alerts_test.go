package schema

import (
	"testing"
	"time"
)

func TestAlertOutbox(t *testing.T) { engines(t, testAlertOutbox) }

func testAlertOutbox(t *testing.T, db string) {
	s, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	n, err := s.AddAlerts(ctx, []Alert{{"b", []byte(`{"n":1}`)}, {"a", []byte(`{"n":2}`)}})
	if err != nil || n != 2 {
		t.Fatalf("AddAlerts = %d, %v; want 2 added", n, err)
	}
	// Decided again: already there, whatever its body says now.
	n, err = s.AddAlerts(ctx, []Alert{{"a", []byte(`{"n":3}`)}, {"c", []byte(`{"n":4}`)}})
	if err != nil || n != 1 {
		t.Fatalf("AddAlerts again = %d, %v; want 1 added", n, err)
	}
	got, err := s.PendingAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`b {"n":1}`, `a {"n":2}`, `c {"n":4}`}
	if len(got) != len(want) {
		t.Fatalf("PendingAlerts = %d alerts, want %d", len(got), len(want))
	}
	for i, a := range got {
		if s := a.Key + " " + string(a.JSON); s != want[i] {
			t.Errorf("PendingAlerts[%d] = %s, want %s", i, s, want[i])
		}
	}
	if err := s.MarkSent(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AddAlerts(ctx, []Alert{{"a", []byte(`{}`)}}); err != nil || n != 0 {
		t.Errorf("AddAlerts of a sent key = %d, %v; want 0 added", n, err)
	}
	got, _ = s.PendingAlerts(ctx)
	if len(got) != 2 || got[0].Key != "b" || got[1].Key != "c" {
		t.Errorf("PendingAlerts after MarkSent(a) = %+v, want b and c", got)
	}
	if n, err := s.PruneAlerts(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("PruneAlerts = %d, %v; want the one sent alert deleted", n, err)
	}
	if got, _ = s.PendingAlerts(ctx); len(got) != 2 {
		t.Errorf("PruneAlerts deleted unsent alerts: %d left, want 2", len(got))
	}
}
