package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL the stored lines are in tables partitioned by UTC month
// (pgschema/0017_partitions.sql): event_blocks and event_keys by the
// block's newest event, events by its time. A month's partitions are made
// by the first writer that has lines of that month, before its batch's
// transaction begins (relaysleuth_partition, under an advisory lock: four
// writers entering a new month at once make them once), and prune drops
// the months that end before its cutoff.

// pgMonth is a UTC month as a number of months since year 0: the key of
// Store.pgParts.
type pgMonth int64

// monthOf returns the UTC month of ms (Unix milliseconds).
func monthOf(ms int64) pgMonth {
	t := time.UnixMilli(ms).UTC()
	return pgMonth(int64(t.Year())*12 + int64(t.Month()) - 1)
}

// start returns the first millisecond of m.
func (m pgMonth) start() int64 {
	y, mo := int64(m)/12, int64(m)%12
	if mo < 0 { // before year 0: floor division
		y, mo = y-1, mo+12
	}
	return time.Date(int(y), time.Month(mo+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// pgPartitioned lists the tables partitioned by month.
var pgPartitioned = []string{"event_blocks", "event_keys", "events"}

// batchMonths returns the months of b's rows that go into partitioned
// tables: each block's (with its keys) and each sparse event's.
func batchMonths(b *Batch) map[string][]pgMonth {
	seen := map[[2]any]bool{}
	out := map[string][]pgMonth{}
	add := func(table string, ms int64) {
		m := monthOf(ms)
		if k := [2]any{table, m}; !seen[k] {
			seen[k] = true
			out[table] = append(out[table], m)
		}
	}
	for _, bl := range b.blocks {
		add("event_blocks", bl.maxTs)
		add("event_keys", bl.maxTs)
	}
	for _, i := range b.sparse {
		add("events", b.events[i].Time.UnixMilli())
	}
	return out
}

// pgEnsurePartitions makes the partitions b's rows need, those this Store
// has not made or met before. Each is made in a transaction of its own,
// outside the writer's (which must not hold the lock ATTACH PARTITION
// waits for).
func (s *Store) pgEnsurePartitions(ctx context.Context, b *Batch) error {
	for table, months := range batchMonths(b) {
		for _, m := range months {
			if err := s.pgEnsurePartition(ctx, table, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// pgEnsurePartition makes table's partition for month m unless this Store
// knows it exists.
func (s *Store) pgEnsurePartition(ctx context.Context, table string, m pgMonth) error {
	key := table + "/" + fmt.Sprint(int64(m))
	if _, ok := s.pgParts.Load(key); ok {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `SELECT relaysleuth_partition(?, ?)`, table, m.start()); err != nil {
		return fmt.Errorf("partition of %s for %s: %w", table, time.UnixMilli(m.start()).UTC().Format("2006-01"), wrapBusy(err))
	}
	s.pgParts.Store(key, true)
	return nil
}

// pgForgetPartitions forgets which partitions exist: another process's
// prune may have dropped some.
func (s *Store) pgForgetPartitions() {
	s.pgParts.Clear()
}

// noPartition reports an insert of a row for which no partition exists
// (SQLSTATE 23514 on a partitioned table): its month was dropped by a
// prune after this Store made it.
func noPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && pe.Routine == "ExecFindPartition"
}

// A pgPartition is one month's partition of a partitioned table.
type pgPartition struct {
	parent, name string
	end          int64 // its upper bound (exclusive), Unix ms
}

// pgPartitionsQuery lists the partitions of the table ?, with their upper
// bounds as pg_get_expr writes them: FOR VALUES FROM ('lo') TO ('hi').
const pgPartitionsQuery = `SELECT c.relname, (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''?(-?[0-9]+)''?\)'))[1]::bigint
 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ?::regclass ORDER BY 2`

// pgPartitions lists the partitions of the partitioned tables.
func pgPartitions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]pgPartition, error) {
	var out []pgPartition
	for _, table := range pgPartitioned {
		rows, err := q.QueryContext(ctx, pgPartitionsQuery, table)
		if err != nil {
			return nil, wrapBusy(err)
		}
		for rows.Next() {
			p := pgPartition{parent: table}
			var end sql.NullInt64
			if err := rows.Scan(&p.name, &end); err != nil {
				rows.Close()
				return nil, err
			}
			if end.Valid { // a bound of MAXVALUE, set by hand, never ends
				p.end = end.Int64
				out = append(out, p)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrapBusy(err)
		}
	}
	return out, nil
}

// pgDropMonths drops, in tx, the partitions whose months end at or
// before cutoff (Unix ms): every row in them is older than the cutoff,
// what Prune's statements would delete row by row. It adds the rows they
// held to p, and leaves the month that holds the cutoff to those
// statements. Dropping a partition locks its parent until tx ends: the
// writers wait for the prune.
func pgDropMonths(ctx context.Context, tx *sql.Tx, cutoff int64, p *Pruned) error {
	parts, err := pgPartitions(ctx, tx)
	if err != nil {
		return err
	}
	for _, part := range parts {
		if part.end > cutoff {
			continue
		}
		// As the tables' owner (0017_partitions.sql): a writer's role may
		// not drop tables.
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT relaysleuth_drop_partition(?, ?)`, part.parent, part.name).Scan(&n); err != nil {
			return fmt.Errorf("prune %s: %w", part.name, wrapBusy(err))
		}
		switch part.parent {
		case "event_blocks":
			p.Blocks += n
		case "events":
			p.Events += n
		}
	}
	return nil
}
