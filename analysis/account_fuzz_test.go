package analysis

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// FuzzAccountJudge feeds the judge rows made of arbitrary bytes (times in
// any order, any addresses, senders and recipients as strangers write
// them) and checks that it neither panics nor reports what it was not
// given.
func FuzzAccountJudge(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07alice@corp.example\x00r@x.example"), uint8(3))
	f.Add([]byte{}, uint8(0))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xc0\x00\x02\x01%\x00@@"), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		var rows []AccountRow
		start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		for i := 0; i < int(n) && len(data) >= 12; i++ {
			step := time.Duration(binary.BigEndian.Uint32(data[0:4])%(48*3600)) * time.Second
			ip := netip.AddrFrom4([4]byte(data[4:8]))
			if data[8]&1 == 1 {
				ip = netip.Addr{}
			}
			text := string(data[8:12])
			start = start.Add(step)
			st := []string{StatusSent, StatusBounced, StatusDeferred, StatusRejected, ""}[int(data[9])%5]
			rows = append(rows, AccountRow{Time: start, ClientIP: ip, MessageKey: text[:1], Sender: text + "@x", Recipient: text, Status: st})
			data = data[3:]
		}
		var p Policy
		_ = p.AddDomains("corp.example")
		f := &fakeFailures{}
		if len(rows) > 0 && rows[0].ClientIP.IsValid() {
			f.fail("a", rows[0].ClientIP.String(), rows[0].Time.Add(-time.Minute), 6)
		}
		j := &AccountJudge{Policy: p, Failures: f, Rules: AccountRules{MinHistoryDays: 1}}
		i := 0
		rep, err := j.Judge("a", func() (AccountRow, bool, error) {
			if i == len(rows) {
				return AccountRow{}, false, nil
			}
			i++
			return rows[i-1], true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total != len(rows) || rep.Recipients > len(rows) {
			t.Fatalf("report of %d rows: total %d, recipients %d", len(rows), rep.Total, rep.Recipients)
		}
		switch rep.Verdict {
		case AccountOK, AccountSuspicious, AccountCompromised:
		default:
			t.Fatalf("verdict %q", rep.Verdict)
		}
		if rep.Verdict != AccountCompromised && (len(rep.ClientIPs) > 0 || rep.Recipients > 0) {
			t.Fatalf("%s account with abuse: %+v", rep.Verdict, rep)
		}
	})
}
