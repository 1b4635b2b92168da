package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrOldSchema reports a database written by an older relaysleuth that a
// read-only open cannot bring up to date.
var ErrOldSchema = errors.New("database written by an older relaysleuth")

// Writable reports whether this process may write the database at file:
// the file itself when it exists, and its directory (SQLite writes its
// -wal and -shm files beside it). A missing directory or file is said
// as such, the way a user would be told, not as "no such file".
func Writable(file string) error {
	dir := filepath.Dir(file)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("directory %s is not writable by you (%v)", dir, err)
	}
	if _, err := os.Stat(file); err == nil {
		if err := unix.Access(file, unix.W_OK); err != nil {
			return fmt.Errorf("%s is not writable by you (%v)", file, err)
		}
	}
	return nil
}

// OpenReadOnly opens an existing database for reading only: a forensic
// copy, or a service's database read by an administrator who may not
// write to it or to its directory. When SQLite cannot keep its shared
// memory file beside the database (the directory is read-only and no
// writer has one open), the file is opened as immutable: it must not
// change while it is read.
func OpenReadOnly(ctx context.Context, file string) (*Store, error) {
	if IsPostgres(file) {
		return openPG(ctx, file, true)
	}
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", "5000")
	q.Set("_query_only", "1")
	if _, err := os.Stat(file + "-shm"); err != nil && unix.Access(filepath.Dir(file), unix.W_OK) != nil {
		q.Set("immutable", "1")
	}
	dsn := "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s read-only: %w", file, err)
	}
	latest, err := latestMigration()
	if err != nil {
		db.Close()
		return nil, err
	}
	switch {
	case version > latest:
		db.Close()
		return nil, fmt.Errorf("open database %s: %w (version %d, this program knows up to %d): upgrade relaysleuth", file, ErrNewerSchema, version, latest)
	case version < latest:
		db.Close()
		return nil, fmt.Errorf("open database %s: %w (version %d of %d); it is converted on the first open with write access", file, ErrOldSchema, version, latest)
	}
	return &Store{db: db, path: file}, nil
}

// latestMigration returns the number of the newest migration.
func latestMigration() (int, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	latest := 0
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return 0, fmt.Errorf("migration %s: bad name", name)
		}
		latest = max(latest, n)
	}
	return latest, nil
}
