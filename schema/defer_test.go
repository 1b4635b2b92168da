package schema

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// indexNames lists the indexes of the recipients table that SQLite has.
func indexNames(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recipients' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return names
}

// TestDeferIndexes: into an empty database the readers' indexes are
// dropped and built again; a database with recipients keeps them; a load
// killed before building them (the store closed without RestoreIndexes)
// gets them back from the next Open, and the queries that use them answer.
func TestDeferIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rs.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	all := indexNames(t, s)
	for _, name := range deferrable {
		if !slices.Contains(all, name) {
			t.Fatalf("deferrable index %s is not in the schema (%v)", name, all)
		}
	}
	deferred, err := s.DeferIndexes(t.Context())
	if err != nil || !deferred {
		t.Fatalf("DeferIndexes on an empty database = %v, %v", deferred, err)
	}
	if got := indexNames(t, s); len(got) != len(all)-len(deferrable) {
		t.Fatalf("after DeferIndexes: %v", got)
	}
	// Again (another run starting on the same empty database): nothing
	// more to drop, nothing forgotten.
	if again, err := s.DeferIndexes(t.Context()); err != nil || again {
		t.Fatalf("second DeferIndexes = %v, %v", again, err)
	}
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 10)
	if err != nil {
		t.Fatal(err)
	}
	r := analysis.Recipient{Key: "r1", MessageKey: "m1", MTA: "postfix", Host: "mx1", Recipient: "a@example.net",
		Sender: "s@example.org", Verdict: analysis.RelayAbuse, Hop: 1, ClientIP: "203.0.113.9", QueueID: "ABC"}
	if err := s.NewWriter(src).Commit(t.Context(), nil, []analysis.Recipient{r}, nil, Progress{Offset: 10, Lines: 1}); err != nil {
		t.Fatal(err)
	}
	// Killed here: closed without RestoreIndexes.
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := indexNames(t, s); !slices.Equal(got, all) {
		t.Errorf("after reopening: %v, want %v", got, all)
	}
	var left int
	s.db.QueryRow(`SELECT count(*) FROM deferred_indexes`).Scan(&left)
	if left != 0 {
		t.Errorf("%d indexes still listed as deferred", left)
	}
	if deferred, err := s.DeferIndexes(t.Context()); err != nil || deferred {
		t.Errorf("DeferIndexes with a recipient stored = %v, %v", deferred, err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM recipients INDEXED BY recipients_verdict_ts WHERE verdict = 'relay_abuse'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("relay_abuse through its index: %d, %v", n, err)
	}
}
