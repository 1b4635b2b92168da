package schema

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestAuthFailuresGroups stores failed logins from three clients and reads
// report auth's grouping back: the most failures first, clients with as
// many in the order they first failed (the line first within one
// millisecond); each client's first name, span, users in the order tried,
// the first three lines as evidence; an Exim rejectlog copy of a mainlog
// failure counted once.
func TestAuthFailuresGroups(t *testing.T) { engines(t, testAuthFailuresGroups) }

func testAuthFailuresGroups(t *testing.T, db string) {
	s := openEngine(t, db)
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	var events []parsers.Event
	fail := func(ms int, ip, user, daemon string) {
		line := len(events) + 1
		events = append(events, parsers.Event{Pos: parsers.Pos{File: "mail.log", Line: line, Offset: int64(line * 100)},
			Time: t0.Add(time.Duration(ms) * time.Millisecond), Format: "exim", Host: "mx", Daemon: daemon,
			Kind: parsers.KindAuthFailed, ClientIP: netip.MustParseAddr(ip), ClientName: "host-" + ip,
			SASLMethod: "LOGIN", SASLUser: user, Raw: "failed login"})
	}
	const a, b, c = "203.0.113.20", "198.51.100.30", "192.0.2.10" // c sorts first by address, fails last
	fail(0, b, "bob", "mainlog")
	fail(1000, a, "alice", "mainlog")
	fail(1000, a, "alice", "rejectlog") // the same failure, again
	fail(2000, a, "root", "mainlog")
	fail(3000, a, "alice", "mainlog")
	fail(4000, a, "admin", "mainlog")
	fail(5000, b, "bob", "mainlog")
	fail(5000, c, "carol", "mainlog") // as many as b, but b failed first
	fail(6000, c, "carol", "mainlog")
	commitEvents(t, s, "fp", events, false)
	got, err := s.AuthFailures(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []analysis.ClientReport{
		{ClientIP: a, ClientName: "host-" + a, Count: 4, First: t0.Add(time.Second), Last: t0.Add(4 * time.Second),
			Users: []string{"alice", "root", "admin"}, Evidence: []string{"mail.log:2", "mail.log:4", "mail.log:5"}},
		{ClientIP: b, ClientName: "host-" + b, Count: 2, First: t0, Last: t0.Add(5 * time.Second),
			Users: []string{"bob"}, Evidence: []string{"mail.log:1", "mail.log:7"}},
		{ClientIP: c, ClientName: "host-" + c, Count: 2, First: t0.Add(5 * time.Second), Last: t0.Add(6 * time.Second),
			Users: []string{"carol"}, Evidence: []string{"mail.log:8", "mail.log:9"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AuthFailures =\n%+v\nwant\n%+v", got, want)
	}
}
