package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ? AND c < ?", "SELECT a FROM t WHERE b = $1 AND c < $2"},
		{"UPDATE t SET a = max(a, ?1), b = CASE WHEN ?1 > a THEN ?2 END WHERE id = ?10", "UPDATE t SET a = max(a, $1), b = CASE WHEN $1 > a THEN $2 END WHERE id = $10"},
		{"SELECT '?', \"a?\" FROM t WHERE x = ?", "SELECT '?', \"a?\" FROM t WHERE x = $1"},
		{"INSERT INTO t VALUES (?,?),(?,?)", "INSERT INTO t VALUES ($1,$2),($3,$4)"},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPGRewrite(t *testing.T) {
	if got := pgRewrite(alertAdd).sql; got != "INSERT INTO alerts (key, json, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING" {
		t.Errorf("INSERT OR IGNORE became %q", got)
	}
	if q := pgRewrite(blockInsert); q.kind != pgReturningID || !strings.HasSuffix(q.sql, "RETURNING id") {
		t.Errorf("block insert = %+v, want it to return its id", q)
	}
	if q := pgRewrite("PRAGMA temp_store = FILE"); q.kind != pgSkip {
		t.Errorf("PRAGMA temp_store = %+v, want it skipped", q)
	}
	for sqlite, pg := range pgStatements {
		if sqlite == pg {
			t.Errorf("pgStatements says the same text for both engines: %q", sqlite)
		}
		if strings.Contains(pg, "COLLATE NOCASE") || strings.Contains(pg, "INSERT OR ") {
			t.Errorf("PostgreSQL statement in SQLite's dialect: %q", pg)
		}
	}
}

func TestIsPostgres(t *testing.T) {
	for db, want := range map[string]bool{
		"postgres://rs@db.example/mail":           true,
		"postgresql:///mail?host=/run/postgresql": true,
		"host=/run/postgresql dbname=mail":        true,
		"dbname=mail":                             true,
		"relaysleuth.db":                          false,
		"/var/lib/relaysleuth/relaysleuth.db":     false,
		"./host=x.db":                             false,
		"weird=name.db":                           false,
		"file:rs.db?_journal_mode=WAL":            false,
		"postgres.db":                             false,
	} {
		if got := IsPostgres(db); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", db, got, want)
		}
	}
}

func TestDisplayNameHidesPassword(t *testing.T) {
	for _, db := range []string{
		"postgres://rs:s3cret@db.example/mail",
		"postgres://rs@db.example/mail?password=s3cret",
		"host=/run/postgresql password=s3cret dbname=mail",
		"host=/run/postgresql password='s3cret' dbname=mail",
		"host=/run/postgresql password = s3cret dbname=mail",
	} {
		got := DisplayName(db)
		if strings.Contains(got, "s3cret") || !strings.Contains(got, "mail") {
			t.Errorf("DisplayName(%q) = %q", db, got)
		}
	}
	if got := DisplayName("rs.db"); got != "rs.db" {
		t.Errorf("DisplayName(rs.db) = %q", got)
	}
}

// TestPGSchemaInStep fails when a SQLite migration is added without its
// PostgreSQL counterpart in pgschema/: the newest PostgreSQL migration
// must say it matches the newest SQLite version. PostgreSQL's own
// versions (0017's partitions) go on above SQLite's, each saying which
// SQLite version it still matches.
func TestPGSchemaInStep(t *testing.T) {
	latest, err := latestMigration()
	if err != nil {
		t.Fatal(err)
	}
	files, err := pgMigrationFiles()
	if err != nil {
		t.Fatal(err)
	}
	if pg := files[len(files)-1].sqlite; pg != latest {
		t.Errorf("PostgreSQL schema matches SQLite version %d, SQLite's is at %d: add pgschema/%04d_*.sql (with \"-- sqlite: %d\" on its first line)",
			pg, latest, files[len(files)-1].version+1, latest)
	}
	for i, m := range files {
		if m.sqlite > m.version {
			t.Errorf("%s matches SQLite version %d, above its own", m.name, m.sqlite)
		}
		if i > 0 && (m.version <= files[i-1].version || m.sqlite < files[i-1].sqlite) {
			t.Errorf("%s (version %d, SQLite %d) does not follow %s (version %d, SQLite %d)", m.name, m.version, m.sqlite,
				files[i-1].name, files[i-1].version, files[i-1].sqlite)
		}
	}
	// The marker is read: 0017 changed PostgreSQL's tables alone.
	if i := slices.IndexFunc(files, func(m pgMigration) bool { return m.version == 17 }); i < 0 || files[i].sqlite != 16 {
		t.Errorf("pgschema/0017_*.sql missing or not read as matching SQLite version 16: %+v", files)
	}
}

// TestPGBadDSN: a connection string that cannot be read says what is
// wrong, without the password.
func TestPGBadDSN(t *testing.T) {
	_, err := Open(t.Context(), "postgres://rs:s3cret@db.example:notaport/mail")
	if err == nil {
		t.Fatal("Open of a bad URL succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("error = %v", err)
	}
	_, err = Open(t.Context(), "host=/nonexistent/socket/dir password=s3cret dbname=mail connect_timeout=2")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "/nonexistent/socket/dir") {
		t.Errorf("error = %v", err)
	}
}

