package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgCopyTables are the tables CopyTo copies, parents first. recipient_counts
// is not among them: the triggers count the recipients as they arrive.
// deferred_indexes neither: PostgreSQL defers none.
var pgCopyTables = []string{
	"sources", "events", "event_blocks", "event_keys", "messages", "recipients",
	"follows", "alerts", "accounts",
}

// Copied is how many rows CopyTo copied, per table.
type Copied map[string]int64

// ErrNotEmpty reports a PostgreSQL database that already holds data.
var ErrNotEmpty = errors.New("the PostgreSQL database already holds data (migrate copies into an empty one)")

// CopyTo copies everything s (a SQLite database) holds into dst, an empty
// PostgreSQL database, in one transaction: every row with its ids, and the
// recipients' and alerts' rowids, so that ties sort as they did. Rows go
// by COPY. onTable, when not nil, is told each table as it starts.
func (s *Store) CopyTo(ctx context.Context, dst *Store, onTable func(table string)) (Copied, error) {
	if s.pg || !dst.pg {
		return nil, errors.New("copy: from a SQLite database into a PostgreSQL one only")
	}
	conn, err := dst.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out := Copied{}
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*pgConn)
		if !ok {
			return fmt.Errorf("copy: unexpected connection %T", dc)
		}
		sc, ok := pc.conn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: unexpected connection %T", pc.conn)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		// Nobody else writes while the copy runs, and the database is
		// checked empty under the lock.
		if _, err := tx.Exec(ctx, `LOCK TABLE sources IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var any bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sources) OR EXISTS (SELECT 1 FROM recipients)`).Scan(&any); err != nil {
			return err
		}
		if any {
			return ErrNotEmpty
		}
		for _, table := range pgCopyTables {
			if onTable != nil {
				onTable(table)
			}
			if err := s.copyPartitions(ctx, tx, table); err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			n, err := s.copyTable(ctx, tx, dst, table, pc.utf8)
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			out[table] = n
		}
		for _, table := range []string{"sources", "events", "event_blocks"} {
			if err := pgResetIdentity(ctx, tx, table, "id"); err != nil {
				return err
			}
		}
		for _, table := range []string{"recipients", "alerts"} {
			if err := pgResetIdentity(ctx, tx, table, "rowid"); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
	return out, err
}

