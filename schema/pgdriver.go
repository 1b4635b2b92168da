package schema

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL store runs the same query text as SQLite's through a
// database/sql driver that wraps pgx's (github.com/jackc/pgx/v5/stdlib):
// every statement the store sends goes through pgRewrite on its way to the
// server, so that SQLite's code path and its speed stay as they are.
// pgRewrite replaces a statement written differently for PostgreSQL with
// its version in pgStatements (pgsql.go), then numbers the placeholders
// ("?" and "?N" become "$n"). Arguments SQLite takes and PostgreSQL does
// not are converted in CheckNamedValue.

// pgStmtKind says what the rewritten statement needs besides its text.
type pgStmtKind int

const (
	pgPlain pgStmtKind = iota
	// pgSkip: a statement with no PostgreSQL counterpart (a PRAGMA that
	// tunes SQLite's own files) is not sent; executing it does nothing.
	pgSkip
	// pgReturningID: an INSERT whose Result.LastInsertId the caller reads;
	// PostgreSQL has no last insert id, so the statement says
	// "RETURNING id" and is run as a query.
	pgReturningID
)

type pgQuery struct {
	sql  string
	kind pgStmtKind
}

// pgRewrites caches pgRewrite's answers: the store sends a few dozen
// distinct texts, most of them many times.
var pgRewrites sync.Map // string → pgQuery

// pgRewrite returns the PostgreSQL form of the SQLite statement q.
func pgRewrite(q string) pgQuery {
	if v, ok := pgRewrites.Load(q); ok {
		return v.(pgQuery)
	}
	out := pgQuery{sql: q}
	if alt, ok := pgStatements[q]; ok {
		out.sql = alt
	} else {
		out.sql = pgGeneric(q)
	}
	switch {
	case out.sql == "":
		out.kind = pgSkip
	case strings.HasSuffix(out.sql, " RETURNING id"):
		out.kind = pgReturningID
	}
	out.sql = rebind(out.sql)
	pgRewrites.Store(q, out)
	return out
}

// pgGeneric rewrites the SQLite idioms that have one PostgreSQL form
// whatever the statement: INSERT OR IGNORE is INSERT ... ON CONFLICT DO
// NOTHING (on any unique constraint, as SQLite's); see also pgKeyInsert
// and pgRelocate.
func pgGeneric(q string) string {
	if rest, ok := strings.CutPrefix(q, "INSERT OR IGNORE INTO "); ok {
		return "INSERT INTO " + rest + " ON CONFLICT DO NOTHING"
	}
	if rows, ok := strings.CutPrefix(q, keyInsert); ok {
		return pgKeyInsert(rows)
	}
	return pgRelocate(q)
}

// rebind numbers q's placeholders as PostgreSQL wants them: "?" is the
// next argument, "?N" argument N; a "?" inside a quoted string or
// identifier is left alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
				i = j - 1
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pgConnector opens connections of pgx's driver wrapped in pgConn.
type pgConnector struct {
	inner driver.Connector
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc := &pgConn{conn: conn}
	if sc, ok := conn.(*stdlib.Conn); ok {
		pc.utf8 = sc.Conn().PgConn().ParameterStatus("server_encoding") == "UTF8"
	}
	return pc, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is a pgx stdlib connection whose statements pass through
// pgRewrite. It implements the interfaces database/sql looks for that the
// wrapped connection does.
type pgConn struct {
	conn driver.Conn
	utf8 bool // the database's text must be UTF-8
}

var (
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
)

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	q := pgRewrite(query)
	if q.kind == pgSkip {
		return pgSkipStmt{}, nil
	}
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, q.sql)
	if err != nil {
		return nil, err
	}
	return &pgStmt{Stmt: st, kind: q.kind}, nil
}

func (c *pgConn) Close() error { return c.conn.Close() }

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	q := pgRewrite(query)
	switch q.kind {
	case pgSkip:
		return driver.RowsAffected(0), nil
	case pgReturningID:
		rows, err := c.conn.(driver.QueryerContext).QueryContext(ctx, q.sql, args)
		if err != nil {
			return nil, err
		}
		return returnedID(rows)
	}
	return c.conn.(driver.ExecerContext).ExecContext(ctx, q.sql, args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q := pgRewrite(query)
	if q.kind == pgSkip {
		return nil, errors.New("statement has no PostgreSQL counterpart: " + query)
	}
	return c.conn.(driver.QueryerContext).QueryContext(ctx, q.sql, args)
}

func (c *pgConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c *pgConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

// CheckNamedValue converts what SQLite stores and PostgreSQL refuses: a
// bool is 0 or 1, as in SQLite. A NUL byte, which no PostgreSQL text value
// can hold, is stored as U+FFFD (a log line's NULs are a crash's debris,
// never evidence); so are the bytes of a string that is not UTF-8 when
// the database's encoding is UTF8 (a database created with ENCODING
// 'SQL_ASCII' keeps them as read, as SQLite does). Anything else goes to
// pgx as it is.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case bool:
		if v {
			nv.Value = int64(1)
		} else {
			nv.Value = int64(0)
		}
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			v = strings.ReplaceAll(v, "\x00", "\uFFFD")
		}
		if c.utf8 && !utf8.ValidString(v) {
			v = validUTF8(v)
		}
		nv.Value = v
	}
	return nil
}

// pgStmt is a prepared statement of pgx's driver, run as a query when it
// returns the id of the row it inserted.
type pgStmt struct {
	driver.Stmt
	kind pgStmtKind
}

func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.kind == pgReturningID {
		rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			return nil, err
		}
		return returnedID(rows)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// returnedID reads the one id an "INSERT ... RETURNING id" returned.
func returnedID(rows driver.Rows) (driver.Result, error) {
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(dest); err != nil {
		if err == io.EOF {
			return nil, errors.New("insert returned no id")
		}
		return nil, err
	}
	id, ok := dest[0].(int64)
	if !ok {
		return nil, errors.New("insert returned a non-integer id")
	}
	return pgResult{id: id}, nil
}

type pgResult struct{ id int64 }

func (r pgResult) LastInsertId() (int64, error) { return r.id, nil }
func (r pgResult) RowsAffected() (int64, error) { return 1, nil }

// pgSkipStmt is a statement that is not sent (pgSkip).
type pgSkipStmt struct{}

func (pgSkipStmt) Close() error  { return nil }
func (pgSkipStmt) NumInput() int { return -1 }
func (pgSkipStmt) Exec([]driver.Value) (driver.Result, error) {
	return driver.RowsAffected(0), nil
}
func (pgSkipStmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("statement has no PostgreSQL counterpart")
}

// validUTF8 returns s with each byte that is not part of a UTF-8 sequence
// replaced by U+FFFD, as encoding/json writes it: what a UTF8 database
// stores reads as SQLite's JSON output does.
func validUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
