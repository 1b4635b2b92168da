package pipeline

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// A probe from 192.0.2.7: two identical refusals (the store keeps one),
// a recipient accepted with no DATA (only the queue file's client= line
// shows it), and another client's refusal, which is not the probe's.
const probeLog = `Jun 12 09:00:01 mx postfix/smtpd[1]: connect from unknown[192.0.2.7]
Jun 12 09:00:02 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.7]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<p@probe.example> to=<v@victim.example> proto=ESMTP helo=<probe>
Jun 12 09:00:03 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.7]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<p@probe.example> to=<v@victim.example> proto=ESMTP helo=<probe>
Jun 12 09:00:04 mx postfix/smtpd[1]: 3F0D41234B: client=unknown[192.0.2.7]
Jun 12 09:00:05 mx postfix/smtpd[1]: disconnect from unknown[192.0.2.7]
Jun 12 09:00:06 mx postfix/smtpd[2]: NOQUEUE: reject: RCPT from unknown[198.51.100.1]: 554 5.7.1 <w@victim.example>: Relay access denied; from=<s@spam.example> to=<w@victim.example> proto=ESMTP helo=<spam>
`

func TestProbeLog(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "mail.log", probeLog)
	opts := Options{Year: 2026, Location: time.UTC}
	ins, errs := Prepare(t.Context(), []string{path}, opts, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var log bytes.Buffer
	_, store := run(t, dir, ins, &log)
	q := ProbeQuery{Paths: []string{path}, ClientIPs: []netip.Addr{netip.MustParseAddr("192.0.2.7")},
		Since: time.Date(2026, 6, 12, 9, 0, 0, 0, time.UTC), Until: time.Date(2026, 6, 12, 10, 0, 0, 0, time.UTC)}
	recs, err := ProbeLog(t.Context(), store, q, opts, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var refused, opened int
	for _, r := range recs {
		switch {
		case r.ClientIP != q.ClientIPs[0]:
			t.Errorf("record of another client: %+v", r)
		case r.Status == analysis.StatusRejected:
			refused++
			if r.Reply != "5.7.1 RCPT: <v@victim.example>: Relay access denied" || r.Verdict != string(analysis.RelayAttemptRejected) || len(r.Evidence) != 1 {
				t.Errorf("refusal %+v: want its reply, verdict and line", r)
			}
		case r.Status == "" && r.QueueID == "3F0D41234B":
			opened++
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
	if refused != 2 || opened != 1 {
		t.Errorf("%d refusals and %d bare queue files, want 2 and 1: %+v", refused, opened, recs)
	}
	// Outside the probe's time, nothing.
	q.Since, q.Until = q.Until, q.Until.Add(time.Hour)
	if recs, err := ProbeLog(t.Context(), store, q, opts, io.Discard); err != nil || len(recs) != 0 {
		t.Errorf("ProbeLog after the probe = %+v, %v; want nothing", recs, err)
	}
}
