package pipeline

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenExisting: prune and rejudge never create a database that is not
// there; OpenStore does, private to its owner.
func TestOpenExisting(t *testing.T) {
	db := filepath.Join(t.TempDir(), "rs.db")
	if _, err := OpenExisting(t.Context(), db, "", io.Discard); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenExisting(missing) = %v, want not exist", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("OpenExisting created the database")
	}
	store, err := OpenStore(t.Context(), db, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if fi, err := os.Stat(db); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("new database mode %v, want 0600", fi.Mode().Perm())
	}
	store, err = OpenExisting(t.Context(), db, "", io.Discard)
	if err != nil {
		t.Fatalf("OpenExisting(existing) = %v", err)
	}
	store.Close()
}
