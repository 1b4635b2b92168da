// Package schema is relaysleuth's SQLite store: the events read from the
// logs, with their evidence, and the messages and recipients the analysis
// joined them into.
package schema

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNewerSchema reports a database written by a newer relaysleuth.
var ErrNewerSchema = errors.New("database schema is newer than this program")

// ErrBusy reports that another process holds the database's write lock.
var ErrBusy = errors.New("database is busy (another relaysleuth is writing to it)")

// driverName is go-sqlite3 with the settings the DSN cannot carry, set on
// every connection.
const driverName = "sqlite3_relaysleuth"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// A multi-row statement that may abort keeps a statement journal,
		// which spills to a temporary file beyond 64 KiB: in memory it
		// costs a third less system time. Checkpointing every 64 MB of WAL
		// instead of SQLite's 4 MB copies a page written by many
		// transactions of a bulk ingest into the database once (measured:
		// 11% faster ingest).
		_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 16384", nil)
		return err
	}})
}

// Store is an open database.
type Store struct {
	db   *sql.DB
	path string
	pg   bool // PostgreSQL (pg.go), not SQLite
	// followPrefix qualifies the paths of the follows table on
	// PostgreSQL: "HOSTNAME:" (pgFollowPrefix).
	followPrefix string

	mu      sync.Mutex
	stmts   *writeStmts // prepared on the first Commit
	closers []*sql.Stmt
	pgParts sync.Map // PostgreSQL: the monthly partitions known to exist (pgpart.go)
	// readStmts are the look-ups prepared once (stmtcache.go), by query.
	readStmts sync.Map
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date. A PostgreSQL connection string (IsPostgres) opens
// that database instead, creating relaysleuth's tables in it if needed.
func Open(ctx context.Context, file string) (*Store, error) {
	return open(ctx, file, writeCacheKiB)
}

// writeCacheKiB is the page cache of a connection that writes: 16 MB, so
// that the index pages of a large ingest stay in memory instead of being
// read again.
const writeCacheKiB = 16384

// readCacheKiB is the page cache of a connection that reads for a report:
// SQLite's default. A report reads most pages once, and a bigger cache
// only costs the memory it fills (measured on the 20M-line bench
// database, the process start included: report relay 0.23-0.26 s with
// 16 MB, 0.17-0.21 s with 2 MB; summary 0.11-0.14 s and 0.05-0.06 s;
// investigate by Message-ID 0.10-0.15 s and 0.08 s).
const readCacheKiB = 2000

// OpenForReports is Open for a command that reads (a report, an
// investigation): the same database and schema, with a smaller page cache
// per connection.
func OpenForReports(ctx context.Context, file string) (*Store, error) {
	return open(ctx, file, readCacheKiB)
}

func open(ctx context.Context, file string, cacheKiB int) (*Store, error) {
	if IsPostgres(file) {
		return openPG(ctx, file, false)
	}
	if err := newPageSize(ctx, file); err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", "NORMAL")
	// Page cache per connection (negative: KiB).
	q.Set("_cache_size", "-"+strconv.Itoa(cacheKiB))
	dsn := "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
	// Migrations run on a handle of their own without the per-connection
	// settings: a migration that rewrites a big table sorts it, and with
	// temp_store = MEMORY the sort would be held in memory.
	mdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	err = checkWAL(ctx, mdb)
	if err == nil {
		err = (&Store{db: mdb, path: file}).migrate(ctx)
	}
	if err == nil {
		// A bulk load that died before building the indexes it
		// deferred (defer.go) left them to the next writer.
		err = (&Store{db: mdb, path: file}).restoreIndexes(ctx, false)
	}
	if cerr := mdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	return &Store{db: db, path: file}, nil
}

// pageSize is the page size of a database relaysleuth creates (SQLite's
// default: 4096). Measured with scripts/bench.sh's logs, alternating:
// ingest of 5M lines into a new database 50.0 -> 41.9 s (system time
// 14.5 -> 8.3 s: fewer, larger reads and writes of the write-ahead log
// and the file), the database 1% smaller, 1M more lines into it and the
// reports as fast as before. 16384 made a first ingest faster still and the next
// ones 15% slower.
const pageSize = 8192

// newPageSize gives the database at file pageSize when it is new (missing
// or empty, as CreatePrivate leaves it): a page size is fixed once the
// database is in WAL mode, so it is set, and WAL mode with it, before the
// first connection opens it with the DSN (which asks for WAL first). An
// existing database keeps its page size.
func newPageSize(ctx context.Context, file string) error {
	if fi, err := os.Stat(file); err == nil && fi.Size() > 0 || err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil // opening it says what is wrong, if anything
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: file}).EscapedPath()+"?_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// Another process may have made the database meanwhile: then neither
	// statement changes it.
	if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return wrapBusy(err)
	}
	_, err = c.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	return wrapBusy(err)
}

