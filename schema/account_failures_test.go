package schema

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestAccountFailuresCache: an accounts pass reads each address's failed
// logins once and counts a session's in memory; every count equals the
// store's own count for the same range (both ends included, a failure
// logged twice alike counted once, two hosts' failures in one millisecond
// twice), for addresses with and without failures, and a failure stored
// after the pass read its address counts from the next pass on.
func TestAccountFailuresCache(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "rs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	line := 0
	fail := func(fp, ip, host string, secs ...int) {
		t.Helper()
		var evs []parsers.Event
		for _, sec := range secs {
			line++
			evs = append(evs, parsers.Event{Pos: parsers.Pos{File: "mail.log", Line: line, Offset: int64(line * 80)},
				Time: at.Add(time.Duration(sec) * time.Second), Format: "postfix", Host: host, Daemon: "smtpd",
				Kind: parsers.KindAuthFailed, ClientIP: netip.MustParseAddr(ip), SASLUser: "alice", SASLMethod: "LOGIN",
				Raw: "auth failed " + ip})
		}
		commitEvents(t, s, fp, evs, false)
	}
	fail("fp1", "203.0.113.7", "mx1", 0, 10, 10, 20, 30, 30, 3600) // 10 and 30 twice: the same failure logged twice
	fail("fp2", "203.0.113.7", "mx2", 20)                          // another host, same second: a failure of its own
	fail("fp3", "203.0.113.8", "mx1", 5)
	count := func(f AccountFailures, ip string, from, to time.Time) int {
		t.Helper()
		n, _, err := f.FromAddress(netip.MustParseAddr(ip), from, to)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	pass := NewAccountFailures(t.Context(), s)
	plain := AccountFailures{Ctx: t.Context(), Store: s}
	if n := count(pass, "203.0.113.7", at, at.Add(30*time.Second)); n != 5 {
		t.Errorf("failures of 203.0.113.7 in [0 s, 30 s]: %d, want 5 (0, 10, 20 on two hosts, 30)", n)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		ip := []string{"203.0.113.7", "203.0.113.8", "198.51.100.1"}[rng.IntN(3)]
		from := at.Add(time.Duration(rng.IntN(3700)-50) * time.Second)
		to := from.Add(time.Duration(rng.IntN(200)) * time.Second)
		if rng.IntN(4) == 0 {
			to = from // a session of one instant
		}
		if c, p := count(pass, ip, from, to), count(plain, ip, from, to); c != p {
			t.Fatalf("%s in [%s, %s]: %d from the pass's cache, %d from the store", ip, from, to, c, p)
		}
	}
	if len(pass.cache.byIP) != 3 {
		t.Errorf("the pass read %d addresses, want each of the 3 once", len(pass.cache.byIP))
	}
	fail("fp4", "198.51.100.1", "mx1", 1, 2)
	if n := count(pass, "198.51.100.1", at, at.Add(time.Minute)); n != 0 {
		t.Errorf("a failure stored after the pass read its address: counted %d in it", n)
	}
	if n := count(NewAccountFailures(t.Context(), s), "198.51.100.1", at, at.Add(time.Minute)); n != 2 {
		t.Errorf("the next pass: %d failures of the new address, want 2", n)
	}
}
