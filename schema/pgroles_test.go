package schema

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema/pgtest"
)

// asRole returns dsn connecting as role instead.
func asRole(t *testing.T, dsn, role string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(role)
		q := u.Query()
		if q.Has("user") {
			q.Set("user", role)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return dsn + " user=" + role // the last setting of a keyword wins
}

// TestPGRolesOfReadme sets up the roles README's "Many servers" advises:
// the tables' owner creates them (here at version 16, then converted by
// the owner: the writer's role may not) and grants; the writer's role,
// which may not create or drop tables, stores lines of new months (their
// partitions made as the owner) and prunes whole months; the reader's
// role reads and may not drop a month.
func TestPGRolesOfReadme(t *testing.T) {
	admin := os.Getenv(pgtest.Env)
	if admin == "" {
		t.Skip(pgtest.Env + " is not set")
	}
	ctx := t.Context()
	var b [4]byte
	rand.Read(b[:])
	// Role names are made here of [a-z0-9_] only.
	suffix := hex.EncodeToString(b[:])
	owner, writer, reader := "rs_owner_"+suffix, "rs_writer_"+suffix, "rs_reader_"+suffix
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{owner, writer, reader} {
		if _, err := conn.Exec(ctx, "CREATE ROLE "+r+" LOGIN"); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)
	// Registered before the database's: runs after it is dropped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		for _, r := range []string{owner, writer, reader} {
			if _, err := conn.Exec(ctx, "DROP ROLE "+r); err != nil {
				t.Error(err)
			}
		}
	})
	// As the database's administrator: the public schema is the owner's.
	fresh := pgtest.DB(t)
	su, err := pgx.Connect(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"REVOKE ALL ON SCHEMA public FROM PUBLIC", "ALTER SCHEMA public OWNER TO " + owner} {
		if _, err := su.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	su.Close(ctx)

	// The tables as version 16 made them, with README's grants of then;
	// the owner's open converts them, and the function grant follows.
	old := openPGAt(t, asRole(t, fresh, owner), 16)
	for _, q := range []string{
		"GRANT USAGE ON SCHEMA public TO " + writer + ", " + reader,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + writer,
		"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + writer,
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + reader,
	} {
		if _, err := old.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()
	if _, err := Open(ctx, asRole(t, fresh, writer)); err == nil || !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
		t.Errorf("the writer's role converting the tables: err = %v, want a refusal", err)
	}
	own := openEngine(t, asRole(t, fresh, owner))
	q := "GRANT EXECUTE ON FUNCTION relaysleuth_partition(text, bigint), relaysleuth_drop_partition(text, text) TO " + writer
	if _, err := own.db.ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}

	w := openEngine(t, asRole(t, fresh, writer))
	storeMonths(t, w) // January to March: each month's partitions made
	var parts int
	if err := w.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
 WHERE r.rolname = ? AND c.relkind = 'r' AND c.relname ~ '^(event_blocks|event_keys|events)_2026'`, owner).Scan(&parts); err != nil || parts != 9 {
		t.Errorf("%d partitions owned by %s, %v; want 9", parts, owner, err)
	}
	p, err := w.Prune(ctx, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("prune as the writer: %v", err)
	}
	if p.Blocks == 0 {
		t.Errorf("prune as the writer deleted no block: %+v", p)
	}
	if got := pgPartitionNames(t, w); len(got) != 6 || strings.Contains(strings.Join(got, " "), "202601") {
		t.Errorf("partitions after the writer's prune: %v, want February's and March's", got)
	}

	r, err := OpenReadOnly(ctx, asRole(t, fresh, reader))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Summary(ctx, analysis.Filter{}); err != nil {
		t.Errorf("summary as the reader: %v", err)
	}
	if _, err := r.db.ExecContext(ctx, `SELECT relaysleuth_drop_partition('event_blocks', 'event_blocks_202602')`); err == nil ||
		!strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the reader dropped a month: err = %v", err)
	}
	if _, err := r.db.ExecContext(ctx, `SELECT relaysleuth_partition('event_blocks', 0)`); err == nil {
		t.Error("the reader made a partition")
	}
}
