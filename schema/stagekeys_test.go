package schema

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestStagedKeys: a load's writer stages the keys of the lines it stores
// (event_keys_new); the lines are found by queue id and Message-ID while
// staged and after RestoreIndexes has merged them into event_keys. A load
// killed before its merge (closed without it) leaves its keys staged: Open
// does not merge them (they could be another process's load in progress),
// readers find them, and the next load's end merges them. Prune removes
// the staged keys of the lines it deletes. Nothing is found twice.
func TestStagedKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rs.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	var events []parsers.Event
	for i, qid := range []string{"AAA111", "BBB222", "AAA111"} {
		events = append(events, parsers.Event{
			Pos:  parsers.Pos{File: "mail.log", Line: i + 1, Offset: int64(i * 80)},
			Time: at.Add(time.Duration(i) * time.Second), Format: "postfix", Host: "mx1", Kind: parsers.KindClient,
			QueueID: qid, MessageID: "<" + qid + "@example.org>", Raw: "line " + qid,
		})
	}
	write := func(s *Store, fp string, evs []parsers.Event) { commitEvents(t, s, fp, evs, true) }
	count := func(s *Store, table string) int {
		t.Helper()
		var n int
		// table is one of the test's constants.
		if err := s.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	found := func(s *Store, when string, ccc int) {
		t.Helper()
		for _, c := range []struct {
			field analysis.EventField
			value string
			want  int
		}{{analysis.ByQueueID, "AAA111", 2}, {analysis.ByQueueID, "BBB222", 1}, {analysis.ByMessageID, "<BBB222@example.org>", 1}, {analysis.ByQueueID, "CCC333", ccc}} {
			evs, err := s.EventsBy(t.Context(), c.field, c.value, analysis.TimeRange{})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != c.want {
				t.Errorf("%s: events of %s: %d, want %d", when, c.value, len(evs), c.want)
			}
		}
	}
	write(s, "fp1", events)
	if count(s, "event_keys_new") == 0 || count(s, "event_keys") != 0 {
		t.Fatalf("the writer did not stage its keys: %d staged, %d merged", count(s, "event_keys_new"), count(s, "event_keys"))
	}
	found(s, "staged", 0)
	if err := s.RestoreIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(s, "event_keys_new"); n != 0 || count(s, "event_keys") == 0 {
		t.Fatalf("after the merge: %d staged, %d merged", n, count(s, "event_keys"))
	}
	found(s, "merged", 0)

	// A second load killed before its merge.
	more := []parsers.Event{events[1]}
	more[0].Pos.File = "mail.log.1"
	more[0].QueueID, more[0].MessageID, more[0].Raw = "CCC333", "<CCC333@example.org>", "line CCC333"
	write(s, "fp2", more)
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(s, "event_keys_new"); n != 2 {
		t.Errorf("after the reopen: %d keys staged, want CCC333's 2 left for the next load", n)
	}
	found(s, "reopened", 1)
	if err := s.RestoreIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, m := count(s, "event_keys_new"), count(s, "event_keys"); n != 0 || m != 6 {
		t.Errorf("after the next load's merge: %d staged, %d merged, want 0 and 6 (q and m of AAA111, BBB222 and CCC333)", n, m)
	}
	found(s, "merged again", 1)

	// A staged key of a pruned line goes with it.
	late := []parsers.Event{events[0]}
	late[0].Time = at.Add(48 * time.Hour)
	late[0].QueueID, late[0].MessageID, late[0].Raw = "DDD444", "", "line DDD444"
	write(s, "fp3", late)
	older := []parsers.Event{events[0]}
	older[0].QueueID, older[0].MessageID, older[0].Raw = "EEE555", "", "line EEE555"
	write(s, "fp4", older)
	if _, err := s.Prune(t.Context(), at.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := s.db.Query(`SELECT key FROM event_keys_new UNION ALL SELECT key FROM event_keys`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		left = append(left, k)
	}
	rows.Close()
	if len(left) != 1 || left[0] != "qDDD444" {
		t.Errorf("keys after prune: %q, want the later line's qDDD444 only", left)
	}
}

// commitEvents stores evs as one batch of a source "mail.log" with the
// fingerprint fp, its keys staged as an ingest stages them when stage.
func commitEvents(t *testing.T, s *Store, fp string, evs []parsers.Event, stage bool) {
	t.Helper()
	src, err := s.Source(t.Context(), "mail.log", fp, "postfix", 1000)
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(src)
	if stage {
		w.StageKeys()
	}
	if err := w.Commit(t.Context(), evs, nil, nil, Progress{Offset: 1000, Lines: int64(len(evs))}); err != nil {
		t.Fatal(err)
	}
}
