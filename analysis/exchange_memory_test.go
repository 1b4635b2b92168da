package analysis

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/internal/loggen"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/parsers/exchange"
)

// exchangeInput is one file of an Exchange log folder, as ingest reads it.
type exchangeInput struct {
	path, series string
	first        time.Time // of its first event
}

// generatedExchange generates an Exchange log set of about lines lines
// from seed and returns the generator's policy and the set's files in the
// order ingest reads them.
func generatedExchange(t *testing.T, lines int, seed uint64) (Policy, []exchangeInput) {
	t.Helper()
	dir := t.TempDir()
	if _, err := loggen.Generate(io.Discard, io.Discard, loggen.Options{Format: "exchange", Lines: lines, Seed: seed, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	var p Policy
	cfg := loggen.Policy()
	if err := p.AddDomains(cfg.LocalDomains...); err != nil {
		t.Fatal(err)
	}
	if err := p.AddNetworks(cfg.TrustedNetworks...); err != nil {
		t.Fatal(err)
	}
	return p, exchangeInputs(t, dir)
}

// feedExchange reads ins as ingest does: before each file it tells c
// where the next one starts (ReadingInput), and the rotated files of one
// log share a parser. It calls each with every event (each feeds c, or
// not; false stops that file) and fileDone, if not nil, after each file.
func feedExchange(t *testing.T, c *Correlator, ins []exchangeInput, each func(parsers.Event) bool, fileDone func()) {
	t.Helper()
	parserOf := map[string]parsers.Parser{}
	for i, in := range ins {
		var next time.Time
		if i+1 < len(ins) {
			next = ins[i+1].first
		}
		c.ReadingInput(next)
		ps, ok := parserOf[in.series]
		if !ok {
			ps = exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(in.path)})
			parserOf[in.series] = ps
		}
		scanExchange(t, ps, in.path, each)
		if fileDone != nil {
			fileDone()
		}
	}
}

// exchangeInputs returns the log files under dir oldest first, as ingest
// orders them, with the log each belongs to (RECV, MSGTRK, MSGTRKMD, ...).
func exchangeInputs(t *testing.T, dir string) []exchangeInput {
	t.Helper()
	var ins []exchangeInput
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		in := exchangeInput{path: path, series: filepath.Join(filepath.Dir(path), name[:strings.IndexAny(name, "0123456789")])}
		p := exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(path)})
		if n := scanExchange(t, p, path, func(ev parsers.Event) bool { in.first = ev.Time; return false }); n == 0 {
			t.Fatalf("%s: no events", path)
		}
		ins = append(ins, in)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(ins, func(a, b exchangeInput) int { return a.first.Compare(b.first) })
	return ins
}

var errStop = errors.New("stop")

// scanExchange hands the events of one file to fn until fn returns false,
// and returns how many it handed.
func scanExchange(t *testing.T, p parsers.Parser, path string, fn func(parsers.Event) bool) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	_, err = parsers.Scan(t.Context(), f, path, parsers.Start{}, p, func(ev parsers.Event) error {
		n++
		if !fn(ev) {
			return errStop
		}
		return nil
	}, nil)
	if err != nil && !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	return n
}

// TestExchangeMessagesLeaveMemory feeds the correlator a generated Exchange
// log set (receive protocol log, tracking logs of three services, a file
// per log per hour and per 10 MB) the way ingest does, and checks that what
// it holds stays bounded: Exchange logs no removal of a queue file, so each
// message must leave memory once every recipient has its outcome, and each
// session when it ends. Kept until StaleAfter, every message of the log
// (80 minutes of it) was held at the end.
func TestExchangeMessagesLeaveMemory(t *testing.T) {
	p, ins := generatedExchange(t, 400000, 5)
	c := NewCorrelator(p)
	var start, end time.Time
	peak, peakSessions, peakWaiting, events := 0, 0, 0, 0
	feedExchange(t, c, ins, func(ev parsers.Event) bool {
		if start.IsZero() || ev.Time.Before(start) {
			start = ev.Time
		}
		if ev.Time.After(end) {
			end = ev.Time
		}
		c.Feed(ev)
		if events++; events%1000 == 0 {
			c.Flush()
			peak = max(peak, c.InFlight())
			peakSessions = max(peakSessions, len(c.sessions), len(c.ex.rcpts))
			peakWaiting = max(peakWaiting, c.ex.nwaiting)
		}
		return true
	}, nil)
	c.Flush()
	st := c.Stats()
	span := end.Sub(start)
	// The messages of RemovedGrace and of the two files read before the
	// bound ReadingInput gives can pass them (the generator's files hold
	// 15 to 20 minutes each), and those held until StaleAfter because a
	// recipient never gets an outcome.
	window := c.RemovedGrace + 40*time.Minute
	limit := int(float64(st.Messages) * window.Seconds() / span.Seconds())
	t.Logf("%d events, %d messages over %s; held at most %d messages (limit %d), %d sessions, %d waiting rows",
		events, st.Messages, span.Round(time.Minute), peak, limit, peakSessions, peakWaiting)
	if span < 75*time.Minute || st.Messages < 10000 {
		t.Fatalf("generated log too small for the test: %d messages over %s", st.Messages, span)
	}
	if peak > limit {
		t.Errorf("held up to %d of %d messages, want at most %d (%s of them)", peak, st.Messages, limit, window)
	}
	if peakSessions > 100 {
		t.Errorf("held up to %d sessions, want at most 100", peakSessions)
	}
	if st.Orphans != 0 || st.StaleMessages != 0 {
		t.Errorf("stats %+v: rows not joined", st)
	}
}

