package schema

import (
	"context"
	"time"
)

// An Alert is one row of the outbox of alerts that 'relaysleuth tail'
// decided: written before the lines deciding it are committed, marked sent
// once delivered, so that a crash in between delays it but never loses it.
type Alert struct {
	Key  string // what it is about; an alert decided again has the same key
	JSON []byte // the alert as delivered
}

const alertAdd = `INSERT OR IGNORE INTO alerts (key, json, created_ms) VALUES (?, ?, ?)`

// AddAlerts adds the alerts whose key is not in the outbox yet, in one
// transaction, and returns how many it added: an alert decided again (from
// lines read again after a crash) is already there, sent or not.
func (s *Store) AddAlerts(ctx context.Context, alerts []Alert) (added int, err error) {
	if len(alerts) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrapBusy(err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, alertAdd)
	if err != nil {
		return 0, wrapBusy(err)
	}
	defer st.Close()
	now := time.Now().UnixMilli()
	for _, a := range alerts {
		res, err := st.ExecContext(ctx, a.Key, string(a.JSON), now)
		if err != nil {
			return 0, wrapBusy(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, wrapBusy(err)
	}
	return added, nil
}

const alertsPending = `SELECT key, json FROM alerts WHERE sent_ms IS NULL ORDER BY created_ms, rowid`

// PendingAlerts returns the alerts not marked sent, in the order they were
// added.
func (s *Store) PendingAlerts(ctx context.Context) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, alertsPending)
	if err != nil {
		return nil, wrapBusy(err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var (
			a    Alert
			body string
		)
		if err := rows.Scan(&a.Key, &body); err != nil {
			return nil, err
		}
		a.JSON = []byte(body)
		out = append(out, a)
	}
	return out, wrapBusy(rows.Err())
}

const alertSent = `UPDATE alerts SET sent_ms = ? WHERE key = ? AND sent_ms IS NULL`

// MarkSent records that the alert with key was delivered.
func (s *Store) MarkSent(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, alertSent, time.Now().UnixMilli(), key)
	return wrapBusy(err)
}

const alertsPrune = `DELETE FROM alerts WHERE sent_ms < ?`

// PruneAlerts deletes the alerts sent before before and returns how many
// it deleted. An unsent alert is kept however old.
func (s *Store) PruneAlerts(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, alertsPrune, before.UnixMilli())
	if err != nil {
		return 0, wrapBusy(err)
	}
	n, err := res.RowsAffected()
	return n, err
}