// pgResetIdentity makes the identity column's next value follow the
// largest copied one. Table and column names are constants of this file.
func pgResetIdentity(ctx context.Context, tx pgx.Tx, table, column string) error {
	_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(`+column+`) FROM `+table+`), 0) + 1, false)`, table, column)
	if err != nil {
		return fmt.Errorf("copy %s: reset %s: %w", table, column, err)
	}
	return nil
}

// pgColumn is a column of a PostgreSQL table.
type pgColumn struct {
	name, typ string
}

// copyTable copies one table of s into tx by COPY, and returns how many
// rows it copied.
func (s *Store) copyTable(ctx context.Context, tx pgx.Tx, dst *Store, table string, utf8DB bool) (int64, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return 0, err
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgColumn, error) {
		var c pgColumn
		err := r.Scan(&c.name, &c.typ)
		return c, err
	})
	if err != nil {
		return 0, err
	}
	if len(cols) == 0 {
		return 0, fmt.Errorf("no table %s in the PostgreSQL database", table)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	// Column names come from the PostgreSQL schema relaysleuth created,
	// the same as SQLite's ("rowid" is SQLite's own).
	from := table
	if f, ok := pgCopyFrom[table]; ok {
		from = f
	}
	src, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+from)
	if err != nil {
		return 0, wrapBusy(err)
	}
	defer src.Close()
	in := &sqliteRows{rows: src, cols: cols, utf8: utf8DB}
	if table == "follows" {
		// The files the SQLite database's tail followed are this
		// machine's.
		in.prefix = map[string]string{"path": dst.followPrefix}
	}
	return tx.CopyFrom(ctx, pgx.Identifier{table}, names, in)
}

// pgCopyFrom is what copyTable reads from SQLite for a PostgreSQL table
// unlike SQLite's: each event key, merged or staged by a load that did
// not end (allEventKeys; once if in both), with its block's max_ts_ms
// (pgschema/0017_partitions.sql).
var pgCopyFrom = map[string]string{
	"event_keys": `(SELECT k.key, k.block_id, min(k.min_ts_ms) AS min_ts_ms, max(k.max_ts_ms) AS max_ts_ms,
 (SELECT b.max_ts_ms FROM event_blocks b WHERE b.id = k.block_id) AS block_max_ts_ms
 FROM ` + allEventKeys + ` k GROUP BY k.key, k.block_id)`,
}

// pgCopyMonths are the SQLite queries giving a time of each month of the
// rows of the partitioned tables (pgpart.go), by table.
var pgCopyMonths = map[string]string{
	"event_blocks": `SELECT min(max_ts_ms) FROM event_blocks GROUP BY strftime('%Y%m', max_ts_ms / 1000, 'unixepoch')`,
	"event_keys":   `SELECT min(max_ts_ms) FROM event_blocks GROUP BY strftime('%Y%m', max_ts_ms / 1000, 'unixepoch')`,
	"events":       `SELECT min(ts_ms) FROM events GROUP BY strftime('%Y%m', ts_ms / 1000, 'unixepoch')`,
}

// copyPartitions makes, in tx, the monthly partitions of table that the
// rows copied from s need, when table is partitioned.
func (s *Store) copyPartitions(ctx context.Context, tx pgx.Tx, table string) error {
	q, ok := pgCopyMonths[table]
	if !ok {
		return nil
	}
	var partitioned bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1))`, table).Scan(&partitioned); err != nil || !partitioned {
		return err
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return wrapBusy(err)
	}
	var months []pgMonth
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			rows.Close()
			return err
		}
		months = append(months, monthOf(ms))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrapBusy(err)
	}
	for _, m := range months {
		if _, err := tx.Exec(ctx, `SELECT relaysleuth_partition($1, $2)`, table, m.start()); err != nil {
			return fmt.Errorf("partition for %s: %w", time.UnixMilli(m.start()).UTC().Format("2006-01"), err)
		}
	}
	return nil
}

// sqliteRows feeds rows read from SQLite to pgx's CopyFrom, as the values
// the PostgreSQL columns take.
type sqliteRows struct {
	rows *sql.Rows
	cols []pgColumn
	utf8 bool
	// prefix is put before the values of the columns it names.
	prefix map[string]string
	vals   []any
	err    error
}

func (r *sqliteRows) Next() bool {
	if !r.rows.Next() {
		r.err = r.rows.Err()
		return false
	}
	raw := make([]any, len(r.cols))
	ptrs := make([]any, len(r.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if r.err = r.rows.Scan(ptrs...); r.err != nil {
		return false
	}
	r.vals = r.vals[:0]
	for i, v := range raw {
		c := r.cols[i]
		switch {
		case v == nil:
			r.vals = append(r.vals, nil)
		case c.typ == "bytea":
			switch b := v.(type) {
			case []byte:
				r.vals = append(r.vals, b)
			case string:
				r.vals = append(r.vals, []byte(b))
			default:
				r.err = fmt.Errorf("column %s: %T, want bytes", c.name, v)
				return false
			}
		case c.typ == "text":
			var s string
			switch t := v.(type) {
			case []byte:
				s = string(t)
			case string:
				s = t
			default:
				s = fmt.Sprint(t)
			}
			// As pgConn.CheckNamedValue: no NUL in a text value, and
			// UTF-8 only when the database's encoding is UTF8.
			if strings.IndexByte(s, 0) >= 0 {
				s = strings.ReplaceAll(s, "\x00", "\uFFFD")
			}
			if r.utf8 && !utf8.ValidString(s) {
				s = validUTF8(s)
			}
			r.vals = append(r.vals, r.prefix[c.name]+s)
		default: // bigint, integer
			switch t := v.(type) {
			case int64:
				r.vals = append(r.vals, t)
			case bool:
				r.vals = append(r.vals, map[bool]int64{false: 0, true: 1}[t])
			default:
				r.err = fmt.Errorf("column %s: %T, want an integer", c.name, v)
				return false
			}
		}
	}
	return true
}

func (r *sqliteRows) Values() ([]any, error) { return r.vals, nil }
func (r *sqliteRows) Err() error             { return r.err }