// memStore keeps what Flush hands out as the store does, and gives it back
// as a Resolver: only what the store's columns hold.
type memStore struct {
	msgs  map[string]Message
	rcpts map[string]map[string]Recipient // by message key, then key
	loads int                             // messages given back
}

func (s *memStore) keep(rs []Recipient, ms []Message) {
	if s.msgs == nil {
		s.msgs, s.rcpts = map[string]Message{}, map[string]map[string]Recipient{}
	}
	for _, m := range ms {
		s.msgs[m.Key] = m
	}
	for _, r := range rs {
		if s.rcpts[r.MessageKey] == nil {
			s.rcpts[r.MessageKey] = map[string]Recipient{}
		}
		s.rcpts[r.MessageKey][r.Key] = r
	}
}

func (s *memStore) MessageByQueueID(string, time.Time) (*Message, []*Recipient, error) {
	return nil, nil, nil
}

func (s *memStore) MessageByKey(key string) (*Message, []*Recipient, error) {
	m, ok := s.msgs[key]
	if !ok {
		return nil, nil, nil
	}
	s.loads++
	out := &Message{
		Key: m.Key, Format: m.Format, Host: m.Host, QueueID: m.QueueID, MessageID: m.MessageID,
		Time: m.Time.Truncate(time.Millisecond), ClientIP: m.ClientIP, ClientName: m.ClientName, Helo: m.Helo,
		AuthUser: m.AuthUser, AuthMethod: m.AuthMethod, Origin: m.Origin, Sender: m.Sender, SenderSet: m.Sender != "",
		ParentKey: m.ParentKey, Via: m.Via, Removed: m.Removed, Rejected: m.Rejected,
	}
	for _, p := range m.Evidence {
		out.Evidence = append(out.Evidence, ParsePos(p.String()))
	}
	var rs []*Recipient
	for _, k := range slices.Sorted(maps.Keys(s.rcpts[key])) {
		r := s.rcpts[key][k]
		rc := &Recipient{
			Key: r.Key, MessageKey: r.MessageKey, Recipient: r.Recipient, Status: r.Status, Verdict: r.Verdict,
			Reason: r.Reason, Deliveries: slices.Clone(r.Deliveries), Evidence: slices.Clone(r.Evidence),
		}
		RestoreRecipient(rc, out.Evidence)
		rs = append(rs, rc)
	}
	return out, rs, nil
}

// TestExchangeLateRowsRestored reads the dev set and then, an hour later,
// another delivery row of every message: a message let go of once done is
// brought back from the store for it, and every recipient ends as it does
// when nothing was let go of (the note on the logs behind its verdict
// included), whichever logs there are.
func TestExchangeLateRowsRestored(t *testing.T) {
	p, err := LoadPolicy(exchangeDev + "config.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exchangeMsgtrk)
	if err != nil {
		t.Fatal(err)
	}
	// The SEND rows again, an hour later: a retry's, say.
	var late []string
	sends := 0
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if strings.HasPrefix(l, "#") || strings.Contains(l, ",SEND,") {
			late = append(late, strings.Replace(l, "2025-02-06T14:", "2025-02-06T15:", 1))
		}
		if strings.Contains(l, ",SEND,") {
			sends++
		}
	}
	lateLog := filepath.Join(t.TempDir(), "MSGTRK2025020615-1.LOG")
	if err := os.WriteFile(lateLog, []byte(strings.Join(late, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// run feeds the files in order, told their order or not, keeping what
	// is flushed in store, and returns every recipient as last flushed.
	run := func(store *memStore, ordered bool, paths []string) (map[string]Recipient, CorrelatorStats) {
		c := NewCorrelator(p)
		c.Resolver = store
		got := map[string]Recipient{}
		for i, path := range paths {
			if ordered {
				var next time.Time
				if i+1 < len(paths) {
					scanExchange(t, exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(paths[i+1])}), paths[i+1],
						func(ev parsers.Event) bool { next = ev.Time; return false })
				}
				c.ReadingInput(next)
			}
			scanExchange(t, exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(path)}), path, func(ev parsers.Event) bool {
				c.Feed(ev)
				rs, ms := c.Flush()
				store.keep(rs, ms)
				for _, r := range rs {
					got[r.Key] = r
				}
				return true
			})
		}
		return got, c.Stats()
	}
	for _, tt := range []struct {
		name  string
		files []string
	}{
		{"joined", []string{exchangeRecv, exchangeMsgtrk, exchangeMD}},
		{"tracking only", []string{exchangeMsgtrk, exchangeMD}},
		{"protocol only", []string{exchangeRecv}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := append(slices.Clone(tt.files), lateLog)
			want, _ := run(&memStore{}, false, files)
			store := &memStore{}
			got, _ := run(store, true, files)
			if store.loads == 0 {
				t.Fatal("no message was let go of and brought back")
			}
			if len(got) != len(want) {
				t.Errorf("%d recipients, want %d", len(got), len(want))
			}
			for k, w := range want {
				g := got[k]
				g.Pos, w.Pos = nil, nil // the store keeps no byte offsets
				g.ev, w.ev = evidenceRef{}, evidenceRef{}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
				}
			}
		})
	}
	t.Run("another run's", func(t *testing.T) {
		// Read by two runs, the logs are judged each on its own, as
		// before: the late rows are not joined to what the first stored.
		store := &memStore{}
		run(store, true, []string{exchangeRecv, exchangeMsgtrk, exchangeMD})
		if _, st := run(store, true, []string{lateLog}); st.Orphans != sends {
			t.Errorf("%d rows not joined, want all %d", st.Orphans, sends)
		}
	})
}