// TestPGOpenMigratesOnceAndRefusesNewer: several processes opening a new
// database at once create its tables once; opening again keeps the data;
// a database from a newer relaysleuth is refused, read-only too.
func TestPGOpenMigratesOnceAndRefusesNewer(t *testing.T) {
	db := pgtest.DB(t)
	if _, err := OpenReadOnly(t.Context(), db); err == nil || !strings.Contains(err.Error(), "no relaysleuth tables") {
		t.Errorf("OpenReadOnly of an empty database: err = %v", err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(t.Context(), db)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := openEngine(t, db)
	if res, err := s.IntegrityCheck(t.Context()); err != nil || res != "ok" {
		t.Fatalf("IntegrityCheck = %q, %v", res, err)
	}
	src, err := s.Source(t.Context(), "mail.log", "abc", "postfix", 10)
	if err != nil {
		t.Fatal(err)
	}
	s2 := openEngine(t, db)
	again, err := s2.Source(t.Context(), "renamed.log", "abc", "postfix", 10)
	if err != nil || again.ID != src.ID || again.Path != "mail.log" {
		t.Errorf("same fingerprint = %+v, %v; want source %d first read as mail.log", again, err, src.ID)
	}
	if _, err := s.db.ExecContext(t.Context(), `UPDATE relaysleuth_schema SET version = 999`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), db); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open of a newer schema: err = %v, want ErrNewerSchema", err)
	}
	if _, err := OpenReadOnly(t.Context(), db); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("OpenReadOnly of a newer schema: err = %v, want ErrNewerSchema", err)
	}
}

// TestPGIntegrityCheckFindsDrift: the check is not a constant "ok".
func TestPGIntegrityCheckFindsDrift(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO recipient_counts (verdict, host, mta, hop, n) VALUES ('inbound', 'mx', 'postfix', 1, 3)`); err != nil {
		t.Fatal(err)
	}
	if res, err := s.IntegrityCheck(t.Context()); err != nil || !strings.Contains(res, "recipient_counts") {
		t.Errorf("IntegrityCheck with a count and no recipients = %q, %v", res, err)
	}
}

// TestPGRelocateFleet: hosts of a fleet follow the same paths. When one
// host's logrotate renames its /var/log/mail.log, the references to the
// other hosts' /var/log/mail.log stay as they are.
func TestPGRelocateFleet(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	ctx := t.Context()
	const log = "/var/log/mail.log"
	t0 := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	for i, host := range []string{"mx1", "mx2"} {
		src, err := s.Source(ctx, log, "fp-"+host, "postfix", 100)
		if err != nil {
			t.Fatal(err)
		}
		ev := parsers.Event{Pos: parsers.Pos{File: log, Line: 3 + i, Offset: 200}, Time: t0, Format: "postfix", Host: host,
			Daemon: "smtpd", Kind: parsers.KindServer, Status: parsers.ServerStart, Raw: "line"}
		r := analysis.Recipient{Key: "r-" + host, MessageKey: "m-" + host, MTA: "postfix", Host: host, Recipient: "a@example.net",
			Time: t0, Verdict: analysis.Inbound, Hop: 1, Evidence: []string{fmt.Sprintf("%s:%d", log, 3+i)}}
		if err := s.NewWriter(src).Commit(ctx, []parsers.Event{ev}, []analysis.Recipient{r}, nil, Progress{Offset: 300, Lines: 5}); err != nil {
			t.Fatal(err)
		}
	}
	mx1, err := s.Source(ctx, log, "fp-mx1", "postfix", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Relocate(ctx, []Relocation{{SourceID: mx1.ID, From: log, To: log + ".1"}}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"r-mx1": log + ".1:3", "r-mx2": log + ":4"} {
		var ev string
		if err := s.db.QueryRowContext(ctx, `SELECT evidence FROM recipients WHERE key = ?`, key).Scan(&ev); err != nil {
			t.Fatal(err)
		}
		if got := decodeEvidence(ev); len(got) != 1 || got[0] != want {
			t.Errorf("%s: evidence %v, want [%s]", key, got, want)
		}
	}
}

// TestPGFollowsPerHost: the followed paths are this machine's; another
// machine's row for the same path is not read.
func TestPGFollowsPerHost(t *testing.T) {
	s := openEngine(t, pgtest.DB(t))
	ctx := t.Context()
	other := s.followPrefix + "x" // another machine's name
	f := Follow{Path: "/var/log/mail.log", Device: 1, Inode: 2, Fingerprint: "fp"}
	if _, err := s.db.ExecContext(ctx, followSet, other+f.Path, 9, 9, "theirs", 0); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Follow(ctx, f.Path); err != nil || ok {
		t.Fatalf("Follow before SetFollow: ok = %v, %v; another machine's row was read", ok, err)
	}
	if err := s.SetFollow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Follow(ctx, f.Path); err != nil || !ok || got != f {
		t.Errorf("Follow = %+v, %v, %v; want %+v", got, ok, err, f)
	}
	var theirs string
	if err := s.db.QueryRowContext(ctx, followGet, other+f.Path).Scan(new(int64), new(int64), &theirs); err != nil || theirs != "theirs" {
		t.Errorf("the other machine's row: %q, %v", theirs, err)
	}
}
