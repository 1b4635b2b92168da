package schema

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenMigratesOnceAndRefusesNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rs.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.IntegrityCheck(t.Context()); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
	src, err := s.Source(t.Context(), "mail.log", "abc", "postfix", 10)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Opening again applies nothing and keeps the data.
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Source(t.Context(), "renamed.log", "abc", "postfix", 10)
	if err != nil || again.ID != src.ID || again.Path != "mail.log" {
		t.Errorf("same fingerprint = %+v, %v; want source %d first read as mail.log", again, err, src.ID)
	}
	s.Close()

	// A database from a newer relaysleuth is refused, untouched.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(t.Context(), path); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open of a newer schema: err = %v, want ErrNewerSchema", err)
	}
}

// TestPageCacheByUse: a store opened to write keeps 16 MB of pages per
// connection (a large ingest's index pages); one opened for a report has
// SQLite's default, which answers a report on a big database faster (the
// pages a report reads once are not worth the memory a bigger cache
// fills). Both see the same data.
func TestPageCacheByUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rs.db")
	w, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Source(t.Context(), "mail.log", "abc", "postfix", 10); err != nil {
		t.Fatal(err)
	}
	r, err := OpenForReports(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range []struct {
		name string
		s    *Store
		want int
	}{{"Open", w, -writeCacheKiB}, {"OpenForReports", r, -readCacheKiB}} {
		var size, sources int
		if err := c.s.db.QueryRowContext(t.Context(), "PRAGMA cache_size").Scan(&size); err != nil {
			t.Fatal(err)
		}
		if size != c.want {
			t.Errorf("%s: cache_size %d, want %d", c.name, size, c.want)
		}
		if err := c.s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM sources").Scan(&sources); err != nil || sources != 1 {
			t.Errorf("%s: %d sources (%v), want 1", c.name, sources, err)
		}
	}
	if readCacheKiB >= writeCacheKiB {
		t.Errorf("the reports' cache (%d KiB) is not smaller than the writers' (%d KiB)", readCacheKiB, writeCacheKiB)
	}
}

// TestPageSize: a database relaysleuth creates, from nothing or from the
// empty private file CreatePrivate leaves, has pages of pageSize bytes and
// is in WAL mode; one made before with another page size keeps it and
// opens as before.
func TestPageSize(t *testing.T) {
	dir := t.TempDir()
	pageOf := func(s *Store) (size int, mode string) {
		t.Helper()
		if err := s.db.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&size); err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return size, mode
	}
	private := filepath.Join(dir, "private.db")
	if err := CreatePrivate(private, ""); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite3", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE x (y)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, c := range []struct {
		file string
		want int
	}{{filepath.Join(dir, "new.db"), pageSize}, {private, pageSize}, {old, 4096}} {
		s, err := Open(t.Context(), c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if _, err := s.Source(t.Context(), "mail.log", "abc", "postfix", 10); err != nil {
			t.Fatal(err)
		}
		if size, mode := pageOf(s); size != c.want || mode != "wal" {
			t.Errorf("%s: page_size %d, journal_mode %s; want %d, wal", filepath.Base(c.file), size, mode, c.want)
		}
		s.Close()
	}
	if fi, err := os.Stat(private); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private database: %v, %v; want mode 0600", fi.Mode(), err)
	}
}
