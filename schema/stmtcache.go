package schema

import (
	"context"
	"database/sql"
)

// prepared returns query prepared once for the store, for the look-ups a
// run makes thousands of times (a message by its queue id, failed logins
// from an address): preparing a statement costs more than running it on
// an index (a 1M-line ingest spent 0.7 s of CPU preparing 5,000 look-ups
// and the accounts' failure counts again and again). Close closes them.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, wrapBusy(err)
	}
	if had, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return had.(*sql.Stmt), nil
	}
	s.mu.Lock()
	s.closers = append(s.closers, st)
	s.mu.Unlock()
	return st, nil
}

// scanOne runs query (prepared once, see prepared) and scans its first
// row into dest; sql.ErrNoRows when there is none.
func (s *Store) scanOne(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// query is QueryContext with query prepared once (see prepared).
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
