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
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/relaysleuth/relaysleuth/parsers"
)

//go:embed pgschema/*.sql
var pgMigrations embed.FS

// pgKeywords are the libpq connection keywords a "key=value ..." --db may
// start with (https://www.postgresql.org/docs/current/libpq-connect.html).
var pgKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "service": true, "sslmode": true, "sslrootcert": true, "sslcert": true, "sslkey": true,
	"connect_timeout": true, "application_name": true, "options": true, "target_session_attrs": true,
	"sslpassword": true, "sslnegotiation": true, "krbsrvname": true,
}

// IsPostgres reports whether db names a PostgreSQL database rather than a
// SQLite file: a postgres:// or postgresql:// URL, or a libpq keyword
// string ("host=/run/postgresql dbname=mail") whose first word is a libpq
// keyword.
func IsPostgres(db string) bool {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return true
	}
	first, _, _ := strings.Cut(strings.TrimSpace(db), " ")
	key, _, ok := strings.Cut(first, "=")
	return ok && pgKeywords[strings.TrimSpace(key)]
}

// pgDescribe names the database cfg connects to for messages and
// Store.Path, never with its password:
// "postgres://rs@/run/postgresql:5432/mail".
func pgDescribe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// openPG opens the PostgreSQL database dsn names, creating relaysleuth's
// tables when the database has none, and checks their version.
func openPG(ctx context.Context, dsn string, readOnly bool) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's error shows the string with any password masked.
		return nil, fmt.Errorf("--db: not a PostgreSQL connection string: %w", err)
	}
	name := pgDescribe(cfg)
	db := sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*cfg)})
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	prefix, err := pgFollowPrefix()
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, path: name, pg: true, followPrefix: prefix}
	if readOnly {
		err = s.pgCheckVersion(ctx)
	} else {
		err = s.pgMigrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return s, nil
}

// A pgMigration is one pgschema/NNNN_*.sql: its version (NNNN) and the
// SQLite schema version the PostgreSQL schema matches once it is applied:
// NNNN, unless its first line says "-- sqlite: N" (a change made to
// PostgreSQL's tables alone, such as 0017's partitions).
type pgMigration struct {
	name            string
	version, sqlite int
}

// pgMigrationFiles returns pgschema/*.sql in order.
func pgMigrationFiles() ([]pgMigration, error) {
	names, err := fs.Glob(pgMigrations, "pgschema/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]pgMigration, len(names))
	for i, name := range names {
		n, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", name)
		}
		body, err := pgMigrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out[i] = pgMigration{name: name, version: n, sqlite: n}
		first, _, _ := strings.Cut(string(body), "\n")
		if v, ok := strings.CutPrefix(first, "-- sqlite: "); ok {
			if out[i].sqlite, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return nil, fmt.Errorf("migration %s: bad sqlite marker %q", name, first)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no PostgreSQL migrations")
	}
	return out, nil
}

// pgSchemaLock is the advisory lock that makes relaysleuth processes
// starting together against a new database create its tables once.
const pgSchemaLock = 0x72656c6179 // "relay"

// pgVersion returns the schema version stored in the database, 0 when it
// has no relaysleuth tables.
func pgVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('relaysleuth_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := q.QueryRowContext(ctx, `SELECT version FROM relaysleuth_schema`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errors.New("table relaysleuth_schema is empty")
	}
	return v, err
}

// pgMigrate applies each pgschema/NNNN_*.sql above the stored version, in
// one transaction holding pgSchemaLock.
func (s *Store) pgMigrate(ctx context.Context) error {
	files, err := pgMigrationFiles()
	if err != nil {
		return err
	}
	return s.pgMigrateTo(ctx, files, files[len(files)-1].version)
}

// pgMigrateTo applies the migrations of files up to version target (the
// tests build a database of an earlier version).
func (s *Store) pgMigrateTo(ctx context.Context, files []pgMigration, target int) error {
	latest := files[len(files)-1].version
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(pgSchemaLock)); err != nil {
		return err
	}
	version, err := pgVersion(ctx, tx)
	if err != nil {
		return err
	}
	if version > latest {
		return fmt.Errorf("%w (version %d, this program knows up to %d): upgrade relaysleuth", ErrNewerSchema, version, latest)
	}
	if version >= target {
		return nil
	}
	for _, m := range files {
		if m.version <= version || m.version > target {
			continue
		}
		body, err := pgMigrations.ReadFile(m.name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM relaysleuth_schema`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO relaysleuth_schema (version) VALUES (?)`, target); err != nil {
		return err
	}
	return tx.Commit()
}

// pgCheckVersion checks, without changing anything, that the database
// holds relaysleuth's tables at this program's version.
func (s *Store) pgCheckVersion(ctx context.Context) error {
	files, err := pgMigrationFiles()
	if err != nil {
		return err
	}
	latest := files[len(files)-1].version
	version, err := pgVersion(ctx, s.db)
	switch {
	case err != nil:
		return err
	case version == 0:
		return errors.New("the database holds no relaysleuth tables (run 'relaysleuth ingest' or 'relaysleuth scan' first)")
	case version > latest:
		return fmt.Errorf("%w (version %d, this program knows up to %d): upgrade relaysleuth", ErrNewerSchema, version, latest)
	case version < latest:
		return fmt.Errorf("%w (version %d of %d); it is converted on the first open with write access", ErrOldSchema, version, latest)
	}
	return nil
}

