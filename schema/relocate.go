package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// A StoredSource is a source as the store names it now: Path is the file
// its lines are found in, the name every stored reference to them uses.
type StoredSource struct {
	ID          int64
	Path        string
	Fingerprint string
}

// sourcesUnder lists the sources whose path starts with a prefix: the
// files of one rotation family (mail.log, mail.log.1, mail.log.2.gz, ...).
// substr, not LIKE, so that "_" and "%" in a path are not patterns.
const sourcesUnder = `SELECT id, path, fingerprint FROM sources WHERE substr(path, 1, length(?)) = ? ORDER BY id`

// SourcesUnder returns the sources whose path starts with prefix.
func (s *Store) SourcesUnder(ctx context.Context, prefix string) ([]StoredSource, error) {
	rows, err := s.db.QueryContext(ctx, sourcesUnder, prefix, prefix)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []StoredSource
	for rows.Next() {
		var src StoredSource
		if err := rows.Scan(&src.ID, &src.Path, &src.Fingerprint); err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return out, wrapBusy(rows.Err())
}

// A Relocation is a source whose file was renamed (by logrotate: mail.log
// to mail.log.1, mail.log.1 to mail.log.2.gz): its lines are in To now.
type Relocation struct {
	SourceID int64
	From, To string
}

// The columns that hold "file:line" references, as JSON lists of strings.
var evidenceColumns = []struct{ table, column string }{
	{"recipients", "evidence"},
	{"messages", "evidence"},
	{"accounts", "evidence"},
}

const relocateSource = `UPDATE sources SET path = ? WHERE id = ? AND path = ?`

// Relocate renames the files of moves in the store, in one transaction:
// the sources' paths (which the stored lines are read back with) and every
// "file:line" reference to them in the evidence of recipients, messages
// and accounts. The moves happen at once, as logrotate's renames do: a move
// from mail.log.1 to mail.log.2.gz and one from mail.log to mail.log.1 do
// not mix their references. The caller makes sure that every reference to
// From is to the moved source (the lines of a new file under an old name
// are stored after its relocation).
func (s *Store) Relocate(ctx context.Context, moves []Relocation) error {
	if len(moves) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapBusy(err)
	}
	defer tx.Rollback()
	// A reference is a JSON string "FILE:LINE": its opening quote and
	// "FILE:" are what is replaced, through a placeholder no path holds
	// (JSON escapes control characters), so that the renames do not chain.
	ref := func(path string) string {
		b, _ := json.Marshal(path)
		return strings.TrimSuffix(string(b), `"`) + ":"
	}
	hold := func(i int) string { return fmt.Sprintf("\"\x01relaysleuth-relocate-%d:", i) }
	var hosts [][]string
	if s.pg {
		if hosts, err = pgMoveHosts(ctx, tx, moves); err != nil {
			return err
		}
	}
	for _, col := range evidenceColumns {
		for phase := range 2 {
			for i, m := range moves {
				from, to := ref(m.From), hold(i)
				if phase == 1 {
					from, to = hold(i), ref(m.To)
				}
				q := fmt.Sprintf(`UPDATE %s SET %s = replace(%s, ?, ?) WHERE instr(%s, ?) > 0`, col.table, col.column, col.column, col.column)
				args := []any{from, to, from}
				if s.pg && phase == 0 && col.table != "accounts" && hosts[i] != nil {
					q, args = q+pgRelocateHosts, append(args, hosts[i])
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return fmt.Errorf("relocate %s in %s: %w", m.From, col.table, wrapBusy(err))
				}
			}
		}
	}
	for _, m := range moves {
		if _, err := tx.ExecContext(ctx, relocateSource, m.To, m.SourceID, m.From); err != nil {
			return fmt.Errorf("relocate source %s: %w", m.From, wrapBusy(err))
		}
	}
	return wrapBusy(tx.Commit())
}
