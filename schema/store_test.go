package schema

import (
	"database/sql"
	"errors"
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