// pgIntegrityChecks are the invariants pgIntegrityCheck tests, each a
// query counting the rows that break it.
var pgIntegrityChecks = []struct{ what, sql string }{
	{"recipient_counts disagree with recipients", `SELECT count(*) FROM (
 SELECT verdict, host, mta, hop, count(*) AS n FROM recipients GROUP BY verdict, host, mta, hop) r
 FULL JOIN (SELECT * FROM recipient_counts WHERE n <> 0) c USING (verdict, host, mta, hop)
 WHERE r.n IS DISTINCT FROM c.n`},
	{"event keys name no stored block", `SELECT count(*) FROM event_keys k
 WHERE NOT EXISTS (SELECT 1 FROM event_blocks b WHERE b.id = k.block_id AND b.max_ts_ms = k.block_max_ts_ms)`},
}

// pgIntegrityCheck answers "ok", or says which invariant how many rows
// break.
func (s *Store) pgIntegrityCheck(ctx context.Context) (string, error) {
	for _, c := range pgIntegrityChecks {
		var n int64
		if err := s.db.QueryRowContext(ctx, c.sql).Scan(&n); err != nil {
			return "", err
		}
		if n > 0 {
			return fmt.Sprintf("%s: %d rows", c.what, n), nil
		}
	}
	return "ok", nil
}

// DisplayName returns db as it may be shown: a PostgreSQL connection
// string with any password masked, a file path as it is.
func DisplayName(db string) string {
	if !IsPostgres(db) {
		return db
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil || cfg.Password == "" {
		if err != nil {
			return "(an unreadable PostgreSQL connection string)"
		}
		return db
	}
	if u, err := url.Parse(db); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	// A keyword string: "password=..." is the only place it can be.
	return pgPasswordKV.ReplaceAllString(db, "password=xxxxx")
}

var pgPasswordKV = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// pgAccountsLock is the advisory lock one accounts pass holds at a time.
const pgAccountsLock = 0x6163636f756e74 // "account"

// LockAccounts makes accounts passes take turns, and returns the function
// that ends the caller's turn. A pass reads every account's recipients,
// then rewrites their verdicts: two at once (two hosts' ingest or tail
// writing into one PostgreSQL database) could each judge what the other
// had not yet written and commit in the wrong order; in turns, the pass
// of the writer that finished last reads everything. SQLite's writers
// take turns anyway: there it does nothing.
func (s *Store) LockAccounts(ctx context.Context) (unlock func(), err error) {
	if !s.pg {
		return func() {}, nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, int64(pgAccountsLock)); err != nil {
		c.Close()
		return nil, fmt.Errorf("wait for another accounts pass: %w", err)
	}
	return func() {
		c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, int64(pgAccountsLock))
		c.Close()
	}, nil
}

// Size returns the database's size in bytes: a SQLite file's pages, or
// what PostgreSQL's pg_database_size says.
func (s *Store) Size(ctx context.Context) (int64, error) {
	if n := s.size(ctx); n > 0 {
		return n, nil
	}
	return 0, errors.New("the database's size is unknown")
}

// pgRelocateHosts limits Relocate's rewrite of references to the rows of
// the hosts whose lines the moved file holds. Hosts of a fleet follow the
// same paths (/var/log/mail.log): one host's rotation must not move the
// references of another's. An account's evidence, across hosts, is
// rewritten whole by the next accounts pass.
const pgRelocateHosts = ` AND host = ANY(?::text[])`

// pgMoveHosts returns, for each move, the hosts whose lines its source
// holds (read from its stored blocks); nil, and no limit, when it holds
// none (pruned).
func pgMoveHosts(ctx context.Context, tx *sql.Tx, moves []Relocation) ([][]string, error) {
	out := make([][]string, len(moves))
	for i, m := range moves {
		seen := map[string]bool{}
		err := eachRow(ctx, tx, blocksOfSource, []any{m.SourceID}, func(rows *sql.Rows) error {
			var (
				id   int64
				data []byte
			)
			if err := rows.Scan(&id, &data); err != nil {
				return err
			}
			recs, err := blockRecords(data)
			if err != nil {
				return fmt.Errorf("block %d: %w", id, err)
			}
			return decodeEvents(recs, m.From, func(ev parsers.Event) error {
				seen[ev.Host] = true
				return nil
			})
		})
		if err != nil {
			return nil, fmt.Errorf("relocate %s: %w", m.From, err)
		}
		if len(seen) == 0 {
			continue
		}
		out[i] = make([]string, 0, len(seen))
		for h := range seen {
			out[i] = append(out[i], h)
		}
	}
	return out, nil
}

// pgFollowPrefix is what the paths of the follows table start with on
// PostgreSQL: this machine's name and a colon. A fleet's hosts follow the
// same paths (/var/log/mail.log), each its own file.
func pgFollowPrefix() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("this machine's name, for the files it follows: %w", err)
	}
	return h + ":", nil
}
