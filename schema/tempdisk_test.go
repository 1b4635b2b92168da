package schema

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestTempOnDisk: rejudge and prune get a connection whose temporary
// storage is files (temp_store 1), and give it back to the pool with
// memory (2) and its page cache as before, whatever they set meanwhile.
func TestTempOnDisk(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "rs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	settings := func(c *sql.Conn) (store, cache int) {
		t.Helper()
		if err := c.QueryRowContext(t.Context(), `PRAGMA temp_store`).Scan(&store); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&cache); err != nil {
			t.Fatal(err)
		}
		return store, cache
	}
	c0, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	store0, cache0 := settings(c0)
	c0.Close()
	if store0 != 2 {
		t.Fatalf("a pool connection has temp_store %d, want 2 (memory)", store0)
	}
	c, done, err := s.tempOnDisk(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if store, _ := settings(c); store != 1 {
		t.Errorf("tempOnDisk's connection has temp_store %d, want 1 (file)", store)
	}
	if _, err := c.ExecContext(t.Context(), `PRAGMA cache_size = -4096`); err != nil {
		t.Fatal(err)
	}
	done()
	// Every connection the pool holds now, the one given back among them.
	var held []*sql.Conn
	for range 4 {
		c, err := s.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if store, cache := settings(c); store != store0 || cache != cache0 {
			t.Errorf("a pool connection after tempOnDisk: temp_store %d, cache_size %d; want %d, %d", store, cache, store0, cache0)
		}
	}
	for _, c := range held {
		c.Close()
	}
}
