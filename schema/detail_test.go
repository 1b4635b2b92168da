package schema

import (
	"database/sql"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// hostileEvent has a value in every field the store keeps, with the bytes
// a log line can smuggle in: separators of the detail encoding, digits,
// invalid UTF-8, control characters, SQL.
func hostileEvent(line int) parsers.Event {
	return parsers.Event{
		Pos:            parsers.Pos{File: "mail.log", Line: line, Offset: int64(line) * 100},
		Time:           time.Date(2026, 3, 1, 10, 0, line, 0, time.UTC),
		Format:         "postfix",
		Host:           "mx1",
		Daemon:         "smtpd",
		Kind:           parsers.KindRcpt,
		Session:        "12:34",
		QueueID:        "4AB1C2D3E4",
		NextQueueID:    "5FF",
		PrevQueueID:    "3EE",
		MessageID:      "m1@example.org",
		ClientIP:       netip.MustParseAddr("203.0.113.7"),
		ClientName:     "unknown",
		OrigClientIP:   netip.MustParseAddr("2001:db8::1"),
		OrigClientName: "10:x",
		Helo:           "\x1b[31mevil\x1b[0m:9:",
		Proto:          "ESMTP",
		SASLMethod:     "PLAIN",
		SASLUser:       "alice",
		From:           "'; DROP TABLE events;--@example.com",
		Rcpt:           "bob\xff\xfe@example.net",
		OrigRcpt:       "",
		Relay:          "mx.example.net[198.51.100.2]:25",
		Status:         "sent",
		DSN:            "2.0.0",
		Reason:         "250 2.0.0 Ok: queued as 5FF 3:abc",
		Size:           123456789,
		NRcpt:          3,
		Raw:            fmt.Sprintf("line %d with \x00 NUL and \xff", line),
	}
}

// TestEventsKeepEveryField stores events through the Writer and reads them
// back the ways investigate and rejudge do: every field comes back as
// stored, hostile bytes included.
func TestEventsKeepEveryField(t *testing.T) { engines(t, testEventsKeepEveryField) }

func testEventsKeepEveryField(t *testing.T, db string) {
	first := hostileEvent(1)
	first.AddAttr("X", "TLS1.3:AES_256:256")
	first.AddAttr("3:", "")
	first.AddAttr("DKIM", "ex\x00:1:")
	s := openEngine(t, db)
	want := []parsers.Event{first, {
		Pos: parsers.Pos{File: "mail.log", Line: 2, Offset: 200}, Time: time.Date(2026, 3, 1, 10, 0, 2, 0, time.UTC),
		Format: "postfix", Host: "mx1", Daemon: "qmgr", Kind: parsers.KindRemoved, QueueID: "4AB1C2D3E4", Raw: "removed",
	}}
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 300)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NewWriter(src).Commit(t.Context(), want, nil, nil, Progress{Offset: 300, Lines: 2, Complete: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.EventsBy(t.Context(), analysis.ByQueueID, "4AB1C2D3E4", analysis.TimeRange{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EventsBy = \n%+v\nwant\n%+v", got, want)
	}
	var fed []parsers.Event
	if err := s.eachEvent(t.Context(), src.ID, "mail.log", func(ev parsers.Event) error {
		fed = append(fed, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fed, want) {
		t.Errorf("events fed to rejudge = \n%+v\nwant\n%+v", fed, want)
	}
}

// TestMigrateCompactEvents opens a database written by the schema before
// compact events (version 5): migration 0006 keeps every event and every
// field of it.
func TestMigrateCompactEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names[:5] {
		body, _ := migrations.ReadFile(name)
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO sources (id, path, fingerprint, ingested_ms) VALUES (1, 'mail.log', 'fp', 0)`); err != nil {
		t.Fatal(err)
	}
	want := []parsers.Event{hostileEvent(1), hostileEvent(2)}
	want[1].OrigClientIP, want[1].Size, want[1].NRcpt, want[1].Session = netip.Addr{}, 0, 0, ""
	for _, ev := range want {
		// The old layout: a column per field.
		_, err := db.Exec(`INSERT INTO events (source_id, line, byte_offset, seq, ts_ms, format, host, daemon, kind,
 session, queue_id, next_queue_id, prev_queue_id, message_id, client_ip, client_name, helo, proto, sasl_method,
 sasl_user, sender, rcpt, orig_rcpt, relay, status, dsn, reason, size, nrcpt, orig_client_ip, orig_client_name, raw)
 VALUES (1, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ev.Pos.Line, ev.Pos.Offset, ev.Time.UnixMilli(), ev.Format, ev.Host, ev.Daemon, ev.Kind.String(),
			ev.Session, ev.QueueID, ev.NextQueueID, ev.PrevQueueID, ev.MessageID, addrString(&ev), ev.ClientName,
			ev.Helo, ev.Proto, ev.SASLMethod, ev.SASLUser, ev.From, ev.Rcpt, ev.OrigRcpt, ev.Relay, ev.Status,
			ev.DSN, ev.Reason, ev.Size, ev.NRcpt, origClient(&ev), ev.OrigClientName, ev.Raw)
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.EventsBy(t.Context(), analysis.ByQueueID, "4AB1C2D3E4", analysis.TimeRange{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after migration = \n%+v\nwant\n%+v", got, want)
	}
	if res, err := s.IntegrityCheck(t.Context()); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v", res, err)
	}
}

func TestDecodeDetailRejectsGarbage(t *testing.T) {
	for _, b := range []string{"x", "5:ab", "-1:", "99999999999999999999:x"} {
		var ev parsers.Event
		if err := decodeDetail([]byte(b), &ev); err == nil {
			t.Errorf("decodeDetail(%q) = nil, want an error", b)
		}
	}
}
