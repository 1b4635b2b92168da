// Package pgtest gives a test a fresh PostgreSQL database of its own, on
// the server RELAYSLEUTH_TEST_PG names, so that the store's tests run
// against PostgreSQL as well as SQLite. Without that variable the test is
// skipped, saying so.
//
// .ci/pg.sh starts a throwaway server and sets the variable:
//
//	RELAYSLEUTH_TEST_PG='host=/tmp/rs-pg.XXXX/sock user=postgres dbname=postgres'
package pgtest

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
)

// Env is the variable holding the DSN of a server (and a database to
// connect to first) where the tests may create and drop databases.
const Env = "RELAYSLEUTH_TEST_PG"

// DB creates an empty database for t, dropped when t ends, and returns
// its DSN. The database is SQL_ASCII with the C locale, as README advises
// for relaysleuth (log bytes kept as read, compared and sorted as bytes).
func DB(t testing.TB) string {
	t.Helper()
	return create(t, "SQL_ASCII")
}

// DBUTF8 is DB with the encoding most databases have, UTF8, where text
// must be UTF-8.
func DBUTF8(t testing.TB) string {
	t.Helper()
	return create(t, "UTF8")
}

// create creates a database of encoding (a constant of this file) for t.
func create(t testing.TB, encoding string) string {
	t.Helper()
	admin := os.Getenv(Env)
	if admin == "" {
		t.Skip(Env + " is not set: set it to a PostgreSQL DSN where databases may be created (.ci/pg.sh does) to run this test against PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	// A database name cannot be a bound parameter; this one is made
	// here of [a-z0-9_] only.
	name := "rs_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" ENCODING '"+encoding+"' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, admin, name)
}

// withDatabase returns dsn connecting to database name instead.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", Env, err)
		}
		u.Path = "/" + name
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	// In a keyword string the last setting of a keyword wins.
	return dsn + " dbname=" + name
}
