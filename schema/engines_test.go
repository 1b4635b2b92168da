package schema

import (
	"path/filepath"
	"testing"

	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// engines runs body as two subtests: on a SQLite file in a temporary
// directory and on a fresh PostgreSQL database (skipped, saying why,
// when RELAYSLEUTH_TEST_PG is not set). db is what Open takes.
func engines(t *testing.T, body func(t *testing.T, db string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, filepath.Join(t.TempDir(), "rs.db")) })
	t.Run("postgres", func(t *testing.T) { body(t, pgtest.DB(t)) })
}

// openEngine opens db for t and closes it when t ends.
func openEngine(t *testing.T, db string) *Store {
	t.Helper()
	s, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
