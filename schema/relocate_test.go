package schema

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// insertRow adds a row to table with the given values and a zero value
// in every other NOT NULL column.
func insertRow(t *testing.T, s *Store, table string, vals map[string]any) {
	t.Helper()
	db := s.db
	columns := fmt.Sprintf("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('%s')", table)
	if s.pg {
		columns = fmt.Sprintf(`SELECT column_name, data_type, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END, column_default
 FROM information_schema.columns WHERE table_name = '%s' AND is_identity = 'NO' ORDER BY ordinal_position`, table)
	}
	rows, err := db.Query(columns)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	var args []any
	for rows.Next() {
		var name, typ string
		var notnull int
		var dflt sql.NullString
		if err := rows.Scan(&name, &typ, &notnull, &dflt); err != nil {
			t.Fatal(err)
		}
		v, ok := vals[name]
		switch {
		case ok:
		case notnull == 1 && !dflt.Valid && strings.Contains(strings.ToUpper(typ), "INT"):
			v = 0
		case notnull == 1 && !dflt.Valid:
			v = ""
		default:
			continue
		}
		cols = append(cols, name)
		args = append(args, v)
	}
	rows.Close()
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (?%s)", table, strings.Join(cols, ", "), strings.Repeat(", ?", len(cols)-1))
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestRelocate: logrotate's renames happen at once, so references to
// mail.log.1 (now mail.log.2.gz) and to mail.log (now mail.log.1) must
// not chain; a path that only starts like a moved one is left alone, and
// so is a source whose path moved on already.
func TestRelocate(t *testing.T) { engines(t, testRelocate) }

func testRelocate(t *testing.T, db string) {
	ctx := context.Background()
	s := openEngine(t, db)
	dir := `/var/log/mail "odd"`
	log, log1, log2 := dir+"/mail.log", dir+"/mail.log.1", dir+"/mail.log.2.gz"
	older, err := s.Source(ctx, log1, "fp-older", "postfix", 10)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.Source(ctx, log, "fp-current", "postfix", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Source(ctx, "/var/log/mail.log.other", "fp-other", "postfix", 10); err != nil {
		t.Fatal(err)
	}
	ev := func(refs ...string) string {
		var q []string
		for _, r := range refs {
			q = append(q, fmt.Sprintf("%q", r))
		}
		return "[" + strings.Join(q, ",") + "]"
	}
	insertRow(t, s, "recipients", map[string]any{"key": "r1", "evidence": ev(log1+":7", log+":3", log+":4")})
	insertRow(t, s, "messages", map[string]any{"key": "m1", "evidence": ev(log+":3", "/var/log/mail.log.other:3")})
	// as written today: references to one file grouped (evidence.go)
	insertRow(t, s, "recipients", map[string]any{"key": "r2", "evidence": encodeEvidence([]string{log1 + ":7", log + ":3", log + ":4", log + ":9"})})

	under, err := s.SourcesUnder(ctx, log)
	if err != nil || len(under) != 2 || under[0].ID != older.ID || under[1].ID != cur.ID {
		t.Fatalf("SourcesUnder(%q) = %+v, %v", log, under, err)
	}
	err = s.Relocate(ctx, []Relocation{{SourceID: older.ID, From: log1, To: log2}, {SourceID: cur.ID, From: log, To: log1}})
	if err != nil {
		t.Fatal(err)
	}
	var rEv, mEv string
	if err := s.db.QueryRow(`SELECT evidence FROM recipients WHERE key = 'r1'`).Scan(&rEv); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT evidence FROM messages WHERE key = 'm1'`).Scan(&mEv); err != nil {
		t.Fatal(err)
	}
	if want := ev(log2+":7", log1+":3", log1+":4"); rEv != want {
		t.Errorf("recipient evidence %s, want %s", rEv, want)
	}
	if want := ev(log1+":3", "/var/log/mail.log.other:3"); mEv != want {
		t.Errorf("message evidence %s, want %s", mEv, want)
	}
	var r2 string
	if err := s.db.QueryRow(`SELECT evidence FROM recipients WHERE key = 'r2'`).Scan(&r2); err != nil {
		t.Fatal(err)
	}
	if got, want := decodeEvidence(r2), []string{log2 + ":7", log1 + ":3", log1 + ":4", log1 + ":9"}; !slices.Equal(got, want) {
		t.Errorf("grouped recipient evidence %s reads %q, want %q", r2, got, want)
	}
	under, _ = s.SourcesUnder(ctx, log)
	var paths []string
	for _, u := range under {
		paths = append(paths, u.Path)
	}
	if want := []string{log2, log1}; !slices.Equal(paths, want) {
		t.Errorf("source paths %v, want %v", paths, want)
	}
	// A move from a path the source no longer has changes nothing.
	if err := s.Relocate(ctx, []Relocation{{SourceID: cur.ID, From: log, To: "/elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	if src, _, _ := s.SourceByFingerprint(ctx, "fp-current"); src.Path != log1 {
		t.Errorf("source moved from a path it did not have: %s", src.Path)
	}
}
