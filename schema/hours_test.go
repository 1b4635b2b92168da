package schema

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestHourIndexesFindEveryRow: the look-ups by client, queue id, sender,
// recipient and Message-ID (investigate) and report's --client find, through
// the indexes that begin with the hour (migration 0019, hoursIn), exactly
// the rows a filter over every row finds: on ranges that begin and end
// inside an hour, on an hour's first and last millisecond, open at either
// end, and on rows before 1970 (hours round toward zero there), in a far
// year, or alone in their hour.
func TestHourIndexesFindEveryRow(t *testing.T) {
	engines(t, testHourIndexesFindEveryRow)
}

func testHourIndexesFindEveryRow(t *testing.T, db string) {
	s := openEngine(t, db)
	src, err := s.Source(t.Context(), "mail.log", "fp", "postfix", 0)
	if err != nil {
		t.Fatal(err)
	}
	const hour = int64(time.Hour / time.Millisecond)
	base := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC).UnixMilli()
	var times []int64
	for h := int64(-2); h <= 3; h++ {
		for _, d := range []int64{-1, 0, 1, hour / 2} {
			times = append(times, base+h*hour+d)
		}
	}
	times = append(times, -1, 0, 1, -hour-1, -hour, -hour+1, -2*hour+5, hour-1, hour,
		time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC).UnixMilli(),
		time.Date(2999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli(),
		base+400*24*hour)
	clients := []string{"192.0.2.1", "198.51.100.7", ""}
	queues := []string{"4B49DBC34B", "17156", ""}
	msgids := []string{"<a@x.example>", "<b@y.example>", ""}
	senders := []string{"Alice@Corp.Example", "bob@corp.example", ""}
	rcpts := []string{"Carol@Victim.Example", "dave@victim.example"}
	rng := rand.New(rand.NewPCG(19, 0))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	var rs []analysis.Recipient
	for i := range 600 {
		ts := times[i%len(times)]
		rs = append(rs, analysis.Recipient{
			Key: fmt.Sprintf("r%04d", i), MessageKey: fmt.Sprintf("m%04d", i), MTA: "postfix", Host: "mx1",
			Time: time.UnixMilli(ts).UTC(), ClientIP: pick(clients), QueueID: pick(queues), MessageID: pick(msgids),
			Sender: pick(senders), Recipient: pick(rcpts), Verdict: analysis.Inbound, Hop: 1,
		})
	}
	w := s.NewWriter(src)
	if err := w.Commit(t.Context(), nil, rs, nil, Progress{}); err != nil {
		t.Fatal(err)
	}
	row := func(r analysis.Recipient) string {
		return fmt.Sprintf("%d %s %s %s %s %s", r.Time.UnixMilli(), r.ClientIP, r.QueueID, r.MessageID, r.Sender, r.Recipient)
	}
	field := map[analysis.Key]func(analysis.Recipient) string{
		analysis.KeyClientIP:  func(r analysis.Recipient) string { return r.ClientIP },
		analysis.KeyQueueID:   func(r analysis.Recipient) string { return r.QueueID },
		analysis.KeyMessageID: func(r analysis.Recipient) string { return r.MessageID },
		analysis.KeySender:    func(r analysis.Recipient) string { return strings.ToLower(r.Sender) },
		analysis.KeyRecipient: func(r analysis.Recipient) string { return strings.ToLower(r.Recipient) },
	}
	values := map[analysis.Key][]string{
		analysis.KeyClientIP: clients, analysis.KeyQueueID: queues, analysis.KeyMessageID: msgids,
		analysis.KeySender:    {"ALICE@corp.example", "bob@corp.example", "nobody@corp.example"},
		analysis.KeyRecipient: {"carol@victim.example", "DAVE@VICTIM.EXAMPLE"},
	}
	edge := func() time.Time {
		if rng.IntN(5) == 0 {
			return time.Time{} // open
		}
		return time.UnixMilli(times[rng.IntN(len(times))] + int64(rng.IntN(3)-1)).UTC()
	}
	found := 0
	for i := range 400 {
		keys := []analysis.Key{analysis.KeyClientIP, analysis.KeyQueueID, analysis.KeyMessageID, analysis.KeySender, analysis.KeyRecipient}
		key := keys[i%len(keys)]
		value := pick(values[key])
		tr := analysis.TimeRange{From: edge(), To: edge()}
		var want []string
		for _, r := range rs {
			if field[key](r) == strings.ToLower(value) || (key != analysis.KeySender && key != analysis.KeyRecipient && field[key](r) == value) {
				if (tr.From.IsZero() || !r.Time.Before(tr.From)) && (tr.To.IsZero() || r.Time.Before(tr.To)) {
					want = append(want, row(r))
				}
			}
		}
		var got []string
		if err := s.RecipientsBy(t.Context(), key, value, tr, func(r analysis.Recipient) error {
			got = append(got, row(r))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s = %q in [%v, %v): got %d rows, want %d\n got %q\nwant %q", key, value, tr.From, tr.To, len(got), len(want), got, want)
		}
		found += len(got)
		if key != analysis.KeyClientIP || value == "" {
			continue // report's filter by client needs one
		}
		// report recipients --client --since --until: the same rows.
		got = got[:0]
		if err := s.Recipients(t.Context(), analysis.Filter{ClientIP: value, Since: tr.From, Until: tr.To}, func(r analysis.Recipient) error {
			got = append(got, row(r))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("report --client %q [%v, %v): got %d rows, want %d", value, tr.From, tr.To, len(got), len(want))
		}
	}
	if found < 2000 {
		t.Errorf("the look-ups found %d rows in all: the test asks too little", found)
	}
}