// checkWAL makes sure db is in WAL mode (the DSN asks for it; a database on
// a file system without shared memory cannot be).
func checkWAL(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return wrapBusy(err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.closers {
		st.Close()
	}
	s.closers, s.stmts = nil, nil
	s.mu.Unlock()
	return s.db.Close()
}

// Path returns the file the store was opened from; for PostgreSQL, the
// database, server and user, without the password.
func (s *Store) Path() string { return s.path }

// migrate applies each migrations/NNNN_*.sql above PRAGMA user_version, in
// order, each in one transaction with its version bump.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return wrapBusy(err)
	}
	latest := 0
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", name)
		}
		latest = max(latest, n)
	}
	if version > latest {
		return fmt.Errorf("%w (version %d, this program knows up to %d): upgrade relaysleuth", ErrNewerSchema, version, latest)
	}
	for _, name := range names {
		n, _ := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if n <= version {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return wrapBusy(err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, wrapBusy(err))
		}
		// PRAGMA takes no bound parameters; n is an integer we parsed.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", name, wrapBusy(err))
		}
	}
	return nil
}

// wrapBusy turns SQLite's busy and locked errors, and PostgreSQL's
// deadlock and serialization failures, into ErrBusy.
func wrapBusy(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	return err
}

// IntegrityCheck runs PRAGMA integrity_check and returns its first answer
// ("ok" for a sound database).
//
// On PostgreSQL, which keeps its own files sound, it checks what
// relaysleuth keeps consistent itself: the counts the triggers maintain
// agree with the recipients, and every event key names a stored block.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	if s.pg {
		return s.pgIntegrityCheck(ctx)
	}
	var res string
	err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res)
	return res, err
}

// TableRows counts the rows of the stored tables: messages, recipients and
// sources, and the events their blocks hold.
func (s *Store) TableRows(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	// Table names are constants, not input.
	for _, t := range []string{"messages", "recipients", "sources"} {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, wrapBusy(err)
		}
		out[t] = n
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM event_blocks").Scan(&n); err != nil {
		return nil, wrapBusy(err)
	}
	out["events"] = n
	return out, nil
}

// tempOnDisk returns a connection whose temporary storage (statement
// journals, sorts, VACUUM's copy of the database) is in files, not memory
// as for every other use (temp_store = MEMORY), for statements that change
// or copy most of the database; done gives the connection back to the pool
// as it was: its page cache, which a sort may shrink, and no sorter helper
// threads (PRAGMA threads), which an index build may set. On PostgreSQL it
// is a plain connection.
func (s *Store) tempOnDisk(ctx context.Context) (c *sql.Conn, done func(), err error) {
	c, err = s.db.Conn(ctx)
	if err != nil {
		return nil, nil, wrapBusy(err)
	}
	if s.pg {
		return c, func() { c.Close() }, nil
	}
	var cache int
	if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
		c.Close()
		return nil, nil, wrapBusy(err)
	}
	if _, err := c.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		c.Close()
		return nil, nil, wrapBusy(err)
	}
	return c, func() {
		// cache is an integer SQLite returned.
		c.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA temp_store = MEMORY; PRAGMA cache_size = %d; PRAGMA threads = 0`, cache))
		c.Close()
	}, nil
}
