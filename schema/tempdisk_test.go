package schema

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestTempOnDisk: rejudge, prune and the deferred index builds get a
// connection whose temporary storage is files (temp_store 1), and give it
// back to the pool with memory (2), its page cache as before and no sorter
// helper threads, whatever they set meanwhile.
func TestTempOnDisk(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "rs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	settings := func(c *sql.Conn) (store, cache, threads int) {
		t.Helper()
		for q, v := range map[string]*int{`PRAGMA temp_store`: &store, `PRAGMA cache_size`: &cache, `PRAGMA threads`: &threads} {
			if err := c.QueryRowContext(t.Context(), q).Scan(v); err != nil {
				t.Fatal(err)
			}
		}
		return store, cache, threads
	}
	c0, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	store0, cache0, threads0 := settings(c0)
	c0.Close()
	if store0 != 2 || threads0 != 0 {
		t.Fatalf("a pool connection has temp_store %d, threads %d; want 2 (memory), 0", store0, threads0)
	}
	c, done, err := s.tempOnDisk(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if store, _, _ := settings(c); store != 1 {
		t.Errorf("tempOnDisk's connection has temp_store %d, want 1 (file)", store)
	}
	if _, err := c.ExecContext(t.Context(), `PRAGMA cache_size = -4096; PRAGMA threads = 2`); err != nil {
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
		if store, cache, threads := settings(c); store != store0 || cache != cache0 || threads != 0 {
			t.Errorf("a pool connection after tempOnDisk: temp_store %d, cache_size %d, threads %d; want %d, %d, 0", store, cache, threads, store0, cache0)
		}
	}
	for _, c := range held {
		c.Close()
	}
}
